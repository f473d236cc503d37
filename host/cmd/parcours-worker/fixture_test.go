//go:build !(js && wasm)

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// poolSize is how many establishments the Worker's configuration lists
// for the conformance fixtures: each fixture seeds one of its own, fresh,
// on the shared FHIR server, as the FHIR backend's own runs do.
const poolSize = 64

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
	pool    []string     // establishment ids listed in the configuration
	next    atomic.Int32 // next unused pool entry
	mu      sync.Mutex
	now     time.Time // the Worker's clock, as last set
	address atomic.Int32
}

// establishment returns a pool id no fixture has used yet.
func (w *worker) establishment(t *testing.T) string {
	n := int(w.next.Add(1)) - 1
	if n >= len(w.pool) {
		t.Fatalf("the Worker's configuration lists %d establishments; raise poolSize", len(w.pool))
	}
	return w.pool[n]
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
	jar, _ := cookiejar.New(nil)
	n := w.address.Add(1)
	addr := fmt.Sprintf("198.18.%d.%d", n/250, n%250+1)
	hc := &http.Client{Jar: jar, Transport: addressTransport{addr}}
	return client.New(w.URL, client.WithHTTPClient(hc))
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

// noPractitionerSession skips t: the suites' practitioner sessions need
// the care-team demo sign-in (host.Config.CareTeam, a
// portal.CareTeamDirectory), which the FHIR backend does not implement,
// and the Worker wires no OpenID Connect provider yet; so no practitioner
// can sign in on the Worker.
func noPractitionerSession(t *testing.T) {
	t.Skip("skipping: no practitioner session on the Worker: the FHIR backend is no portal.CareTeamDirectory (no care-team demo sign-in) and the Worker wires no OpenID Connect provider")
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
// may use the demo sign-in), all under ids of their own.
func seed(t *testing.T, b *fhir.Backend, est string, now time.Time, patients int) seeded {
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
		put(map[string]any{"resourceType": "Practitioner", "id": pr,
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
		if _, err := b.LoadBundle(t.Context(), body); err != nil {
			t.Fatalf("seeding %s: %v", est, err)
		}
	}
	return s
}

// cityDoctor writes a Practitioner of no service with a fresh, well formed
// RPPS number.
func cityDoctor(t *testing.T, b *fhir.Backend, id string) portal.Practitioner {
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
			"identifier": []any{map[string]any{"system": portal.SystemRPPS, "value": rpps}},
			"name":       []any{map[string]any{"text": p.Name}}}}}})
	if _, err := b.LoadBundle(t.Context(), body); err != nil {
		t.Fatalf("seeding the city doctor: %v", err)
	}
	return p
}
