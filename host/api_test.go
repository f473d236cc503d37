package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// rawClient sends hand-made requests with its own session cookie.
type rawClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (th *testHost) raw(t *testing.T, patient string) *rawClient {
	jar, _ := cookiejar.New(nil)
	rc := &rawClient{t: t, base: th.URL, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	if patient != "" {
		status, body := rc.do("POST", "/api/v1/demo/session", map[string]string{"Content-Type": "application/json"}, fmt.Sprintf(`{"patient":%q}`, patient))
		if status != 200 {
			t.Fatalf("sign-in as %s: %d %s", patient, status, body)
		}
	}
	return rc
}

func (rc *rawClient) do(method, path string, header map[string]string, body string) (int, []byte) {
	rc.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rc.base+path, r)
	if err != nil {
		rc.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rc.hc.Do(req)
	if err != nil {
		rc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// state is everything a request could change: each demo patient's
// appointments and the free slots of the demo services.
type state struct {
	Appointments map[string][]portal.Appointment
	Free         map[string][]string
}

func snapshot(t *testing.T, th *testHost) state {
	t.Helper()
	ctx := context.Background()
	s := state{Appointments: map[string][]portal.Appointment{}, Free: map[string][]string{}}
	for _, p := range []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard, sqlite.DemoPatientInesMoreau} {
		list, err := portaltest.AsPatient(th.Store, p).Appointments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Appointments[p] = list
	}
	now := th.Clock.Now()
	for _, svc := range []string{sqlite.ServiceMaternite, sqlite.ServiceDiabetologie, sqlite.ServiceConsultations} {
		slots, err := th.Store.FreeSlots(ctx, portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: svc, From: now, To: now.AddDate(0, 0, 30)})
		if err != nil {
			t.Fatal(err)
		}
		for _, sl := range slots {
			s.Free[svc] = append(s.Free[svc], sl.ID)
		}
	}
	return s
}

func freeSlot(t *testing.T, th *testHost, service string, n int) portal.Slot {
	t.Helper()
	now := th.Clock.Now()
	slots, err := th.Store.FreeSlots(context.Background(), portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: service, From: now, To: now.AddDate(0, 0, 14)})
	if err != nil || len(slots) <= n {
		t.Fatalf("free slots of %s: %d, %v", service, len(slots), err)
	}
	return slots[n]
}

