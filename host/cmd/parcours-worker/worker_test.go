package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// TestWorker builds the Worker and runs it under workerd on loopback in
// front of the FHIR test server, then drives it with sdk/client: a smoke
// test on the demo data, and the host's black-box conformance suites
// (sdk/portaltest: booking, consent, look-up), the ones that run against
// httptest in host/conformance_test.go. One workerd and one FHIR server
// serve every subtest; each fixture seeds an establishment of its own
// (PARCOURS_CONFIG lists a pool of them) with patients and slots of its
// own, and the suites move the Worker's clock through its test clock
// ("test_clock", loopback only; see config.go). It runs under
// PARCOURS_E2E=1 (make test) or PARCOURS_WORKER=1.
func TestWorker(t *testing.T) {
	if os.Getenv("PARCOURS_E2E") != "1" && os.Getenv("PARCOURS_WORKER") != "1" {
		t.Skip("skipping: the Worker test runs under PARCOURS_E2E=1 or PARCOURS_WORKER=1 (make test)")
	}
	w := startWorker(t)
	t.Run("Smoke", func(t *testing.T) { testSmoke(t, w) })
	t.Run("Booking", func(t *testing.T) { testBooking(t, w) })
	t.Run("Consent", func(t *testing.T) { testConsent(t, w) })
	t.Run("Lookup", func(t *testing.T) { testLookup(t, w) })
}

// startWorker builds the Worker, starts the FHIR test server with the
// demo and runs workerd on a free loopback port; both stop when t ends.
func startWorker(t *testing.T) *worker {
	workerd, _ := filepath.Abs("node_modules/.bin/workerd")
	if _, err := os.Stat(workerd); err != nil {
		t.Skipf("skipping: workerd is not installed: run `npm ci` in host/cmd/parcours-worker (needs npm): %v", err)
	}
	ctx := context.Background()
	base := fhirtest.Start(t)
	b, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SeedDemo(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	build := exec.Command("go", "build", "-tags", "parcours_nocompress", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "parcours.wasm"), ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Worker: %v\n%s", err, out)
	}
	copyFile(t, "worker.mjs", filepath.Join(dir, "worker.mjs"))
	copyFile(t, filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"), filepath.Join(dir, "wasm_exec.js"))
	addr := freeAddr(t)
	url := "http://" + addr
	w := &worker{URL: url, Backend: b}
	sfx := strings.ToLower(rand.Text()[:8])
	var pool []map[string]any
	for i := range poolSize {
		w.pool = append(w.pool, fmt.Sprintf("wk-%s-%02d", sfx, i))
		pool = append(pool, map[string]any{"id": w.pool[i]})
	}
	cfg, _ := json.Marshal(map[string]any{
		"public_url": url, "fhir_url": base, "demo_sign_in": true, "test_clock": true,
		"establishment":  map[string]any{"id": fhir.DemoEstablishment, "origins": []string{"http://127.0.0.1:8081"}},
		"establishments": pool,
	})
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	capnp, err := os.ReadFile("workerd.capnp")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(capnp), "../../../build/worker/", "")
	conf = strings.ReplaceAll(conf, "127.0.0.1:8787", addr)
	os.WriteFile(filepath.Join(dir, "workerd.capnp"), []byte(conf), 0o644)

	var logs syncBuffer
	cmd := exec.Command(workerd, "serve", "workerd.capnp")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("workerd's output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := http.Get(url + "/")
		if err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workerd did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.fresh()
	return w
}

// testSmoke reads and signs in on the demo data through the Worker.
func testSmoke(t *testing.T, w *worker) {
	ctx := context.Background()
	c := w.client(t)
	services, err := c.Services(ctx, fhir.DemoEstablishment)
	if err != nil || len(services) == 0 {
		t.Fatalf("services: %v, %v", services, err)
	}
	r, err := http.Get(w.URL + "/api/v1/establishments/" + fhir.DemoEstablishment + "/services")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("API Cache-Control %q, want no-store", cc)
	}
	patients, err := c.DemoPatients(ctx)
	if err != nil || len(patients) == 0 {
		t.Fatalf("demo patients: %v, %v", patients, err)
	}
	i := slices.IndexFunc(patients, func(p portal.Patient) bool { return p.ID == "pat-lucas-bernard" })
	if i < 0 {
		t.Fatalf("demo patients %v: no Lucas Bernard", patients)
	}
	patient := patients[i].ID
	if _, err := c.DemoSignIn(ctx, patient); err != nil {
		t.Fatalf("demo sign-in: %v", err)
	}
	if p, err := c.CurrentPatient(ctx); err != nil || p == nil || p.ID != patient {
		t.Fatalf("current patient: %v, %v", p, err)
	}
	if _, err := c.Appointments(ctx); err != nil {
		t.Errorf("appointments: %v", err)
	}
	// The patient finds the city doctor by RPPS and grants him access: a
	// FHIR Consent on the establishment's server, through the Worker.
	doctor, err := c.PractitionerByRPPS(ctx, fhir.DemoCityDoctorRPPS)
	if err != nil || doctor.ID != fhir.DemoCityDoctor {
		t.Fatalf("RPPS look-up: %+v, %v", doctor, err)
	}
	g, err := c.GrantAccess(ctx, fhir.DemoEstablishment, doctor.ID)
	if err != nil || !g.Active() {
		t.Fatalf("grant: %+v, %v", g, err)
	}
	// Every access to health data through the Worker is an AuditEvent on
	// the FHIR server: the appointments read and the grant among them.
	events, err := w.Backend.AuditEvents(ctx, portal.AuditQuery{Patient: patient})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, e := range events {
		ops[e.Operation] = true
	}
	for _, op := range []string{"listAppointments", "grantAccess", "getPractitionerByRPPS"} {
		if !ops[op] {
			t.Errorf("no AuditEvent of %s through the Worker; recorded: %v", op, ops)
		}
	}
}

