package host_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// downBackend is an establishment whose backend does not answer.
type downBackend struct {
	portal.Booking
	portal.Directory
}

func (downBackend) Appointments(context.Context) ([]portal.Appointment, error) {
	return nil, portal.Errorf(portal.ErrBackendUnavailable, "connection refused")
}

func (downBackend) Establishment(context.Context, string) (portal.Establishment, error) {
	return portal.Establishment{}, portal.Errorf(portal.ErrBackendUnavailable, "connection refused")
}

func (downBackend) DemoPatients(context.Context) ([]portal.Patient, error) {
	return nil, portal.Errorf(portal.ErrBackendUnavailable, "connection refused")
}

func (downBackend) Patient(_ context.Context, id string) (portal.Patient, error) {
	return portal.Patient{}, portal.Errorf(portal.ErrNotFound, "patient %q", id)
}

// TestAppointmentsWithAnEstablishmentDown: behind several establishments,
// one backend down leaves its part out of the patient's appointments,
// named in "unavailable", and the others' are still listed; the client
// returns them with a PartialError.
func TestAppointmentsWithAnEstablishmentDown(t *testing.T) {
	th := newTestHostWith(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		b, err := multi.New(multi.Config{Establishments: []multi.Establishment{
			{ID: sqlite.DemoEstablishment, Booking: store, Directory: store},
			{ID: "ch-nord", Booking: downBackend{}, Directory: downBackend{}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Booking, cfg.Directory = b, b
		cfg.Establishments = append(cfg.Establishments, host.Establishment{ID: "ch-nord"})
	})
	pat := patientSession(t, th, sqlite.DemoPatientCamilleDurand)
	r := pat.mustStatus(pat.do("GET", "/api/v1/appointments", "", ""), 200)
	var list client.AppointmentList
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Unavailable) != 1 || list.Unavailable[0] != "ch-nord" || list.Appointments == nil {
		t.Fatalf("answer %s", r.body)
	}
}

// TestMergedBookingWidget: a booking widget without an establishment, on a
// host serving two, first offers the establishments (listed by the API,
// the one down named unavailable), works without its Wasm through form
// posts, and may be embedded by either establishment's pages.
func TestMergedBookingWidget(t *testing.T) {
	th := newTestHostWith(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		b, err := multi.New(multi.Config{Establishments: []multi.Establishment{
			{ID: sqlite.DemoEstablishment, Booking: store, Directory: store},
			{ID: "ch-nord", Booking: downBackend{}, Directory: downBackend{}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Booking, cfg.Directory = b, b
		cfg.Establishments = append(cfg.Establishments, host.Establishment{ID: "ch-nord", Origins: []string{"https://www.ch-nord.fr"}})
	})
	pat := patientSession(t, th, sqlite.DemoPatientCamilleDurand)
	var list client.EstablishmentList
	json.Unmarshal(pat.mustStatus(pat.do("GET", "/api/v1/establishments", "", ""), 200).body, &list)
	if len(list.Establishments) != 1 || list.Establishments[0].ID != sqlite.DemoEstablishment || len(list.Unavailable) != 1 || list.Unavailable[0] != "ch-nord" {
		t.Fatalf("establishments %+v", list)
	}

	jar, _ := cookiejar.New(nil)
	c := &formClient{t: t, base: th.URL, hc: &http.Client{Jar: jar}}
	resp, err := c.hc.Get(th.URL + "/w/booking?lang=fr")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if fa := resp.Header.Get("Content-Security-Policy"); !strings.Contains(fa, "frame-ancestors "+pageOrigin+" https://www.ch-nord.fr") {
		t.Errorf("merged widget CSP %q: want every establishment's pages", fa)
	}
	// The documents and messaging widgets too may go without an
	// establishment; the questionnaire, whose questionnaire is an
	// establishment's, may not.
	for w, want := range map[string]int{"documents": 200, "messages": 200, "inbox": 200, "questionnaire": 404} {
		r, err := c.hc.Get(th.URL + "/w/" + w + "?lang=fr&questionnaire=epds")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("%s widget without an establishment: %d, want %d", w, r.StatusCode, want)
		}
	}
	p := c.get("/w/booking?lang=fr")
	// One establishment answers: it is chosen at once.
	p.want(`data-step="service"`, "CHU Exemple", "Maternité")
	p = c.post(p, "choose-service:"+sqlite.ServiceMaternite)
	p.want(`data-step="slots"`)
	if !strings.Contains(p.state, `"es":"`+sqlite.DemoEstablishment+`"`) {
		t.Errorf("the form state forgets the establishment: %s", p.state)
	}
}
