package fhir

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// searchChunk bounds the references one search ORs together (a=x,y,z), to
// keep URLs short.
const searchChunk = 20

// Establishment returns the Organization id as an establishment
// (https://hl7.org/fhir/R4/organization.html): its name, its time zone (the
// ExtTimeZone extension, else Config.TimeZone) and its urgent-help text. An
// unknown or inactive Organization is ErrNotFound.
func (b *Backend) Establishment(ctx context.Context, id string) (portal.Establishment, error) {
	o, err := b.organization(ctx, id)
	if err != nil {
		return portal.Establishment{}, err
	}
	return portal.Establishment{
		ID:         o.ID,
		Name:       o.Name,
		TimeZone:   b.location(o.TimeZone).String(),
		UrgentHelp: o.UrgentHelp,
	}, nil
}

// Services lists the active HealthcareServices provided by the Organization
// establishment (search HealthcareService?organization=), ordered by French
// name then id, each with the practitioners of its active PractitionerRoles
// ordered by name then id. An unknown establishment is ErrNotFound.
func (b *Backend) Services(ctx context.Context, establishment string) ([]portal.Service, error) {
	if _, err := b.organization(ctx, establishment); err != nil {
		return nil, err
	}
	// One search brings the services, their PractitionerRoles and those
	// roles' Practitioners (_revinclude, then _include:iterate, FHIR R4
	// search); a Practitioner the server did not include is read.
	q := values("organization", ref("Organization", establishment))
	q.Set("_revinclude", "PractitionerRole:service")
	q.Set("_include:iterate", "PractitionerRole:practitioner")
	found, err := b.search(ctx, "HealthcareService", q)
	if err != nil {
		return nil, err
	}
	out := []portal.Service{}
	var ids []string
	for _, r := range found {
		if r.Get("resourceType").String() != "HealthcareService" {
			continue
		}
		s, err := healthcareServiceFrom(r)
		if err != nil {
			b.skip("HealthcareService", err)
			continue
		}
		if !s.Active || s.Organization != establishment || slices.Contains(ids, s.ID) {
			continue
		}
		ids = append(ids, s.ID)
		out = append(out, portal.Service{ID: s.ID, Establishment: establishment, Name: s.Name})
	}
	var roles []practitionerRole
	people := map[string]portal.Practitioner{}
	b.collectRoles(found, &roles, people)
	practitioners, err := b.assignRoles(ctx, ids, roles, people)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Practitioners = practitioners[out[i].ID]
		if out[i].Practitioners == nil {
			out[i].Practitioners = []portal.Practitioner{}
		}
	}
	slices.SortFunc(out, func(x, y portal.Service) int {
		return cmp.Or(strings.Compare(x.Name.FR, y.Name.FR), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// organization reads an active Organization.
func (b *Backend) organization(ctx context.Context, id string) (organization, error) {
	if o, ok := b.cachedOrganization(id); ok {
		return o, nil
	}
	r, _, err := b.read(ctx, "Organization", id)
	if err != nil {
		return organization{}, err
	}
	o, err := organizationFrom(r)
	if err != nil {
		return organization{}, b.badData("Organization", err)
	}
	if !o.Active {
		return organization{}, portal.Errorf(portal.ErrNotFound, "establishment %q is inactive", id)
	}
	b.cacheOrganization(o)
	return o, nil
}

// cachedOrganization is an active Organization as read at a time.
type cachedOrganization struct {
	o  organization
	at time.Time
}

// maxCachedOrganizations bounds the cache: a server's establishments are
// a few dozen; ids that are not establishments are never cached.
const maxCachedOrganizations = 1024

// cachedOrganization returns the Organization id read less than
// Config.OrganizationTTL ago (by Config.Now), if any.
func (b *Backend) cachedOrganization(id string) (organization, bool) {
	if b.cfg.OrganizationTTL < 0 {
		return organization{}, false
	}
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.orgs[id]
	if !ok || now.Before(c.at) || now.Sub(c.at) >= b.cfg.OrganizationTTL {
		return organization{}, false
	}
	return c.o, true
}

func (b *Backend) cacheOrganization(o organization) {
	if b.cfg.OrganizationTTL < 0 {
		return
	}
	now := b.cfg.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.orgs) >= maxCachedOrganizations {
		clear(b.orgs)
	}
	b.orgs[o.ID] = cachedOrganization{o: o, at: now}
}

// serviceRef is a service with what booking needs of its establishment.
type serviceRef struct {
	healthcareService
	loc *time.Location // the establishment's
}

// service reads an active HealthcareService and its active Organization.
func (b *Backend) service(ctx context.Context, id string) (serviceRef, error) {
	r, _, err := b.read(ctx, "HealthcareService", id)
	if err != nil {
		return serviceRef{}, err
	}
	s, err := healthcareServiceFrom(r)
	if err != nil {
		return serviceRef{}, b.badData("HealthcareService", err)
	}
	if !s.Active {
		return serviceRef{}, portal.Errorf(portal.ErrNotFound, "service %q is inactive", id)
	}
	o, err := b.organization(ctx, s.Organization)
	if err != nil {
		return serviceRef{}, err
	}
	return serviceRef{healthcareService: s, loc: b.location(o.TimeZone)}, nil
}

// practitioners returns the practitioners of each of services, from their
// active PractitionerRoles (search PractitionerRole?service=…, with
// _include=PractitionerRole:practitioner; a Practitioner the server did not
// include is read), each list ordered by name then id.
func (b *Backend) practitioners(ctx context.Context, services []string) (map[string][]portal.Practitioner, error) {
	var roles []practitionerRole
	people := map[string]portal.Practitioner{}
	for chunk := range slices.Chunk(services, searchChunk) {
		refs := make([]string, len(chunk))
		for i, s := range chunk {
			refs[i] = ref("HealthcareService", s)
		}
		found, err := b.search(ctx, "PractitionerRole", url.Values{
			"service":  {strings.Join(refs, ",")},
			"_include": {"PractitionerRole:practitioner"},
		})
		if err != nil {
			return nil, err
		}
		b.collectRoles(found, &roles, people)
	}
	return b.assignRoles(ctx, services, roles, people)
}

// collectRoles adds the active PractitionerRoles and the Practitioners
// among found to roles and people.
func (b *Backend) collectRoles(found []gjson.Result, roles *[]practitionerRole, people map[string]portal.Practitioner) {
	for _, r := range found {
		switch r.Get("resourceType").String() {
		case "PractitionerRole":
			role, err := practitionerRoleFrom(r)
			if err != nil {
				b.skip("PractitionerRole", err)
			} else if role.Active {
				*roles = append(*roles, role)
			}
		case "Practitioner":
			p, err := practitionerFrom(r)
			if err != nil {
				b.skip("Practitioner", err)
			} else {
				people[p.ID] = p
			}
		}
	}
}

// assignRoles returns the practitioners of each of services from roles,
// with people as found (a Practitioner missing there is read), each list
// ordered by name then id.
func (b *Backend) assignRoles(ctx context.Context, services []string, roles []practitionerRole, people map[string]portal.Practitioner) (map[string][]portal.Practitioner, error) {
	out := map[string][]portal.Practitioner{}
	for _, role := range roles {
		p, ok := people[role.Practitioner]
		if !ok {
			r, _, err := b.read(ctx, "Practitioner", role.Practitioner)
			if portal.IsCode(err, portal.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if p, err = practitionerFrom(r); err != nil {
				b.skip("Practitioner", err)
				continue
			}
			people[p.ID] = p
		}
		p.Role = role.Role
		for _, s := range role.Services {
			if slices.Contains(services, s) && !slices.ContainsFunc(out[s], func(q portal.Practitioner) bool { return q.ID == p.ID }) {
				out[s] = append(out[s], p)
			}
		}
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(x, y portal.Practitioner) int {
			return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.ID, y.ID))
		})
	}
	return out, nil
}

// badData reports a resource the server holds that lacks what the backend
// needs: the establishment's data is wrong, which the log says and the
// patient sees as an unexpected error.
func (b *Backend) badData(what string, err error) error {
	b.log.Warn("fhir: unusable resource", "resource", what, "error", err)
	return portal.Errorf(portal.ErrInternal, "FHIR %s: unusable resource", what)
}

// skip logs a resource of a search result left out because it lacks what
// the backend needs.
func (b *Backend) skip(what string, err error) {
	b.log.Warn("fhir: resource skipped", "resource", what, "error", err)
}
