package portaltest

import (
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // checks offsets against the establishment's time zone

	"github.com/parcours-sante/parcours/sdk/portal"
)

// BookingFixture is a fresh, seeded implementation of portal.Booking under
// test. RunBookingTests makes one per test.
//
// Fresh means no appointments yet. The suite books, cancels and moves the
// clock forward; it never moves it back.
type BookingFixture struct {
	// As returns the service acting as the given patient. A backend wraps
	// its calls with portal.WithSubject (see AsPatient); the HTTP client is
	// a client signed in as that patient.
	As func(t *testing.T, patient string) portal.Booking
	// Anonymous is the service with no signed-in patient.
	Anonymous portal.Booking
	// Establishment is the seeded establishment.
	Establishment string
	// Service and OtherService are two services of Establishment, each with
	// several free slots starting within 14 days after Now.
	Service, OtherService string
	// Patients are at least two distinct patient ids.
	Patients []string
	// SetNow sets the implementation's clock; the suite moves it forward to
	// make slots and appointments past.
	SetNow func(time.Time)
	// Now returns the implementation's clock.
	Now func() time.Time
}

// window is the period the suite searches for free slots in.
const window = 14 * 24 * time.Hour

// RunBookingTests runs the conformance suite of portal.Booking, each test on
// a fixture of its own from newFixture. Errors are compared by code
// (portal.Code) and times with time.Time.Equal, so that an implementation
// reached over JSON passes as a backend does.
//
// Beyond the comments of portal.Booking, the suite requires that free slots
// are ordered by start then practitioner id, that their Start and End carry
// the establishment's UTC offset, and that an unknown practitioner filter
// yields no slot (an empty list or ErrNotFound).
func RunBookingTests(t *testing.T, newFixture func(t *testing.T) BookingFixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, fx BookingFixture)
	}{
		{"Establishment", testEstablishment},
		{"EstablishmentUnknown", testEstablishmentUnknown},
		{"ServicesWithPractitioners", testServices},
		{"ServicesUnknownEstablishment", testServicesUnknownEstablishment},
		{"FreeSlotsOrderedInPeriodFuture", testFreeSlots},
		{"FreeSlotsPeriodIsHalfOpen", testFreeSlotsHalfOpen},
		{"FreeSlotsFutureOnly", testFreeSlotsFutureOnly},
		{"FreeSlotsPractitionerFilter", testFreeSlotsPractitioner},
		{"FreeSlotsUnknownPractitioner", testFreeSlotsUnknownPractitioner},
		{"FreeSlotsInvalidQuery", testFreeSlotsInvalid},
		{"FreeSlotsUnknownEstablishment", testFreeSlotsUnknownEstablishment},
		{"FreeSlotsUnknownService", testFreeSlotsUnknownService},
		{"Book", testBook},
		{"Unauthenticated", testUnauthenticated},
		{"BookInvalidRequest", testBookInvalid},
		{"BookSlotTakenByAnotherPatient", testBookTakenByOther},
		{"BookSlotTakenBySamePatient", testBookTakenBySame},
		{"BookIdempotentRetry", testBookIdempotentRetry},
		{"BookIdempotentRetryAfterCancel", testBookIdempotentRetryAfterCancel},
		{"BookIdempotencyKeyReused", testBookKeyReused},
		{"BookIdempotencyKeyPerPatient", testBookKeyPerPatient},
		{"BookUnknownSlot", testBookUnknownSlot},
		{"BookSlotOfAnotherEstablishment", testBookOtherEstablishment},
		{"BookSlotServiceMismatch", testBookServiceMismatch},
		{"BookSlotInPast", testBookSlotInPast},
		{"BookConcurrentSameSlot", testBookConcurrentSameSlot},
		{"BookConcurrentRetries", testBookConcurrentRetries},
		{"CancelFreesSlot", testCancelFreesSlot},
		{"CancelTwice", testCancelTwice},
		{"CancelOtherPatientsAppointment", testCancelOtherPatient},
		{"CancelUnknown", testCancelUnknown},
		{"CancelPastAppointment", testCancelPast},
		{"AppointmentsOrderedByStart", testAppointmentsOrdered},
		{"AppointmentOfAnotherPatient", testAppointmentOtherPatient},
		{"AppointmentUnknown", testAppointmentUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			checkFixture(t, fx)
			tc.run(t, fx)
		})
	}
}

func checkFixture(t *testing.T, fx BookingFixture) {
	t.Helper()
	switch {
	case fx.As == nil || fx.Anonymous == nil || fx.SetNow == nil || fx.Now == nil:
		t.Fatal("fixture: As, Anonymous, SetNow and Now are required")
	case fx.Establishment == "" || fx.Service == "" || fx.OtherService == "":
		t.Fatal("fixture: Establishment, Service and OtherService are required")
	case fx.Service == fx.OtherService:
		t.Fatal("fixture: Service and OtherService must differ")
	case len(fx.Patients) < 2 || fx.Patients[0] == fx.Patients[1]:
		t.Fatalf("fixture: at least two distinct patients are required, got %q", fx.Patients)
	}
}

