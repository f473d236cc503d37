//go:build !(js && wasm)

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/host/cmd/parcours-worker/internal/workerassets"
	"github.com/parcours-sante/parcours/host/cmd/parcours-worker/workerrun"
	"github.com/parcours-sante/parcours/host/idp"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
	wasmbuild "github.com/parcours-sante/parcours/wasm/build"
)

// TestWorker builds the Worker and runs it under workerd on loopback in
// front of the FHIR test server, then drives it with sdk/client: a smoke
// test on the demo data, and the host's black-box conformance suites
// (sdk/portaltest: booking, consent, look-up, messaging, documents), the
// ones that run against httptest in host. One workerd, one FHIR server and
// one OpenID provider (host/idp) serve every subtest; each fixture seeds
// an establishment of its own (PARCOURS_CONFIG lists a pool of them) with
// patients, slots and practitioners of its own, each practitioner with an
// account at the provider, and the suites move the Worker's clock through
// its test clock ("test_clock", loopback only; see config.go). Patients
// use the demo sign-in, practitioners the Worker's OpenID Connect sign-in
// (signInPractitioner). It runs under PARCOURS_E2E=1 (make test) or
// PARCOURS_WORKER=1.
func TestWorker(t *testing.T) {
	if os.Getenv("PARCOURS_E2E") != "1" && os.Getenv("PARCOURS_WORKER") != "1" {
		t.Skip("skipping: the Worker test runs under PARCOURS_E2E=1 or PARCOURS_WORKER=1 (make test)")
	}
	w := startWorker(t)
	t.Run("Smoke", func(t *testing.T) { testSmoke(t, w) })
	t.Run("Assets", func(t *testing.T) { testAssets(t, w) })
	t.Run("WranglerDryRun", func(t *testing.T) { testWrangler(t, w) })
	// Before the suites move the clock past the demo's slots.
	t.Run("BrowserBooking", func(t *testing.T) { testBrowserBooking(t, w) })
	t.Run("Booking", func(t *testing.T) { testBooking(t, w) })
	t.Run("Consent", func(t *testing.T) { testConsent(t, w) })
	t.Run("Lookup", func(t *testing.T) { testLookup(t, w) })
	t.Run("SignIn", func(t *testing.T) { testSignIn(t, w) })
	t.Run("Messaging", func(t *testing.T) { testMessaging(t, w) })
	t.Run("Documents", func(t *testing.T) { testDocuments(t, w) })
	t.Logf("%d practitioner sign-ins through the Worker and the OpenID provider", w.signInCount.Load())
}

