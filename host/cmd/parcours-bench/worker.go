package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirserver"
	"github.com/parcours-sante/parcours/host/cmd/parcours-worker/workerrun"
	"github.com/parcours-sante/parcours/sdk/client"
)

// workerDir is the Cloudflare Worker's command, with its pinned workerd.
const workerDir = "host/cmd/parcours-worker"

// workerTarget is the Worker's throughput target on the API read.
const workerTarget = 1000

// buildWorker builds the Worker as `make worker` does (workerrun.Build)
// into dir and returns the Wasm's path. The browser files are left out
// (assets.json is null): the bench reads the API and the home page.
func buildWorker(dir string) (string, error) {
	wasm, err := workerrun.Build(workerDir, dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		return "", err
	}
	return wasm, os.WriteFile(filepath.Join(dir, "assets.json"), []byte("null"), 0o644)
}

// workerSize reports the Worker's gzip size against the free plan's 3 MB.
func workerSize(r *report, dir string) error {
	wasm, err := buildWorker(dir)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return err
	}
	r.f("Cloudflare Worker (`make worker`, %s): %s raw, %s gzip against the free plan's 3 MB limit (%s).\n",
		workerDir, kb(len(b)), kb(gz.Len()), gap(float64(gz.Len()), 3_000_000, false))
	return nil
}

