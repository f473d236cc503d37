package multi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func seeded(t *testing.T, clock *portaltest.Clock) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, ":memory:", sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Seed(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBookingConformance: behind the router, the SQLite backend still
// passes the booking suite, appointment ids and all.
func TestBookingConformance(t *testing.T) {
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	portaltest.RunBookingTests(t, func(t *testing.T) portaltest.BookingFixture {
		clock := portaltest.NewClock(start)
		s := seeded(t, clock)
		b, err := multi.New(multi.Config{Establishments: []multi.Establishment{
			{ID: sqlite.DemoEstablishment, Booking: s, Directory: s},
			{ID: "ch-nord", Booking: &other{}, Directory: &other{}},
		}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return portaltest.BookingFixture{
			As:            func(t *testing.T, patient string) portal.Booking { return portaltest.AsPatient(b, patient) },
			Anonymous:     b,
			Establishment: sqlite.DemoEstablishment,
			Service:       sqlite.ServiceMaternite,
			OtherService:  sqlite.ServiceDiabetologie,
			Patients:      []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard, sqlite.DemoPatientInesMoreau},
			SetNow:        clock.Set,
			Now:           clock.Now,
		}
	})
}

// other is a second establishment's backend, "ch-nord": one appointment for
// each of its patients, and switches to fail or hang. It stands for a FHIR server here;
// the FHIR backend itself is tested against a real one in host/backend/fhir.
type other struct {
	portal.Booking
	portal.Directory
	patients   []string
	down, hang bool
	cancelled  []string
}

func (o *other) fail(ctx context.Context) error {
	if o.hang {
		<-ctx.Done()
		return portal.Errorf(portal.ErrBackendUnavailable, "timeout: %v", ctx.Err())
	}
	if o.down {
		return portal.Errorf(portal.ErrBackendUnavailable, "connection refused")
	}
	return nil
}

func (o *other) apt(patient string) portal.Appointment {
	return portal.Appointment{ID: "apt-1", Establishment: "ch-nord", Service: "cardiologie",
		Start: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Status: portal.StatusBooked, Slot: "slot-" + patient}
}

func (o *other) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	p, err := portal.RequirePatient(ctx)
	if err != nil {
		return nil, err
	}
	if err := o.fail(ctx); err != nil {
		return nil, err
	}
	if !slices.Contains(o.patients, p) {
		return nil, nil
	}
	return []portal.Appointment{o.apt(p)}, nil
}

func (o *other) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	p, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.Appointment{}, err
	}
	if id != "apt-1" || !slices.Contains(o.patients, p) {
		return portal.Appointment{}, portal.Errorf(portal.ErrNotFound, "appointment %q", id)
	}
	return o.apt(p), nil
}

func (o *other) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	a, err := o.Appointment(ctx, id)
	if err == nil {
		o.cancelled = append(o.cancelled, id)
		a.Status = portal.StatusCancelled
	}
	return a, err
}

func (o *other) Patient(ctx context.Context, id string) (portal.Patient, error) {
	if id == "pat-nord-only" {
		return portal.Patient{ID: id, GivenName: "Nord"}, nil
	}
	return portal.Patient{}, portal.Errorf(portal.ErrNotFound, "patient %q", id)
}

func (o *other) DemoPatients(context.Context) ([]portal.Patient, error) {
	return []portal.Patient{{ID: sqlite.DemoPatientLucasBernard}, {ID: "pat-nord-only"}}, nil
}