// startWorker builds the Worker, starts the FHIR test server with the
// demo and runs workerd on a free loopback port; both stop when t ends.
func startWorker(t *testing.T) *worker {
	workerd := requireWorkerd(t)
	base, b := startFHIR(t)
	dir := buildWorker(t)
	addr := freeAddr(t)
	url := "http://" + addr
	web := buildWeb(t)
	w := &worker{URL: url, Backend: b, web: web, dir: dir}
	// The assets out of the modules' directory, as make worker writes them
	// (wrangler would take the .wasm files there for modules).
	w.assets = filepath.Join(t.TempDir(), "worker-assets")
	if _, err := workerassets.Write(web, dir, w.assets); err != nil {
		t.Fatal(err)
	}
	// The hospital page of the browser test, on an origin of its own.
	siteLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.siteURL = "http://" + siteLn.Addr().String()
	site := &http.Server{Handler: sitePage(url), ReadHeaderTimeout: 5 * time.Second}
	go site.Serve(siteLn)
	t.Cleanup(func() { site.Close() })
	w.fhirURL = base
	sfx := strings.ToLower(rand.Text()[:8])
	var pool []map[string]any
	for i := range poolSize {
		w.pool = append(w.pool, fmt.Sprintf("wk-%s-%03d", sfx, i))
		pool = append(pool, map[string]any{"id": w.pool[i]})
	}
	for i := range delayedPoolSize {
		w.delayed = append(w.delayed, fmt.Sprintf("wk-%s-d%02d", sfx, i))
		pool = append(pool, map[string]any{"id": w.delayed[i], "release_delay": releaseDelay.String()})
	}
	w.startIdP(t)
	cfg, _ := json.Marshal(map[string]any{
		"public_url": url, "fhir_url": base, "demo_sign_in": true, "test_clock": true,
		"establishment":  map[string]any{"id": fhir.DemoEstablishment, "origins": []string{w.siteURL}},
		"establishments": pool,
		// The practitioners' sign-in: a confidential client of the
		// provider, its secret in a Worker secret (a text binding here).
		"identity_providers": []any{map[string]any{"name": idpName, "kind": "practitioner", "issuer": w.idpURL,
			"client_id": idpClientID, "client_secret_env": "IDP_CLIENT_SECRET", "acr_values": []string{idp.ACRPractitioner}}},
		// The suites send many messages a minute, as against httptest
		// (host/messaging_test.go).
		"messages_per_minute": 1 << 20,
		"max_document_size":   documentLimit,
	})
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	// The provider's client secret, a Worker secret.
	if err := workerrun.WriteCapnp(".", dir, w.assets, addr, `(name = "IDP_CLIENT_SECRET", text = "`+idpClientSecret+`")`); err != nil {
		t.Fatal(err)
	}
	runWorkerd(t, workerd, dir, url)
	w.fresh()
	return w
}

// The Worker's registration at the test provider.
const (
	idpClientID     = "parcours-worker"
	idpClientSecret = "worker-test-secret"
)

// startIdP starts the OpenID provider (host/idp) on loopback, until t
// ends, with the practitioner accounts of idpUserPool and the Worker as
// a confidential client whose callback is the Worker's.
func (w *worker) startIdP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.idpURL = "http://" + ln.Addr().String()
	w.users, w.linked = idpUserPool(), map[string]idp.User{}
	p, err := idp.New(idp.Config{
		Issuer:  w.idpURL,
		Clients: []idp.Client{{ID: idpClientID, Secret: idpClientSecret, RedirectURIs: []string{w.URL + "/auth/callback"}}},
		Users:   w.users,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// requireWorkerd returns the pinned workerd, or skips t without it.
func requireWorkerd(t *testing.T) string {
	workerd, err := workerrun.Workerd(".")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	return workerd
}

// startFHIR starts the FHIR test server with the demo data, until t ends,
// and returns its base URL and a Backend on it.
func startFHIR(t *testing.T) (string, *fhir.Backend) {
	base := fhirtest.Start(t)
	b, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SeedDemo(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return base, b
}

// buildWorker builds the Worker's modules as make worker does
// (workerrun.Build) into a directory of t's and returns it; config.json,
// assets.json and workerd.capnp are the caller's.
func buildWorker(t *testing.T) string {
	dir := t.TempDir()
	if _, err := workerrun.Build(".", dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runWorkerd runs workerd on dir's workerd.capnp until t ends (its output
// logged if t failed) and waits until each of urls answers.
func runWorkerd(t *testing.T, workerd, dir string, urls ...string) *workerrun.Process {
	p, err := workerrun.Start(workerd, dir, urls...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("workerd's output:\n%s", p.Logs())
		}
	})
	return p
}

// buildWeb builds the browser files as `make web` does, with the brotli
// and gzip siblings at the fast setting (the test compares the Worker's
// answers with the host's, not the sizes).
func buildWeb(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := wasmbuild.Wasm(filepath.Join(dir, "parcours.wasm"), true); err != nil {
		t.Fatalf("building the browser Wasm: %v", err)
	}
	execJS, err := wasmbuild.WasmExecJS()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "wasm_exec.js"), execJS, 0o644)
	for _, name := range host.WasmFiles {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for coding, file := range host.PrecompressedFiles(name) {
			b, err := host.Compress(coding, data, false)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, file), b, 0o644)
		}
	}
	return dir
}