// workerLoad measures the same API read, the establishment's services
// from the FHIR test server, through the Worker under workerd and through
// the standalone host, on the same FHIR server in the same run. dir holds
// the Worker built by workerSize.
func workerLoad(r *report, dir string, d time.Duration) error {
	r.f("## Cloudflare Worker\n\n")
	workerd, err := workerrun.Workerd(workerDir)
	if err != nil {
		r.f("Skipped: workerd is not installed (`npm ci` in %s, needs npm).\n\n", workerDir)
		fmt.Fprintf(os.Stderr, "bench: skipping the Worker: %v\n", err)
		return nil
	}
	if err := fhirserver.Available(); err != nil {
		r.f("Skipped: the FHIR test server needs node and `npm ci` in %s: %v.\n\n", fhirserver.Dir(), err)
		fmt.Fprintf(os.Stderr, "bench: skipping the Worker: %v\n", err)
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "parcours.wasm")); err != nil {
		return errors.New("the Worker is not built")
	}
	ctx := context.Background()
	srv, err := fhir.StartDemoServer(ctx, 0, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	b, err := fhir.New(fhir.Config{BaseURL: srv.Base})
	if err != nil {
		return err
	}

	// The standalone host, wired to the FHIR server as the Worker is
	// (config.go there), with the default transport.
	hostLn, hostURL, err := listen()
	if err != nil {
		return err
	}
	h, err := host.New(host.Config{
		Booking: b, Directory: b, Questionnaires: b, Messaging: b, Documents: b,
		Consents: b, Practitioners: b, Audit: b,
		Establishments: []host.Establishment{{ID: fhir.DemoEstablishment, Origins: []string{"http://127.0.0.1:8081"}}},
		PublicURL:      hostURL,
		DemoSignIn:     true,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	defer h.Close()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(hostLn)
	defer hs.Close()

	// The Worker under workerd, configured as `make worker-dev` is.
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	workerURL := "http://" + addr
	cfg := fmt.Sprintf(`{"public_url": %q, "fhir_url": %q, "demo_sign_in": true, "establishment": {"id": %q, "origins": ["http://127.0.0.1:8081"]}}`,
		workerURL, srv.Base, fhir.DemoEstablishment)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := workerrun.WriteCapnp(workerDir, dir, filepath.Join(dir, "assets"), addr); err != nil {
		return err
	}
	wd, err := workerrun.Start(workerd, dir, workerURL)
	if err != nil {
		return err
	}
	defer wd.Stop()
	path := "/api/v1/establishments/" + fhir.DemoEstablishment + "/services"
	resp, err := http.Get(workerURL + path)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
	}
	if err != nil {
		return fmt.Errorf("the Worker did not answer %s: %v\n%s", path, err, wd.Logs())
	}

	// A demo patient's session on each, for the signed-in reads.
	workerSession, err := demoSession(ctx, workerURL, benchPatient)
	if err != nil {
		return fmt.Errorf("the Worker: %v\n%s", err, wd.Logs())
	}
	hostSession, err := demoSession(ctx, hostURL, benchPatient)
	if err != nil {
		return err
	}

	const conns = 8
	accept := http.Header{"Accept": {"application/json"}}
	// Warm up both (V8 optimises the Wasm's hot functions as they run).
	load(workerURL+path, accept, conns, d)
	load(hostURL+path, accept, conns, d/3)
	cpu0, cpuOK := cpuTime(wd.Pid())
	worker := load(workerURL+path, accept, conns, d)
	cpu1, _ := cpuTime(wd.Pid())
	standalone := load(hostURL+path, accept, conns, d)
	est := "/api/v1/establishments/" + fhir.DemoEstablishment
	workerEst := load(workerURL+est, accept, conns, d)
	standaloneEst := load(hostURL+est, accept, conns, d)
	home := load(workerURL+"/", http.Header{}, conns, d)
	// The same read with a patient's session cookie: one Durable Object
	// read more per request on the Worker (the session, in the host's
	// State), a map look-up on the standalone host; anonymous and signed
	// in interleaved, four rounds, each going first in two, so that the machine's load weighs on
	// both alike. Then the patient's own record (GET /api/v1/session: the
	// session, then the Patient on the FHIR server).
	var anonCPU, signedCPU time.Duration
	var anonN, signedN float64
	var workerSigned loadResult
	for i := range 4 {
		// Each goes first in every other round.
		for j := range 2 {
			signed := (i+j)%2 == 1
			h := accept
			if signed {
				h = workerSession
			}
			c0, _ := cpuTime(wd.Pid())
			res := load(workerURL+path, h, conns, d/4)
			c1, _ := cpuTime(wd.Pid())
			n := res.rps * (d / 4).Seconds()
			if signed {
				signedCPU, signedN, workerSigned = signedCPU+c1-c0, signedN+n, res
			} else {
				anonCPU, anonN = anonCPU+c1-c0, anonN+n
			}
		}
	}
	standaloneSigned := load(hostURL+path, hostSession, conns, d)
	cpu4, _ := cpuTime(wd.Pid())
	workerMe := load(workerURL+"/api/v1/session", workerSession, conns, d)
	cpu5, _ := cpuTime(wd.Pid())
	standaloneMe := load(hostURL+"/api/v1/session", hostSession, conns, d)
	r.f("The same API read, `GET %s` (the establishment's services: one FHIR search, HealthcareService with their PractitionerRoles and Practitioners, "+
		"on the FHIR server, Medplum's engine under node on the same machine, seeded with the demo data; the establishment's Organization is reused for "+
		"a minute, fhir.Config.OrganizationTTL), through the Worker under workerd (`make worker`, "+
		"one Go instance reused across requests, pinned workerd on loopback) and through the standalone host (net/http, the FHIR "+
		"backend's default transport), %d connections for %s each, same run.\n\n", path, conns, d)
	r.f("| target | req/s | p50 | p99 | errors |\n|---|---:|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		res  loadResult
	}{{"services, through the Worker", worker}, {"services, standalone host", standalone},
		{"establishment (its Organization reused, no FHIR call), through the Worker", workerEst},
		{"establishment (its Organization reused, no FHIR call), standalone host", standaloneEst},
		{"home page, through the Worker (no FHIR call)", home},
		{"services, signed-in patient, through the Worker (+ the session: a Durable Object read; last of 4 interleaved rounds)", workerSigned},
		{"services, signed-in patient, standalone host", standaloneSigned},
		{"the patient's session (`GET /api/v1/session`: the session, the Patient on FHIR), through the Worker", workerMe},
		{"the patient's session, standalone host", standaloneMe}} {
		r.f("| %s | %.0f | %s | %s | %d |\n", row.name, row.res.rps, row.res.p50.Round(time.Microsecond), row.res.p99.Round(time.Microsecond), row.res.errors)
	}
	r.f("\nThe Worker serves %.0f req/s on the API read, %.2f of the standalone host's, against a target of %d req/s (%s).",
		worker.rps, worker.rps/standalone.rps, workerTarget, gap(worker.rps, workerTarget, true))
	if n := worker.rps * d.Seconds(); cpuOK && n > 0 {
		per := (cpu1 - cpu0) / time.Duration(n)
		r.f(" workerd spent %s of CPU per API read (its isolate runs on one thread: at most %.0f req/s with a core to itself); "+
			"less noisy than req/s on a shared machine.", per.Round(time.Microsecond), float64(time.Second)/float64(per))
	}
	r.f("\n\nSigned in as a demo patient, the services read runs at %.0f req/s through the Worker against %.0f anonymous (interleaved rounds; %.2f of the standalone host's signed-in rate)",
		signedN/d.Seconds(), anonN/d.Seconds(), signedN/d.Seconds()/standaloneSigned.rps)
	if cpuOK && anonN > 0 && signedN > 0 {
		a, sg := anonCPU/time.Duration(anonN), signedCPU/time.Duration(signedN)
		r.f(", at %s of workerd's CPU per read against %s anonymous: the session's Durable Object read adds %s", sg.Round(time.Microsecond), a.Round(time.Microsecond), (sg - a).Round(time.Microsecond))
	}
	r.f(". The patient's own record runs at %.0f req/s through the Worker, %.2f of the standalone host's", workerMe.rps, workerMe.rps/standaloneMe.rps)
	if me := perRequest(cpu4, cpu5, workerMe, d); cpuOK && me > 0 {
		r.f(" (%s of workerd's CPU each)", me.Round(time.Microsecond))
	}
	r.f(".\n\n")
	return nil
}

// benchPatient is the demo patient of the signed-in reads.
const benchPatient = "pat-lucas-bernard"

// demoSession signs in as patient with the demo sign-in at base and
// returns the request headers of that session (its cookie).
func demoSession(ctx context.Context, base, patient string) (http.Header, error) {
	jar, _ := cookiejar.New(nil)
	c := client.New(base, client.WithHTTPClient(&http.Client{Jar: jar, Timeout: 10 * time.Second}))
	if _, err := c.DemoSignIn(ctx, patient); err != nil {
		return nil, fmt.Errorf("demo sign-in as %s: %w", patient, err)
	}
	u, _ := url.Parse(base)
	h := http.Header{"Accept": {"application/json"}}
	for _, ck := range jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	if h.Get("Cookie") == "" {
		return nil, fmt.Errorf("demo sign-in as %s: no session cookie", patient)
	}
	return h, nil
}

// perRequest is the CPU time between cpuA and cpuB per request of res
// over d; 0 without requests.
func perRequest(cpuA, cpuB time.Duration, res loadResult, d time.Duration) time.Duration {
	n := res.rps * d.Seconds()
	if n <= 0 {
		return 0
	}
	return (cpuB - cpuA) / time.Duration(n)
}

func freeAddr() (string, error) {
	ln, _, err := listen()
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// runWorker is -worker-only: the Worker's size and load, printed.
func runWorker(d time.Duration) error {
	var r report
	dir, err := os.MkdirTemp("", "parcours-bench-worker")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "bench: building the Worker")
	if err := workerSize(&r, dir); err != nil {
		return err
	}
	r.f("\n")
	fmt.Fprintln(os.Stderr, "bench: the Worker")
	if err := workerLoad(&r, dir, d); err != nil {
		return err
	}
	_, err = os.Stdout.Write(r.Bytes())
	return err
}

// cpuTime is the CPU time (user and system) of process pid so far, from
// /proc (Linux); ok is false elsewhere.
func cpuTime(pid int) (t time.Duration, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	// Fields 14 and 15 (utime, stime), in clock ticks of 1/100 s (USER_HZ).
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