func twoEstablishments(t *testing.T, o *other, timeout time.Duration) (*multi.Backend, *sqlite.Store, *portaltest.Clock) {
	t.Helper()
	clock := portaltest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	s := seeded(t, clock)
	b, err := multi.New(multi.Config{Establishments: []multi.Establishment{
		{ID: sqlite.DemoEstablishment, Booking: s, Directory: s},
		{ID: "ch-nord", Booking: o, Directory: o},
	}, MergeTimeout: timeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return b, s, clock
}

// book books the first free maternity slot of the demo establishment.
func book(t *testing.T, b portal.Booking, clock *portaltest.Clock) portal.Appointment {
	t.Helper()
	ctx := context.Background()
	slots, err := b.FreeSlots(ctx, portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, From: clock.Now(), To: clock.Now().AddDate(0, 0, 14)})
	if err != nil || len(slots) == 0 {
		t.Fatalf("free slots: %d, %v", len(slots), err)
	}
	a, err := b.Book(ctx, portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slots[0].ID, IdempotencyKey: "multi-test-1"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestMergedAppointments(t *testing.T) {
	o := &other{patients: []string{sqlite.DemoPatientCamilleDurand}}
	b, _, clock := twoEstablishments(t, o, 0)
	pat := portaltest.AsPatient(b, sqlite.DemoPatientCamilleDurand)
	mine := book(t, pat, clock)
	if mine.ID == "" || mine.ID[:len(sqlite.DemoEstablishment)+1] != sqlite.DemoEstablishment+multi.Separator {
		t.Fatalf("booked %q: want an id prefixed with its establishment", mine.ID)
	}
	list, err := pat.Appointments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	if !slices.Equal(ids, []string{mine.ID, "ch-nord~apt-1"}) && !slices.Equal(ids, []string{"ch-nord~apt-1", mine.ID}) {
		t.Fatalf("merged ids %v", ids)
	}
	if !slices.IsSortedFunc(list, func(x, y portal.Appointment) int { return x.Start.Compare(y.Start) }) {
		t.Errorf("not ordered by start: %v", list)
	}

	// Each id goes back to its own backend.
	got, err := pat.Appointment(context.Background(), mine.ID)
	if err != nil || got.ID != mine.ID || got.Slot != mine.Slot {
		t.Errorf("Appointment(%s) = %+v, %v", mine.ID, got, err)
	}
	c, err := pat.Cancel(context.Background(), "ch-nord~apt-1")
	if err != nil || c.ID != "ch-nord~apt-1" || c.Status != portal.StatusCancelled || !slices.Equal(o.cancelled, []string{"apt-1"}) {
		t.Errorf("cancel in ch-nord: %+v %v, cancelled there %v", c, err, o.cancelled)
	}
	// An id without its establishment, or of an establishment not served,
	// is unknown: it never reaches a backend.
	for _, id := range []string{"apt-1", "ch-sud~apt-1", "ch-nord~", "~apt-1", ""} {
		if _, err := pat.Appointment(context.Background(), id); !portal.IsCode(err, portal.ErrNotFound) {
			t.Errorf("Appointment(%q): %v, want not_found", id, err)
		}
	}
}

func TestOneBackendDownDegradesOnlyItsPart(t *testing.T) {
	for _, c := range []struct {
		name string
		o    *other
	}{
		{"refused", &other{down: true, patients: []string{sqlite.DemoPatientCamilleDurand}}},
		{"too slow", &other{hang: true, patients: []string{sqlite.DemoPatientCamilleDurand}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _, clock := twoEstablishments(t, c.o, 50*time.Millisecond)
			pat := portaltest.AsPatient(b, sqlite.DemoPatientCamilleDurand)
			mine := book(t, pat, clock)
			list, err := pat.Appointments(context.Background())
			if got := portal.Missing(err); !slices.Equal(got, []string{"ch-nord"}) || portal.Code(err) != portal.ErrBackendUnavailable {
				t.Fatalf("missing %v (%v), want ch-nord", got, err)
			}
			if len(list) != 1 || list[0].ID != mine.ID {
				t.Fatalf("the answering establishment's part: %+v", list)
			}
			// Calls naming the working establishment are untouched.
			if _, err := pat.Services(context.Background(), sqlite.DemoEstablishment); err != nil {
				t.Errorf("services of the working establishment: %v", err)
			}
		})
	}
}

func TestSignedOutIsNotAnOutage(t *testing.T) {
	b, _, _ := twoEstablishments(t, &other{}, 0)
	_, err := b.Appointments(context.Background())
	if !portal.IsCode(err, portal.ErrUnauthenticated) || portal.Missing(err) != nil {
		t.Fatalf("signed out: %v", err)
	}
}

func TestDirectoryAcrossEstablishments(t *testing.T) {
	b, _, _ := twoEstablishments(t, &other{}, 0)
	ctx := context.Background()
	if p, err := b.Patient(ctx, "pat-nord-only"); err != nil || p.GivenName != "Nord" {
		t.Errorf("a patient only ch-nord knows: %+v %v", p, err)
	}
	if p, err := b.Patient(ctx, sqlite.DemoPatientLucasBernard); err != nil || p.FamilyName != "Bernard" {
		t.Errorf("a patient of the demo establishment: %+v %v", p, err)
	}
	if _, err := b.Patient(ctx, "pat-nobody"); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("nobody: %v", err)
	}
	ps, err := b.DemoPatients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, p := range ps {
		seen[p.ID]++
	}
	if seen[sqlite.DemoPatientLucasBernard] != 1 || seen["pat-nord-only"] != 1 {
		t.Errorf("demo patients %v: each once, from both", seen)
	}
}

func TestNewRefusesBadEstablishments(t *testing.T) {
	s := &other{}
	for name, ests := range map[string][]multi.Establishment{
		"none":           nil,
		"upper case":     {{ID: "CHU", Booking: s, Directory: s}},
		"with separator": {{ID: "chu~x", Booking: s, Directory: s}},
		"twice":          {{ID: "chu", Booking: s, Directory: s}, {ID: "chu", Booking: s, Directory: s}},
		"no backend":     {{ID: "chu"}},
	} {
		if _, err := multi.New(multi.Config{Establishments: ests}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := multi.New(multi.Config{Establishments: []multi.Establishment{{ID: "chu-a", Booking: s, Directory: s}}}); err != nil {
		t.Errorf("a valid one: %v", err)
	}
}

func TestConfiguredOverrides(t *testing.T) {
	clock := portaltest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	s := seeded(t, clock)
	b, err := multi.New(multi.Config{Establishments: []multi.Establishment{{
		ID: sqlite.DemoEstablishment, Booking: s, Directory: s,
		Name: "CHU Exemple — site Nord", UrgentHelp: portal.Text{FR: "Appelez le 15.", EN: "Call 15."},
		Services: []string{sqlite.ServiceMaternite},
	}}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	est, err := b.Establishment(ctx, sqlite.DemoEstablishment)
	if err != nil || est.Name != "CHU Exemple — site Nord" || est.UrgentHelp.EN != "Call 15." || est.TimeZone == "" {
		t.Errorf("establishment %+v %v", est, err)
	}
	svcs, err := b.Services(ctx, sqlite.DemoEstablishment)
	if err != nil || len(svcs) != 1 || svcs[0].ID != sqlite.ServiceMaternite {
		t.Errorf("services %+v %v: want maternity only", svcs, err)
	}
	q := portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceDiabetologie, From: clock.Now(), To: clock.Now().AddDate(0, 0, 7)}
	if _, err := b.FreeSlots(ctx, q); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("slots of a service not offered: %v", err)
	}
	pat := portaltest.AsPatient(b, sqlite.DemoPatientLucasBernard)
	r := portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceDiabetologie, Slot: "sl-x", IdempotencyKey: "multi-test-2"}
	if _, err := pat.Book(ctx, r); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("booking a service not offered: %v", err)
	}
}

// hanging is a backend that never answers before its caller gives up.
type hanging struct{ portal.Booking }

func (hanging) Services(ctx context.Context, _ string) ([]portal.Service, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestAHangingBackendIsUnavailable: a call to a backend that does not
// answer ends at the call timeout as backend_unavailable (the patient's
// "temporarily unavailable, try again"), not as an internal error; a caller
// who gave up first gets its own error.
func TestAHangingBackendIsUnavailable(t *testing.T) {
	b, err := multi.New(multi.Config{Establishments: []multi.Establishment{{ID: "ch-nord", Booking: hanging{}, Directory: &other{}}},
		CallTimeout: 50 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Services(context.Background(), "ch-nord"); !portal.IsCode(err, portal.ErrBackendUnavailable) {
		t.Errorf("a hanging backend: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Services(ctx, "ch-nord"); portal.IsCode(err, portal.ErrBackendUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("a caller who left: %v", err)
	}
}
