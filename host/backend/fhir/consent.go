package fhir

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// This file is portal.Consents over FHIR: a patient's access grant is a
// Consent (consent_map.go, docs/fhir.md "Consent (access grants)"), and
// portal.PractitionerLookup, a Practitioner found by its RPPS identifier.
//
// A grant's effect is read by the documents' scope (documents.go) at every
// request, from the server: nothing is cached, so a revocation takes effect
// at the next request.

var (
	_ portal.Consents           = (*Backend)(nil)
	_ portal.PractitionerLookup = (*Backend)(nil)
)

func grantNotFound(id string) error {
	return portal.Errorf(portal.ErrNotFound, "grant %q not found", id)
}

// Grants lists the context's patient's grants, active and revoked, the
// latest granted first (search Consent?patient=&category=, keeping the
// Consents that are grants, see consentFrom).
func (b *Backend) Grants(ctx context.Context) ([]portal.Grant, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return nil, err
	}
	found, err := b.search(ctx, "Consent", values(
		"patient", ref("Patient", patient),
		"category", SystemLOINC+"|"+ConsentCategoryLOINC))
	if err != nil {
		return nil, err
	}
	out := []portal.Grant{}
	zones := map[string]string{}
	for _, r := range found {
		c, err := consentFrom(r)
		if err != nil {
			if grantKeyOf(r) != "" {
				b.skip("Consent", err)
			}
			continue
		}
		if c.Patient != patient {
			continue
		}
		g, err := b.portalGrant(ctx, c, zones)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	slices.SortFunc(out, portal.LatestGrantFirst)
	return out, nil
}

// portalGrant returns c in its establishment's time zone, with its
// practitioner's name (the actor's display, else the Practitioner's).
// zones, when not nil, caches the establishments' time zones for one call.
func (b *Backend) portalGrant(ctx context.Context, c consent, zones map[string]string) (portal.Grant, error) {
	tz, ok := zones[c.Establishment]
	if !ok {
		// An Organization gone or inactive since the grant keeps the
		// grant listed, in the default time zone.
		if r, _, err := b.read(ctx, "Organization", c.Establishment); err == nil {
			if o, err := organizationFrom(r); err == nil {
				tz = o.TimeZone
			}
		} else if !portal.IsCode(err, portal.ErrNotFound) {
			return portal.Grant{}, err
		}
		if zones != nil {
			zones[c.Establishment] = tz
		}
	}
	g := c.Grant
	loc := b.location(tz)
	g.Granted = g.Granted.In(loc)
	if g.Revoked != nil {
		t := g.Revoked.In(loc)
		g.Revoked = &t
	}
	if g.PractitionerName == "" {
		if r, _, err := b.read(ctx, "Practitioner", g.Practitioner); err == nil {
			if p, err := practitionerFrom(r); err == nil {
				g.PractitionerName = p.Name
			}
		}
	}
	return g, nil
}

// GrantAccess grants practitioner access to the context's patient's data
// through establishment est, now, and returns the grant; an active grant
// to the same practitioner is returned as it is. An unknown (or inactive)
// establishment or practitioner is ErrNotFound.
//
// The Consent is made by a conditional create (If-None-Exist:
// identifier=SystemGrantKey|grantKey(patient, practitioner)): the key is
// carried by the active grant only (revoking changes it), so the server
// answers an existing active grant instead of creating a second one, for a
// retry and for two concurrent grants alike, on a server whose conditional
// create is atomic. Should a server without that guarantee have made two,
// its If-None-Exist then matches both and it answers 412: an error, never a
// guess; revoking one of them mends it.
func (b *Backend) GrantAccess(ctx context.Context, est, practitioner string) (portal.Grant, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.Grant{}, err
	}
	if _, err := b.organization(ctx, est); err != nil {
		return portal.Grant{}, err
	}
	r, _, err := b.read(ctx, "Practitioner", practitioner)
	if portal.IsCode(err, portal.ErrNotFound) {
		return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "practitioner %q not found", practitioner)
	}
	if err != nil {
		return portal.Grant{}, err
	}
	p, err := practitionerFrom(r)
	if err != nil {
		return portal.Grant{}, b.badData("Practitioner", err)
	}
	if !active(r) {
		return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "practitioner %q not found", practitioner)
	}
	body, err := json.Marshal(newConsent(patient, p.ID, p.Name, est, b.now()))
	if err != nil {
		return portal.Grant{}, err
	}
	res, _, _, err := b.write(ctx, request{
		method: http.MethodPost, path: "Consent", body: body,
		ifNoneExist: "identifier=" + SystemGrantKey + "|" + grantKey(patient, p.ID), op: opWrite,
	}, "Consent")
	if err != nil {
		return portal.Grant{}, err
	}
	c, err := consentFrom(res)
	if err != nil {
		return portal.Grant{}, b.badData("Consent", err)
	}
	if c.Patient != patient || c.Practitioner != p.ID {
		// The key matched someone else's Consent: the server's data
		// is wrong.
		return portal.Grant{}, b.badData("Consent", errGrantMismatch)
	}
	return b.portalGrant(ctx, c, nil)
}

