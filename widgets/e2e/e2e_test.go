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
	serve(t, hostLn, h)
	serve(t, siteLn, site)
	serve(t, otherLn, site)

	runCtx, cancel := context.WithTimeout(ctx, 12*time.Minute)
	defer cancel()
	files := []string{"booking.test.mjs", "questionnaire.test.mjs", "frame.test.mjs", "takeover.test.mjs", "declarative.test.mjs", "codecache.test.mjs", "messaging.test.mjs", "documents.test.mjs", "access.test.mjs"}
	if only := os.Getenv("PARCOURS_E2E_FILES"); only != "" {
		files = strings.Fields(only) // a developer's shortcut: PARCOURS_E2E_FILES=messaging.test.mjs
	}
	cmd := exec.CommandContext(runCtx, node, append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)...)
	// The markup `parcours snippet -page` writes, for declarative.test.mjs:
	// the loader must adopt its frame as is (the theme is the demo page's).
	embed, err := host.Embed{Base: hostURL, Widget: "booking", Page: siteURL,
		Attrs: [][2]string{{"establishment", "chu-exemple"}, {"service", "maternite"}, {"lang", "fr"}},
		Theme: [][2]string{{"primary", "#5b2a86"}, {"radius", "6px"}}}.HTML()
	if err != nil {
		t.Fatal(err)
	}
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