// TestBadInput sends each kind of bad request a widget or an attacker could
// send. Each gets its documented status and error code, and nothing in the
// database changes.
func TestBadInput(t *testing.T) {
	th := newTestHost(t)
	camille := th.raw(t, sqlite.DemoPatientCamilleDurand)
	anonymous := th.raw(t, "")

	// Fixtures made through the API before the snapshot.
	slot := freeSlot(t, th, sqlite.ServiceMaternite, 0)
	otherServiceSlot := freeSlot(t, th, sqlite.ServiceDiabetologie, 0)
	taken := freeSlot(t, th, sqlite.ServiceMaternite, 1)
	lucasApt, err := th.signedIn(t, sqlite.DemoPatientLucasBernard).Book(context.Background(), portal.BookRequest{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: taken.ID, IdempotencyKey: "lucas-key-0001",
	})
	if err != nil {
		t.Fatal(err)
	}
	camilleApt, err := th.signedIn(t, sqlite.DemoPatientCamilleDurand).Book(context.Background(), portal.BookRequest{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: freeSlot(t, th, sqlite.ServiceMaternite, 2).ID, IdempotencyKey: "camille-key-0001",
	})
	if err != nil {
		t.Fatal(err)
	}

	const book = "/api/v1/establishments/chu-exemple/appointments"
	jsonCT := map[string]string{"Content-Type": "application/json", "Idempotency-Key": "fresh-key-0001"}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range h {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	body := func(service, slot string) string {
		return fmt.Sprintf(`{"service":%q,"slot":%q}`, service, slot)
	}

	cases := []struct {
		name         string
		c            *rawClient
		method, path string
		header       map[string]string
		body         string
		status       int
		code         portal.ErrorCode
	}{
		{"malformed JSON", camille, "POST", book, jsonCT, `{"service":"maternite","slot":`, 400, portal.ErrInvalid},
		{"JSON array", camille, "POST", book, jsonCT, `[1,2]`, 400, portal.ErrInvalid},
		{"unknown field", camille, "POST", book, jsonCT, `{"service":"maternite","slot":"x","patient":"pat-lucas-bernard"}`, 400, portal.ErrInvalid},
		{"data after the object", camille, "POST", book, jsonCT, body(sqlite.ServiceMaternite, slot.ID) + `{}`, 400, portal.ErrInvalid},
		{"empty body", camille, "POST", book, jsonCT, ``, 400, portal.ErrInvalid},
		{"missing slot", camille, "POST", book, jsonCT, `{"service":"maternite"}`, 400, portal.ErrInvalid},
		{"form content type", camille, "POST", book, with(jsonCT, "Content-Type", "application/x-www-form-urlencoded"), "service=maternite", 415, portal.ErrUnsupportedMediaType},
		{"no content type", camille, "POST", book, with(jsonCT, "Content-Type", ""), body(sqlite.ServiceMaternite, slot.ID), 415, portal.ErrUnsupportedMediaType},
		{"oversized body", camille, "POST", book, jsonCT, `{"service":"` + strings.Repeat("a", 20000) + `","slot":"x"}`, 413, portal.ErrTooLarge},
		{"missing idempotency key", camille, "POST", book, with(jsonCT, "Idempotency-Key", ""), body(sqlite.ServiceMaternite, slot.ID), 400, portal.ErrIdempotencyKeyMissing},
		{"short idempotency key", camille, "POST", book, with(jsonCT, "Idempotency-Key", "abc"), body(sqlite.ServiceMaternite, slot.ID), 400, portal.ErrInvalid},
		{"reused idempotency key, other slot", camille, "POST", book, with(jsonCT, "Idempotency-Key", "camille-key-0001"), body(sqlite.ServiceMaternite, slot.ID), 422, portal.ErrIdempotencyKeyReused},
		{"unknown slot", camille, "POST", book, jsonCT, body(sqlite.ServiceMaternite, "sl-nope"), 404, portal.ErrNotFound},
		{"slot of another service", camille, "POST", book, jsonCT, body(sqlite.ServiceMaternite, otherServiceSlot.ID), 422, portal.ErrSlotServiceMismatch},
		{"slot taken by another patient", camille, "POST", book, jsonCT, body(sqlite.ServiceMaternite, taken.ID), 409, portal.ErrSlotUnavailable},
		{"unknown establishment", camille, "POST", "/api/v1/establishments/chu-ailleurs/appointments", jsonCT, body(sqlite.ServiceMaternite, slot.ID), 404, portal.ErrNotFound},
		{"book anonymously", anonymous, "POST", book, jsonCT, body(sqlite.ServiceMaternite, slot.ID), 401, portal.ErrUnauthenticated},
		{"book from another origin", camille, "POST", book, with(jsonCT, "Origin", "https://evil.example"), body(sqlite.ServiceMaternite, slot.ID), 403, portal.ErrForbidden},
		{"book cross-site per Sec-Fetch-Site", camille, "POST", book, with(jsonCT, "Sec-Fetch-Site", "cross-site"), body(sqlite.ServiceMaternite, slot.ID), 403, portal.ErrForbidden},
		{"cancel another patient's appointment", camille, "POST", "/api/v1/appointments/" + lucasApt.ID + "/cancel", nil, "", 404, portal.ErrNotFound},
		{"cancel an unknown appointment", camille, "POST", "/api/v1/appointments/apt_unknown/cancel", nil, "", 404, portal.ErrNotFound},
		{"cancel with a body that is not an empty object", camille, "POST", "/api/v1/appointments/" + camilleApt.ID + "/cancel", map[string]string{"Content-Type": "application/json"}, `{"reason":"x"}`, 400, portal.ErrInvalid},
		{"cancel anonymously", anonymous, "POST", "/api/v1/appointments/" + camilleApt.ID + "/cancel", nil, "", 401, portal.ErrUnauthenticated},
		{"read another patient's appointment", camille, "GET", "/api/v1/appointments/" + lucasApt.ID, nil, "", 404, portal.ErrNotFound},
		{"another patient's calendar file", camille, "GET", "/api/v1/appointments/" + lucasApt.ID + "/calendar.ics", nil, "", 404, portal.ErrNotFound},
		{"list appointments anonymously", anonymous, "GET", "/api/v1/appointments", nil, "", 401, portal.ErrUnauthenticated},
		{"slots without service", anonymous, "GET", "/api/v1/establishments/chu-exemple/slots", nil, "", 400, portal.ErrInvalid},
		{"slots with a bad time", anonymous, "GET", "/api/v1/establishments/chu-exemple/slots?service=maternite&from=tomorrow", nil, "", 400, portal.ErrInvalid},
		{"slots over too long a period", anonymous, "GET", "/api/v1/establishments/chu-exemple/slots?service=maternite&from=2026-11-23T00:00:00Z&to=2027-06-01T00:00:00Z", nil, "", 400, portal.ErrInvalid},
		{"slots with an unknown parameter", anonymous, "GET", "/api/v1/establishments/chu-exemple/slots?service=maternite&patient=x", nil, "", 400, portal.ErrInvalid},
		{"slots of an unknown service", anonymous, "GET", "/api/v1/establishments/chu-exemple/slots?service=cardiologie", nil, "", 404, portal.ErrNotFound},
		{"demo sign-in as a non-demo id", anonymous, "POST", "/api/v1/demo/session", map[string]string{"Content-Type": "application/json"}, `{"patient":"pat-real-person"}`, 400, portal.ErrInvalid},
		{"unknown route", anonymous, "GET", "/api/v1/nothing", nil, "", 404, portal.ErrNotFound},
		{"wrong method", camille, "PUT", "/api/v1/appointments", nil, "", 405, portal.ErrMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, th)
			tc.c.t = t
			status, b := tc.c.do(tc.method, tc.path, tc.header, tc.body)
			var eb client.ErrorBody
			if err := json.Unmarshal(b, &eb); err != nil {
				t.Fatalf("%d %s: not an error body: %v", status, b, err)
			}
			if status != tc.status || eb.Error.Code != tc.code {
				t.Errorf("got %d %s, want %d %s (%s)", status, eb.Error.Code, tc.status, tc.code, b)
			}
			if eb.Error.Message != tc.code.Message("fr") {
				t.Errorf("message %q, want the French text of %s", eb.Error.Message, tc.code)
			}
			if after := snapshot(t, th); !reflect.DeepEqual(before, after) {
				t.Errorf("the database changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

// TestIdempotentRetry: the same key and body answer the same appointment,
// with one appointment in the database.
func TestIdempotentRetry(t *testing.T) {
	th := newTestHost(t)
	c := th.raw(t, sqlite.DemoPatientCamilleDurand)
	slot := freeSlot(t, th, sqlite.ServiceMaternite, 0)
	h := map[string]string{"Content-Type": "application/json", "Idempotency-Key": "retry-key-0001"}
	b := fmt.Sprintf(`{"service":"maternite","slot":%q}`, slot.ID)
	var ids []string
	for range 3 {
		status, body := c.do("POST", "/api/v1/establishments/chu-exemple/appointments", h, b)
		if status != 201 {
			t.Fatalf("status %d: %s", status, body)
		}
		var apt portal.Appointment
		json.Unmarshal(body, &apt)
		ids = append(ids, apt.ID)
	}
	if ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("retries answered %v, want one appointment", ids)
	}
	if s := snapshot(t, th); len(s.Appointments[sqlite.DemoPatientCamilleDurand]) != 1 {
		t.Errorf("%d appointments, want 1", len(s.Appointments[sqlite.DemoPatientCamilleDurand]))
	}
}

// TestErrorLanguage: messages follow ?lang= and Accept-Language.
func TestErrorLanguage(t *testing.T) {
	th := newTestHost(t)
	c := th.raw(t, "")
	for _, tc := range []struct {
		name, path, accept, want string
	}{
		{"default French", "/api/v1/appointments", "", portal.ErrUnauthenticated.Message("fr")},
		{"Accept-Language en", "/api/v1/appointments", "en-GB,en;q=0.8", portal.ErrUnauthenticated.Message("en")},
		{"lang=en wins", "/api/v1/appointments?lang=en", "fr-FR", portal.ErrUnauthenticated.Message("en")},
		{"q=0 refuses a language", "/api/v1/appointments", "en;q=0, fr;q=0.5", portal.ErrUnauthenticated.Message("fr")},
		{"lang=english is not a tag", "/api/v1/appointments?lang=english", "", portal.ErrUnauthenticated.Message("fr")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, b := c.do("GET", tc.path, map[string]string{"Accept-Language": tc.accept}, "")
			var eb client.ErrorBody
			json.Unmarshal(b, &eb)
			if eb.Error.Message != tc.want {
				t.Errorf("message %q, want %q", eb.Error.Message, tc.want)
			}
		})
	}
}

// TestAPIHeaders: no caching of health data, nosniff, CORS for allowed
// origins only and never with credentials.
func TestAPIHeaders(t *testing.T) {
	th := newTestHost(t)
	for _, tc := range []struct {
		name, origin, wantACAO string
	}{
		{"allowed origin", pageOrigin, pageOrigin},
		{"other origin", "https://evil.example", ""},
		{"no origin", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", th.URL+"/api/v1/establishments/chu-exemple/services", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.wantACAO {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.wantACAO)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials must never be allowed cross-origin")
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("Cache-Control %q, X-Content-Type-Options %q", h.Get("Cache-Control"), h.Get("X-Content-Type-Options"))
			}
		})
	}
}

