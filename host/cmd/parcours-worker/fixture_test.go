//go:build !(js && wasm)

package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/idp"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// poolSize is how many establishments the Worker's configuration lists
// for the conformance fixtures: each fixture seeds one of its own, fresh,
// on the shared FHIR server, as the FHIR backend's own runs do.
// delayedPoolSize more have release_delay releaseDelay, for the documents
// suite's run with a delay.
const (
	poolSize        = 128
	delayedPoolSize = 32
	releaseDelay    = 72 * time.Hour
)

// documentLimit is the Worker's max_document_size in the tests: small, so
// that the suites' uploads at the limit stay quick.
const documentLimit = 64 << 10

// idpName is the Worker's identity provider in the tests, and idpUsers
// the number of its practitioner accounts: three per seeded establishment
// and a city doctor per fixture at most.
const (
	idpName  = "test-idp"
	idpUsers = 4 * (poolSize + delayedPoolSize)
)

// worker is the Worker under workerd shared by TestWorker's subtests: its
// URL, a backend on the same FHIR server (to seed and to check), and the
// test clock's last value.
type worker struct {
	URL     string
	Backend *fhir.Backend
	web     string       // the browser files, as `make web` writes them
	siteURL string       // the hospital page of the browser test
	dir     string       // the Worker's modules (build/worker)
	assets  string       // its static assets (build/worker-assets)
	fhirURL string       // the FHIR server's base URL
	pool    []string     // establishment ids listed in the configuration
	next    atomic.Int32 // next unused pool entry
	delayed []string     // the pool's establishments with release_delay
	nextDel atomic.Int32 // next unused delayed entry
	mu      sync.Mutex
	now     time.Time // the Worker's clock, as last set
	address atomic.Int32
	// idpURL is the OpenID provider's issuer (host/idp on loopback), the
	// Worker's identity provider idpName; users are its practitioner
	// accounts, each linked to at most one practitioner (linked, by
	// practitioner id) by seed and cityDoctor.
	idpURL      string
	users       []idp.User
	nextUser    atomic.Int32
	linked      map[string]idp.User
	signInCount atomic.Int32
}

// establishment returns a pool id no fixture has used yet.
func (w *worker) establishment(t *testing.T) string {
	n := int(w.next.Add(1)) - 1
	if n >= len(w.pool) {
		t.Fatalf("the Worker's configuration lists %d establishments; raise poolSize", len(w.pool))
	}
	return w.pool[n]
}

// delayedEstablishment returns an establishment of the pool whose
// configuration has release_delay releaseDelay, unused yet.
func (w *worker) delayedEstablishment(t *testing.T) string {
	n := int(w.nextDel.Add(1)) - 1
	if n >= len(w.delayed) {
		t.Fatalf("the Worker's configuration lists %d establishments with a release delay; raise delayedPoolSize", len(w.delayed))
	}
	return w.delayed[n]
}