// testAssets: the widget document the Worker renders loads the browser
// files from the Worker, which serves them from its static assets with
// the headers and bytes of the standalone host serving the same build
// (host.Config.Assets), for each content coding, and answers a
// revalidation with 304.
func testAssets(t *testing.T, w *worker) {
	ctx := context.Background()
	c := w.client(t)
	// The demo's services carry the Worker's establishment configuration.
	if _, err := c.Services(ctx, fhir.DemoEstablishment); err != nil {
		t.Fatal(err)
	}
	standalone, err := host.New(host.Config{Booking: w.Backend, Directory: w.Backend,
		Establishments: []host.Establishment{{ID: fhir.DemoEstablishment}}, Assets: os.DirFS(w.web)})
	if err != nil {
		t.Fatal(err)
	}
	defer standalone.Close()
	ref := httptest.NewServer(standalone)
	defer ref.Close()

	doc := fetch(t, w.URL+"/w/booking?establishment="+fhir.DemoEstablishment, nil)
	for _, name := range host.WasmFiles {
		data, err := os.ReadFile(filepath.Join(w.web, name))
		if err != nil {
			t.Fatal(err)
		}
		p := host.AssetPath(name, data)
		if !strings.Contains(string(doc.body), `"`+p+`"`) {
			t.Errorf("the Worker's widget document does not load %s", p)
		}
		for _, accept := range []string{"br, gzip, zstd", "gzip, deflate", "", "br;q=0, gzip", "identity"} {
			h := map[string]string{"Accept-Encoding": accept}
			got, want := fetch(t, w.URL+p, h), fetch(t, ref.URL+p, h)
			if got.status != http.StatusOK || want.status != http.StatusOK {
				t.Fatalf("GET %s (Accept-Encoding %q): Worker %d, host %d", p, accept, got.status, want.status)
			}
			for _, k := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Vary", "ETag", "Content-Encoding", "Cross-Origin-Resource-Policy", "Strict-Transport-Security"} {
				if g, wt := got.header.Get(k), want.header.Get(k); g != wt {
					t.Errorf("GET %s (Accept-Encoding %q): %s %q from the Worker, %q from the host", p, accept, k, g, wt)
				}
			}
			if !bytes.Equal(got.body, want.body) {
				t.Errorf("GET %s (Accept-Encoding %q): %d bytes from the Worker, %d from the host", p, accept, len(got.body), len(want.body))
			}
			if accept == "" && !bytes.Equal(got.body, data) {
				t.Errorf("GET %s: the Worker's body is not the file", p)
			}
			h["If-None-Match"] = got.header.Get("ETag")
			if r := fetch(t, w.URL+p, h); r.status != http.StatusNotModified || r.header.Get("ETag") != got.header.Get("ETag") {
				t.Errorf("GET %s with If-None-Match %s: %d, want 304", p, h["If-None-Match"], r.status)
			}
		}
	}
	// The files the host embeds (frame.js, the vugu helper) stay the host's.
	if r := fetch(t, w.URL+"/parcours.js", nil); r.status != http.StatusOK || r.header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("GET /parcours.js: %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
	}
}

// sitePage is a hospital page embedding CH Nord's booking widget from the
// Worker at worker, with the demo page's event log.
func sitePage(worker string) http.Handler {
	page := `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>CH Nord</title></head><body>
<h1>Centre hospitalier Nord</h1>
` + host.Snippet(worker, fhir.DemoEstablishment, fhir.DemoCardiology, "fr") + `<ul id="event-log"></ul>
<script>
document.addEventListener('parcours:booked', function (ev) {
  var li = document.createElement('li');
  li.setAttribute('data-event', 'parcours:booked');
  li.textContent = 'parcours:booked ' + JSON.stringify(ev.detail);
  document.getElementById('event-log').appendChild(li);
});
</script></body></html>`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
}