var errGrantMismatch = errors.New("Consent: the grant key names another patient or practitioner")

// RevokeAccess revokes a grant of the context's patient, now, and returns
// it; a revoked grant is returned unchanged. Another patient's grant, and
// a Consent that is no grant, are ErrNotFound, as an unknown id.
//
// The revocation is an update with If-Match on the version read
// (https://hl7.org/fhir/R4/http.html#concurrency): of two concurrent
// revocations one wins, the other reads the revoked grant again (412) and
// returns it unchanged, so the end of the period is written once.
func (b *Backend) RevokeAccess(ctx context.Context, id string) (portal.Grant, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.Grant{}, err
	}
	for attempt := 1; ; attempt++ {
		c, err := b.consent(ctx, patient, id)
		if err != nil {
			return portal.Grant{}, err
		}
		if !c.Active() {
			return b.portalGrant(ctx, c, nil)
		}
		body, err := edit(c.Raw, func(res map[string]any) { revokeConsent(res, c.ID, b.now()) })
		if err != nil {
			return portal.Grant{}, err
		}
		res, _, _, err := b.write(ctx, request{
			method: http.MethodPut, path: ref("Consent", c.ID), body: body, ifMatch: c.Version, op: opWrite,
		}, "Consent")
		if statusOf(err) == http.StatusPreconditionFailed && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return portal.Grant{}, err
		}
		if c, err = consentFrom(res); err != nil {
			return portal.Grant{}, b.badData("Consent", err)
		}
		return b.portalGrant(ctx, c, nil)
	}
}

// consent reads the grant id of patient, with its version; anything else
// is ErrNotFound.
func (b *Backend) consent(ctx context.Context, patient, id string) (consent, error) {
	r, v, err := b.read(ctx, "Consent", id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return consent{}, grantNotFound(id)
	}
	if err != nil {
		return consent{}, err
	}
	c, err := consentFrom(r)
	if err != nil || c.Patient != patient {
		return consent{}, grantNotFound(id)
	}
	c.Version = cmp.Or(v, c.Version)
	return c, nil
}

// grantedPatients returns the patients who granted practitioner access,
// from their active grants (search Consent?actor=&status=active&category=),
// read anew at every call.
func (b *Backend) grantedPatients(ctx context.Context, practitioner string) (map[string]bool, error) {
	out := map[string]bool{}
	found, err := b.search(ctx, "Consent", values(
		"actor", ref("Practitioner", practitioner),
		"status", "active",
		"category", SystemLOINC+"|"+ConsentCategoryLOINC))
	if err != nil {
		return nil, err
	}
	for _, r := range found {
		c, err := consentFrom(r)
		if err != nil {
			continue
		}
		if c.Practitioner == practitioner && c.Active() {
			out[c.Patient] = true
		}
	}
	return out, nil
}

// PractitionerByRPPS returns the Practitioner whose identifier is
// portal.SystemRPPS|rpps, for the context's patient
// (portal.PractitionerLookup). A malformed number is ErrInvalid, without a
// request; none is ErrNotFound; more than one is an error, never a guess.
func (b *Backend) PractitionerByRPPS(ctx context.Context, rpps string) (portal.Practitioner, error) {
	if _, err := portal.RequirePatient(ctx); err != nil {
		return portal.Practitioner{}, err
	}
	if err := portal.CheckRPPS(rpps); err != nil {
		return portal.Practitioner{}, err
	}
	found, err := b.search(ctx, "Practitioner", values("identifier", portal.SystemRPPS+"|"+rpps))
	if err != nil {
		return portal.Practitioner{}, err
	}
	var out []portal.Practitioner
	for _, r := range found {
		if r.Get("resourceType").String() != "Practitioner" || !active(r) {
			continue
		}
		p, err := practitionerFrom(r)
		if err != nil {
			b.skip("Practitioner", err)
			continue
		}
		if p.RPPS != rpps {
			continue // the server matched loosely
		}
		out = append(out, p)
	}
	switch len(out) {
	case 0:
		return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "no practitioner with RPPS number %s", rpps)
	case 1:
		return out[0], nil
	}
	b.log.Warn("fhir: several Practitioners share an RPPS number", "count", len(out))
	return portal.Practitioner{}, portal.Errorf(portal.ErrInternal, "several practitioners with RPPS number %s", rpps)
}
