// Command parcours-bench measures Parcours and writes docs/benchmarks.md
// (`make bench`). It reports; it asserts nothing. Everything runs on this
// machine over loopback, with bounded load that stops by itself.
//
//  1. Sizes of the Wasm and the scripts (raw, gzip, brotli, zstd) and the Wasm's
//     code per Go package, so that a regression has a culprit.
//  2. The host: requests per second and p50/p99 latency of a free-slot search
//     through the host versus a bare HTTP endpoint making the same backend call,
//     and of the loader (a static asset), in the same run.
//  3. The Cloudflare Worker: its gzip size against the free plan's 3 MB (in
//     the sizes), and an API read from the FHIR test server through the
//     Worker under workerd and through the standalone host, in the same run
//     (worker.go; -worker-only runs just this).
//  4. Booking under contention: 50 concurrent clients on the slots of one day.
//  5. The booking widget in headless Chromium (widgets/e2e/bench.mjs): first
//     contentful paint and first handled click, cold and warm cache, on loopback
//     and on Lighthouse's mobile Slow 4G profile.
//  6. The questionnaire widget against its peers, LHC-Forms and Medplum's
//     QuestionnaireForm, on the same PHQ-9 in the same runs
//     (widgets/e2e/bench-questionnaire.mjs, peers.go): first question visible,
//     first answer registered, bytes.
//
// -booking measures only the booking widget in Chromium and prints its table
// with when the Wasm was instantiated and had rendered (on the profiles of
// -profiles); with -web-b, a second host serves another build of the Wasm and
// the runs alternate between the two (an A/B in the same run); -start
// measures the Wasm's start without a click (go.run's CPU time among it);
// TRACE_DIR in the environment keeps a Chrome performance trace of each run.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hospitalsite "github.com/parcours-sante/parcours/examples/hospital-site"
	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/wasm/build"
)

func main() {
	out := flag.String("o", "docs/benchmarks.md", "report to write")
	web := flag.String("web", "build/web", "directory of the built Wasm files (built if missing)")
	runs := flag.Int("runs", 5, "browser runs per scenario")
	duration := flag.Duration("duration", 3*time.Second, "length of each load test")
	browser := flag.Bool("browser", true, "run the browser measurements (needs node, playwright-core in widgets/e2e, chromium)")
	workerOnly := flag.Bool("worker-only", false, "measure only the Cloudflare Worker (its size and the API read through it and the standalone host) and print the report")
	questionnaireOnly := flag.Bool("questionnaire", false, "measure only Parcours' questionnaire widget (PHQ-9, no peers) in Chromium and print its table")
	bookingOnly := flag.Bool("booking", false, "measure only the booking widget in Chromium and print its table (with the Wasm's start)")
	widgetsOnly := flag.Bool("widgets", false, "measure only the messages, documents and access widgets in Chromium and print their table")
	webB := flag.String("web-b", "", "with -booking: a second directory of built Wasm files, served by a second host; runs alternate between -web (A) and it (B)")
	loaderFramesB := flag.Bool("loader-frames-b", false, "with -booking or -questionnaire: B is the same Wasm (-web) on a page whose frames the loader makes (no declarative shadow root); runs alternate")
	argsB := flag.String("chromium-args-b", "", "with -booking: more Chromium flags, space-separated, for a second browser (B, on -web-b's host if given, else -web's); runs alternate between the two, e.g. --js-flags=--no-wasm-lazy-compilation")
	profiles := flag.String("profiles", "", "with -booking, -widgets or -questionnaire: the profiles to run, comma-separated (loopback, slow4g; default both)")
	startOnly := flag.Bool("start", false, "with -booking: measure the Wasm's start without a click (instantiated, rendered, go.run's CPU time)")
	flag.Parse()
	var err error
	switch {
	case *workerOnly:
		err = runWorker(*duration)
	case *questionnaireOnly:
		err = runQuestionnaire(*web, *loaderFramesB, *profiles, *runs)
	case *widgetsOnly:
		err = runWidgets(*web, *profiles, *runs)
	case *bookingOnly:
		err = runBooking(*web, *webB, *loaderFramesB, *argsB, *profiles, *runs, *startOnly)
	default:
		err = run(*out, *web, *runs, *duration, *browser)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parcours-bench:", err)
		os.Exit(1)
	}
}

