package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestFutureAppointmentsCap: a patient holds at most
// MaxFutureAppointments appointments to come; the next booking is refused,
// a retry of one already made still answers its appointment, and a
// cancellation frees a place.
func TestFutureAppointmentsCap(t *testing.T) {
	th := newTestHostWith(t, func(c *host.Config) { c.MaxFutureAppointments = 2 })
	c := th.raw(t, sqlite.DemoPatientLucasBernard)
	book := func(i int, key string) (int, portal.Appointment, []byte) {
		slot := freeSlot(t, th, sqlite.ServiceDiabetologie, i)
		status, body := c.do("POST", "/api/v1/establishments/chu-exemple/appointments",
			map[string]string{"Content-Type": "application/json", "Idempotency-Key": key},
			fmt.Sprintf(`{"service":"diabetologie","slot":%q}`, slot.ID))
		var apt portal.Appointment
		json.Unmarshal(body, &apt)
		return status, apt, body
	}
	before := len(snapshot(t, th).Appointments[sqlite.DemoPatientLucasBernard])
	if before != 0 {
		t.Fatalf("the seed gives Lucas Bernard %d appointments: the test assumes none", before)
	}
	// Each booking takes the first free slot, which is then no longer free.
	if s, _, b := book(0, "cap-key-00001"); s != 201 {
		t.Fatalf("first booking: %d %s", s, b)
	}
	s, second, b := book(0, "cap-key-00002")
	if s != 201 {
		t.Fatalf("second booking: %d %s", s, b)
	}
	s, _, b = book(0, "cap-key-00003")
	var e client.ErrorBody
	json.Unmarshal(b, &e)
	if s != http.StatusConflict && s != http.StatusUnprocessableEntity && s != http.StatusForbidden || e.Error.Code != portal.ErrBookingRefused {
		t.Fatalf("third booking: %d %s, want booking_refused", s, b)
	}
	// A retry of the second booking, same key and slot: its appointment.
	status, body := c.do("POST", "/api/v1/establishments/chu-exemple/appointments",
		map[string]string{"Content-Type": "application/json", "Idempotency-Key": "cap-key-00002"},
		fmt.Sprintf(`{"service":"diabetologie","slot":%q}`, second.Slot))
	var again portal.Appointment
	json.Unmarshal(body, &again)
	if status != 201 || again.ID != second.ID {
		t.Fatalf("retry at the cap: %d %s, want appointment %s", status, body, second.ID)
	}
	if s, b := c.do("POST", "/api/v1/appointments/"+second.ID+"/cancel", nil, ""); s != 200 {
		t.Fatalf("cancel: %d %s", s, b)
	}
	if s, _, b := book(0, "cap-key-00004"); s != 201 {
		t.Fatalf("booking after a cancellation: %d %s", s, b)
	}
	if n := len(snapshot(t, th).Appointments[sqlite.DemoPatientLucasBernard]); n != 3 {
		t.Errorf("%d appointments (one cancelled), want 3", n)
	}
}

// TestHSTS: over HTTPS (TLS at the host, or PublicURL https behind a
// proxy) every answer carries Strict-Transport-Security; over plain HTTP
// none does (browsers ignore it there anyway).
func TestHSTS(t *testing.T) {
	for _, tt := range []struct {
		name      string
		tls       bool
		publicURL string
		want      bool
	}{
		{"plain http", false, "", false},
		{"tls", true, "", true},
		{"behind a TLS proxy", false, "https://portail.chu-exemple.fr", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHostWith(t, func(c *host.Config) { c.PublicURL = tt.publicURL })
			h := th.Handler
			for _, path := range []string{"/", "/api/v1/establishments", "/w/booking?establishment=chu-exemple", "/nowhere"} {
				r := httptest.NewRequest("GET", path, nil)
				if tt.tls {
					r = httptest.NewRequest("GET", "https://host.example"+path, nil)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				got := w.Header().Get("Strict-Transport-Security")
				if (got != "") != tt.want {
					t.Errorf("%s: Strict-Transport-Security %q", path, got)
				}
			}
		})
	}
}

// TestCORSOrigins: only the listed origins get CORS headers, exactly as
// they asked; an evil origin, the null origin (sandboxed frames, files) or
// a listed origin's look-alike get none, and every answer varies on Origin.
func TestCORSOrigins(t *testing.T) {
	th := newTestHost(t)
	for _, tt := range []struct {
		origin, want string
	}{
		{pageOrigin, pageOrigin},
		{"https://evil.example", ""},
		{"null", ""},
		{pageOrigin + ".evil.example", ""},
		{"http://www.chu-exemple.fr", ""}, // another scheme
		{pageOrigin + ":443", ""},         // spelled otherwise: not the listed origin
	} {
		for _, method := range []string{"GET", "OPTIONS"} {
			r := httptest.NewRequest(method, "/api/v1/establishments/chu-exemple/services", nil)
			r.Header.Set("Origin", tt.origin)
			if method == "OPTIONS" {
				r.Header.Set("Access-Control-Request-Method", "GET")
			}
			w := httptest.NewRecorder()
			th.Handler.ServeHTTP(w, r)
			hd := w.Header()
			if got := hd.Get("Access-Control-Allow-Origin"); got != tt.want {
				t.Errorf("%s from %q: Access-Control-Allow-Origin %q, want %q", method, tt.origin, got, tt.want)
			}
			if hd.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s from %q: credentials allowed", method, tt.origin)
			}
			if !strings.Contains(strings.Join(hd.Values("Vary"), ","), "Origin") {
				t.Errorf("%s from %q: no Vary: Origin", method, tt.origin)
			}
		}
	}
}

