package fhir_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
	"github.com/tidwall/gjson"
)

// TestBookingConformance runs the booking suite every backend passes
// against a real FHIR R4 server, each test on an establishment of its own.
func TestBookingConformance(t *testing.T) {
	portaltest.RunBookingTests(t, func(t *testing.T) portaltest.BookingFixture {
		base := serverURL(t)
		clock := portaltest.NewClock(time.Now().Truncate(time.Second))
		b := newBackend(t, base, clock.Now)
		s := seed(t, b, clock.Now(), 2)
		return portaltest.BookingFixture{
			As: func(t *testing.T, patient string) portal.Booking {
				return portaltest.AsPatient(b, patient)
			},
			Anonymous:     b,
			Establishment: s.Establishment,
			Service:       s.Service,
			OtherService:  s.Other,
			Patients:      s.Patients,
			SetNow:        clock.Set,
			Now:           clock.Now,
		}
	})
}

// TestBookOneSlotFiftyPatients books one slot as 50 patients at once
// through one Backend: exactly one gets it, the 49 others get
// slot_unavailable, and the server holds exactly one Appointment for the
// slot.
func TestBookOneSlotFiftyPatients(t *testing.T) {
	const patients = 50
	base := serverURL(t)
	now := time.Now()
	b := newBackend(t, base, func() time.Time { return now })
	s := seed(t, b, now, patients)
	slot := s.ServiceSlots[0]

	errs := make([]error, patients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range s.Patients {
		wg.Go(func() {
			ctx := portal.WithSubject(t.Context(), portal.Subject{Patient: p})
			<-start
			_, errs[i] = b.Book(ctx, portal.BookRequest{
				Establishment: s.Establishment, Service: s.Service, Slot: slot,
				IdempotencyKey: fmt.Sprintf("fifty-%02d-%s", i, p),
			})
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch portal.Code(err) {
		case "":
			won++
		case portal.ErrSlotUnavailable:
		default:
			t.Errorf("patient %d: %v, want success or %s", i, err, portal.ErrSlotUnavailable)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d patients booked the slot, want exactly 1", won, patients)
	}

	// Ask the server itself, not the backend.
	body := get(t, base+"/Appointment?"+url.Values{"slot": {"Slot/" + slot}}.Encode())
	var booked []string
	gjson.GetBytes(body, "entry.#.resource").ForEach(func(_, r gjson.Result) bool {
		if r.Get("resourceType").String() == "Appointment" {
			booked = append(booked, r.Get("id").String()+":"+r.Get("status").String())
		}
		return true
	})
	if len(booked) != 1 || !strings.HasSuffix(booked[0], ":booked") {
		t.Errorf("the server holds %d appointments for slot %s (%q), want exactly 1 booked", len(booked), slot, booked)
	}
	if st := gjson.GetBytes(get(t, base+"/Slot/"+slot), "status").String(); st != "busy" {
		t.Errorf("slot %s is %q on the server, want busy", slot, st)
	}
}

// TestExampleBundle loads the documented example of what a hospital
// exposes (examples/fhir/establishment-bundle.json) and uses it through the
// backend: establishment, services, free slots, demo patients, a booking
// and its cancellation.
func TestExampleBundle(t *testing.T) {
	base := serverURL(t)
	bundle, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "fhir", "establishment-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	now := time.Date(2027, 1, 4, 8, 0, 0, 0, paris)
	b := newBackend(t, base, func() time.Time { return now })
	locations, err := b.LoadBundle(t.Context(), bundle)
	if err != nil {
		t.Fatalf("LoadBundle: %v", err)
	}
	if n := int(gjson.GetBytes(bundle, "entry.#").Int()); len(locations) != n {
		t.Errorf("LoadBundle: %d locations for %d entries", len(locations), n)
	}
	ctx := t.Context()

	e, err := b.Establishment(ctx, "chu-exemple")
	if err != nil || e.TimeZone != "Europe/Paris" || e.Name == "" || e.UrgentHelp.EN == "" {
		t.Errorf("Establishment = %+v, %v; want a name, Europe/Paris and an urgent-help text in two languages", e, err)
	}
	svcs, err := b.Services(ctx, "chu-exemple")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		names = append(names, fmt.Sprintf("%s=%s/%s:%d", s.ID, s.Name.FR, s.Name.EN, len(s.Practitioners)))
	}
	want := []string{"diabetologie=Diabétologie/Diabetology:1", "maternite=Maternité/Maternity:2"}
	if !slices.Equal(names, want) {
		t.Errorf("Services = %q, want %q", names, want)
	}

	slots, err := b.FreeSlots(ctx, portal.SlotQuery{Establishment: "chu-exemple", Service: "maternite", From: now, To: now.AddDate(0, 0, 14)})
	if err != nil || len(slots) != 5 {
		t.Fatalf("FreeSlots(maternite) = %d slots, %v; want the 5 of the bundle", len(slots), err)
	}
	if _, off := slots[0].Start.Zone(); off != 3600 || slots[0].Practitioner != "pr-claire-martin" || slots[1].Practitioner != "pr-sophie-lefebvre" {
		t.Errorf("first slots = %+v, %+v; want Claire Martin then Sophie Lefebvre at 9:00+01:00", slots[0], slots[1])
	}

	demo, err := b.DemoPatients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"pat-camille-durand", "pat-louis-bernard"} {
		if !slices.ContainsFunc(demo, func(p portal.Patient) bool { return p.ID == id }) {
			t.Errorf("DemoPatients = %+v, want %s among them", demo, id)
		}
	}
	if p, err := b.PatientByINS(ctx, fhir.INSNIRTest, "279035121518989"); err != nil || p.ID != "pat-camille-durand" || p.GivenName != "Camille" {
		t.Errorf("PatientByINS = %+v, %v; want Camille Durand", p, err)
	}

	as := portal.WithSubject(ctx, portal.Subject{Patient: "pat-camille-durand"})
	a, err := b.Book(as, portal.BookRequest{Establishment: "chu-exemple", Service: "maternite", Slot: slots[0].ID, IdempotencyKey: "example-" + time.Now().Format(time.RFC3339Nano)})
	if err != nil || a.Practitioner.Role.EN != "Midwife" || a.ServiceName.EN != "Maternity" {
		t.Fatalf("Book = %+v, %v", a, err)
	}
	if _, err := b.Cancel(as, a.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if st := gjson.GetBytes(get(t, base+"/Slot/"+slots[0].ID), "status").String(); st != "free" {
		t.Errorf("slot %s is %q after the cancellation, want free", slots[0].ID, st)
	}
}

// TestDefaultTimeZone checks that an Organization without the time-zone
// extension is in Config.TimeZone, and its slots carry that zone's offset.
func TestDefaultTimeZone(t *testing.T) {
	base := serverURL(t)
	now := time.Now()
	b := newBackend(t, base, func() time.Time { return now }, func(c *fhir.Config) { c.TimeZone = "America/Cayenne" })
	s := seed(t, b, now, 0)
	var bb bundleBuilder
	bb.put(map[string]any{"resourceType": "Organization", "id": s.Establishment, "name": "Sans fuseau"})
	if _, err := b.LoadBundle(t.Context(), bb.transactions(t)[0]); err != nil {
		t.Fatal(err)
	}
	e, err := b.Establishment(t.Context(), s.Establishment)
	if err != nil || e.TimeZone != "America/Cayenne" {
		t.Fatalf("Establishment = %+v, %v; want the default zone", e, err)
	}
	slots, err := b.FreeSlots(t.Context(), portal.SlotQuery{Establishment: s.Establishment, Service: s.Service, From: now, To: now.AddDate(0, 0, 14)})
	if err != nil || len(slots) == 0 {
		t.Fatalf("FreeSlots = %d, %v", len(slots), err)
	}
	if _, off := slots[0].Start.Zone(); off != -3*3600 {
		t.Errorf("slot start %s: offset %d, want Cayenne's -3h", slots[0].Start, off)
	}
}

// get reads a URL of the test server directly.
func get(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return b
}
