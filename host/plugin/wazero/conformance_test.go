package wazeroplugin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/plugin"
	wazeroplugin "github.com/parcours-sante/parcours/host/plugin/wazero"
	"github.com/parcours-sante/parcours/sdk/portal"
)

func TestLoadReadsHooks(t *testing.T) {
	s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "echo"}, wazeroplugin.PluginConfig{Name: "booking-rule"})
	if got, want := s.Plugin("echo").Hooks(), plugin.Hooks; !slices.Equal(got, want) {
		t.Errorf("echo hooks = %v, want %v", got, want)
	}
	if got := s.Plugin("booking-rule").Hooks(); !slices.Equal(got, []plugin.Hook{plugin.HookBeforeBooking}) {
		t.Errorf("booking-rule hooks = %v", got)
	}
	for _, h := range plugin.Hooks {
		if !s.Has(h) {
			t.Errorf("Has(%s) = false", h)
		}
	}
	if s.Has(plugin.HookAfterMessage) {
		t.Error("Has(after_message) = true; no plugin declares it")
	}
}

func TestBeforeBookingDecisions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		service string
		onError plugin.OnError
		code    portal.ErrorCode // "" when allowed
		reason  string
	}{
		{"allowed", "maternite", "", "", ""},
		{"refused with the plugin's reason", "refused", "", portal.ErrBookingRefused, "Refusé par l'écho (slot-1)."},
		{"plugin error, default refuse", "error", "", portal.ErrBackendUnavailable, ""},
		{"plugin error, on_error refuse", "error", plugin.OnErrorRefuse, portal.ErrBackendUnavailable, ""},
		{"plugin error, on_error allow", "error", plugin.OnErrorAllow, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "echo", OnError: tc.onError})
			in := booking(tc.service)
			in.Slot.ID = "slot-1"
			err := s.BeforeBooking(context.Background(), in)
			if got := portal.Code(err); got != tc.code {
				t.Fatalf("BeforeBooking = %v, want code %q", err, tc.code)
			}
			if tc.code == "" {
				return
			}
			if got := portal.PatientMessage(err, "fr"); tc.reason != "" && got != tc.reason {
				t.Errorf("patient message = %q, want %q", got, tc.reason)
			}
			if tc.code == portal.ErrBackendUnavailable && portal.PatientMessage(err, "fr") != portal.ErrBackendUnavailable.Message("fr") {
				t.Errorf("a failure must show the generic message, got %q", portal.PatientMessage(err, "fr"))
			}
		})
	}
}

// keepsServing checks that, after a failure, p answers well-formed calls on
// fresh instances, more of them than the pool holds.
func keepsServing(t *testing.T, p *wazeroplugin.Plugin) {
	t.Helper()
	for i := 0; i < 2*wazeroplugin.DefaultPoolSize; i++ {
		d, err := p.BeforeBooking(context.Background(), booking("maternite"))
		if err != nil || !d.Allow {
			t.Fatalf("call %d after the failure: %+v, %v", i, d, err)
		}
	}
}

func TestPanicTrapsAndIsReplaced(t *testing.T) {
	s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "panic"})
	p := s.Plugin("panic")
	for i := 0; i < 3; i++ {
		_, err := p.BeforeBooking(context.Background(), booking("panic"))
		if !errors.Is(err, wazeroplugin.ErrTrap) {
			t.Fatalf("panic: %v, want ErrTrap", err)
		}
	}
	if err := s.BeforeBooking(context.Background(), booking("panic")); !portal.IsCode(err, portal.ErrBackendUnavailable) {
		t.Errorf("Set.BeforeBooking with on_error refuse = %v, want backend_unavailable", err)
	}
	keepsServing(t, p)

	allow, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "panic", OnError: plugin.OnErrorAllow})
	if err := allow.BeforeBooking(context.Background(), booking("panic")); err != nil {
		t.Errorf("Set.BeforeBooking with on_error allow = %v, want nil", err)
	}
}