// TestBookingRateLimit: a patient's booking attempts are bounded per hour,
// refused ones included; beyond, 429 with Retry-After, and nothing booked.
func TestBookingRateLimit(t *testing.T) {
	th := newTestHostWith(t, func(c *host.Config) { c.BookingsPerHour = 2 })
	c := th.raw(t, sqlite.DemoPatientLucasBernard)
	for i := range 3 {
		slot := freeSlot(t, th, sqlite.ServiceDiabetologie, 0)
		req, _ := http.NewRequest("POST", th.URL+"/api/v1/establishments/chu-exemple/appointments",
			strings.NewReader(fmt.Sprintf(`{"service":"diabetologie","slot":%q}`, slot.ID)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("rate-key-%05d", i))
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := 201
		if i == 2 {
			want = 429
		}
		if resp.StatusCode != want {
			t.Fatalf("booking %d: %d, want %d", i+1, resp.StatusCode, want)
		}
		if i == 2 && resp.Header.Get("Retry-After") != "1800" {
			t.Errorf("Retry-After %q, want 1800 (half an hour: 2 an hour)", resp.Header.Get("Retry-After"))
		}
	}
	if n := len(snapshot(t, th).Appointments[sqlite.DemoPatientLucasBernard]); n != 2 {
		t.Errorf("%d appointments, want 2", n)
	}
	// Another patient is not affected.
	other := th.raw(t, sqlite.DemoPatientInesMoreau)
	slot := freeSlot(t, th, sqlite.ServiceDiabetologie, 0)
	if s, b := other.do("POST", "/api/v1/establishments/chu-exemple/appointments",
		map[string]string{"Content-Type": "application/json", "Idempotency-Key": "rate-key-other"},
		fmt.Sprintf(`{"service":"diabetologie","slot":%q}`, slot.ID)); s != 201 {
		t.Errorf("another patient's booking: %d %s", s, b)
	}
}

// TestAddressRateLimit: the writes of one client address are bounded
// across accounts; behind a proxy, ClientAddressHeader's address counts
// (and is the one audited).
func TestAddressRateLimit(t *testing.T) {
	th := newTestHostWith(t, func(c *host.Config) {
		c.WritesPerAddressPerMinute = 3
		c.ClientAddressHeader = "X-Forwarded-For"
		c.Audit = c.Booking.(*sqlite.Store)
	})
	book := func(patient, key string, header map[string]string) (int, http.Header) {
		t.Helper()
		slot := freeSlot(t, th, sqlite.ServiceDiabetologie, 0)
		h := map[string]string{"Content-Type": "application/json", "Idempotency-Key": key}
		maps.Copy(h, header)
		req, _ := http.NewRequest("POST", th.URL+"/api/v1/establishments/chu-exemple/appointments",
			strings.NewReader(fmt.Sprintf(`{"service":"diabetologie","slot":%q}`, slot.ID)))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := th.raw(t, patient).hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	// Three patients on one address (the connection's: no header).
	for i, p := range []string{sqlite.DemoPatientLucasBernard, sqlite.DemoPatientInesMoreau, sqlite.DemoPatientCamilleDurand} {
		if s, _ := book(p, fmt.Sprintf("addr-key-%05d", i), nil); s != 201 {
			t.Fatalf("booking %d: %d, want 201", i+1, s)
		}
	}
	s, h := book(sqlite.DemoPatientLucasBernard, "addr-key-00003", nil)
	if s != 429 || h.Get("Retry-After") != "20" {
		t.Fatalf("4th write from the address: %d, Retry-After %q; want 429 after 20 s (3 a minute)", s, h.Get("Retry-After"))
	}
	// Through a proxy, the last address of X-Forwarded-For (the one the
	// nearest proxy added) is the client's: counted apart, and audited.
	xff := map[string]string{"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
	if s, _ := book(sqlite.DemoPatientLucasBernard, "addr-key-00004", xff); s != 201 {
		t.Fatalf("a write from another address: %d, want 201", s)
	}
	events, err := th.Store.AuditEvents(context.Background(), portal.AuditQuery{Patient: sqlite.DemoPatientLucasBernard, Limit: 1000})
	if err != nil || len(events) == 0 {
		t.Fatalf("audit: %d events, %v", len(events), err)
	}
	last := events[len(events)-1]
	if last.Operation != "bookAppointment" || last.Network != "203.0.113.7" {
		t.Errorf("last audit event: %s from %q, want bookAppointment from 203.0.113.7", last.Operation, last.Network)
	}
	// A header that is not an address counts under the connection's.
	if s, _ := book(sqlite.DemoPatientInesMoreau, "addr-key-00005", map[string]string{"X-Forwarded-For": "not-an-address"}); s != 429 {
		t.Errorf("a write with a bogus header: %d, want 429 (the connection's address)", s)
	}
}

func TestClientAddressHeaderChecked(t *testing.T) {
	store := newTestHost(t).Store
	_, err := host.New(host.Config{Booking: store, Directory: store, ClientAddressHeader: "X Forwarded",
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment}}})
	if err == nil || !strings.Contains(err.Error(), "ClientAddressHeader") {
		t.Errorf("New with a bad header name: %v", err)
	}
}
