// Package e2e runs the widgets end to end in headless Chromium: the real
// Wasm, the real host on the real SQLite backend, and the demo hospital page
// on another origin, driven by booking.test.mjs (playwright-core).
//
// It needs node, the npm packages of this directory (`npm ci`) and Chromium
// (/usr/bin/chromium, or $CHROMIUM). Without them the test is skipped, unless
// PARCOURS_E2E=1 (set by `make test` and CI), where it fails instead.
package e2e

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hospitalsite "github.com/parcours-sante/parcours/examples/hospital-site"
	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	wazeroplugin "github.com/parcours-sante/parcours/host/plugin/wazero"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/wasm/build"
)

func require(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("PARCOURS_E2E") == "1" {
		t.Fatalf("%s: %v (PARCOURS_E2E=1 requires the browser tests to run)", what, err)
	}
	t.Skipf("skipping the browser tests: %s: %v (set PARCOURS_E2E=1 to make this a failure)", what, err)
}

// browserTools returns node and Chromium, skipping the test (or failing
// it, with PARCOURS_E2E=1) when they or the npm packages are missing.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	node, err := exec.LookPath("node")
	require(t, "node", err)
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err = os.Stat(chromium)
	require(t, "chromium", err)
	_, err = os.Stat(filepath.Join("node_modules", "playwright-core"))
	require(t, "playwright-core (run `npm ci` in widgets/e2e)", err)
	return node, chromium
}

func TestBookingInChromium(t *testing.T) {
	node, chromium := browserTools(t)

	assets := buildWasm(t)
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e2e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A questionnaire with a repeating group, which no shipped one has,
	// for questionnaire.test.mjs.
	grossesses, err := os.ReadFile("../questionnaire/testdata/grossesses.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutQuestionnaire(ctx, portal.QuestionnaireDef{
		ID: "grossesses", Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite,
		Title: portal.Text{FR: "Grossesses précédentes"}, Resource: grossesses,
	}); err != nil {
		t.Fatal(err)
	}

	hostLn, hostURL := listen(t)
	siteLn, siteURL := listen(t)
	otherLn, otherURL := listen(t)
	// The same page on another origin, which the host does not allow.
	otherURL = strings.Replace(otherURL, "127.0.0.1", "localhost", 1)

	// The example booking rule (one maternity registration per pregnancy)
	// runs as a sandboxed plugin, as in the demo.
	plugins, err := wazeroplugin.Load(ctx, wazeroplugin.Config{
		// 5 s rather than the 100 ms production deadline: `make test` runs
		// this under -race on a loaded CI machine, where a guest call is
		// many times slower (the deadline itself is tested in host/plugin).
		Plugins:  []wazeroplugin.PluginConfig{{Name: "booking-rule", Path: buildPlugin(t, "booking-rule"), Timeout: 5 * time.Second}},
		CacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{
		Booking:        store,
		Directory:      store,
		Questionnaires: store,
		Messaging:      store.Messaging(),
		CareTeam:       store,
		Documents:      store.Documents(),
		Consents:       store,
		Practitioners:  store,
		Audit:          store,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: []string{siteURL}}},
		Assets:         os.DirFS(assets),
		DemoSignIn:     true,
		Plugins:        plugins,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	site := hospitalsite.Handler(hospitalsite.Config{HostOrigin: hostURL, LoaderSRI: host.LoaderSRI()})
	// The markup `parcours snippet -page` writes, for declarative.test.mjs:
	// the loader must adopt its frame as is (the theme is the demo page's).
	embed, err := host.Embed{Base: hostURL, Widget: "booking", Page: siteURL,
		Attrs: [][2]string{{"establishment", "chu-exemple"}, {"service", "maternite"}, {"lang", "fr"}},
		Theme: [][2]string{{"primary", "#5b2a86"}, {"radius", "6px"}}}.HTML()
	if err != nil {
		t.Fatal(err)
	}
	// The same site whose elements carry no frame (the loader makes it),
	// under /sans-cadre/, for declarative.test.mjs.
	loaderFrames := hospitalsite.Handler(hospitalsite.Config{HostOrigin: hostURL, LoaderSRI: host.LoaderSRI(), LoaderFrames: true})
	raceSite, raceHost := racePages(site, h, embed)
	raceSite = withPrefix(raceSite, "/sans-cadre", loaderFrames)
	serve(t, hostLn, raceHost)
	serve(t, siteLn, raceSite)
	serve(t, otherLn, site)

	runCtx, cancel := context.WithTimeout(ctx, 12*time.Minute)
	defer cancel()
	files := []string{"booking.test.mjs", "questionnaire.test.mjs", "frame.test.mjs", "takeover.test.mjs", "declarative.test.mjs", "codecache.test.mjs", "messaging.test.mjs", "documents.test.mjs", "access.test.mjs"}
	if only := os.Getenv("PARCOURS_E2E_FILES"); only != "" {
		files = strings.Fields(only) // a developer's shortcut: PARCOURS_E2E_FILES=messaging.test.mjs
	}
	cmd := exec.CommandContext(runCtx, node, append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)...)
	cmd.Env = append(os.Environ(),
		"SITE_URL="+siteURL, "HOST_URL="+hostURL, "OTHER_SITE_URL="+otherURL, "CHROMIUM="+chromium, "EMBED_HTML="+embed)
	if shot := os.Getenv("PARCOURS_SCREENSHOT"); shot != "" {
		abs, err := filepath.Abs(shot)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "SCREENSHOT="+abs)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser tests failed: %v\n%s", err, out)
	}
	t.Logf("browser tests:\n%s", out)
}

