// Package portaltest holds the conformance suites that every implementation
// of the portal service interfaces runs, in the manner of go-cloud's
// drivertest: the embedded SQLite backend, the HTTP client talking to a real
// host, and any later backend (FHIR R4) pass the same tests, through the
// interface only.
//
// A backend's test provides a fixture constructor and calls the suite:
//
//	func TestBooking(t *testing.T) {
//		portaltest.RunBookingTests(t, func(t *testing.T) portaltest.BookingFixture {
//			clock := portaltest.NewClock(start)
//			store := openAndSeed(t, clock.Now)
//			return portaltest.BookingFixture{
//				As: func(t *testing.T, patient string) portal.Booking {
//					return portaltest.AsPatient(store, patient)
//				},
//				Anonymous: store,
//				…
//				SetNow: clock.Set,
//				Now:    clock.Now,
//			}
//		})
//	}
package portaltest

import (
	"context"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Clock is a settable clock, safe for concurrent use, for fixtures to give
// the implementation under test (its Now method) and the suite (Now and Set).
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock set to now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set sets the clock's time.
func (c *Clock) Set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// Advance moves the clock by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// AsPatient returns b acting as patient: every call carries
// portal.Subject{Patient: patient} in its context, as the edge host puts the
// signed-in patient there. Backends use it for BookingFixture.As.
func AsPatient(b portal.Booking, patient string) portal.Booking {
	return asPatient{b: b, subject: portal.Subject{Patient: patient}}
}

type asPatient struct {
	b       portal.Booking
	subject portal.Subject
}

var _ portal.Booking = asPatient{}

func (a asPatient) ctx(ctx context.Context) context.Context {
	return portal.WithSubject(ctx, a.subject)
}

func (a asPatient) Establishment(ctx context.Context, id string) (portal.Establishment, error) {
	return a.b.Establishment(a.ctx(ctx), id)
}

func (a asPatient) Services(ctx context.Context, establishment string) ([]portal.Service, error) {
	return a.b.Services(a.ctx(ctx), establishment)
}

func (a asPatient) FreeSlots(ctx context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	return a.b.FreeSlots(a.ctx(ctx), q)
}

func (a asPatient) Book(ctx context.Context, r portal.BookRequest) (portal.Appointment, error) {
	return a.b.Book(a.ctx(ctx), r)
}

func (a asPatient) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	return a.b.Cancel(a.ctx(ctx), id)
}

func (a asPatient) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	return a.b.Appointments(a.ctx(ctx))
}

func (a asPatient) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	return a.b.Appointment(a.ctx(ctx), id)
}
