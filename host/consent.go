package host

import (
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
func (h *Host) servedGrants(r *http.Request, c portal.Consents) ([]portal.Grant, error) {
	list, err := c.Grants(r.Context())
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
	list, err := h.servedGrants(r, c)
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
	if body.Practitioner == "" {
		return portal.Errorf(portal.ErrInvalid, "practitioner is required")
	}
	ctx := r.Context()
	if err := h.spendAddress(ctx); err != nil {
		return err
	}
	auditNote(ctx, patient, "")
	switch {
	case body.RPPS != "":
		if err := h.checkGrantee(ctx, est, body.Practitioner, body.RPPS); err != nil {
			return err
		}
	case h.directoryPerEstablishment():
		// An id alone may be another establishment's, naming someone
		// else here: the number it was found by tells.
		return errRPPSRequired()
	}
	before, err := c.Grants(ctx)
	if err != nil {
		return err
	}
	g, err := c.GrantAccess(ctx, est, body.Practitioner)
	if err != nil {
		return err
	}
	auditNote(ctx, patient, g.ID)
	w.Header().Set("Location", "/api/v1/grants/"+url.PathEscape(g.ID))
	if slices.ContainsFunc(before, func(b portal.Grant) bool { return b.ID == g.ID }) {
		writeJSON(w, http.StatusOK, g)
		return nil
	}
	h.log.InfoContext(ctx, "access granted", "grant", g.ID, "establishment", g.Establishment)
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (h *Host) revokeAccess(w http.ResponseWriter, r *http.Request) error {
	c, patient, err := h.consentsSide(r)
	if err == nil {
		err = h.readEmptyBody(r)
	}
	if err != nil {
		return err
	}
	ctx := r.Context()
	id := r.PathValue("id")
	served, err := h.servedGrants(r, c)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(served, func(g portal.Grant) bool { return g.ID == id }) {
		// Another patient's grant, one of an establishment this host does
		// not serve and an unknown id answer alike.
		return portal.Errorf(portal.ErrNotFound, "grant %q not found", id)
	}
	auditNote(ctx, patient, id)
	g, err := c.RevokeAccess(ctx, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}
