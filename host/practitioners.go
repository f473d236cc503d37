package host

import (
	"context"
	"net/http"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// LookupsPerMinute bounds the RPPS look-ups of one patient: enough to
// correct a few typing mistakes, too few to walk the directory.
const LookupsPerMinute = 10

// getPractitionerByRPPS answers a signed-in patient the professional whose
// RPPS number is in the path (Config.Practitioners), so that the patient can
// confirm whom they are about to grant access to. Patients only; each
// look-up spends one of the patient's LookupsPerMinute and of their
// address's write tokens.
func (h *Host) getPractitionerByRPPS(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r.URL.Query()); err != nil {
		return err
	}
	p, err := h.practitionerByRPPS(r.Context(), r.PathValue("rpps"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// practitionerByRPPS looks up rpps for the context's patient, within the
// rate limits: the API and the access widget on the server both come here.
func (h *Host) practitionerByRPPS(ctx context.Context, rpps string) (portal.Practitioner, error) {
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
	if err := h.lookupRate.spend(ctx, patient, "patient %s looked up %d practitioners in the last minute", patient, LookupsPerMinute); err != nil {
		return portal.Practitioner{}, err
	}
	if err := h.spendAddress(ctx); err != nil {
		return portal.Practitioner{}, err
	}
	return h.cfg.Practitioners.PractitionerByRPPS(ctx, rpps)
}