// testBrowserBooking books in headless Chromium through the Worker
// (widgets/e2e/worker-booking.test.mjs), then finds the appointment on the
// FHIR server. Without node, Chromium or widgets/e2e's npm packages it is
// skipped, unless PARCOURS_E2E=1 makes that a failure.
func testBrowserBooking(t *testing.T, w *worker) {
	e2e, _ := filepath.Abs(filepath.Join("..", "..", "..", "widgets", "e2e"))
	need := func(what string, err error) {
		if err == nil {
			return
		}
		if os.Getenv("PARCOURS_E2E") == "1" {
			t.Fatalf("%s: %v (PARCOURS_E2E=1 requires the browser tests to run)", what, err)
		}
		t.Skipf("skipping the browser booking through the Worker: %s: %v", what, err)
	}
	node, err := exec.LookPath("node")
	need("node", err)
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err = os.Stat(chromium)
	need("chromium", err)
	_, err = os.Stat(filepath.Join(e2e, "node_modules", "playwright-core"))
	need("playwright-core (run `npm ci` in widgets/e2e)", err)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "worker-booking.test.mjs")
	cmd.Dir = e2e
	cmd.Env = append(os.Environ(), "SITE_URL="+w.siteURL, "HOST_URL="+w.URL, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser booking through the Worker: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "# booked ")
	id, _, _ := strings.Cut(after, "\n")
	if !ok || id == "" {
		t.Fatalf("no appointment id in the browser test's output:\n%s", out)
	}
	a, err := portaltest.AsPatient(w.Backend, "pat-camille-durand").Appointment(ctx, strings.TrimSpace(id))
	if err != nil || a.Status != portal.StatusBooked || a.Establishment != fhir.DemoEstablishment {
		t.Errorf("appointment %s on the FHIR server: %+v, %v; want Camille Durand's, booked, at %s", id, a, err, fhir.DemoEstablishment)
	}
}

// testWrangler checks wrangler.toml against the Worker the test built:
// `wrangler deploy --dry-run` (offline, no login) finds the same modules as
// workerd.capnp, typed alike, the assets, the ASSETS binding and the
// State's Durable Objects; and its
// PARCOURS_CONFIG is one the Worker accepts.
func testWrangler(t *testing.T, w *worker) {
	toml, err := os.ReadFile("wrangler.toml")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(toml), "../../../build/worker-assets", w.assets)
	conf = strings.ReplaceAll(conf, "../../../build/worker", w.dir)
	cdir := t.TempDir()
	os.WriteFile(filepath.Join(cdir, "wrangler.toml"), []byte(conf), 0o644)
	wrangler, _ := filepath.Abs("node_modules/.bin/wrangler")
	out := filepath.Join(cdir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrangler, "deploy", "--dry-run", "--outdir", out)
	cmd.Dir = cdir
	cmd.Env = append(os.Environ(), "CLOUDFLARE_CF_FETCH_ENABLED=false", "WRANGLER_SEND_METRICS=false", "CI=1",
		"WRANGLER_LOG_PATH="+filepath.Join(cdir, "logs"), "XDG_CONFIG_HOME="+filepath.Join(cdir, "config"))
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wrangler deploy --dry-run: %v\n%s", err, log)
	}
	report := strings.Join(strings.Fields(string(log)), " ")
	for _, want := range []string{"assets.json │ text", "assets.mjs │ esm", "parcours.wasm │ compiled-wasm", "wasm_exec.js │ esm", "state.mjs │ esm", "env.ASSETS", "env.PARCOURS_CONFIG", "env.PARCOURS_STATE"} {
		if !strings.Contains(report, want) {
			t.Errorf("wrangler deploy --dry-run: no %q in its report:\n%s", want, log)
		}
	}
	for _, f := range []string{"worker.mjs", "assets.mjs", "state.mjs", "wasm_exec.js", "parcours.wasm", "assets.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("wrangler deploy --dry-run left out %s: %v", f, err)
		}
	}
	const key = "PARCOURS_CONFIG = '''"
	i := strings.Index(string(toml), key)
	if i < 0 {
		t.Fatalf("wrangler.toml: no %s…''' string", key)
	}
	raw, _, _ := strings.Cut(string(toml)[i+len(key):], "'''")
	// One compatibility date for both runtimes.
	capnp, err := os.ReadFile("workerd.capnp")
	if err != nil {
		t.Fatal(err)
	}
	date := regexp.MustCompile(`compatibilityDate = "([0-9-]+)"`).FindSubmatch(capnp)
	if date == nil || !strings.Contains(string(toml), `compatibility_date = "`+string(date[1])+`"`) {
		t.Errorf("wrangler.toml's compatibility_date is not workerd.capnp's %q", date)
	}
	if _, err := build([]byte(raw), nil, noSecrets, platform{}); err != nil {
		t.Errorf("wrangler.toml's PARCOURS_CONFIG: %v", err)
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// fetch GETs u with header, without decoding any Content-Encoding.
func fetch(t *testing.T, u string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
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
		s := w.seed(t, w.establishment(t), w.fresh(), 2)
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
		s := w.seed(t, w.establishment(t), now, 2)
		doctor := w.cityDoctor(t, "pr-ville-"+s.Patients[0])
		as := w.practitioners()
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
			AsPatient:      func(t *testing.T, p string) portal.Consents { return w.signedIn(t, p) },
			AsPractitioner: func(t *testing.T, p string) portal.Consents { return as(t, p) },
			Anonymous:      w.client(t),
			Documents:      func(t *testing.T, p string) portal.Documents { return as(t, p) },
			Establishment:  s.Establishment,
			Patient:        s.Patients[0],
			OtherPatient:   s.Patients[1],
			Practitioner:   doctor.ID,
			Released:       file("released", false),
			Held:           file("held", true),
		}
	})
}