func TestInfiniteLoopStopsAtDeadline(t *testing.T) {
	const deadline = 100 * time.Millisecond
	s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "loop", Timeout: deadline})
	p := s.Plugin("loop")
	start := time.Now()
	_, err := p.BeforeBooking(context.Background(), booking("loop"))
	elapsed := time.Since(start)
	if !errors.Is(err, wazeroplugin.ErrTimeout) {
		t.Fatalf("loop: %v, want ErrTimeout", err)
	}
	if elapsed < deadline || elapsed > deadline+2*time.Second {
		t.Errorf("loop stopped after %v, want about %v", elapsed, deadline)
	}
	// The caller's own deadline stops it too.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.BeforeBooking(ctx, booking("loop")); !errors.Is(err, wazeroplugin.ErrTimeout) {
		t.Fatalf("loop under the caller's deadline: %v, want ErrTimeout", err)
	}
	keepsServing(t, p)
}

func TestUnboundedAllocationStopsAtMemoryLimit(t *testing.T) {
	s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "alloc", Timeout: 10 * time.Second, MemoryPages: 256})
	p := s.Plugin("alloc")
	_, err := p.BeforeBooking(context.Background(), booking("alloc"))
	if !errors.Is(err, wazeroplugin.ErrMemoryLimit) {
		t.Fatalf("alloc: %v, want ErrMemoryLimit", err)
	}
	keepsServing(t, p)
}

func TestGarbageOutputIsRejected(t *testing.T) {
	s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "garbage"})
	p := s.Plugin("garbage")
	// The plugin has five kinds of invalid output.
	for i := 0; i < 5; i++ {
		_, err := p.BeforeBooking(context.Background(), booking(fmt.Sprintf("garbage-%d", i)))
		if !errors.Is(err, plugin.ErrInvalidOutput) {
			t.Errorf("answer %d: %v, want ErrInvalidOutput", i, err)
		}
	}
	if err := s.BeforeBooking(context.Background(), booking("maternite")); !portal.IsCode(err, portal.ErrBackendUnavailable) {
		t.Errorf("Set.BeforeBooking = %v, want backend_unavailable", err)
	}
	if _, err := p.Effects(context.Background(), plugin.HookAfterBooking, plugin.AfterBooking{}); !errors.Is(err, plugin.ErrInvalidOutput) {
		t.Errorf("after_booking: %v, want ErrInvalidOutput", err)
	}
}

func TestWrongABIVersionIsRefusedAtLoad(t *testing.T) {
	_, err := wazeroplugin.Load(context.Background(), wazeroplugin.Config{
		CacheDir: cacheDir,
		Plugins:  []wazeroplugin.PluginConfig{{Path: wasmPath["abi2"]}},
	})
	if !errors.Is(err, wazeroplugin.ErrABI) {
		t.Fatalf("Load = %v, want ErrABI", err)
	}
	for _, want := range []string{"plugin abi2", "ABI version 2", "speaks 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	emptyModule := []byte("\x00asm\x01\x00\x00\x00")
	for _, tc := range []struct {
		name string
		pc   wazeroplugin.PluginConfig
		want string
	}{
		{"not a reactor", wazeroplugin.PluginConfig{Name: "empty", Wasm: emptyModule}, "-buildmode=c-shared"},
		{"not wasm", wazeroplugin.PluginConfig{Name: "text", Wasm: []byte("hello")}, "compiling"},
		{"missing file", wazeroplugin.PluginConfig{Path: filepath.Join(t.TempDir(), "none.wasm")}, "none.wasm"},
		{"bad grant", wazeroplugin.PluginConfig{Path: wasmPath["echo"], Grants: []string{"fs:/etc"}}, "unknown kind"},
		{"grant not an origin", wazeroplugin.PluginConfig{Path: wasmPath["echo"], Grants: []string{"http:http://x/sms"}}, "not an origin"},
		{"bad on_error", wazeroplugin.PluginConfig{Path: wasmPath["echo"], OnError: "ignore"}, "on_error"},
		{"too little memory", wazeroplugin.PluginConfig{Path: wasmPath["echo"], MemoryPages: 10}, "memory"},
		{"configuration refused", wazeroplugin.PluginConfig{Path: wasmPath["sms-notify"]}, "configuration required"},
		{"configuration not JSON", wazeroplugin.PluginConfig{Path: wasmPath["echo"], Config: []byte("{")}, "not JSON"},
		{"configuration for a plugin without one", wazeroplugin.PluginConfig{Path: wasmPath["garbage"], Config: []byte(`{"a":1}`)}, "no parcours_configure"},
		{"twice", wazeroplugin.PluginConfig{Path: wasmPath["echo"]}, "loaded twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pcs := []wazeroplugin.PluginConfig{tc.pc}
			if tc.name == "twice" {
				pcs = append(pcs, tc.pc)
			}
			s, err := wazeroplugin.Load(context.Background(), wazeroplugin.Config{CacheDir: cacheDir, Plugins: pcs})
			if err == nil {
				s.Close()
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestConcurrentCalls: many goroutines share a pool of 4 instances; every
// answer is the right one (run with -race).
func TestConcurrentCalls(t *testing.T) {
	s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "echo", PoolSize: 4, Timeout: 30 * time.Second})
	p := s.Plugin("echo")
	const goroutines, calls = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*calls)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				in := booking("maternite")
				want := true
				if (g+i)%3 == 0 {
					in.Service, want = "refused", false
				}
				in.Slot.ID = fmt.Sprintf("slot-%d-%d", g, i)
				d, err := p.BeforeBooking(context.Background(), in)
				switch {
				case err != nil:
					errs <- err
				case d.Allow != want:
					errs <- fmt.Errorf("goroutine %d call %d: allow = %v", g, i, d.Allow)
				case !want && !strings.Contains(d.Reason.FR, in.Slot.ID+")"):
					errs <- fmt.Errorf("goroutine %d call %d: reason %q is another call's", g, i, d.Reason.FR)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// gateway is a loopback HTTP endpoint recording what it receives.
type gateway struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	got    chan struct{}
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{got: make(chan struct{}, 100)}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.bodies = append(g.bodies, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(b))
		g.mu.Unlock()
		g.got <- struct{}{}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateway) received() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.bodies...)
}

func (g *gateway) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-g.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("the gateway got %d requests, want %d", i, n)
		}
	}
}