// built builds the Wasm files into web unless they are there.
func built(web string) error {
	if _, err := os.Stat(filepath.Join(web, "parcours.wasm.br")); err == nil {
		return nil
	}
	return build.Web(web)
}

type report struct {
	bytes.Buffer
}

func (r *report) f(format string, args ...any) { fmt.Fprintf(&r.Buffer, format, args...) }

func run(out, web string, runs int, duration time.Duration, withBrowser bool) error {
	ctx := context.Background()
	var r report
	r.f("# Benchmarks\n\nWritten by `make bench` (host/cmd/parcours-bench) on %s. Measurements, not assertions.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	r.f("Machine: %s, %d CPUs, %s, %s/%s.\n\n", cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)

	fmt.Fprintln(os.Stderr, "bench: building the Wasm")
	if err := built(web); err != nil {
		return err
	}
	if err := sizes(&r, web); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: building the Worker")
	workerBuild, err := os.MkdirTemp("", "parcours-bench-worker")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workerBuild)
	if err := workerSize(&r, workerBuild); err != nil {
		return err
	}
	r.f("\n")

	fmt.Fprintln(os.Stderr, "bench: starting the host")
	env, err := start(ctx, web)
	if err != nil {
		return err
	}
	defer env.close()
	fmt.Fprintln(os.Stderr, "bench: host load")
	if err := hostLoad(&r, env, duration); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: the Worker")
	if err := workerLoad(&r, workerBuild, duration); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: booking contention")
	if err := contention(&r, env); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: Go benchmarks")
	if err := goBenchmarks(&r); err != nil {
		return err
	}
	if withBrowser {
		fmt.Fprintln(os.Stderr, "bench: browser (takes a few minutes)")
		if err := browserBench(&r, env, runs); err != nil {
			return err
		}
	}
	if err := os.WriteFile(out, r.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", out)
	return nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kb(n int) string { return fmt.Sprintf("%.1f KB", float64(n)/1000) }

func sizes(r *report, web string) error {
	ss, err := build.Sizes(web)
	if err != nil {
		return err
	}
	r.f("## Sizes\n\nBudgets: all widgets in one Wasm ≤ 1.0 MB brotli; loader ≤ 5 KB brotli.\n\n")
	r.f("| file | raw | gzip | brotli | zstd |\n|---|---:|---:|---:|---:|\n")
	for _, s := range ss {
		r.f("| %s | %s | %s | %s | %s |\n", s.File, kb(s.Raw), kb(s.Gzip), kb(s.Brotli), kb(s.Zstd))
	}
	for _, s := range ss {
		switch s.File {
		case "parcours.wasm":
			r.f("\nWasm: %s brotli against a budget of 1,000 KB (%s).\n", kb(s.Brotli), gap(float64(s.Brotli), 1_000_000, false))
		case "parcours.js (loader)":
			r.f("Loader: %s brotli against a budget of 5 KB (%s).\n", kb(s.Brotli), gap(float64(s.Brotli), 5_000, false))
		}
	}

	tmp, err := os.MkdirTemp("", "parcours-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	full := filepath.Join(tmp, "full.wasm")
	if err := build.Wasm(full, false); err != nil {
		return err
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return err
	}
	deps, err := build.Deps()
	if err != nil {
		return err
	}
	bd, err := build.Analyze(b, deps)
	if err != nil {
		return err
	}
	r.f("\n### Where the Wasm's bytes go\n\nUnstripped build: %s in all, %s of code, %s of data. Code per package, the 25 largest:\n\n", kb(bd.Total), kb(bd.Code), kb(bd.Data))
	r.f("| package | code | functions |\n|---|---:|---:|\n")
	for _, p := range bd.Packages[:min(25, len(bd.Packages))] {
		r.f("| %s | %s | %d |\n", p.Package, kb(p.CodeBytes), p.Functions)
	}
	r.f("\n")
	return nil
}

// gap describes a measure against its budget.
func gap(v, budget float64, higherIsBetter bool) string {
	ok := v <= budget
	if higherIsBetter {
		ok = v >= budget
	}
	if ok {
		return "within budget"
	}
	if higherIsBetter {
		return fmt.Sprintf("short by %.0f%%", (1-v/budget)*100)
	}
	return fmt.Sprintf("over by %.0f%%", (v/budget-1)*100)
}

type env struct {
	store            *sqlite.Store
	h                *host.Host
	hostURL, siteURL string
	bareURL          string
	// peersURL is the origin of the questionnaire pages (peers.go), allowed
	// to embed the widgets; peersLn waits for their handler.
	peersURL string
	peersLn  net.Listener
	servers  []*http.Server
	dir      string
}

func (e *env) serve(ln net.Listener, handler http.Handler) {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	e.servers = append(e.servers, srv)
	go srv.Serve(ln)
}

func (e *env) close() {
	for _, s := range e.servers {
		s.Close()
	}
	e.peersLn.Close() // when the browser bench did not serve it
	e.h.Close()
	e.store.Close()
	os.RemoveAll(e.dir)
}

func listen() (net.Listener, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	return ln, "http://" + ln.Addr().String(), nil
}

func start(ctx context.Context, web string) (*env, error) {
	return startSite(ctx, web, hospitalsite.Config{})
}

// startSite is start with the hospital page's options (HostOrigin and
// LoaderSRI are set here).
func startSite(ctx context.Context, web string, site hospitalsite.Config) (*env, error) {
	dir, err := os.MkdirTemp("", "parcours-bench-db")
	if err != nil {
		return nil, err
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		return nil, err
	}
	if err := store.Seed(ctx, time.Now()); err != nil {
		return nil, err
	}
	hostLn, hostURL, err := listen()
	if err != nil {
		return nil, err
	}
	siteLn, siteURL, err := listen()
	if err != nil {
		return nil, err
	}
	bareLn, bareURL, err := listen()
	if err != nil {
		return nil, err
	}
	peersLn, peersURL, err := listen()
	if err != nil {
		return nil, err
	}
	h, err := host.New(host.Config{
		Booking: store, Directory: store, Questionnaires: store, DemoSignIn: true,
		// The other widgets' backends (their scenarios in
		// widgets/e2e/bench-widgets.mjs) and the audit, as `parcours demo`.
		Messaging: store.Messaging(sqlite.WithAttachmentDir(filepath.Join(dir, "attachments"))),
		Documents: store.Documents(), Consents: store, Practitioners: store, CareTeam: store, Audit: store,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: []string{siteURL, peersURL}}},
		Assets:         os.DirFS(web),
		Logger:         slog.New(slog.DiscardHandler),
		// Three patients book whole days of slots under contention: the
		// bench measures the booking path, not the per-patient and
		// per-address limits.
		BookingsPerHour:           1 << 20,
		MaxFutureAppointments:     1 << 20,
		WritesPerAddressPerMinute: 1 << 20,
	})
	if err != nil {
		return nil, err
	}
	e := &env{store: store, h: h, hostURL: hostURL, siteURL: siteURL, bareURL: bareURL, peersURL: peersURL, peersLn: peersLn, dir: dir}
	e.serve(hostLn, h)
	site.HostOrigin, site.LoaderSRI = hostURL, host.LoaderSRI()
	e.serve(siteLn, hospitalsite.Handler(site))
	// The bare endpoint: the same query parameters, backend call and JSON
	// write as the host's listFreeSlots (host/httpjson.go writeJSON: one
	// Marshal, one Write), nothing else.
	e.serve(bareLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := slotQuery(time.Now())
		from, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("from"))
		to, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("to"))
		if err1 != nil || err2 != nil {
			http.Error(w, "from and to: RFC 3339", 400)
			return
		}
		q.From, q.To = from, to
		slots, err := store.FreeSlots(r.Context(), q)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if slots == nil {
			slots = []portal.Slot{}
		}
		b, err := json.Marshal(map[string]any{"slots": slots})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(200)
		w.Write(append(b, '\n'))
	}))
	return e, nil
}