// Helpers.

// newKey returns a fresh idempotency key.
func newKey() string { return "conformance-" + rand.Text() }

func request(fx BookingFixture, service string, s portal.Slot) portal.BookRequest {
	return portal.BookRequest{Establishment: fx.Establishment, Service: service, Slot: s.ID, IdempotencyKey: newKey()}
}

// wantCode fails t unless err carries code.
func wantCode(t *testing.T, err error, code portal.ErrorCode, what string) {
	t.Helper()
	if got := portal.Code(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// free returns the free slots of service in the suite's window from now.
func free(t *testing.T, b portal.Booking, fx BookingFixture, service string) []portal.Slot {
	t.Helper()
	now := fx.Now()
	slots, err := b.FreeSlots(t.Context(), portal.SlotQuery{
		Establishment: fx.Establishment, Service: service, From: now, To: now.Add(window),
	})
	if err != nil {
		t.Fatalf("FreeSlots(%s): %v", service, err)
	}
	return slots
}

// someFree returns the free slots of service and fails t unless there are at
// least n.
func someFree(t *testing.T, b portal.Booking, fx BookingFixture, service string, n int) []portal.Slot {
	t.Helper()
	slots := free(t, b, fx, service)
	if len(slots) < n {
		t.Fatalf("FreeSlots(%s): %d free slots in the next 14 days, the suite needs %d", service, len(slots), n)
	}
	return slots
}

func slotIDs(slots []portal.Slot) []string {
	ids := make([]string, len(slots))
	for i, s := range slots {
		ids[i] = s.ID
	}
	return ids
}

func isFree(t *testing.T, b portal.Booking, fx BookingFixture, service, slot string) bool {
	t.Helper()
	return slices.Contains(slotIDs(free(t, b, fx, service)), slot)
}

func book(t *testing.T, b portal.Booking, r portal.BookRequest) portal.Appointment {
	t.Helper()
	a, err := b.Book(t.Context(), r)
	if err != nil {
		t.Fatalf("Book(%+v): %v", r, err)
	}
	return a
}

func appointments(t *testing.T, b portal.Booking) []portal.Appointment {
	t.Helper()
	as, err := b.Appointments(t.Context())
	if err != nil {
		t.Fatalf("Appointments: %v", err)
	}
	return as
}

func appointment(t *testing.T, b portal.Booking, id string) portal.Appointment {
	t.Helper()
	a, err := b.Appointment(t.Context(), id)
	if err != nil {
		t.Fatalf("Appointment(%s): %v", id, err)
	}
	return a
}

// sameAppointment fails t unless got and want describe the same appointment
// in the same state.
func sameAppointment(t *testing.T, what string, got, want portal.Appointment) {
	t.Helper()
	var diffs []string
	eq := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", field, g, w))
		}
	}
	eq("ID", got.ID == want.ID, got.ID, want.ID)
	eq("Establishment", got.Establishment == want.Establishment, got.Establishment, want.Establishment)
	eq("Service", got.Service == want.Service, got.Service, want.Service)
	eq("ServiceName", got.ServiceName == want.ServiceName, got.ServiceName, want.ServiceName)
	eq("Practitioner", got.Practitioner == want.Practitioner, got.Practitioner, want.Practitioner)
	eq("Slot", got.Slot == want.Slot, got.Slot, want.Slot)
	eq("Start", got.Start.Equal(want.Start), got.Start, want.Start)
	eq("End", got.End.Equal(want.End), got.End, want.End)
	eq("Status", got.Status == want.Status, got.Status, want.Status)
	eq("Created", got.Created.Equal(want.Created), got.Created, want.Created)
	switch {
	case got.Cancelled == nil && want.Cancelled == nil:
	case got.Cancelled == nil || want.Cancelled == nil:
		diffs = append(diffs, fmt.Sprintf("Cancelled: got %v, want %v", got.Cancelled, want.Cancelled))
	default:
		eq("Cancelled", got.Cancelled.Equal(*want.Cancelled), *got.Cancelled, *want.Cancelled)
	}
	if len(diffs) > 0 {
		t.Fatalf("%s: appointment differs:\n%s", what, fmt.Sprint(diffs))
	}
}

// location returns the time zone of the fixture's establishment.
func location(t *testing.T, b portal.Booking, fx BookingFixture) *time.Location {
	t.Helper()
	e, err := b.Establishment(t.Context(), fx.Establishment)
	if err != nil {
		t.Fatalf("Establishment(%s): %v", fx.Establishment, err)
	}
	loc, err := time.LoadLocation(e.TimeZone)
	if err != nil {
		t.Fatalf("Establishment(%s): time zone %q: %v", fx.Establishment, e.TimeZone, err)
	}
	return loc
}

