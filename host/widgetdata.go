package host

import (
	"context"
	"net/http"
	"net/url"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/booking"
)

// serverBackend is the widget's Backend on the host's side: the same calls
// the browser makes over HTTP, made directly against the configured backend
// with the request's session. The host uses it to preload a widget's first
// screen (booking.Preload).
type serverBackend struct {
	portal.Booking
	h *Host
	r *http.Request
}

var _ booking.Backend = serverBackend{}

func (b serverBackend) CurrentPatient(ctx context.Context) (*portal.Patient, error) {
	s, ok := portal.SubjectFrom(ctx)
	if !ok {
		return nil, nil
	}
	p, err := b.h.cfg.Directory.Patient(ctx, s.Patient)
	if portal.IsCode(err, portal.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (b serverBackend) DemoPatients(ctx context.Context) ([]portal.Patient, error) {
	if !b.h.cfg.DemoSignIn {
		return nil, nil
	}
	return b.h.cfg.Directory.DemoPatients(ctx)
}

func (b serverBackend) DemoSignIn(context.Context, string) (portal.Patient, error) {
	return portal.Patient{}, portal.Errorf(portal.ErrMethodNotAllowed, "sign-in is not part of a preload")
}

func (b serverBackend) SignOut(context.Context) error {
	return portal.Errorf(portal.ErrMethodNotAllowed, "sign-out is not part of a preload")
}

func (b serverBackend) CalendarURL(id string) string {
	return "/api/v1/appointments/" + url.PathEscape(id) + "/calendar.ics"
}
