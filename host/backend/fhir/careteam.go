package fhir

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

var _ portal.CareTeamDirectory = (*Backend)(nil)

// Practitioner returns the practitioner id, with the role of their active
// PractitionerRoles (portal.CareTeamDirectory), in one search:
// Practitioner?_id=id&_revinclude=PractitionerRole:practitioner. It names
// the practitioner of a session on a host whose care teams are on the FHIR
// server (GET /api/v1/session, the inbox widget). An absent or inactive
// Practitioner is ErrNotFound.
func (b *Backend) Practitioner(ctx context.Context, id string) (portal.Practitioner, error) {
	if !validID(id) {
		return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "practitioner %q not found", id)
	}
	found, err := b.search(ctx, "Practitioner", url.Values{"_id": {id}, "_revinclude": {"PractitionerRole:practitioner"}})
	if err != nil {
		return portal.Practitioner{}, err
	}
	var (
		roles  []practitionerRole
		people = map[string]portal.Practitioner{}
		kept   []gjson.Result
	)
	for _, r := range found {
		// The Practitioner itself only if active; its roles in any case
		// (collectRoles keeps the active ones).
		if r.Get("resourceType").String() != "Practitioner" || r.Get("id").String() == id && active(r) {
			kept = append(kept, r)
		}
	}
	b.collectRoles(kept, &roles, people)
	p, ok := people[id]
	if !ok {
		return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "practitioner %q not found", id)
	}
	// Of several roles, the first by id that has a description: the same
	// one at every read.
	slices.SortFunc(roles, func(x, y practitionerRole) int { return strings.Compare(x.ID, y.ID) })
	for _, role := range roles {
		if role.Practitioner == id && role.Role.FR != "" {
			p.Role = role.Role
			break
		}
	}
	return p, nil
}

// DemoPractitioners implements portal.CareTeamDirectory: none. The FHIR
// server's practitioners are the establishment's staff, never offered to a
// demo sign-in (its demo patients are, by their tag).
func (b *Backend) DemoPractitioners(context.Context) ([]portal.Practitioner, error) {
	return []portal.Practitioner{}, nil
}
