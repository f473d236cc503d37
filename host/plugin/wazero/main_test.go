package wazeroplugin_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/parcours-sante/parcours/host/internal/syncbuf"
	"github.com/parcours-sante/parcours/host/plugin"
	wazeroplugin "github.com/parcours-sante/parcours/host/plugin/wazero"
)

// plugins built once per test binary, by TestMain: name -> .wasm path.
var (
	wasmPath = map[string]string{}
	// cacheDir is the compilation cache the tests share, so that each
	// module compiles once per run.
	cacheDir string
)

// testPlugins are the packages TestMain builds for GOOS=wasip1.
var testPlugins = map[string]string{
	"echo":         "./testdata/echo",
	"panic":        "./testdata/panic",
	"loop":         "./testdata/loop",
	"alloc":        "./testdata/alloc",
	"garbage":      "./testdata/garbage",
	"abi2":         "./testdata/abi2",
	"booking-rule": "../../../examples/plugins/booking-rule",
	"sms-notify":   "../../../examples/plugins/sms-notify",
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "parcours-plugins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// A compilation cache that outlives the run, like Go's build cache:
	// wazero keys it by module content, wazero version and platform.
	if base, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(base, "parcours", "test-plugin-cache")
	} else {
		cacheDir = filepath.Join(dir, "cache")
	}
	if err := buildPlugins(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := warmCache(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// buildPlugins builds every test plugin into dir, concurrently (c-shared
// takes one main package per invocation).
func buildPlugins(dir string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the tests build plugins with the go command: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for name, pkg := range testPlugins {
		out := filepath.Join(dir, name+".wasm")
		wasmPath[name] = out
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(goCmd, "build", "-buildmode=c-shared", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("building %s: %v\n%s", pkg, err, b))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}

// warmCache compiles every test plugin into the cache, as many at once as
// there are processors, so that the tests' loads only read the cache.
func warmCache() error {
	ctx := context.Background()
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return err
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return err
	}
	defer cache.Close(ctx)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	errs := make(chan error, len(wasmPath))
	for _, path := range wasmPath {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			b, err := os.ReadFile(path)
			if err != nil {
				errs <- err
				return
			}
			// The same runtime configuration as Load, as it is part of the key.
			r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache))
			defer r.Close(ctx)
			if _, err := r.CompileModule(ctx, b); err != nil {
				errs <- fmt.Errorf("%s: %w", path, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// load loads the named test plugins with cfg, each configured by pc (which
// may be nil), and closes them at the end of the test.
func load(t testing.TB, cfg wazeroplugin.Config, plugins ...wazeroplugin.PluginConfig) (*wazeroplugin.Set, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir
	}
	for i := range plugins {
		if plugins[i].Path == "" {
			plugins[i].Path = wasmPath[plugins[i].Name]
		}
		if plugins[i].Timeout == 0 {
			// The production default (100 ms) is a budget for a quiet
			// server; under -race, beside the other packages' tests on two
			// cores, a plain booking rule has run past it. The tests of the
			// deadline set their own.
			plugins[i].Timeout = 5 * time.Second
		}
	}
	cfg.Plugins = plugins
	s, err := wazeroplugin.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

func booking(service string) plugin.BeforeBooking {
	return plugin.BeforeBooking{Establishment: "chu-exemple", Service: service, Booked: []plugin.BookedAppointment{}}
}