// wantLocalOffset fails t unless tm carries loc's UTC offset at that instant.
func wantLocalOffset(t *testing.T, what string, tm time.Time, loc *time.Location) {
	t.Helper()
	_, got := tm.Zone()
	_, want := tm.In(loc).Zone()
	if got != want {
		t.Errorf("%s %s: UTC offset %ds, want the establishment's %ds (%s)", what, tm, got, want, loc)
	}
}

// service returns the listing of service id among the establishment's.
func service(t *testing.T, b portal.Booking, fx BookingFixture, id string) portal.Service {
	t.Helper()
	svcs, err := b.Services(t.Context(), fx.Establishment)
	if err != nil {
		t.Fatalf("Services(%s): %v", fx.Establishment, err)
	}
	for _, s := range svcs {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("Services(%s): service %q not listed", fx.Establishment, id)
	return portal.Service{}
}

const unknownID = "conformance-unknown-id"

// Establishment and services.

func testEstablishment(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	e, err := b.Establishment(t.Context(), fx.Establishment)
	if err != nil {
		t.Fatalf("Establishment(%s): %v", fx.Establishment, err)
	}
	if e.ID != fx.Establishment || e.Name == "" {
		t.Errorf("Establishment(%s) = %+v, want its id and a name", fx.Establishment, e)
	}
	if _, err := time.LoadLocation(e.TimeZone); err != nil || e.TimeZone == "" {
		t.Errorf("Establishment(%s).TimeZone = %q, want an IANA time zone (%v)", fx.Establishment, e.TimeZone, err)
	}
}

func testEstablishmentUnknown(t *testing.T, fx BookingFixture) {
	_, err := fx.As(t, fx.Patients[0]).Establishment(t.Context(), unknownID)
	wantCode(t, err, portal.ErrNotFound, "Establishment(unknown)")
}

func testServices(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	svcs, err := b.Services(t.Context(), fx.Establishment)
	if err != nil {
		t.Fatalf("Services: %v", err)
	}
	seen := map[string]bool{}
	for _, s := range svcs {
		if s.ID == "" || seen[s.ID] {
			t.Errorf("Services: empty or repeated id %q", s.ID)
		}
		seen[s.ID] = true
		if s.Establishment != fx.Establishment {
			t.Errorf("service %s: Establishment = %q, want %q", s.ID, s.Establishment, fx.Establishment)
		}
		if s.Name.FR == "" {
			t.Errorf("service %s: no French name", s.ID)
		}
		pseen := map[string]bool{}
		for _, p := range s.Practitioners {
			if p.ID == "" || p.Name == "" || pseen[p.ID] {
				t.Errorf("service %s: practitioner %+v has no id or name, or is repeated", s.ID, p)
			}
			pseen[p.ID] = true
		}
	}
	for _, id := range []string{fx.Service, fx.OtherService} {
		if !seen[id] {
			t.Fatalf("Services: %q not listed among %d services", id, len(svcs))
		}
		if len(service(t, b, fx, id).Practitioners) == 0 {
			t.Errorf("service %s: no practitioner", id)
		}
	}
}

func testServicesUnknownEstablishment(t *testing.T, fx BookingFixture) {
	_, err := fx.As(t, fx.Patients[0]).Services(t.Context(), unknownID)
	wantCode(t, err, portal.ErrNotFound, "Services(unknown)")
}

// Free slots.

func testFreeSlots(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	loc := location(t, b, fx)
	practitioners := map[string]bool{}
	for _, p := range service(t, b, fx, fx.Service).Practitioners {
		practitioners[p.ID] = true
	}
	now := fx.Now()
	from, to := now, now.Add(window)
	slots := someFree(t, b, fx, fx.Service, 2)
	seen := map[string]bool{}
	for i, s := range slots {
		switch {
		case s.ID == "" || seen[s.ID]:
			t.Errorf("slot %d: empty or repeated id %q", i, s.ID)
		case s.Establishment != fx.Establishment || s.Service != fx.Service:
			t.Errorf("slot %s: of %s/%s, want %s/%s", s.ID, s.Establishment, s.Service, fx.Establishment, fx.Service)
		case s.Start.Before(from) || !s.Start.Before(to):
			t.Errorf("slot %s: starts %s, outside [%s, %s)", s.ID, s.Start, from, to)
		case !s.Start.After(now):
			t.Errorf("slot %s: starts %s, not after now %s", s.ID, s.Start, now)
		case !s.End.After(s.Start):
			t.Errorf("slot %s: ends %s, not after its start %s", s.ID, s.End, s.Start)
		case !practitioners[s.Practitioner]:
			t.Errorf("slot %s: practitioner %q is not listed in service %s", s.ID, s.Practitioner, fx.Service)
		}
		seen[s.ID] = true
		wantLocalOffset(t, "slot "+s.ID+" start", s.Start, loc)
		wantLocalOffset(t, "slot "+s.ID+" end", s.End, loc)
		if i > 0 {
			p := slots[i-1]
			if s.Start.Before(p.Start) || (s.Start.Equal(p.Start) && s.Practitioner < p.Practitioner) {
				t.Errorf("slots %s and %s: not ordered by start then practitioner", p.ID, s.ID)
			}
		}
	}
	for _, s := range someFree(t, b, fx, fx.OtherService, 1) {
		if s.Service != fx.OtherService {
			t.Errorf("FreeSlots(%s): slot %s of service %s", fx.OtherService, s.ID, s.Service)
		}
	}
}

func testFreeSlotsHalfOpen(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	all := someFree(t, b, fx, fx.Service, 2)
	s := all[len(all)/2]
	var atStart []string
	for _, o := range all {
		if o.Start.Equal(s.Start) {
			atStart = append(atStart, o.ID)
		}
	}
	query := func(from, to time.Time) []string {
		got, err := b.FreeSlots(t.Context(), portal.SlotQuery{Establishment: fx.Establishment, Service: fx.Service, From: from, To: to})
		if err != nil {
			t.Fatalf("FreeSlots [%s, %s): %v", from, to, err)
		}
		return slotIDs(got)
	}
	if got := query(s.Start, s.Start.Add(time.Second)); !slices.Equal(got, atStart) {
		t.Errorf("FreeSlots [start, start+1s) = %q, want the slots starting then, %q", got, atStart)
	}
	if got := query(s.Start.Add(-time.Hour), s.Start); slices.Contains(got, s.ID) {
		t.Errorf("FreeSlots [start-1h, start) = %q, includes %s although To is exclusive", got, s.ID)
	}
	if got := query(s.Start.Add(time.Second), s.Start.Add(time.Hour)); slices.Contains(got, s.ID) {
		t.Errorf("FreeSlots [start+1s, start+1h) = %q, includes %s which starts before From", got, s.ID)
	}
}

func testFreeSlotsFutureOnly(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	start := fx.Now()
	before := someFree(t, b, fx, fx.Service, 3)
	pivot := before[len(before)/3]
	fx.SetNow(pivot.Start)
	var want []string
	for _, s := range before {
		if s.Start.After(pivot.Start) {
			want = append(want, s.ID)
		}
	}
	// The period starts in the past: only future slots count.
	after, err := b.FreeSlots(t.Context(), portal.SlotQuery{
		Establishment: fx.Establishment, Service: fx.Service, From: start, To: start.Add(window),
	})
	if err != nil {
		t.Fatalf("FreeSlots: %v", err)
	}
	if got := slotIDs(after); !slices.Equal(got, want) {
		t.Errorf("FreeSlots with now at %s = %d slots %q…, want the %d slots starting after now", pivot.Start, len(got), got[:min(3, len(got))], len(want))
	}
}

func testFreeSlotsPractitioner(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	all := someFree(t, b, fx, fx.Service, 1)
	p := all[len(all)/2].Practitioner
	var want []string
	for _, s := range all {
		if s.Practitioner == p {
			want = append(want, s.ID)
		}
	}
	now := fx.Now()
	got, err := b.FreeSlots(t.Context(), portal.SlotQuery{
		Establishment: fx.Establishment, Service: fx.Service, Practitioner: p, From: now, To: now.Add(window),
	})
	if err != nil {
		t.Fatalf("FreeSlots(practitioner %s): %v", p, err)
	}
	if ids := slotIDs(got); !slices.Equal(ids, want) {
		t.Errorf("FreeSlots(practitioner %s) = %q, want exactly that practitioner's slots %q", p, ids, want)
	}
	if len(want) == len(all) {
		t.Logf("note: service %s has one practitioner with free slots; the filter is not discriminating", fx.Service)
	}
}

func testFreeSlotsUnknownPractitioner(t *testing.T, fx BookingFixture) {
	now := fx.Now()
	got, err := fx.As(t, fx.Patients[0]).FreeSlots(t.Context(), portal.SlotQuery{
		Establishment: fx.Establishment, Service: fx.Service, Practitioner: unknownID, From: now, To: now.Add(window),
	})
	if err != nil {
		wantCode(t, err, portal.ErrNotFound, "FreeSlots(unknown practitioner)")
	} else if len(got) != 0 {
		t.Errorf("FreeSlots(unknown practitioner) = %d slots, want none", len(got))
	}
}

func testFreeSlotsInvalid(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	now := fx.Now()
	valid := portal.SlotQuery{Establishment: fx.Establishment, Service: fx.Service, From: now, To: now.Add(24 * time.Hour)}
	tests := []struct {
		name   string
		modify func(q *portal.SlotQuery)
	}{
		{"ToBeforeFrom", func(q *portal.SlotQuery) { q.From, q.To = q.To, q.From }},
		{"EmptyPeriod", func(q *portal.SlotQuery) { q.To = q.From }},
		{"MissingFrom", func(q *portal.SlotQuery) { q.From = time.Time{} }},
		{"MissingTo", func(q *portal.SlotQuery) { q.To = time.Time{} }},
		{"MissingService", func(q *portal.SlotQuery) { q.Service = "" }},
		{"MissingEstablishment", func(q *portal.SlotQuery) { q.Establishment = "" }},
		{"PeriodTooLong", func(q *portal.SlotQuery) {
			q.To = q.From.Add((portal.MaxSlotQueryDays*24 + 1) * time.Hour)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := valid
			tc.modify(&q)
			_, err := b.FreeSlots(t.Context(), q)
			wantCode(t, err, portal.ErrInvalid, "FreeSlots")
		})
	}
}

func testFreeSlotsUnknownEstablishment(t *testing.T, fx BookingFixture) {
	now := fx.Now()
	_, err := fx.As(t, fx.Patients[0]).FreeSlots(t.Context(), portal.SlotQuery{
		Establishment: unknownID, Service: fx.Service, From: now, To: now.Add(window),
	})
	wantCode(t, err, portal.ErrNotFound, "FreeSlots(unknown establishment)")
}

func testFreeSlotsUnknownService(t *testing.T, fx BookingFixture) {
	now := fx.Now()
	_, err := fx.As(t, fx.Patients[0]).FreeSlots(t.Context(), portal.SlotQuery{
		Establishment: fx.Establishment, Service: unknownID, From: now, To: now.Add(window),
	})
	wantCode(t, err, portal.ErrNotFound, "FreeSlots(unknown service)")
}

// Booking.

func testBook(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	loc := location(t, b, fx)
	svc := service(t, b, fx, fx.Service)
	s := someFree(t, b, fx, fx.Service, 1)[0]
	now := fx.Now()
	a := book(t, b, request(fx, fx.Service, s))

	if a.ID == "" || a.Establishment != fx.Establishment || a.Service != fx.Service || a.Slot != s.ID {
		t.Errorf("Book = id %q, %s/%s slot %s; want an id, %s/%s slot %s",
			a.ID, a.Establishment, a.Service, a.Slot, fx.Establishment, fx.Service, s.ID)
	}
	if a.ServiceName != svc.Name {
		t.Errorf("Book: ServiceName = %+v, want %+v", a.ServiceName, svc.Name)
	}
	i := slices.IndexFunc(svc.Practitioners, func(p portal.Practitioner) bool { return p.ID == s.Practitioner })
	if i < 0 || a.Practitioner != svc.Practitioners[i] {
		t.Errorf("Book: Practitioner = %+v, want the slot's practitioner %q as listed in Services", a.Practitioner, s.Practitioner)
	}
	if !a.Start.Equal(s.Start) || !a.End.Equal(s.End) {
		t.Errorf("Book: period [%s, %s), want the slot's [%s, %s)", a.Start, a.End, s.Start, s.End)
	}
	wantLocalOffset(t, "appointment start", a.Start, loc)
	wantLocalOffset(t, "appointment end", a.End, loc)
	if a.Status != portal.StatusBooked || a.Cancelled != nil {
		t.Errorf("Book: status %q, cancelled %v; want booked, not cancelled", a.Status, a.Cancelled)
	}
	if d := a.Created.Sub(now); a.Created.IsZero() || d < -time.Minute || d > time.Minute {
		t.Errorf("Book: Created = %s, want about now (%s)", a.Created, now)
	}

	if isFree(t, b, fx, fx.Service, s.ID) {
		t.Errorf("slot %s is still free after booking", s.ID)
	}
	as := appointments(t, b)
	if len(as) != 1 {
		t.Fatalf("Appointments = %d appointments, want 1", len(as))
	}
	sameAppointment(t, "Appointments()[0]", as[0], a)
	sameAppointment(t, "Appointment(id)", appointment(t, b, a.ID), a)
	if other := appointments(t, fx.As(t, fx.Patients[1])); len(other) != 0 {
		t.Errorf("another patient's Appointments = %d appointments, want none", len(other))
	}
}

func testUnauthenticated(t *testing.T, fx BookingFixture) {
	owner := fx.As(t, fx.Patients[0])
	slots := someFree(t, owner, fx, fx.Service, 2)
	a := book(t, owner, request(fx, fx.Service, slots[0]))
	anon := fx.Anonymous
	ctx := t.Context()

	_, err := anon.Book(ctx, request(fx, fx.Service, slots[1]))
	wantCode(t, err, portal.ErrUnauthenticated, "anonymous Book")
	_, err = anon.Cancel(ctx, a.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "anonymous Cancel")
	_, err = anon.Appointments(ctx)
	wantCode(t, err, portal.ErrUnauthenticated, "anonymous Appointments")
	_, err = anon.Appointment(ctx, a.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "anonymous Appointment")

	if !isFree(t, owner, fx, fx.Service, slots[1].ID) {
		t.Errorf("slot %s is no longer free after an anonymous Book", slots[1].ID)
	}
	sameAppointment(t, "after an anonymous Cancel", appointment(t, owner, a.ID), a)
}

func testBookInvalid(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	s := someFree(t, b, fx, fx.Service, 1)[0]
	tests := []struct {
		name   string
		modify func(r *portal.BookRequest)
		code   portal.ErrorCode
	}{
		{"MissingEstablishment", func(r *portal.BookRequest) { r.Establishment = "" }, portal.ErrInvalid},
		{"MissingService", func(r *portal.BookRequest) { r.Service = "" }, portal.ErrInvalid},
		{"MissingSlot", func(r *portal.BookRequest) { r.Slot = "" }, portal.ErrInvalid},
		{"MissingIdempotencyKey", func(r *portal.BookRequest) { r.IdempotencyKey = "" }, portal.ErrIdempotencyKeyMissing},
		{"ShortIdempotencyKey", func(r *portal.BookRequest) { r.IdempotencyKey = "short" }, portal.ErrInvalid},
		{"IdempotencyKeyWithSpace", func(r *portal.BookRequest) { r.IdempotencyKey = "has a space" }, portal.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := request(fx, fx.Service, s)
			tc.modify(&r)
			_, err := b.Book(t.Context(), r)
			wantCode(t, err, tc.code, "Book")
		})
	}
	if !isFree(t, b, fx, fx.Service, s.ID) {
		t.Errorf("slot %s is no longer free after invalid requests", s.ID)
	}
	if as := appointments(t, b); len(as) != 0 {
		t.Errorf("Appointments = %d after invalid requests, want none", len(as))
	}
}