func slotQuery(now time.Time) portal.SlotQuery {
	return portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, From: now, To: now.AddDate(0, 0, 14)}
}

// loadResult is one bounded load test.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

// add adds x's share of the mean of n results.
func (l *loadResult) add(x loadResult, n int) {
	l.rps += x.rps / float64(n)
	l.p50 += x.p50 / time.Duration(n)
	l.p99 += x.p99 / time.Duration(n)
	l.errors += x.errors
}

// load sends GET url from `conns` workers for d, with one connection each.
func load(url string, header http.Header, conns int, d time.Duration) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header = header.Clone()
				t := time.Now()
				resp, err := c.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = errors.New(resp.Status)
					}
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	res := loadResult{rps: float64(len(lat)) / d.Seconds(), errors: int(errs.Load())}
	if len(lat) > 0 {
		res.p50 = lat[len(lat)/2]
		res.p99 = lat[len(lat)*99/100]
	}
	return res
}

func hostLoad(r *report, e *env, d time.Duration) error {
	now := time.Now()
	q := slotQuery(now)
	query := fmt.Sprintf("?service=%s&from=%s&to=%s", q.Service, now.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	slotsPath := "/api/v1/establishments/" + q.Establishment + "/slots" + query
	const conns = 8
	accept := http.Header{"Accept": {"application/json"}}
	bareURL := e.bareURL + query
	// Warm up both, then measure in rounds.
	load(bareURL, accept, conns, d/6)
	load(e.hostURL+slotsPath, accept, conns, d/6)
	// Short rounds, bare and host in turn, the order swapped every round,
	// so that drift (caches, other work on the machine) falls on both
	// alike. With 8 connections, the throughput ratio is that of the
	// rounds' means; on one connection (no queueing), the latency the host
	// adds is the median of the rounds' p50 differences.
	const rounds = 12
	interleaved := func(conns int) (bare, through loadResult, added []time.Duration) {
		for i := range rounds {
			var b, t loadResult
			if i%2 == 0 {
				b = load(bareURL, accept, conns, d/4)
				t = load(e.hostURL+slotsPath, accept, conns, d/4)
			} else {
				t = load(e.hostURL+slotsPath, accept, conns, d/4)
				b = load(bareURL, accept, conns, d/4)
			}
			added = append(added, t.p50-b.p50)
			bare.add(b, rounds)
			through.add(t, rounds)
		}
		slices.Sort(added)
		return bare, through, added
	}
	bare, through, _ := interleaved(conns)
	bare1, through1, added := interleaved(1)
	gz := load(e.hostURL+slotsPath, http.Header{"Accept": {"application/json"}, "Accept-Encoding": {"gzip"}}, conns, d)
	loader := load(e.hostURL+"/parcours.js", http.Header{"Accept-Encoding": {"br"}}, conns, d)
	r.f("## Host\n\nLoopback, %d connections unless the row says 1, same run. *Bare* is a plain net/http handler making the same backend call (SQLite free-slot search, 14 days of one service, the same query parameters) and writing the same JSON the same way; *through the host* adds routing, the session lookup, the security headers, CORS, cross-origin protection and the error mapping. The bare and through-the-host rows are %d interleaved rounds of %s each (bare and host in turn, the order swapped every round): their figures are the rounds' means. The gzip and static rows are one run of %s each.\n\n", conns, rounds, d/4, d)
	r.f("| target | req/s | p50 | p99 | errors |\n|---|---:|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		res  loadResult
	}{{"free slots, bare", bare}, {"free slots, through the host", through}, {"free slots, through the host, gzip", gz}, {"/parcours.js (static, brotli)", loader},
		{"free slots, bare, 1 connection", bare1}, {"free slots, through the host, 1 connection", through1}} {
		r.f("| %s | %.0f | %s | %s | %d |\n", row.name, row.res.rps, row.res.p50.Round(time.Microsecond), row.res.p99.Round(time.Microsecond), row.res.errors)
	}
	ratio := through.rps / bare.rps
	med := added[len(added)/2]
	r.f("\nThe host keeps %.2f of the bare throughput with %d connections (budget ≥ 0.65: %s) and adds %s at p50 on one connection, the median of %d rounds [%s to %s] (budget ≤ 100 µs: %s).\n\n",
		ratio, conns, gap(ratio, 0.65, true), med.Round(time.Microsecond), rounds, added[0].Round(time.Microsecond), added[len(added)-1].Round(time.Microsecond),
		gap(float64(med.Microseconds()), 100, false))
	return nil
}

// contention: 50 clients book the slots of one day at once, each picking a
// random free slot and trying again on slot_unavailable, until the day is full.
func contention(r *report, e *env) error {
	ctx := context.Background()
	patients := []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard, sqlite.DemoPatientInesMoreau}
	clients := make([]*client.Client, 50)
	for i := range clients {
		clients[i] = client.New(e.hostURL)
		if _, err := clients[i].DemoSignIn(ctx, patients[i%len(patients)]); err != nil {
			return err
		}
	}
	// The days of the diabetology service, one per round.
	all, err := e.store.FreeSlots(ctx, portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceDiabetologie, From: time.Now(), To: time.Now().AddDate(0, 0, 14)})
	if err != nil {
		return err
	}
	days := map[string][]portal.Slot{}
	var order []string
	for _, s := range all {
		d := s.Start.Format("2006-01-02")
		if _, ok := days[d]; !ok {
			order = append(order, d)
		}
		days[d] = append(days[d], s)
	}
	if len(order) > 1 {
		order = order[1:] // today may be partly past
	}
	r.f("## Booking under contention\n\n50 clients (sessions of the demo patients), at once, on the free slots of one day of one service, through the host: each picks a random free slot and tries again on `slot_unavailable` until the day is full.\n\n")
	r.f("| day | slots | bookings | refused (taken meanwhile) | other errors | time | bookings/s |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, day := range order[:min(3, len(order))] {
		slots := days[day]
		var booked, refused, failed atomic.Int64
		taken := make([]atomic.Bool, len(slots))
		t0 := time.Now()
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), uint64(t0.UnixNano())))
				for attempt := 0; ; attempt++ {
					var free []int
					for j := range slots {
						if !taken[j].Load() {
							free = append(free, j)
						}
					}
					if len(free) == 0 || attempt > 200 {
						return
					}
					j := free[rng.IntN(len(free))]
					s := slots[j]
					_, err := c.Book(ctx, portal.BookRequest{Establishment: s.Establishment, Service: s.Service, Slot: s.ID, IdempotencyKey: fmt.Sprintf("bench-%d-%d-%d", t0.UnixNano(), i, attempt)})
					switch portal.Code(err) {
					case "":
						booked.Add(1)
						taken[j].Store(true)
					case portal.ErrSlotUnavailable:
						refused.Add(1)
						taken[j].Store(true)
					default:
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		el := time.Since(t0)
		r.f("| %s | %d | %d | %d | %d | %s | %.0f |\n", day, len(slots), booked.Load(), refused.Load(), failed.Load(), el.Round(time.Millisecond), float64(booked.Load())/el.Seconds())
		if int(booked.Load()) != len(slots) {
			r.f("\n**%d slots but %d bookings: a slot was lost or double-booked.**\n\n", len(slots), booked.Load())
		}
	}
	r.f("\nEvery slot is booked exactly once (a double booking would show more bookings than slots).\n\n")
	return nil
}

// goBenchmarks runs the packages' Go benchmarks (host, plugins, Wasm tools)
// and copies their result lines.
func goBenchmarks(r *report) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "1s", "./host/...", "./wasm/...", "./sdk/...")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go test -bench: %w\n%s", err, out)
	}
	r.f("## Go benchmarks\n\n`go test -bench . -benchmem` of the host, the plugin runtime, the SDK and the Wasm tools:\n\n```\n")
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "pkg:") {
			r.f("%s\n", l)
		}
	}
	r.f("```\n\n")
	return nil
}