// racePages adds to the site, for declarative.test.mjs, pages on which the
// loader runs while the parser is inside the element that embed (the
// snippet's script tag and element) writes:
//   - /course/tete loads it with a blocking script tag in the head, so the
//     element is defined before the parser reaches it;
//   - /course/ombre sends the page up to the element's declarative shadow
//     root, then waits until the loader (async, in the head) has been
//     served and run before it sends the frame: the order CI met once.
//
// It returns the site and the host, wrapped to say when the loader is served.
func racePages(site, host http.Handler, embed string) (http.Handler, http.Handler) {
	i := strings.Index(embed, "<script")
	j := strings.Index(embed, "</script>") + len("</script>")
	k := strings.Index(embed, "<iframe")
	if i < 0 || j < i || k < j {
		panic("racePages: the snippet has no script tag before its frame")
	}
	async, el := embed[i:j], embed[j:]
	k -= j
	loaded := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.Handle("/", site)
	mux.HandleFunc("GET /course/{where}", func(w http.ResponseWriter, r *http.Request) {
		head := `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Course</title><link rel="stylesheet" href="/site.css">`
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.PathValue("where") {
		case "tete":
			io.WriteString(w, head+strings.Replace(async, " async", "", 1)+"</head><body><main>"+el+"</main></body></html>")
		case "ombre":
			select {
			case <-loaded: // a previous page's
			default:
			}
			io.WriteString(w, head+async+"</head><body><main>"+el[:k])
			w.(http.Flusher).Flush()
			select {
			case <-loaded:
				time.Sleep(300 * time.Millisecond) // for the browser to run it
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, el[k:]+"</main></body></html>")
		default:
			http.NotFound(w, r)
		}
	})
	return mux, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host.ServeHTTP(w, r)
		if r.URL.Path == "/parcours.js" {
			select {
			case loaded <- struct{}{}:
			default:
			}
		}
	})
}

// withPrefix serves prefix's paths from other (the prefix stripped), the
// rest from h.
func withPrefix(h http.Handler, prefix string, other http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle(prefix+"/", http.StripPrefix(prefix, other))
	return mux
}

// buildPlugin builds an example plugin for WASI.
func buildPlugin(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "github.com/parcours-sante/parcours/examples/plugins/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the %s plugin: %v\n%s", name, err, b)
	}
	return out
}

// buildWasm builds the widgets' Wasm, as shipped, and the toolchain's
// wasm_exec.js into a temporary directory (the host compresses them on load).
func buildWasm(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := build.Wasm(filepath.Join(dir, "parcours.wasm"), true); err != nil {
		t.Fatalf("building the Wasm: %v", err)
	}
	execJS, err := build.WasmExecJS()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm_exec.js"), execJS, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
}
