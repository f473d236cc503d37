package host

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// The grants API: a patient grants a practitioner access to their data
// (portal.Consents), lists and revokes their grants. Patients only: a
// practitioner is forbidden, before anything is looked up. The store
// enforces whose grant is whose (another patient's grant answers as an
// unknown id) and the grants' effect on documents; the host keeps to the
// establishments it serves: a grant given through another establishment of
// the store is not listed and answers not_found, as an unknown id.

// consentsSide returns Config.Consents (not_found when the host has none)
// and the session's patient (unauthenticated without a session, forbidden
// for a practitioner).
func (h *Host) consentsSide(r *http.Request) (portal.Consents, string, error) {
	if h.cfg.Consents == nil {
		return nil, "", portal.Errorf(portal.ErrNotFound, "no consents store is configured")
	}
	a, err := portal.RequireAuthor(r.Context())
	if err == nil && a.Kind != portal.AuthorPatient {
		err = portal.Errorf(portal.ErrForbidden, "a %s may not %s %s", a.Kind, r.Method, r.Pattern)
	}
	return h.cfg.Consents, a.ID, err
}

// servedGrants lists the patient's grants given through the establishments
// this host serves.
func (h *Host) servedGrants(ctx context.Context, c portal.Consents) ([]portal.Grant, error) {
	list, err := c.Grants(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(g portal.Grant) bool { return !h.serves(g.Establishment) }), nil
}

func (h *Host) listGrants(w http.ResponseWriter, r *http.Request) error {
	c, patient, err := h.consentsSide(r)
	if err != nil {
		return err
	}
	if err := noQuery(r.URL.Query()); err != nil {
		return err
	}
	auditNote(r.Context(), patient, "")
	list, err := h.servedGrants(r.Context(), c)
	if err != nil {
		return err
	}
	if list == nil {
		list = []portal.Grant{}
	}
	writeJSON(w, http.StatusOK, client.GrantList{Grants: list})
	return nil
}

// grantAccess answers 201 with a new grant, 200 with the active grant the
// patient had already given the practitioner.
func (h *Host) grantAccess(w http.ResponseWriter, r *http.Request) error {
	c, patient, err := h.consentsSide(r)
	if err != nil {
		return err
	}
	est, err := h.establishment(r)
	if err != nil {
		return err
	}
	body, err := decodeJSON[client.GrantBody](r, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	g, created, err := h.grant(r.Context(), c, patient, est, body.Practitioner, body.RPPS)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/grants/"+url.PathEscape(g.ID))
	if !created {
		writeJSON(w, http.StatusOK, g)
		return nil
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

// grant gives practitioner access to patient's data through est, the API's
// and the access widget's form post alike: an id alone where establishments
// have directories of their own is refused, an id with the RPPS number it
// was found by must be that number's in est's directory. It reports whether
// the grant is new (false: the active grant the patient had already given).
func (h *Host) grant(ctx context.Context, c portal.Consents, patient, est, practitioner, rpps string) (portal.Grant, bool, error) {
	if practitioner == "" {
		return portal.Grant{}, false, portal.Errorf(portal.ErrInvalid, "practitioner is required")
	}
	if err := h.spendAddress(ctx); err != nil {
		return portal.Grant{}, false, err
	}
	auditNote(ctx, patient, "")
	switch {
	case rpps != "":
		if err := h.checkGrantee(ctx, est, practitioner, rpps); err != nil {
			return portal.Grant{}, false, err
		}
	case h.directoryPerEstablishment():
		// An id alone may be another establishment's, naming someone
		// else here: the number it was found by tells.
		return portal.Grant{}, false, errRPPSRequired()
	}
	before, err := c.Grants(ctx)
	if err != nil {
		return portal.Grant{}, false, err
	}
	g, err := c.GrantAccess(ctx, est, practitioner)
	if err != nil {
		return portal.Grant{}, false, err
	}
	auditNote(ctx, patient, g.ID)
	if slices.ContainsFunc(before, func(b portal.Grant) bool { return b.ID == g.ID }) {
		return g, false, nil
	}
	h.log.InfoContext(ctx, "access granted", "grant", g.ID, "establishment", g.Establishment)
	return g, true, nil
}

func (h *Host) revokeAccess(w http.ResponseWriter, r *http.Request) error {
	c, patient, err := h.consentsSide(r)
	if err == nil {
		err = h.readEmptyBody(r)
	}
	if err != nil {
		return err
	}
	g, err := h.revoke(r.Context(), c, patient, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

// revoke revokes patient's grant id, given through an establishment this
// host serves: the API's and the access widget's form post alike.
func (h *Host) revoke(ctx context.Context, c portal.Consents, patient, id string) (portal.Grant, error) {
	served, err := h.servedGrants(ctx, c)
	if err != nil {
		return portal.Grant{}, err
	}
	if !slices.ContainsFunc(served, func(g portal.Grant) bool { return g.ID == id }) {
		// Another patient's grant, one of an establishment this host does
		// not serve and an unknown id answer alike.
		return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "grant %q not found", id)
	}
	auditNote(ctx, patient, id)
	return c.RevokeAccess(ctx, id)
}