func testBookTakenByOther(t *testing.T, fx BookingFixture) {
	first, second := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	s := someFree(t, first, fx, fx.Service, 1)[0]
	a := book(t, first, request(fx, fx.Service, s))
	_, err := second.Book(t.Context(), request(fx, fx.Service, s))
	wantCode(t, err, portal.ErrSlotUnavailable, "Book of a booked slot by another patient")
	if as := appointments(t, second); len(as) != 0 {
		t.Errorf("the second patient has %d appointments, want none", len(as))
	}
	sameAppointment(t, "the first booking", appointment(t, first, a.ID), a)
}

func testBookTakenBySame(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	s := someFree(t, b, fx, fx.Service, 1)[0]
	book(t, b, request(fx, fx.Service, s))
	_, err := b.Book(t.Context(), request(fx, fx.Service, s))
	wantCode(t, err, portal.ErrSlotUnavailable, "Book of a booked slot with a new key")
	if as := appointments(t, b); len(as) != 1 {
		t.Errorf("Appointments = %d, want 1", len(as))
	}
}

func testBookIdempotentRetry(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	s := someFree(t, b, fx, fx.Service, 1)[0]
	r := request(fx, fx.Service, s)
	a := book(t, b, r)
	fx.SetNow(fx.Now().Add(time.Second))
	again := book(t, b, r)
	sameAppointment(t, "retry with the same key", again, a)
	if as := appointments(t, b); len(as) != 1 {
		t.Errorf("Appointments = %d after a retry, want 1", len(as))
	}
}

