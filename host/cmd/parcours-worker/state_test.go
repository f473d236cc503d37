//go:build !(js && wasm)

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
)

// twoIsolates is a workerd configuration of two Workers, a and b, each its
// own isolate with its own Go instance (as two Cloudflare locations are),
// sharing a's Durable Object namespace of the host's State; and a third,
// c, whose FHIR server never answers.
const twoIsolates = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "a", worker = .a),
    (name = "b", worker = .b),
    (name = "c", worker = .c),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "a", address = "ADDR_A", http = (), service = "a"),
    (name = "b", address = "ADDR_B", http = (), service = "b"),
    (name = "c", address = "ADDR_C", http = (), service = "c"),
  ],
);
const modules :List(Workerd.Worker.Module) = [
  (name = "worker.mjs", esModule = embed "worker.mjs"),
  (name = "wasm_exec.js", esModule = embed "wasm_exec.js"),
  (name = "state.mjs", esModule = embed "state.mjs"),
  (name = "assets.mjs", esModule = embed "assets.mjs"),
  (name = "assets.json", text = embed "assets.json"),
  (name = "parcours.wasm", wasm = embed "parcours.wasm"),
];
const a :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "PARCOURS_CONFIG", text = embed "config.json"),
    (name = "PARCOURS_STATE", durableObjectNamespace = "ParcoursState"),
  ],
  durableObjectNamespaces = [(className = "ParcoursState", uniqueKey = "parcours-state", enableSql = true)],
  durableObjectStorage = (inMemory = void),
  globalOutbound = "internet",
);
const b :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "PARCOURS_CONFIG", text = embed "config.json"),
    (name = "PARCOURS_STATE", durableObjectNamespace = (className = "ParcoursState", serviceName = "a")),
  ],
  globalOutbound = "internet",
);
const c :Workerd.Worker = (
  modules = .modules,
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "PARCOURS_CONFIG", text = embed "config-c.json"),
    (name = "PARCOURS_STATE", durableObjectNamespace = (className = "ParcoursState", serviceName = "a")),
  ],
  globalOutbound = "internet",
);
`

// TestWorkerSharedState runs two isolates of the Worker on one Durable
// Object namespace and checks what a per-isolate state got wrong: a
// session opened on one isolate works on the other, a patient cannot
// double a rate limit by alternating isolates, and a sign-out on one
// ends the session on both. Under PARCOURS_E2E=1 or PARCOURS_WORKER=1.
func TestWorkerSharedState(t *testing.T) {
	if os.Getenv("PARCOURS_E2E") != "1" && os.Getenv("PARCOURS_WORKER") != "1" {
		t.Skip("skipping: the Worker tests run under PARCOURS_E2E=1 or PARCOURS_WORKER=1 (make test)")
	}
	workerd := requireWorkerd(t)
	base, b := startFHIR(t)
	dir := buildWorker(t)
	// No browser files: the widgets' first paint only.
	os.WriteFile(filepath.Join(dir, "assets.json"), []byte("null"), 0o644)
	addrA, addrB := freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`{"public_url": "http://%s", "fhir_url": %q, "establishment": {"id": %q}, "demo_sign_in": true}`,
		addrA, base, fhir.DemoEstablishment)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	// c's FHIR server accepts and never answers: its calls must end on
	// the request's own JS timer (fhir_call_timeout).
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hung.Close)
	addrC := freeAddr(t)
	os.WriteFile(filepath.Join(dir, "config-c.json"), fmt.Appendf(nil,
		`{"public_url": "http://%s", "fhir_url": %q, "establishment": {"id": %q}, "fhir_call_timeout": "300ms"}`,
		addrC, hung.URL+"/fhir/R4", fhir.DemoEstablishment), 0o644)
	conf := strings.NewReplacer("ADDR_A", addrA, "ADDR_B", addrB, "ADDR_C", addrC).Replace(twoIsolates)
	os.WriteFile(filepath.Join(dir, "workerd.capnp"), []byte(conf), 0o644)

	urlA, urlB := "http://"+addrA, "http://"+addrB
	logs := runWorkerd(t, workerd, dir, urlA, urlB)

	// Both isolates are on 127.0.0.1, where a cookie jar (which ignores
	// ports) sends the session cookie to both.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	do := func(method, url, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	patients, err := b.DemoPatients(context.Background())
	if err != nil || len(patients) == 0 {
		t.Fatalf("demo patients: %v", err)
	}
	patient := patients[0].ID
	if s, body := do("POST", urlA+"/api/v1/demo/session", fmt.Sprintf(`{"patient":%q}`, patient)); s != 200 {
		t.Fatalf("demo sign-in on a: %d %s\n%s", s, body, logs.Logs())
	}
	if s, body := do("GET", urlB+"/api/v1/session", ""); s != 200 || !strings.Contains(body, patient) {
		t.Fatalf("the session opened on a, on b: %d %s\n%s", s, body, logs.Logs())
	}

	// The RPPS look-up allows 10 a minute per patient: alternating
	// isolates gets no more.
	lookup := func(u string) int {
		s, _ := do("GET", u+"/api/v1/practitioners/rpps/"+fhir.DemoCityDoctorRPPS, "")
		return s
	}
	for i := range 10 {
		u := []string{urlA, urlB}[i%2]
		if s := lookup(u); s != 200 {
			t.Fatalf("look-up %d of 10: %d\n%s", i+1, s, logs.Logs())
		}
	}
	for _, u := range []string{urlA, urlB} {
		if s := lookup(u); s != 429 {
			t.Errorf("the 11th look-up in a minute on %s: %d, want 429", u, s)
		}
	}

	// A sign-out on b ends the session on a too.
	cookies := jar.Cookies(mustParse(t, urlA))
	if s, body := do("DELETE", urlB+"/api/v1/session", ""); s != 204 {
		t.Fatalf("sign-out on b: %d %s", s, body)
	}
	req, _ := http.NewRequest("GET", urlA+"/api/v1/appointments", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(cookies) == 0 || resp.StatusCode != 401 {
		t.Errorf("the session signed out on b, replayed on a: %d (%d cookies), want 401", resp.StatusCode, len(cookies))
	}

	// A FHIR server that never answers: each attempt is aborted on the
	// request's JS timer, and the patient gets 503, not a request that
	// hangs until the client gives up (hc's 20 s).
	if s, body := do("GET", "http://"+addrC+"/api/v1/establishments/"+fhir.DemoEstablishment+"/services", ""); s != 503 || !strings.Contains(body, "backend_unavailable") {
		t.Errorf("services from a FHIR server that never answers: %d %s, want 503 backend_unavailable\n%s", s, body, logs.Logs())
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