// TestSessionLifecycle: sign-in rotates the session, sign-out ends it on the
// server (the old cookie no longer works), the session cookie is HttpOnly.
func TestSessionLifecycle(t *testing.T) {
	th := newTestHost(t)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	post := func(path, body string) *http.Response {
		req, _ := http.NewRequest("POST", th.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post("/api/v1/demo/session", `{"patient":"pat-camille-durand"}`)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "parcours_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", cookie)
	}
	if len(cookie.Value) < 43 {
		t.Errorf("session token of %d characters, want at least 256 bits", len(cookie.Value))
	}
	// A second sign-in replaces the session.
	post("/api/v1/demo/session", `{"patient":"pat-lucas-bernard"}`)
	old := client.New(th.URL, client.WithTransport(&cookieTransport{cookie: cookie}))
	if p, err := old.CurrentPatient(context.Background()); err != nil || p != nil {
		t.Errorf("the replaced session still answers %v, %v", p, err)
	}
	c := client.New(th.URL, client.WithHTTPClient(hc))
	if p, err := c.CurrentPatient(context.Background()); err != nil || p == nil || p.ID != sqlite.DemoPatientLucasBernard {
		t.Fatalf("current patient %v, %v", p, err)
	}
	if err := c.SignOut(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, err := c.CurrentPatient(context.Background()); err != nil || p != nil {
		t.Errorf("after sign-out: %v, %v", p, err)
	}
}

// cookieTransport replays one fixed cookie, as a stolen or stale cookie would.
type cookieTransport struct{ cookie *http.Cookie }

func (ct *cookieTransport) Do(ctx context.Context, r *client.Request) (*client.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, strings.NewReader(string(r.Body)))
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	req.AddCookie(&http.Cookie{Name: ct.cookie.Name, Value: ct.cookie.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return &client.Response{Status: resp.StatusCode, Body: b}, err
}

// TestDemoSignInOff: with the demo sign-in off, its endpoints do not exist.
func TestDemoSignInOff(t *testing.T) {
	th := newTestHostWith(t, func(c *hostConfig) { c.DemoSignIn = false })
	c := th.raw(t, "")
	for _, path := range []string{"/api/v1/demo/patients", "/api/v1/demo/session"} {
		method := "GET"
		if strings.HasSuffix(path, "session") {
			method = "POST"
		}
		status, b := c.do(method, path, map[string]string{"Content-Type": "application/json"}, `{"patient":"pat-camille-durand"}`)
		if status != 404 {
			t.Errorf("%s %s: %d %s, want 404", method, path, status, b)
		}
	}
}

// refusingBooking stands for an establishment rule that refuses bookings.
type refusingBooking struct {
	portal.Booking
}

func (refusingBooking) Book(ctx context.Context, r portal.BookRequest) (portal.Appointment, error) {
	return portal.Appointment{}, &portal.Error{
		Code:   portal.ErrBookingRefused,
		Detail: "rule one-registration-per-pregnancy",
		Reason: &portal.Text{FR: "Vous avez déjà une inscription en maternité.", EN: "You already have a maternity registration."},
	}
}

// TestRefusalReasonReachesThePatient: an establishment's reason is the
// message, in the patient's language; the rule's detail stays in the logs.
func TestRefusalReasonReachesThePatient(t *testing.T) {
	th := newTestHostWith(t, func(c *hostConfig) { c.Booking = refusingBooking{c.Booking} })
	slot := freeSlot(t, th, sqlite.ServiceMaternite, 0)
	for _, tc := range []struct{ lang, want string }{
		{"fr", "Vous avez déjà une inscription en maternité."},
		{"en", "You already have a maternity registration."},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			c := client.New(th.URL, client.WithLanguage(tc.lang))
			if _, err := c.DemoSignIn(context.Background(), sqlite.DemoPatientCamilleDurand); err != nil {
				t.Fatal(err)
			}
			_, err := c.Book(context.Background(), portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slot.ID, IdempotencyKey: "refused-" + tc.lang + "-0001"})
			if portal.Code(err) != portal.ErrBookingRefused {
				t.Fatalf("error %v, want booking_refused", err)
			}
			if got := portal.PatientMessage(err, tc.lang); got != tc.want {
				t.Errorf("patient message %q, want %q", got, tc.want)
			}
			if strings.Contains(err.Error(), "rule one-registration") {
				t.Error("the rule's internal detail reached the client")
			}
		})
	}
	// A generic error still carries no reason.
	_, err := client.New(th.URL).Appointments(context.Background())
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Reason != nil {
		t.Errorf("a table error came back with a reason: %#v", err)
	}
}