func testBookIdempotentRetryAfterCancel(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	slots := someFree(t, b, fx, fx.Service, 1)
	s := slots[len(slots)/2]
	r := request(fx, fx.Service, s)
	a := book(t, b, r)
	cancelled, err := b.Cancel(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	again := book(t, b, r)
	sameAppointment(t, "retry after cancelling", again, cancelled)
	if !isFree(t, b, fx, fx.Service, s.ID) {
		t.Errorf("slot %s was booked again by a retry of a cancelled booking", s.ID)
	}
	if as := appointments(t, b); len(as) != 1 {
		t.Errorf("Appointments = %d, want 1", len(as))
	}
}

func testBookKeyReused(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	slots := someFree(t, b, fx, fx.Service, 2)
	other := someFree(t, b, fx, fx.OtherService, 1)[0]
	r := request(fx, fx.Service, slots[0])
	a := book(t, b, r)

	tests := []struct {
		name   string
		modify func(r *portal.BookRequest)
	}{
		{"OtherSlot", func(r *portal.BookRequest) { r.Slot = slots[1].ID }},
		{"OtherServiceAndSlot", func(r *portal.BookRequest) { r.Service, r.Slot = fx.OtherService, other.ID }},
		// Idempotency comes first: the key, not the slot, is refused.
		{"OtherService", func(r *portal.BookRequest) { r.Service = fx.OtherService }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r2 := r
			tc.modify(&r2)
			_, err := b.Book(t.Context(), r2)
			wantCode(t, err, portal.ErrIdempotencyKeyReused, "Book with a used key")
		})
	}
	if !isFree(t, b, fx, fx.Service, slots[1].ID) || !isFree(t, b, fx, fx.OtherService, other.ID) {
		t.Error("a refused request booked a slot")
	}
	as := appointments(t, b)
	if len(as) != 1 {
		t.Fatalf("Appointments = %d, want 1", len(as))
	}
	sameAppointment(t, "the first booking", as[0], a)
}