// backend returns a FHIR backend on the Worker's server and clock, with
// the Worker's document size limit and release delays: the
// establishment's own systems, which file documents and read the outbox
// behind the Worker.
func (w *worker) backend(t *testing.T) *fhir.Backend {
	delays := map[string]time.Duration{}
	for _, e := range w.delayed {
		delays[e] = releaseDelay
	}
	b, err := fhir.New(fhir.Config{BaseURL: w.fhirURL, Now: w.Now, MaxDocumentSize: documentLimit, ReleaseDelays: delays})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Now returns the Worker's clock (the test is its only setter).
func (w *worker) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// SetNow sets the Worker's clock through the test-clock route.
func (w *worker) SetNow(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	req, _ := http.NewRequest(http.MethodPut, w.URL+TestClockPath, strings.NewReader(t.Format(time.RFC3339Nano)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(fmt.Sprintf("setting the Worker's clock: %v", err))
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got, err := time.Parse(time.RFC3339Nano, string(b))
	if resp.StatusCode != http.StatusOK || err != nil || !got.Equal(t) {
		panic(fmt.Sprintf("setting the Worker's clock to %s: %d %q", t, resp.StatusCode, b))
	}
	w.now = t
}

// fresh moves the Worker's clock to the later of now and its current
// time, whole seconds: the clock never goes back across fixtures, so that
// rate limits and sessions of earlier fixtures see time only advance.
func (w *worker) fresh() time.Time {
	now := time.Now().Truncate(time.Second)
	if cur := w.Now(); cur.After(now) {
		now = cur.Add(time.Second)
	}
	w.SetNow(now)
	return now
}

// client returns a client of the Worker with a cookie jar of its own and
// a client address of its own (CF-Connecting-IP, which the bridge takes
// as the remote address): the per-address limits count each fixture
// apart, as many users behind many addresses.
func (w *worker) client(t *testing.T) *client.Client {
	return client.New(w.URL, client.WithHTTPClient(w.browser()))
}

type addressTransport struct{ addr string }

func (a addressTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("CF-Connecting-IP", a.addr)
	return http.DefaultTransport.RoundTrip(r)
}

// signedIn returns a client signed in as a demo patient.
func (w *worker) signedIn(t *testing.T, patient string) *client.Client {
	t.Helper()
	c := w.client(t)
	if _, err := c.DemoSignIn(context.Background(), patient); err != nil {
		t.Fatalf("demo sign-in as %s through the Worker: %v", patient, err)
	}
	return c
}

// idpUserPool returns the OpenID provider's practitioner accounts, each
// with a second factor of its own.
func idpUserPool() []idp.User {
	users := make([]idp.User, idpUsers)
	for i := range users {
		secret := make([]byte, 20)
		rand.Read(secret)
		users[i] = idp.User{
			Subject: fmt.Sprintf("psc-test-%04d", i), Password: demoid.Password,
			GivenName: "Praticien", FamilyName: fmt.Sprint("Test ", i), Email: fmt.Sprintf("praticien-%04d@test.example", i),
			TOTPSecret:   base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret),
			Practitioner: true,
		}
	}
	return users
}

// link gives practitioner an account of the provider of its own and
// returns the identifier that links it on the FHIR server, as the
// establishment writes it once it verified the person's identity.
func (w *worker) link(t *testing.T, practitioner string) map[string]any {
	u := w.unlinkedUser(t)
	w.mu.Lock()
	w.linked[practitioner] = u
	w.mu.Unlock()
	return map[string]any{"system": fhir.SystemAccountPrefix + idpName, "value": u.Subject}
}

// practitioners returns a fixture's AsPractitioner: a client of the
// Worker signed in as the practitioner through the Worker's OpenID
// Connect sign-in (signInPractitioner), one sign-in per practitioner per
// fixture, whose session the fixture's later calls reuse (the provider
// takes each one-time code once).
func (w *worker) practitioners() func(t *testing.T, practitioner string) *client.Client {
	var mu sync.Mutex
	signedIn := map[string]*client.Client{}
	return func(t *testing.T, practitioner string) *client.Client {
		mu.Lock()
		defer mu.Unlock()
		if c := signedIn[practitioner]; c != nil {
			return c
		}
		c := w.signInPractitioner(t, practitioner)
		signedIn[practitioner] = c
		return c
	}
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// signInPractitioner signs in as practitioner as a browser does, without
// a shortcut: the Worker's sign-in link (GET /auth/signin), its redirect
// to the provider, the provider's password page and one-time code page
// (posted as the browser would post them), the provider's redirect to the
// Worker's callback, where the Worker exchanges the code, verifies the ID
// token and finds the practitioner linked to its subject on the FHIR
// server; then the Worker's redirect to the return path, the session. It
// returns a client of the Worker with that browser's cookies.
func (w *worker) signInPractitioner(t *testing.T, practitioner string) *client.Client {
	t.Helper()
	w.mu.Lock()
	u, ok := w.linked[practitioner]
	w.mu.Unlock()
	if !ok {
		t.Fatalf("practitioner %s has no account at the provider (seed and cityDoctor link them)", practitioner)
	}
	hc := w.browser()
	pg := w.providerSignIn(t, hc, u, "/api/v1/session")
	// The Worker's session page names the practitioner linked to the
	// provider's subject (from their Practitioner on the FHIR server), as
	// the inbox widget reads it.
	var s client.SessionBody
	if pg.status != http.StatusOK || pg.url.String() != w.URL+"/api/v1/session" || json.Unmarshal([]byte(pg.body), &s) != nil ||
		s.Patient != nil || s.Practitioner == nil || s.Practitioner.ID != practitioner || s.Practitioner.Name == "" {
		t.Fatalf("signing in as %s: after the provider: %d at %s\n%s", practitioner, pg.status, pg.url, pg.body)
	}
	// And the Worker's audit of the sign-in on the FHIR server names them.
	if !w.auditedSignIn(t, practitioner) {
		t.Fatalf("signing in as %s: no successful signIn AuditEvent of Practitioner/%s on the FHIR server", practitioner, practitioner)
	}
	w.signInCount.Add(1)
	return client.New(w.URL, client.WithHTTPClient(hc))
}

// auditedSignIn reports whether the FHIR server holds a successful
// signIn AuditEvent whose agent is Practitioner/practitioner.
func (w *worker) auditedSignIn(t *testing.T, practitioner string) bool {
	t.Helper()
	q := url.Values{"agent": {"Practitioner/" + practitioner}, "subtype": {fhir.SystemAuditOperation + "|signIn"}}
	resp, err := http.Get(w.fhirURL + "/AuditEvent?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Entry []struct {
			Resource struct {
				Outcome string `json:"outcome"`
				Subtype []struct{ Code string }
				Agent   []struct{ Who struct{ Reference string } }
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("AuditEvent search: %d, %v", resp.StatusCode, err)
	}
	for _, e := range b.Entry {
		r := e.Resource
		if r.Outcome == "0" && len(r.Subtype) == 1 && r.Subtype[0].Code == "signIn" && len(r.Agent) == 1 && r.Agent[0].Who.Reference == "Practitioner/"+practitioner {
			return true
		}
	}
	return false
}

// browser returns a browser's client of the Worker: a cookie jar of its
// own, following redirects, from a client address of its own.
func (w *worker) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	n := w.address.Add(1)
	return &http.Client{Jar: jar, Transport: addressTransport{fmt.Sprintf("198.18.%d.%d", n/250, n%250+1)}}
}

// providerSignIn starts a sign-in on the Worker with hc, returning to ret,
// goes through the provider's pages as u (password, then one-time code)
// and returns the page it ends on, after the Worker's callback.
func (w *worker) providerSignIn(t *testing.T, hc *http.Client, u idp.User, ret string) page {
	t.Helper()
	submit := func(pg page, fields url.Values) page {
		t.Helper()
		m := formRE.FindStringSubmatch(pg.body)
		if m == nil {
			t.Fatalf("signing in as %s: no form at %s (%d):\n%s", u.Subject, pg.url, pg.status, pg.body)
		}
		v := url.Values{}
		for _, h := range hiddenRE.FindAllStringSubmatch(pg.body, -1) {
			v.Set(h[1], html.UnescapeString(h[2]))
		}
		maps.Copy(v, fields)
		action, _ := pg.url.Parse(html.UnescapeString(m[1]))
		return w.visit(t, hc, http.MethodPost, action.String(), v)
	}
	pg := w.visit(t, hc, http.MethodGet, w.URL+"/auth/signin?provider="+idpName+"&return="+url.QueryEscape(ret), nil)
	if pg.status != http.StatusOK || !strings.HasPrefix(pg.url.String(), w.idpURL) || !strings.Contains(pg.body, `name="password"`) {
		t.Fatalf("signing in as %s: the Worker's sign-in did not lead to the provider's page: %d at %s\n%s", u.Subject, pg.status, pg.url, pg.body)
	}
	pg = submit(pg, url.Values{"username": {u.Email}, "password": {u.Password}})
	code, err := totp.GenerateCode(u.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return submit(pg, url.Values{"code": {code}})
}

// unlinkedUser returns an account of the provider linked to no record.
func (w *worker) unlinkedUser(t *testing.T) idp.User {
	n := int(w.nextUser.Add(1)) - 1
	if n >= len(w.users) {
		t.Fatalf("the provider has %d practitioner accounts; raise idpUsers", len(w.users))
	}
	return w.users[n]
}

// page is where a browser is after a request and its redirects.
type page struct {
	status int
	url    *url.URL
	body   string
}

// visit makes a browser's request with hc, following redirects.
func (w *worker) visit(t *testing.T, hc *http.Client, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(b)}
}

// seeded is what seed wrote.
type seeded struct {
	Establishment  string
	Service, Other string
	Practitioners  []string
	Patients       []string
}

// seed writes, on the FHIR server, establishment est of the pool: an
// Organization in Europe/Paris, a maternity service with two midwives and
// a diabetology service with one diabetologist, their Schedules, free
// Slots on the 7 days after now, and patients tagged demo (so that they
// may use the demo sign-in), all under ids of their own. Each
// practitioner is linked to an account of the provider of its own.
func (w *worker) seed(t *testing.T, est string, now time.Time, patients int) seeded {
	t.Helper()
	sfx := strings.ToLower(rand.Text()[:10])
	id := func(kind string, n int) string { return fmt.Sprintf("%s-%d-%s", kind, n, sfx) }
	s := seeded{Establishment: est, Service: "mat-" + sfx, Other: "dia-" + sfx,
		Practitioners: []string{id("pr", 1), id("pr", 2), id("pr", 3)}}
	var entries []any
	put := func(r map[string]any) {
		entries = append(entries, map[string]any{"resource": r,
			"request": map[string]any{"method": "PUT", "url": fmt.Sprint(r["resourceType"], "/", r["id"])}})
	}
	ref := func(typ, id string) map[string]any { return map[string]any{"reference": typ + "/" + id} }
	put(map[string]any{"resourceType": "Organization", "id": est, "active": true, "name": "Centre hospitalier " + sfx,
		"extension": []any{map[string]any{"url": fhir.ExtTimeZone, "valueCode": "Europe/Paris"}}})
	for _, svc := range []struct{ id, name string }{{s.Service, "Maternité"}, {s.Other, "Diabétologie"}} {
		put(map[string]any{"resourceType": "HealthcareService", "id": svc.id, "active": true,
			"providedBy": ref("Organization", est), "name": svc.name})
	}
	for i, svc := range []string{s.Service, s.Service, s.Other} {
		pr := s.Practitioners[i]
		put(map[string]any{"resourceType": "Practitioner", "id": pr, "identifier": []any{w.link(t, pr)},
			"name": []any{map[string]any{"family": "Praticien", "given": []any{fmt.Sprint("N", i+1)}}}})
		put(map[string]any{"resourceType": "PractitionerRole", "id": id("role", i+1), "active": true,
			"practitioner": ref("Practitioner", pr), "organization": ref("Organization", est),
			"healthcareService": []any{ref("HealthcareService", svc)}, "code": []any{map[string]any{"text": "Sage-femme"}}})
		put(map[string]any{"resourceType": "Schedule", "id": id("sch", i+1), "active": true,
			"actor": []any{ref("Practitioner", pr), ref("HealthcareService", svc)}})
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	local := now.In(paris)
	at := func(day, hour int) time.Time {
		return time.Date(local.Year(), local.Month(), local.Day()+day, hour, 0, 0, 0, paris)
	}
	n := 0
	slot := func(schedule int, start time.Time) {
		n++
		put(map[string]any{"resourceType": "Slot", "id": id("sl", n), "status": "free", "schedule": ref("Schedule", id("sch", schedule)),
			"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339)})
	}
	for day := 1; day <= 7; day++ {
		slot(1, at(day, 9))
		slot(2, at(day, 9))
		slot(2, at(day, 14))
	}
	for day := 2; day <= 6; day++ {
		slot(3, at(day, 10))
	}
	for i := range patients {
		p := id("pat", i+1)
		s.Patients = append(s.Patients, p)
		put(map[string]any{"resourceType": "Patient", "id": p,
			"meta": map[string]any{"tag": []any{map[string]any{"system": fhir.SystemTag, "code": fhir.TagDemo}}},
			"name": []any{map[string]any{"use": "official", "family": "Patient-" + sfx, "given": []any{fmt.Sprint("Numéro ", i+1)}}}})
	}
	for chunk := range slices.Chunk(entries, 50) {
		body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": chunk})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Backend.LoadBundle(t.Context(), body); err != nil {
			t.Fatalf("seeding %s: %v", est, err)
		}
	}
	return s
}

// appointment writes a booked appointment of patient with practitioner
// at service (the patient's link to it, for messaging and documents),
// starting at start, or a cancelled one (no link).
func (w *worker) appointment(t *testing.T, patient, practitioner, service string, start time.Time, booked bool) {
	t.Helper()
	ref := func(typ, id string) map[string]any { return map[string]any{"reference": typ + "/" + id} }
	status := "booked"
	if !booked {
		status = "cancelled"
	}
	a := map[string]any{"resourceType": "Appointment", "id": "apt-" + patient, "status": status,
		"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339),
		"participant": []any{
			map[string]any{"actor": ref("Patient", patient), "status": "accepted"},
			map[string]any{"actor": ref("Practitioner", practitioner), "status": "accepted"},
			map[string]any{"actor": ref("HealthcareService", service), "status": "accepted"},
		}}
	body, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{map[string]any{
		"request": map[string]any{"method": "PUT", "url": "Appointment/apt-" + patient}, "resource": a}}})
	if _, err := w.Backend.LoadBundle(t.Context(), body); err != nil {
		t.Fatalf("seeding %s's appointment: %v", patient, err)
	}
}

// cityDoctor writes a Practitioner of no service with a fresh, well formed
// RPPS number, linked to an account of the provider of its own.
func (w *worker) cityDoctor(t *testing.T, id string) portal.Practitioner {
	t.Helper()
	var rpps string
	for rpps == "" {
		body := "8" + fmt.Sprintf("%09d", time.Now().UnixNano()%1_000_000_000)
		for c := '0'; c <= '9'; c++ {
			if v := body + string(c); portal.ValidRPPS(v) {
				rpps = v
				break
			}
		}
	}
	p := portal.Practitioner{ID: id, Name: "Dr Paul Ville " + id, RPPS: rpps}
	body, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{map[string]any{
		"request": map[string]any{"method": "PUT", "url": "Practitioner/" + id},
		"resource": map[string]any{"resourceType": "Practitioner", "id": id, "active": true,
			"identifier": []any{map[string]any{"system": portal.SystemRPPS, "value": rpps}, w.link(t, id)},
			"name":       []any{map[string]any{"text": p.Name}}}}}})
	if _, err := w.Backend.LoadBundle(t.Context(), body); err != nil {
		t.Fatalf("seeding the city doctor: %v", err)
	}
	return p
}
