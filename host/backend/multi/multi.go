// Package multi puts the backends of several establishments behind one
// portal.Booking and portal.Directory: the regional single entry point, where
// one host serves establishments whose systems of record differ (one on the
// embedded SQLite store, another on its FHIR R4 server).
//
// Calls that name an establishment (its services, free slots, a booking) go
// to that establishment's backend. Calls that do not (a patient's
// appointments) ask every backend at once and merge the answers; a backend
// that fails or is too slow leaves its part out, and the merged answer comes
// with a *portal.PartialError naming the establishments missing, so that one
// outage degrades only its part of the view.
//
// Appointment ids are those of the backend prefixed with the establishment
// and a tilde ("chu-exemple~apt_123"), so that the appointment's backend is
// known from its id alone: two backends may use the same ids.
package multi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Establishment is one establishment, the backend of its data, and what
// the host's configuration says of it over the backend's answer.
type Establishment struct {
	ID        string
	Booking   portal.Booking
	Directory portal.Directory
	// Name, when set, replaces the backend's name of the establishment.
	Name string
	// UrgentHelp, when set (in either language), replaces the backend's
	// urgent-help text: what to do in an emergency, with the numbers.
	UrgentHelp portal.Text
	// Services, when set, are the only services of the backend offered
	// (in the backend's order); the others are unknown.
	Services []string
}

// Config configures a Backend.
type Config struct {
	// Establishments in the order merged views list them; at least one,
	// ids unique and matching ValidID.
	Establishments []Establishment
	// MergeTimeout bounds each backend's share of a merged call; past it
	// the backend's part is missing (a PartialError). Default 5 s.
	MergeTimeout time.Duration
	// CallTimeout bounds every other call to one establishment's backend;
	// past it the call fails with ErrBackendUnavailable. Default 8 s: a
	// patient sees "service temporarily unavailable" within 10 s of an
	// outage, whatever the backend's own retries.
	CallTimeout time.Duration
	// Logger receives the failures of merged calls; default slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultMergeTimeout = 5 * time.Second
	DefaultCallTimeout  = 8 * time.Second
)

// Separator separates the establishment from the backend's id in the ids
// this package hands out.
const Separator = "~"

// validID is the shape of an establishment id behind a multi backend: it
// travels in URLs and in appointment ids.
var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidID reports whether id may name an establishment: 1 to 63 lower-case
// letters, digits and hyphens, not starting with a hyphen.
func ValidID(id string) bool { return validID.MatchString(id) }

// Backend routes each call to the backend of its establishment.
type Backend struct {
	order   []string
	byID    map[string]Establishment
	timeout time.Duration
	calls   bounds
	log     *slog.Logger
}

var (
	_ portal.Booking   = (*Backend)(nil)
	_ portal.Directory = (*Backend)(nil)
)

// New returns a Backend over cfg's establishments.
func New(cfg Config) (*Backend, error) {
	if len(cfg.Establishments) == 0 {
		return nil, errors.New("multi: no establishment")
	}
	b := &Backend{byID: map[string]Establishment{}, timeout: cfg.MergeTimeout, log: cfg.Logger}
	if b.timeout <= 0 {
		b.timeout = DefaultMergeTimeout
	}
	b.calls = newBounds(cfg.CallTimeout)
	if b.log == nil {
		b.log = slog.Default()
	}
	for _, e := range cfg.Establishments {
		if err := checkEntry(e.ID, b.byID[e.ID].ID != "", e.Booking != nil && e.Directory != nil, ""); err != nil {
			return nil, err
		}
		b.order = append(b.order, e.ID)
		b.byID[e.ID] = e
	}
	return b, nil
}

// Establishments returns the establishment ids, in order.
func (b *Backend) Establishments() []string { return slices.Clone(b.order) }