// testLookup runs the practitioner look-up suite through the Worker.
func testLookup(t *testing.T, w *worker) {
	portaltest.RunLookupTests(t, func(t *testing.T) portaltest.LookupFixture {
		s := w.seed(t, w.establishment(t), w.fresh(), 1)
		as := w.practitioners()
		return portaltest.LookupFixture{
			AsPatient:      func(t *testing.T, p string) portal.PractitionerLookup { return w.signedIn(t, p) },
			AsPractitioner: func(t *testing.T, p string) portal.PractitionerLookup { return as(t, p) },
			Anonymous:      w.client(t),
			Patient:        s.Patients[0],
			Practitioner:   w.cityDoctor(t, "pr-ville-"+s.Establishment),
		}
	})
}

// testSignIn: the Worker's OpenID Connect sign-in refuses, with its
// page, an account of the provider linked to no record on the FHIR server
// (403), and a callback replayed by another browser or by the same one
// (400: the sign-in under way is taken once, from the Durable Object
// State); the sign-in's binding cookie is gone after the callback.
func testSignIn(t *testing.T, w *worker) {
	hc := w.browser()
	pg := w.providerSignIn(t, hc, w.unlinkedUser(t), "/")
	if pg.status != http.StatusForbidden || !strings.HasPrefix(pg.url.String(), w.URL+"/auth/callback?") ||
		!strings.Contains(pg.body, "Aucun dossier de cet établissement n’est associé à ce compte") {
		t.Errorf("an account linked to nothing: %d at %s\n%s", pg.status, pg.url, pg.body)
	}
	now := w.fresh()
	s := w.seed(t, w.establishment(t), now, 1)
	w.mu.Lock()
	u := w.linked[s.Practitioners[0]]
	w.mu.Unlock()
	hc = w.browser()
	var callback string
	hc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), w.URL+"/auth/callback?") {
			callback = req.URL.String()
		}
		return nil
	}
	if pg := w.providerSignIn(t, hc, u, "/api/v1/session"); pg.status != http.StatusOK || callback == "" {
		t.Fatalf("sign-in: %d at %s", pg.status, pg.url)
	}
	if !w.auditedSignIn(t, s.Practitioners[0]) {
		t.Errorf("no signIn AuditEvent of %s", s.Practitioners[0])
	}
	u2, _ := url.Parse(w.URL)
	for _, c := range hc.Jar.Cookies(u2) {
		if c.Name == "parcours_login" {
			t.Errorf("the sign-in's binding cookie outlived the callback")
		}
	}
	for name, replay := range map[string]*http.Client{"same browser": hc, "another browser": w.browser()} {
		if pg := w.visit(t, replay, http.MethodGet, callback, nil); pg.status != http.StatusBadRequest || !strings.Contains(pg.body, "Cette connexion a expiré") {
			t.Errorf("the callback replayed by the %s: %d\n%s", name, pg.status, pg.body)
		}
	}
}