func testBookKeyPerPatient(t *testing.T, fx BookingFixture) {
	first, second := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	slots := someFree(t, first, fx, fx.Service, 2)
	key := newKey()
	r1 := request(fx, fx.Service, slots[0])
	r1.IdempotencyKey = key
	r2 := request(fx, fx.Service, slots[1])
	r2.IdempotencyKey = key
	a1 := book(t, first, r1)
	a2 := book(t, second, r2)
	if a1.ID == a2.ID || a2.Slot != slots[1].ID {
		t.Errorf("two patients with one key: appointments %s (slot %s) and %s (slot %s), want two appointments",
			a1.ID, a1.Slot, a2.ID, a2.Slot)
	}
}

func testBookUnknownSlot(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	r := request(fx, fx.Service, portal.Slot{ID: unknownID})
	_, err := b.Book(t.Context(), r)
	wantCode(t, err, portal.ErrNotFound, "Book(unknown slot)")
}

func testBookOtherEstablishment(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	s := someFree(t, b, fx, fx.Service, 1)[0]
	r := request(fx, fx.Service, s)
	r.Establishment = unknownID
	_, err := b.Book(t.Context(), r)
	wantCode(t, err, portal.ErrNotFound, "Book(slot of another establishment)")
	if !isFree(t, b, fx, fx.Service, s.ID) {
		t.Errorf("slot %s was booked", s.ID)
	}
}