func (b *Backend) route(id string) (Establishment, error) {
	if e, ok := b.byID[id]; ok {
		return e, nil
	}
	return Establishment{}, portal.Errorf(portal.ErrNotFound, "establishment %q", id)
}

// Establishment implements portal.Booking, with the configured name and
// urgent-help text over the backend's.
func (b *Backend) Establishment(ctx context.Context, id string) (portal.Establishment, error) {
	e, err := b.route(id)
	if err != nil {
		return portal.Establishment{}, err
	}
	ctx, done := b.calls.start(ctx)
	est, err := e.Booking.Establishment(ctx, id)
	if err != nil {
		return est, done(id, err)
	}
	done(id, nil)
	if e.Name != "" {
		est.Name = e.Name
	}
	if e.UrgentHelp.FR != "" || e.UrgentHelp.EN != "" {
		est.UrgentHelp = e.UrgentHelp
	}
	return est, nil
}

// Services implements portal.Booking: the configured ones, when the
// configuration lists some.
func (b *Backend) Services(ctx context.Context, establishment string) ([]portal.Service, error) {
	e, err := b.route(establishment)
	if err != nil {
		return nil, err
	}
	ctx, done := b.calls.start(ctx)
	list, err := e.Booking.Services(ctx, establishment)
	if err = done(establishment, err); err != nil || e.Services == nil {
		return list, err
	}
	return slices.DeleteFunc(list, func(s portal.Service) bool { return !slices.Contains(e.Services, s.ID) }), nil
}

// offered reports an ErrNotFound error for a service the configuration
// leaves out.
func (e Establishment) offered(service string) error {
	if e.Services != nil && !slices.Contains(e.Services, service) {
		return portal.Errorf(portal.ErrNotFound, "service %q of %s is not offered", service, e.ID)
	}
	return nil
}

// FreeSlots implements portal.Booking.
func (b *Backend) FreeSlots(ctx context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	e, err := b.route(q.Establishment)
	if err != nil {
		return nil, err
	}
	if err := e.offered(q.Service); err != nil {
		return nil, err
	}
	ctx, done := b.calls.start(ctx)
	slots, err := e.Booking.FreeSlots(ctx, q)
	return slots, done(e.ID, err)
}

// Book implements portal.Booking.
func (b *Backend) Book(ctx context.Context, r portal.BookRequest) (portal.Appointment, error) {
	if err := r.Validate(); err != nil {
		return portal.Appointment{}, err
	}
	e, err := b.route(r.Establishment)
	if err != nil {
		return portal.Appointment{}, err
	}
	if err := e.offered(r.Service); err != nil {
		return portal.Appointment{}, err
	}
	ctx, done := b.calls.start(ctx)
	a, err := e.Booking.Book(ctx, r)
	return b.outward(e.ID, a), done(e.ID, err)
}

// Cancel implements portal.Booking.
func (b *Backend) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	e, inner, err := b.appointmentRoute(id)
	if err != nil {
		return portal.Appointment{}, err
	}
	ctx, done := b.calls.start(ctx)
	a, err := e.Booking.Cancel(ctx, inner)
	return b.outward(e.ID, a), done(e.ID, err)
}

// Appointment implements portal.Booking.
func (b *Backend) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	e, inner, err := b.appointmentRoute(id)
	if err != nil {
		return portal.Appointment{}, err
	}
	ctx, done := b.calls.start(ctx)
	a, err := e.Booking.Appointment(ctx, inner)
	return b.outward(e.ID, a), done(e.ID, err)
}

// Appointments implements portal.Booking: every establishment's, merged
// by start. Establishments whose backend failed are missing, named by the
// *portal.PartialError returned with the others'.
func (b *Backend) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	parts, err := merge(ctx, b, func(ctx context.Context, e Establishment) ([]portal.Appointment, error) {
		list, err := e.Booking.Appointments(ctx)
		for i := range list {
			list[i] = b.outward(e.ID, list[i])
		}
		return list, err
	})
	var out []portal.Appointment
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.SortStableFunc(out, func(x, y portal.Appointment) int { return x.Start.Compare(y.Start) })
	return out, err
}

