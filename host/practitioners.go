package host

import (
	"context"
	"net/http"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// LookupsPerMinute bounds the RPPS look-ups of one patient: enough to
// correct a few typing mistakes, too few to walk the directory.
const LookupsPerMinute = 10

// errEstablishmentRequired refuses a look-up naming no establishment on a
// host serving several, each with a directory of its own: each backend has
// practitioner ids of its own, and the id answered is the one a grant
// through that establishment names.
func errEstablishmentRequired() error {
	return &portal.Error{Code: portal.ErrInvalid,
		Detail: "establishment is required: this host serves several establishments, each with its own practitioner directory",
		Reason: &portal.Text{
			FR: "Précisez l’établissement : ce portail en sert plusieurs, chacun avec son annuaire de professionnels.",
			EN: "Name the establishment: this portal serves several, each with its own directory of professionals.",
		}}
}

// errRPPSRequired refuses a grant that names a practitioner by id alone
// where each establishment has its own directory.
func errRPPSRequired() error {
	return &portal.Error{Code: portal.ErrInvalid,
		Detail: "rpps is required: this host serves several establishments, each with its own practitioner directory, whose ids differ",
		Reason: &portal.Text{
			FR: "Recherchez le professionnel par son numéro RPPS dans cet établissement. Aucun accès n’a été accordé.",
			EN: "Look the professional up by their RPPS number in this establishment. No access was granted.",
		}}
}

// directoryPerEstablishment reports whether the host's establishments
// have practitioner directories of their own (a router over several
// backends, portal.PractitionerLookupIn): a practitioner's id then says
// whom only in the establishment whose directory gave it.
func (h *Host) directoryPerEstablishment() bool {
	_, ok := h.cfg.Practitioners.(portal.PractitionerLookupIn)
	return ok && len(h.cfg.Establishments) > 1
}

// getPractitionerByRPPS answers a signed-in patient the professional whose
// RPPS number is in the path, as the directory of the establishment named
// by the "establishment" parameter knows them (Config.Practitioners), so
// that the patient can confirm whom they are about to grant access to
// through that establishment. The parameter may be left out on a host
// serving one establishment, or several sharing one directory. Patients
// only; each look-up spends one of the patient's LookupsPerMinute and of
// their address's write tokens.
func (h *Host) getPractitionerByRPPS(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	est := q.Get("establishment")
	if len(q["establishment"]) > 1 {
		return portal.Errorf(portal.ErrInvalid, "establishment given %d times", len(q["establishment"]))
	}
	q.Del("establishment")
	if err := noQuery(q); err != nil {
		return err
	}
	p, err := h.practitionerByRPPS(r.Context(), est, r.PathValue("rpps"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// lookupEstablishment is the establishment a look-up is for: est, which
// the host must serve, or, when est is empty, the host's only one. A host
// serving several establishments with a directory of their own each
// (portal.PractitionerLookupIn) refuses a look-up naming none
// (errEstablishmentRequired); with one directory, whose ids every
// establishment shares, such a look-up asks it ("").
func (h *Host) lookupEstablishment(est string) (string, error) {
	if est != "" {
		if !h.serves(est) {
			return "", portal.Errorf(portal.ErrNotFound, "establishment %q", est)
		}
		return est, nil
	}
	if len(h.cfg.Establishments) == 1 {
		return h.cfg.Establishments[0].ID, nil
	}
	if h.directoryPerEstablishment() {
		return "", errEstablishmentRequired()
	}
	return "", nil
}

// practitionerByRPPS looks up rpps in est's directory (lookupIn) for the
// context's patient, within the rate limits: the API and the access
// widget on the server both come here. est "" is the host's only
// establishment, or its one directory (see lookupEstablishment).
func (h *Host) practitionerByRPPS(ctx context.Context, est, rpps string) (portal.Practitioner, error) {
	if h.cfg.Practitioners == nil {
		return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "no practitioner directory is configured")
	}
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.Practitioner{}, err
	}
	if err := portal.CheckRPPS(rpps); err != nil {
		return portal.Practitioner{}, err
	}
	est, err = h.lookupEstablishment(est)
	if err != nil {
		return portal.Practitioner{}, err
	}
	if err := h.lookupRate.spend(ctx, patient, "patient %s looked up %d practitioners in the last minute", patient, LookupsPerMinute); err != nil {
		return portal.Practitioner{}, err
	}
	if err := h.spendAddress(ctx); err != nil {
		return portal.Practitioner{}, err
	}
	return h.lookupIn(ctx, est, rpps)
}

// lookupIn asks est's directory for rpps: a directory of several
// establishments (portal.PractitionerLookupIn, multi.Consents) for est's;
// any other is taken for one directory whose ids every establishment of
// the host shares (one SQLite store, one FHIR server: the Worker's), asked
// whatever est.
func (h *Host) lookupIn(ctx context.Context, est, rpps string) (portal.Practitioner, error) {
	if in, ok := h.cfg.Practitioners.(portal.PractitionerLookupIn); ok {
		return in.PractitionerByRPPSIn(ctx, est, rpps)
	}
	return h.cfg.Practitioners.PractitionerByRPPS(ctx, rpps)
}

// checkGrantee checks a grant through est that names, beside the
// practitioner's id, the RPPS number they were found by: est's directory
// must answer that id for that number. An id looked up in another
// establishment's directory (which may be nobody, or someone else, in
// est's backend) is refused, and nothing is granted.
func (h *Host) checkGrantee(ctx context.Context, est, practitioner, rpps string) error {
	if err := portal.CheckRPPS(rpps); err != nil {
		return err
	}
	if h.cfg.Practitioners == nil {
		return portal.Errorf(portal.ErrNotFound, "no practitioner directory is configured")
	}
	p, err := h.lookupIn(ctx, est, rpps)
	if err != nil {
		return err
	}
	if p.ID != practitioner {
		return &portal.Error{Code: portal.ErrInvalid,
			Detail: "practitioner " + practitioner + " is not the one with RPPS number " + rpps + " in establishment " + est,
			Reason: &portal.Text{
				FR: "Ce professionnel ne correspond pas à ce numéro RPPS dans cet établissement : recherchez-le à nouveau. Aucun accès n’a été accordé.",
				EN: "This professional does not match this RPPS number in this establishment: look them up again. No access was granted.",
			}}
	}
	return nil
}