func testBookServiceMismatch(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	s := someFree(t, b, fx, fx.OtherService, 1)[0]
	_, err := b.Book(t.Context(), request(fx, fx.Service, s))
	wantCode(t, err, portal.ErrSlotServiceMismatch, "Book(slot of OtherService for Service)")
	if !isFree(t, b, fx, fx.OtherService, s.ID) {
		t.Errorf("slot %s was booked", s.ID)
	}
}

func testBookSlotInPast(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	slots := someFree(t, b, fx, fx.Service, 2)
	tests := []struct {
		name string
		slot portal.Slot
		now  time.Time
	}{
		// Ordered by time: the clock only moves forward.
		{"AtItsStart", slots[0], slots[0].Start},
		{"AfterItsStart", slots[1], slots[1].Start.Add(time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx.SetNow(tc.now)
			_, err := b.Book(t.Context(), request(fx, fx.Service, tc.slot))
			wantCode(t, err, portal.ErrSlotInPast, "Book(past slot)")
		})
	}
	if as := appointments(t, b); len(as) != 0 {
		t.Errorf("Appointments = %d, want none", len(as))
	}
}

// concurrency is the number of simultaneous calls in the concurrent tests.
const concurrency = 12

func testBookConcurrentSameSlot(t *testing.T, fx BookingFixture) {
	s := someFree(t, fx.As(t, fx.Patients[0]), fx, fx.Service, 1)[0]
	clients := make([]portal.Booking, len(fx.Patients))
	for i, p := range fx.Patients {
		clients[i] = fx.As(t, p)
	}
	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range concurrency {
		wg.Go(func() {
			<-start
			_, errs[i] = clients[i%len(clients)].Book(t.Context(), request(fx, fx.Service, s))
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch portal.Code(err) {
		case "":
			ok++
		case portal.ErrSlotUnavailable:
		default:
			t.Errorf("call %d: %v, want success or %s", i, err, portal.ErrSlotUnavailable)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent bookings of one slot succeeded, want exactly 1", ok, concurrency)
	}
	booked := 0
	for _, c := range clients {
		for _, a := range appointments(t, c) {
			if a.Slot == s.ID && a.Status == portal.StatusBooked {
				booked++
			}
		}
	}
	if booked != 1 {
		t.Errorf("%d booked appointments hold slot %s, want exactly 1", booked, s.ID)
	}
}

func testBookConcurrentRetries(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	s := someFree(t, b, fx, fx.Service, 1)[0]
	r := request(fx, fx.Service, s)
	ids := make([]string, concurrency)
	errs := make([]error, concurrency)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range concurrency {
		wg.Go(func() {
			<-start
			a, err := b.Book(t.Context(), r)
			ids[i], errs[i] = a.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("retry %d: %v, want the one appointment", i, err)
		} else if ids[i] != ids[0] {
			t.Errorf("retry %d: appointment %s, want %s like the others", i, ids[i], ids[0])
		}
	}
	if as := appointments(t, b); len(as) != 1 {
		t.Errorf("Appointments = %d after concurrent retries, want 1", len(as))
	}
}

// Cancelling.

func testCancelFreesSlot(t *testing.T, fx BookingFixture) {
	first, second := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	slots := someFree(t, first, fx, fx.Service, 1)
	s := slots[len(slots)/2]
	a := book(t, first, request(fx, fx.Service, s))
	fx.SetNow(fx.Now().Add(time.Minute))
	c, err := first.Cancel(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if c.Status != portal.StatusCancelled || c.Cancelled == nil || c.Cancelled.Before(a.Created) {
		t.Errorf("Cancel = status %q, cancelled %v; want cancelled, at or after its creation %s", c.Status, c.Cancelled, a.Created)
	}
	want := a
	want.Status, want.Cancelled = c.Status, c.Cancelled
	sameAppointment(t, "Cancel", c, want)
	sameAppointment(t, "Appointment after Cancel", appointment(t, first, a.ID), c)

	if !isFree(t, first, fx, fx.Service, s.ID) {
		t.Fatalf("slot %s is not free after its appointment was cancelled", s.ID)
	}
	b := book(t, second, request(fx, fx.Service, s))
	if b.ID == a.ID || b.Status != portal.StatusBooked {
		t.Errorf("rebooking the freed slot: appointment %s (%s), want a new booked appointment", b.ID, b.Status)
	}
	as := appointments(t, first)
	if len(as) != 1 || as[0].Status != portal.StatusCancelled {
		t.Errorf("first patient's Appointments = %+v, want their one cancelled appointment", as)
	}
}

func testCancelTwice(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	slots := someFree(t, b, fx, fx.Service, 1)
	a := book(t, b, request(fx, fx.Service, slots[len(slots)/2]))
	c1, err := b.Cancel(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	fx.SetNow(fx.Now().Add(time.Minute))
	c2, err := b.Cancel(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("second Cancel: %v", err)
	}
	sameAppointment(t, "second Cancel", c2, c1)
}

func testCancelOtherPatient(t *testing.T, fx BookingFixture) {
	owner, other := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	s := someFree(t, owner, fx, fx.Service, 1)[0]
	a := book(t, owner, request(fx, fx.Service, s))
	_, err := other.Cancel(t.Context(), a.ID)
	wantCode(t, err, portal.ErrNotFound, "Cancel of another patient's appointment")
	sameAppointment(t, "the owner's appointment", appointment(t, owner, a.ID), a)
	if isFree(t, owner, fx, fx.Service, s.ID) {
		t.Errorf("slot %s was freed by another patient", s.ID)
	}
}

func testCancelUnknown(t *testing.T, fx BookingFixture) {
	_, err := fx.As(t, fx.Patients[0]).Cancel(t.Context(), unknownID)
	wantCode(t, err, portal.ErrNotFound, "Cancel(unknown)")
}

func testCancelPast(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	slots := someFree(t, b, fx, fx.Service, 2)
	a0 := book(t, b, request(fx, fx.Service, slots[0]))
	a1 := book(t, b, request(fx, fx.Service, slots[1]))
	tests := []struct {
		name string
		a    portal.Appointment
		now  time.Time
	}{
		{"AtItsStart", a0, a0.Start},
		{"AfterItsStart", a1, a1.Start.Add(time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx.SetNow(tc.now)
			_, err := b.Cancel(t.Context(), tc.a.ID)
			wantCode(t, err, portal.ErrAppointmentInPast, "Cancel(past appointment)")
			sameAppointment(t, "after the refused Cancel", appointment(t, b, tc.a.ID), tc.a)
		})
	}
}

// Listing.

func testAppointmentsOrdered(t *testing.T, fx BookingFixture) {
	b := fx.As(t, fx.Patients[0])
	slots := someFree(t, b, fx, fx.Service, 3)
	others := someFree(t, b, fx, fx.OtherService, 1)
	// Booked out of order, one of them cancelled: all are listed by start.
	made := []portal.Appointment{
		book(t, b, request(fx, fx.Service, slots[len(slots)-1])),
		book(t, b, request(fx, fx.OtherService, others[len(others)/2])),
		book(t, b, request(fx, fx.Service, slots[0])),
		book(t, b, request(fx, fx.Service, slots[len(slots)/2])),
	}
	if _, err := b.Cancel(t.Context(), made[1].ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	as := appointments(t, b)
	if len(as) != len(made) {
		t.Fatalf("Appointments = %d, want %d", len(as), len(made))
	}
	for i := 1; i < len(as); i++ {
		if as[i].Start.Before(as[i-1].Start) {
			t.Errorf("Appointments: %s (%s) listed after %s (%s)", as[i].ID, as[i].Start, as[i-1].ID, as[i-1].Start)
		}
	}
	for _, m := range made {
		i := slices.IndexFunc(as, func(a portal.Appointment) bool { return a.ID == m.ID })
		if i < 0 {
			t.Errorf("Appointments: %s missing", m.ID)
		} else if m.ID == made[1].ID && as[i].Status != portal.StatusCancelled {
			t.Errorf("Appointments: %s has status %q, want cancelled", m.ID, as[i].Status)
		}
	}
}

func testAppointmentOtherPatient(t *testing.T, fx BookingFixture) {
	owner, other := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	a := book(t, owner, request(fx, fx.Service, someFree(t, owner, fx, fx.Service, 1)[0]))
	_, err := other.Appointment(t.Context(), a.ID)
	wantCode(t, err, portal.ErrNotFound, "Appointment of another patient")
	if as := appointments(t, other); len(as) != 0 {
		t.Errorf("the other patient's Appointments = %d, want none", len(as))
	}
}

func testAppointmentUnknown(t *testing.T, fx BookingFixture) {
	_, err := fx.As(t, fx.Patients[0]).Appointment(t.Context(), unknownID)
	wantCode(t, err, portal.ErrNotFound, "Appointment(unknown)")
}