// testBooking runs the booking suite through the Worker.
func testBooking(t *testing.T, w *worker) {
	portaltest.RunBookingTests(t, func(t *testing.T) portaltest.BookingFixture {
		s := seed(t, w.Backend, w.establishment(t), w.fresh(), 2)
		return portaltest.BookingFixture{
			As:            func(t *testing.T, p string) portal.Booking { return w.signedIn(t, p) },
			Anonymous:     w.client(t),
			Establishment: s.Establishment,
			Service:       s.Service,
			OtherService:  s.Other,
			Patients:      s.Patients,
			SetNow:        w.SetNow,
			Now:           w.Now,
		}
	})
}

// testConsent runs the consent suite through the Worker: a patient with a
// released and a held document grants a city doctor access.
func testConsent(t *testing.T, w *worker) {
	portaltest.RunConsentTests(t, func(t *testing.T) portaltest.ConsentFixture {
		now := w.fresh()
		s := seed(t, w.Backend, w.establishment(t), now, 2)
		doctor := cityDoctor(t, w.Backend, "pr-ville-"+s.Patients[0])
		file := func(title string, sensitive bool) string {
			d, err := w.Backend.FileDocument(t.Context(), portal.NewDocument{
				Establishment: s.Establishment, Service: s.Service, Patient: s.Patients[0],
				Type: portal.DocConsultationReport, Title: title, Date: now.Add(-time.Hour), Author: "Dr Test",
				SourceID: title + "-" + s.Patients[0], Sensitive: sensitive,
				File: portal.NewFile{Name: "cr.pdf", ContentType: portal.ContentTypePDF, Content: []byte("%PDF-1.7\n% consent\n%%EOF\n")},
			})
			if err != nil {
				t.Fatalf("FileDocument(%s): %v", title, err)
			}
			return d.ID
		}
		return portaltest.ConsentFixture{
			AsPatient: func(t *testing.T, p string) portal.Consents { return w.signedIn(t, p) },
			AsPractitioner: func(t *testing.T, p string) portal.Consents {
				noPractitionerSession(t)
				return nil
			},
			Anonymous: w.client(t),
			Documents: func(t *testing.T, p string) portal.Documents {
				noPractitionerSession(t)
				return nil
			},
			Establishment: s.Establishment,
			Patient:       s.Patients[0],
			OtherPatient:  s.Patients[1],
			Practitioner:  doctor.ID,
			Released:      file("released", false),
			Held:          file("held", true),
		}
	})
}

// testLookup runs the practitioner look-up suite through the Worker.
func testLookup(t *testing.T, w *worker) {
	portaltest.RunLookupTests(t, func(t *testing.T) portaltest.LookupFixture {
		s := seed(t, w.Backend, w.establishment(t), w.fresh(), 1)
		return portaltest.LookupFixture{
			AsPatient: func(t *testing.T, p string) portal.PractitionerLookup { return w.signedIn(t, p) },
			AsPractitioner: func(t *testing.T, p string) portal.PractitionerLookup {
				noPractitionerSession(t)
				return nil
			},
			Anonymous:    w.client(t),
			Patient:      s.Patients[0],
			Practitioner: cityDoctor(t, w.Backend, "pr-ville-"+s.Establishment),
		}
	})
}

// syncBuffer is workerd's output, written by its pipe copiers while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