// appointmentRoute splits an id of this package into its establishment and
// the backend's id; an id of another shape is unknown.
func (b *Backend) appointmentRoute(id string) (Establishment, string, error) {
	est, inner, ok := strings.Cut(id, Separator)
	if ok && inner != "" {
		if e, found := b.byID[est]; found {
			return e, inner, nil
		}
	}
	return Establishment{}, "", portal.Errorf(portal.ErrNotFound, "appointment %q", id)
}

// outward gives a backend's appointment its id in this package's form.
func (b *Backend) outward(est string, a portal.Appointment) portal.Appointment {
	if a.ID != "" {
		a.ID = est + Separator + a.ID
	}
	return a
}

// Patient implements portal.Directory: the patient as the first
// establishment (in order) that knows them describes them.
func (b *Backend) Patient(ctx context.Context, id string) (portal.Patient, error) {
	var firstErr error
	for _, d := range b.directories() {
		p, err := d.Patient(ctx, id)
		if err == nil {
			return p, nil
		}
		if !portal.IsCode(err, portal.ErrNotFound) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return portal.Patient{}, firstErr
	}
	return portal.Patient{}, portal.Errorf(portal.ErrNotFound, "patient %q", id)
}

// DemoPatients implements portal.Directory: every establishment's demo
// patients, each once (by id).
func (b *Backend) DemoPatients(ctx context.Context) ([]portal.Patient, error) {
	var out []portal.Patient
	for _, d := range b.directories() {
		ps, err := d.DemoPatients(ctx)
		if err != nil {
			b.log.WarnContext(ctx, "demo patients unavailable", "err", err)
			continue
		}
		for _, p := range ps {
			if !slices.ContainsFunc(out, func(x portal.Patient) bool { return x.ID == p.ID }) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// directories are the establishments' directories, each once (several
// establishments may share one backend), in order.
func (b *Backend) directories() []portal.Directory {
	var out []portal.Directory
	for _, id := range b.order {
		d := b.byID[id].Directory
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// merge runs call on every establishment at once, each bounded by the
// merge timeout, and returns their answers in order; the establishments
// that failed are named by a *portal.PartialError (nil when none did).
// A failure of the caller's own (the context ended) is returned as is.
func merge[T any](ctx context.Context, b *Backend, call func(context.Context, Establishment) (T, error)) ([]T, error) {
	out := make([]T, len(b.order))
	errs := make([]error, len(b.order))
	var wg sync.WaitGroup
	for i, id := range b.order {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, b.timeout)
			defer cancel()
			out[i], errs[i] = call(ctx, b.byID[id])
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var partial *portal.PartialError
	for i, err := range errs {
		if err == nil {
			continue
		}
		if portal.IsCode(err, portal.ErrUnauthenticated) {
			// Not an outage: the subject is not signed in.
			return nil, err
		}
		var zero T
		out[i] = zero
		b.log.WarnContext(ctx, "establishment left out of a merged answer", "establishment", b.order[i], "err", err)
		if partial == nil {
			partial = &portal.PartialError{Err: err}
		}
		partial.Establishments = append(partial.Establishments, b.order[i])
	}
	if partial != nil {
		return out, partial
	}
	return out, nil
}

// checkEntry checks an establishment of a router's configuration: a valid
// id, not listed before, with its backend (what names it in the error).
func checkEntry(id string, listed, hasBackend bool, what string) error {
	switch {
	case !ValidID(id):
		return fmt.Errorf("multi: establishment id %q: want 1 to 63 lower-case letters, digits and hyphens", id)
	case listed:
		return fmt.Errorf("multi: establishment %q listed twice", id)
	case !hasBackend:
		return fmt.Errorf("multi: establishment %q has no %sbackend", id, what)
	}
	return nil
}