func TestEffects(t *testing.T) {
	gw := newGateway(t)
	config := []byte(fmt.Sprintf(`{"url":%q}`, gw.URL+"/hook"))
	t.Run("granted", func(t *testing.T) {
		s, logs := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "echo", Config: config, Grants: []string{"http:" + gw.URL}})
		ctx := context.Background()
		s.AfterBooking(ctx, plugin.AfterBooking{Appointment: "apt-1"})
		s.AfterCancel(ctx, plugin.AfterCancel{Appointment: "apt-1"})
		s.Notification(ctx, plugin.Notification{Kind: plugin.NotifyNewMessage, Recipient: plugin.RecipientPatient})
		gw.wait(t, 3)
		got := gw.received()
		slices.Sort(got)
		want := []string{
			"POST /hook text/plain booked apt-1",
			"POST /hook text/plain cancelled apt-1",
			"POST /hook text/plain notify new_message patient",
		}
		if !slices.Equal(got, want) {
			t.Errorf("gateway got %q, want %q", got, want)
		}
		s.Close()
		if !strings.Contains(logs.String(), "plugin effect sent") {
			t.Errorf("logs lack the effect:\n%s", logs)
		}
	})
	t.Run("not granted", func(t *testing.T) {
		before := len(gw.received())
		other := httptest.NewServer(http.NotFoundHandler())
		defer other.Close()
		s, logs := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "echo", Config: config, Grants: []string{"http:" + other.URL}})
		s.AfterBooking(context.Background(), plugin.AfterBooking{Appointment: "apt-2"})
		s.Close() // waits for the queued call
		if got := gw.received(); len(got) != before {
			t.Errorf("the gateway got %q without a grant", got[before:])
		}
		if l := logs.String(); !strings.Contains(l, "plugin effect refused") || !strings.Contains(l, "not granted") {
			t.Errorf("logs lack the refusal:\n%s", l)
		}
		if strings.Contains(logs.String(), "apt-2") {
			t.Error("logs carry the effect's body")
		}
	})
}

func TestClosedSetRefusesCalls(t *testing.T) {
	s, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "echo"})
	s.Close()
	if err := s.BeforeBooking(context.Background(), booking("maternite")); !portal.IsCode(err, portal.ErrBackendUnavailable) {
		t.Errorf("BeforeBooking after Close = %v, want backend_unavailable", err)
	}
	s.AfterBooking(context.Background(), plugin.AfterBooking{}) // dropped, no panic
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestCompilationCacheIsWritten: the cache directory holds the compiled
// modules after a load.
func TestCompilationCacheIsWritten(t *testing.T) {
	dir := t.TempDir()
	load(t, wazeroplugin.Config{CacheDir: dir}, wazeroplugin.PluginConfig{Name: "echo"})
	n := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	if n == 0 {
		t.Error("the compilation cache is empty after a load")
	}
}