// testMessaging runs the messaging suite through the Worker: patients
// with the demo sign-in, practitioners signed in through the Worker's
// OpenID Connect sign-in, the outbox read behind the Worker on the FHIR
// server, as the establishment's notification sender reads it.
func testMessaging(t *testing.T, w *worker) {
	portaltest.RunMessagingTests(t, func(t *testing.T) portaltest.MessagingFixture {
		now := w.fresh()
		s := w.seed(t, w.establishment(t), now, 3)
		for i, p := range s.Patients[:2] {
			w.appointment(t, p, s.Practitioners[0], s.Service, now.Add(time.Duration(24+i)*time.Hour), true)
		}
		// The unlinked patient's cancelled appointment is no link.
		w.appointment(t, s.Patients[2], s.Practitioners[0], s.Service, now, false)
		as := w.practitioners()
		return portaltest.MessagingFixture{
			AsPatient:         func(t *testing.T, p string) portal.Messaging { return w.signedIn(t, p) },
			AsPractitioner:    func(t *testing.T, p string) portal.Messaging { return as(t, p) },
			Anonymous:         w.client(t),
			Outbox:            w.backend(t).Outbox(s.Establishment),
			Establishment:     s.Establishment,
			Service:           s.Service,
			OtherService:      s.Other,
			Patients:          s.Patients[:2],
			Unlinked:          s.Patients[2],
			Practitioners:     s.Practitioners[:2],
			Outsider:          s.Practitioners[2],
			MaxAttachmentSize: documentLimit,
			SetNow:            w.SetNow,
			Now:               w.Now,
		}
	})
}

// testDocuments runs the documents suite through the Worker, without and
// with a release delay (the establishment's release_delay in
// PARCOURS_CONFIG): documents filed behind the Worker on the FHIR server,
// as the establishment's systems do, read and released through it.
func testDocuments(t *testing.T, w *worker) {
	for _, delay := range []time.Duration{0, releaseDelay} {
		t.Run("delay "+delay.String(), func(t *testing.T) {
			portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture {
				now := w.fresh()
				est := w.establishment(t)
				if delay > 0 {
					est = w.delayedEstablishment(t)
				}
				s := w.seed(t, est, now, 2)
				for i, p := range s.Patients {
					w.appointment(t, p, s.Practitioners[0], s.Service, now.Add(-time.Duration(48+i)*time.Hour), true)
				}
				as := w.practitioners()
				return portaltest.DocumentsFixture{
					AsPatient:       func(t *testing.T, p string) portal.Documents { return w.signedIn(t, p) },
					AsPractitioner:  func(t *testing.T, p string) portal.Documents { return as(t, p) },
					Anonymous:       w.client(t),
					Filing:          w.backend(t),
					Establishment:   s.Establishment,
					Service:         s.Service,
					OtherService:    s.Other,
					Patients:        s.Patients,
					Practitioners:   s.Practitioners[:2],
					Outsider:        s.Practitioners[2],
					MaxDocumentSize: documentLimit,
					ReleaseDelay:    delay,
					SetNow:          w.SetNow,
					Now:             w.Now,
				}
			})
		})
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
