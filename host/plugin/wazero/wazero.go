// Package wazeroplugin runs Parcours plugins (host/plugin, ABI version 1)
// sandboxed in github.com/tetratelabs/wazero.
//
// Each plugin is compiled once at Load, with an on-disk compilation cache so
// that a restart does not compile again, in its own wazero runtime with its
// own memory limit. Calls go to a pool of ready instances (a Wasm instance
// runs one call at a time); each call has a deadline, after which the guest
// is stopped. An instance that trapped, panicked, ran out of time or memory
// or returned invalid output is discarded and replaced on the next call, so
// the host keeps serving whatever a plugin does.
//
// A plugin gets WASI preview 1 with no arguments, no environment, no
// preopened directory (so no file system), no sockets, empty stdin,
// stdout and stderr discarded (stderr is scanned, never logged, to tell an
// out-of-memory from other failures), the real wall and monotonic clocks, a
// cryptographic random source, and a sleep that returns at once.
package wazeroplugin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/parcours-sante/parcours/host/plugin"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// Defaults of Config and PluginConfig.
const (
	DefaultMemoryPages   = 256 // 16 MiB
	MinMemoryPages       = 42  // what a Go wasip1 guest needs to start
	DefaultTimeout       = 100 * time.Millisecond
	DefaultPoolSize      = 4
	DefaultEffectTimeout = 5 * time.Second
	DefaultQueueSize     = 256
	DefaultWorkers       = 4
	// initTimeout bounds the instantiation of one instance (the guest's
	// language runtime start-up and parcours_configure).
	initTimeout = 5 * time.Second
)

// Errors of a plugin call, wrapped with the plugin's name and the hook; test
// them with errors.Is. Invalid output wraps plugin.ErrInvalidOutput.
var (
	// ErrTimeout: the call ran past its deadline (or its context ended) and
	// the guest was stopped.
	ErrTimeout = errors.New("plugin stopped at its deadline")
	// ErrMemoryLimit: the guest ran out of memory under its limit.
	ErrMemoryLimit = errors.New("plugin stopped at its memory limit")
	// ErrTrap: the guest trapped, panicked or exited.
	ErrTrap = errors.New("plugin trapped")
	// ErrReported: the guest answered {"error": …}.
	ErrReported = errors.New("plugin reported an error")
	// ErrABI: the module does not speak the host's ABI; returned by Load.
	ErrABI = errors.New("plugin does not speak Parcours plugin ABI version 1")
	// ErrClosed: the Set is closed.
	ErrClosed = errors.New("plugins closed")
)

// Config configures a Set. Load copies it.
type Config struct {
	// Plugins to load, in the order hooks run.
	Plugins []PluginConfig
	// CacheDir is the directory of the compilation cache; default
	// os.UserCacheDir()/parcours/plugin-cache. "off" disables the cache.
	CacheDir string
	// Logger receives operational logs, never health data; default slog.Default().
	Logger *slog.Logger
	// Transport sends the HTTP effects; default a new http.Transport.
	Transport http.RoundTripper
	// EffectTimeout bounds each effect; default 5 s.
	EffectTimeout time.Duration
	// QueueSize bounds the after_* and notification calls waiting to run;
	// beyond, a call is dropped and logged. Default 256.
	QueueSize int
	// Workers run the queued calls; default 4.
	Workers int
}

// PluginConfig configures one plugin.
type PluginConfig struct {
	// Name identifies the plugin in logs and errors; default the base name
	// of Path without ".wasm".
	Name string
	// Path of the .wasm file, or Wasm its bytes.
	Path string
	Wasm []byte
	// Grants are the plugin's capabilities (see plugin.Capability), for
	// example "http:http://127.0.0.1:9099".
	Grants []string
	// OnError is the before_booking failure policy: plugin.OnErrorRefuse
	// (default) or plugin.OnErrorAllow.
	OnError plugin.OnError
	// Config is passed to the plugin's parcours_configure (JSON, at most
	// plugin.MaxConfigBytes); empty means none.
	Config json.RawMessage
	// MemoryPages is the memory limit of each instance in 64 KiB pages;
	// default 256 (16 MiB), at least 42.
	MemoryPages uint32
	// Timeout is the deadline of each guest call, and the longest wait for
	// a free instance; default 100 ms.
	Timeout time.Duration
	// PoolSize is the number of instances, hence of concurrent calls; default 4.
	PoolSize int
}

// Set is the loaded plugins; it implements plugin.Plugins.
type Set struct {
	log           *slog.Logger
	plugins       []*Plugin
	byHook        map[plugin.Hook][]*Plugin
	httpClient    *http.Client
	effectTimeout time.Duration

	mu     sync.RWMutex // guards closed and sends on jobs
	closed bool
	jobs   chan job
	wg     sync.WaitGroup
}

var _ plugin.Plugins = (*Set)(nil)

type job struct {
	hook  plugin.Hook
	input any
}

// Load compiles and checks every plugin of cfg and instantiates one instance
// of each (calling its parcours_configure). Any error stops the load: a
// plugin that does not speak ABI version 1 (ErrABI), a bad grant or
// configuration, a module that does not compile.
func Load(ctx context.Context, cfg Config) (*Set, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.EffectTimeout <= 0 {
		cfg.EffectTimeout = DefaultEffectTimeout
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Transport == nil {
		cfg.Transport = &http.Transport{
			Proxy:               nil, // effects go exactly where granted
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	cache, err := openCache(cfg.CacheDir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := &Set{
		log:    cfg.Logger,
		byHook: map[plugin.Hook][]*Plugin{},
		httpClient: &http.Client{
			Transport:     cfg.Transport,
			Timeout:       cfg.EffectTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		effectTimeout: cfg.EffectTimeout,
		jobs:          make(chan job, cfg.QueueSize),
	}
	names := map[string]bool{}
	for _, pc := range cfg.Plugins {
		p, err := load(ctx, pc, cache, cfg.Logger)
		if err != nil {
			s.closeRuntimes()
			return nil, err
		}
		if names[p.name] {
			p.close()
			s.closeRuntimes()
			return nil, fmt.Errorf("plugin %s: loaded twice (give each a distinct Name)", p.name)
		}
		names[p.name] = true
		s.plugins = append(s.plugins, p)
		for _, h := range p.hooks {
			s.byHook[h] = append(s.byHook[h], p)
		}
	}
	for i := 0; i < cfg.Workers; i++ {
		s.wg.Add(1)
		go s.worker()
	}
	return s, nil
}

func openCache(dir string, log *slog.Logger) (wazero.CompilationCache, error) {
	if dir == "off" {
		return nil, nil
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			log.Warn("no user cache directory: plugins compile at every start", "err", err)
			return nil, nil
		}
		dir = filepath.Join(base, "parcours", "plugin-cache")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin compilation cache: %w", err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("plugin compilation cache: %w", err)
	}
	return cache, nil
}

// Plugins returns the loaded plugins in configuration order.
func (s *Set) Plugins() []*Plugin { return append([]*Plugin(nil), s.plugins...) }

// Plugin returns the loaded plugin called name, or nil.
func (s *Set) Plugin(name string) *Plugin {
	for _, p := range s.plugins {
		if p.name == name {
			return p
		}
	}
	return nil
}

// Has implements plugin.Plugins.
func (s *Set) Has(hook plugin.Hook) bool { return len(s.byHook[hook]) > 0 }

// BeforeBooking implements plugin.Plugins: the plugins handling
// before_booking run in configuration order; the first refusal wins.
func (s *Set) BeforeBooking(ctx context.Context, in plugin.BeforeBooking) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return unavailable(ErrClosed.Error())
	}
	for _, p := range s.byHook[plugin.HookBeforeBooking] {
		start := time.Now()
		d, err := p.BeforeBooking(ctx, in)
		if err != nil {
			if p.onError == plugin.OnErrorAllow {
				s.log.Warn("plugin failed; booking allowed (on_error allow)", "plugin", p.name, "hook", plugin.HookBeforeBooking, "err", err)
				continue
			}
			s.log.Error("plugin failed; booking refused (on_error refuse)", "plugin", p.name, "hook", plugin.HookBeforeBooking, "err", err)
			return unavailable(fmt.Sprintf("plugin %s failed: %v", p.name, err))
		}
		if !d.Allow {
			s.log.Info("booking refused by plugin", "plugin", p.name, "duration", time.Since(start))
			return refused(p.name, d)
		}
	}
	return nil
}

// AfterBooking implements plugin.Plugins.
func (s *Set) AfterBooking(_ context.Context, in plugin.AfterBooking) {
	s.enqueue(plugin.HookAfterBooking, in)
}

// AfterCancel implements plugin.Plugins.
func (s *Set) AfterCancel(_ context.Context, in plugin.AfterCancel) {
	s.enqueue(plugin.HookAfterCancel, in)
}

// Notification implements plugin.Plugins.
func (s *Set) Notification(_ context.Context, in plugin.Notification) {
	s.enqueue(plugin.HookNotification, in)
}

func (s *Set) enqueue(hook plugin.Hook, input any) {
	if !s.Has(hook) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.log.Warn("plugin call dropped: plugins closed", "hook", hook)
		return
	}
	select {
	case s.jobs <- job{hook, input}:
	default:
		s.log.Warn("plugin call dropped: queue full", "hook", hook)
	}
}

func (s *Set) worker() {
	defer s.wg.Done()
	for j := range s.jobs {
		s.run(j)
	}
}

// run calls every plugin handling j's hook and performs their granted
// effects. Failures are logged; nothing here reaches a patient.
func (s *Set) run(j job) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic running plugin hook", "hook", j.hook, "panic", fmt.Sprint(v))
		}
	}()
	for _, p := range s.byHook[j.hook] {
		effects, err := p.Effects(context.Background(), j.hook, j.input)
		if err != nil {
			s.log.Warn("plugin failed (ignored)", "plugin", p.name, "hook", j.hook, "err", err)
			continue
		}
		for _, e := range effects.Effects {
			s.perform(p, j.hook, e)
		}
	}
}

// perform sends one effect if p is granted it. Logs name the origin and the
// status, never the body.
func (s *Set) perform(p *Plugin, hook plugin.Hook, e plugin.Effect) {
	if err := p.grants.Allows(e); err != nil {
		s.log.Warn("plugin effect refused", "plugin", p.name, "hook", hook, "reason", err.Error())
		return
	}
	origin, _ := plugin.EffectOrigin(e.HTTP.URL)
	ctx, cancel := context.WithTimeout(context.Background(), s.effectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, e.HTTP.Method, e.HTTP.URL, strings.NewReader(e.HTTP.Body))
	if err != nil {
		s.log.Warn("plugin effect failed", "plugin", p.name, "hook", hook, "origin", origin, "err", err)
		return
	}
	req.Header.Set("Content-Type", e.HTTP.ContentType)
	req.Header.Set("User-Agent", "parcours-plugin/"+p.name)
	resp, err := s.httpClient.Do(req)
	if err != nil {
		s.log.Warn("plugin effect failed", "plugin", p.name, "hook", hook, "origin", origin, "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		s.log.Warn("plugin effect answered an error status", "plugin", p.name, "hook", hook, "origin", origin, "status", resp.StatusCode)
		return
	}
	s.log.Info("plugin effect sent", "plugin", p.name, "hook", hook, "origin", origin, "status", resp.StatusCode)
}

// unavailable is the answer to a booking when a plugin failed under
// OnErrorRefuse: the patient is asked to try again, the log has the detail.
func unavailable(detail string) *portal.Error {
	return portal.Errorf(portal.ErrBackendUnavailable, "%s", detail)
}

// refused is a plugin's refusal of a booking, with its reason if any.
func refused(name string, d plugin.Decision) *portal.Error {
	e := portal.Errorf(portal.ErrBookingRefused, "refused by plugin %s", name)
	if d.Reason != nil {
		r := *d.Reason
		e.Reason = &r
	}
	return e
}

// Close stops accepting calls, lets the queued after_* calls finish (for at
// most ten seconds), then closes every plugin.
func (s *Set) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.jobs)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.log.Warn("plugins closed with calls still running")
	}
	s.closeRuntimes()
	return nil
}

func (s *Set) closeRuntimes() {
	for _, p := range s.plugins {
		p.close()
	}
}

// Plugin is one loaded plugin: a compiled module and its pool of instances.
type Plugin struct {
	name     string
	hooks    []plugin.Hook
	grants   plugin.Grants
	onError  plugin.OnError
	config   []byte
	timeout  time.Duration
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	// pool holds one token per possible instance: a ready instance, or nil
	// when the slot is empty (never created, or discarded after a failure).
	pool chan *instance
}

type instance struct {
	mod       api.Module
	alloc     api.Function
	handle    api.Function
	configure api.Function
	stderr    *headBuffer
}

// Name returns the plugin's name.
func (p *Plugin) Name() string { return p.name }

// Hooks returns the hooks the plugin declared.
func (p *Plugin) Hooks() []plugin.Hook { return append([]plugin.Hook(nil), p.hooks...) }

func load(ctx context.Context, pc PluginConfig, cache wazero.CompilationCache, log *slog.Logger) (_ *Plugin, err error) {
	p := &Plugin{name: pc.Name, onError: pc.OnError, config: pc.Config, timeout: pc.Timeout}
	if p.name == "" {
		p.name = strings.TrimSuffix(filepath.Base(pc.Path), ".wasm")
	}
	if p.name == "" || p.name == "." {
		return nil, errors.New("plugin: a plugin needs a Name or a Path")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("plugin %s: "+format, append([]any{p.name}, args...)...)
	}
	switch p.onError {
	case "":
		p.onError = plugin.OnErrorRefuse
	case plugin.OnErrorRefuse, plugin.OnErrorAllow:
	default:
		return nil, fail("on_error %q: want refuse or allow", pc.OnError)
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	pages := pc.MemoryPages
	if pages == 0 {
		pages = DefaultMemoryPages
	}
	if pages < MinMemoryPages || pages > 65536 {
		return nil, fail("memory of %d pages: want %d to 65536", pages, MinMemoryPages)
	}
	size := pc.PoolSize
	if size <= 0 {
		size = DefaultPoolSize
	}
	if len(p.config) > plugin.MaxConfigBytes {
		return nil, fail("configuration of %d bytes, more than %d", len(p.config), plugin.MaxConfigBytes)
	}
	if len(p.config) > 0 && !json.Valid(p.config) {
		return nil, fail("configuration is not JSON")
	}
	if p.grants, err = plugin.NewGrants(pc.Grants); err != nil {
		return nil, fail("%v", err)
	}
	wasm := pc.Wasm
	if wasm == nil {
		if wasm, err = os.ReadFile(pc.Path); err != nil {
			return nil, fail("%v", err)
		}
	}

	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(true)
	if cache != nil {
		rc = rc.WithCompilationCache(cache)
	}
	p.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	defer func() {
		if err != nil {
			p.rt.Close(context.Background())
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return nil, fail("WASI: %v", err)
	}
	if p.compiled, err = p.rt.CompileModule(ctx, wasm); err != nil {
		return nil, fail("compiling: %v", err)
	}
	if err := checkExports(p.compiled); err != nil {
		return nil, fail("%w", err)
	}
	for _, f := range p.compiled.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod != wasi_snapshot_preview1.ModuleName {
			return nil, fail("%w: imports %s.%s; plugins may import only %s", ErrABI, mod, name, wasi_snapshot_preview1.ModuleName)
		}
	}
	p.modCfg = wazero.NewModuleConfig().
		WithName(""). // many instances of one module in one runtime
		WithStartFunctions("_initialize").
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)

	// The first instance checks the ABI version, reads the hooks and the
	// configuration's verdict, and is the first of the pool.
	inst, err := p.newInstance(ctx)
	if err != nil {
		return nil, fail("%v", err)
	}
	v, err := inst.mod.ExportedFunction("parcours_abi_version").Call(ctx)
	if err != nil {
		return nil, fail("parcours_abi_version: %v", err)
	}
	if got := int32(v[0]); got != plugin.ABIVersion {
		return nil, fail("%w: it speaks ABI version %d, this host speaks %d", ErrABI, got, plugin.ABIVersion)
	}
	res, err := inst.mod.ExportedFunction("parcours_hooks").Call(ctx)
	if err != nil {
		return nil, fail("parcours_hooks: %v", err)
	}
	out, err := inst.read(res[0])
	if err != nil {
		return nil, fail("parcours_hooks: %v", err)
	}
	if p.hooks, err = plugin.ParseHooks(out); err != nil {
		return nil, fail("parcours_hooks: %v", err)
	}
	if len(p.hooks) == 0 {
		return nil, fail("%w: it handles no hook", ErrABI)
	}
	for _, h := range p.hooks {
		if h.IsReserved() {
			log.Warn("plugin declares a reserved hook that this host does not call yet", "plugin", p.name, "hook", h)
		}
	}
	p.pool = make(chan *instance, size)
	p.pool <- inst
	for i := 1; i < size; i++ {
		p.pool <- nil
	}
	return p, nil
}

// checkExports checks that the module is a reactor with the functions of
// ABI version 1 and their signatures.
func checkExports(c wazero.CompiledModule) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name           string
		params, result []api.ValueType
		optional       bool
	}{
		{"_initialize", nil, nil, false},
		{"parcours_abi_version", nil, []api.ValueType{i32}, false},
		{"parcours_alloc", []api.ValueType{i32}, []api.ValueType{i32}, false},
		{"parcours_hooks", nil, []api.ValueType{i64}, false},
		{"parcours_handle", []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}, false},
		{"parcours_configure", []api.ValueType{i32, i32}, []api.ValueType{i64}, true},
	}
	exports := c.ExportedFunctions()
	for _, w := range want {
		f, ok := exports[w.name]
		if !ok {
			if w.optional {
				continue
			}
			if w.name == "_initialize" {
				return fmt.Errorf("%w: no _initialize export: build it as a WASI reactor (Go: -buildmode=c-shared)", ErrABI)
			}
			return fmt.Errorf("%w: no %s export", ErrABI, w.name)
		}
		if !equalTypes(f.ParamTypes(), w.params) || !equalTypes(f.ResultTypes(), w.result) {
			return fmt.Errorf("%w: %s has the signature %v -> %v", ErrABI, w.name, f.ParamTypes(), f.ResultTypes())
		}
	}
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("%w: no exported memory", ErrABI)
	}
	return nil
}

func equalTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// newInstance instantiates the module (running _initialize) and passes it
// the configuration.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), initTimeout)
	defer cancel()
	stderr := &headBuffer{}
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, p.modCfg.WithStderr(stderr))
	if err != nil {
		return nil, fmt.Errorf("instantiating: %w", classify(err, ctx, stderr))
	}
	inst := &instance{
		mod:       mod,
		alloc:     mod.ExportedFunction("parcours_alloc"),
		handle:    mod.ExportedFunction("parcours_handle"),
		configure: mod.ExportedFunction("parcours_configure"),
		stderr:    stderr,
	}
	if inst.configure == nil {
		if len(p.config) > 0 && string(p.config) != "null" {
			mod.Close(ctx)
			return nil, errors.New("configuration given, but the plugin exports no parcours_configure")
		}
		return inst, nil
	}
	config := p.config
	if len(config) == 0 {
		config = []byte("null")
	}
	ptr, err := inst.write(ctx, config)
	if err == nil {
		var res []uint64
		if res, err = inst.configure.Call(ctx, uint64(ptr), uint64(len(config))); err == nil {
			var out []byte
			if out, err = inst.read(res[0]); err == nil {
				var cr plugin.ConfigureResult
				if cr, err = plugin.ParseConfigureResult(out); err == nil && cr.Error != "" {
					err = fmt.Errorf("configuration refused: %s", cr.Error)
				}
			}
		} else {
			err = classify(err, ctx, stderr)
		}
	}
	if err != nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("parcours_configure: %w", err)
	}
	return inst, nil
}

// write copies b into a buffer from parcours_alloc and returns its address.
func (inst *instance) write(ctx context.Context, b []byte) (uint32, error) {
	res, err := inst.alloc.Call(ctx, uint64(len(b)))
	if err != nil {
		return 0, err
	}
	ptr := uint32(res[0])
	if ptr == 0 && len(b) > 0 {
		return 0, fmt.Errorf("%w: parcours_alloc(%d) returned 0", plugin.ErrInvalidOutput, len(b))
	}
	if !inst.mod.Memory().Write(ptr, b) {
		return 0, fmt.Errorf("%w: parcours_alloc(%d) returned %#x, outside memory", plugin.ErrInvalidOutput, len(b), ptr)
	}
	return ptr, nil
}

// read copies the output at packed (ptr<<32 | len), checking its bounds.
func (inst *instance) read(packed uint64) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if n > plugin.MaxOutputBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", plugin.ErrInvalidOutput, n, plugin.MaxOutputBytes)
	}
	b, ok := inst.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("%w: output at %#x+%d is outside memory", plugin.ErrInvalidOutput, ptr, n)
	}
	return bytes.Clone(b), nil
}

// Call runs hook on input (JSON) in a pooled instance and returns the raw
// output, unvalidated; BeforeBooking and Effects validate it. The guest call
// has the plugin's deadline (PluginConfig.Timeout), and so has the wait for a
// free instance; making a replacement instance, after a failure, is bounded
// apart (5 s). The caller's ctx bounds all of it.
func (p *Plugin) Call(ctx context.Context, hook plugin.Hook, input []byte) (out []byte, err error) {
	return p.call(ctx, hook, input, nil)
}

// call is Call with validate run on the output before the instance goes
// back to the pool: an instance that produced invalid output is discarded,
// as its state may be corrupt.
func (p *Plugin) call(ctx context.Context, hook plugin.Hook, input []byte, validate func([]byte) error) (out []byte, err error) {
	var inst *instance
	wait := time.NewTimer(p.timeout)
	defer wait.Stop()
	select {
	case inst = <-p.pool:
	case <-wait.C:
		return nil, fmt.Errorf("plugin %s: %s: waiting for a free instance: %w", p.name, hook, ErrTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("plugin %s: %s: waiting for a free instance: %w", p.name, hook, ErrTimeout)
	}
	healthy := false
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("plugin %s: %s: %w: host panic: %v", p.name, hook, ErrTrap, v)
			healthy = false
		}
		if !healthy && inst != nil {
			inst.mod.Close(context.Background())
			inst = nil
		}
		p.pool <- inst // a nil token: the next call instantiates again
	}()
	if inst == nil {
		// A replacement instance has its own bound (initTimeout), so that a
		// slow start-up does not eat the call's deadline.
		if inst, err = p.newInstance(ctx); err != nil {
			return nil, fmt.Errorf("plugin %s: %s: %w", p.name, hook, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out, err = inst.call(ctx, hook, input)
	if err == nil && validate != nil {
		err = validate(out)
	}
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %s: %w", p.name, hook, err)
	}
	healthy = true
	return out, nil
}

func (inst *instance) call(ctx context.Context, hook plugin.Hook, input []byte) ([]byte, error) {
	buf := make([]byte, 0, len(hook)+len(input))
	buf = append(append(buf, hook...), input...)
	ptr, err := inst.write(ctx, buf)
	if err != nil {
		return nil, classify(err, ctx, inst.stderr)
	}
	h := uint64(len(hook))
	res, err := inst.handle.Call(ctx, uint64(ptr), h, uint64(ptr)+h, uint64(len(input)))
	if err != nil {
		return nil, classify(err, ctx, inst.stderr)
	}
	return inst.read(res[0])
}

// classify maps an error of wazero to the package's errors.
func classify(err error, ctx context.Context, stderr *headBuffer) error {
	if errors.Is(err, plugin.ErrInvalidOutput) {
		return err
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			return ErrTimeout
		}
	}
	if ctx.Err() != nil {
		return ErrTimeout
	}
	if stderr.outOfMemory() {
		return ErrMemoryLimit
	}
	if exit != nil {
		return fmt.Errorf("%w: exit code %d", ErrTrap, exit.ExitCode())
	}
	// A trap's message names a Wasm instruction or function, never data.
	return fmt.Errorf("%w: %v", ErrTrap, err)
}

// BeforeBooking calls the plugin's before_booking and validates its Decision.
// A Decision with an error is returned as ErrReported.
func (p *Plugin) BeforeBooking(ctx context.Context, in plugin.BeforeBooking) (plugin.Decision, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return plugin.Decision{}, err
	}
	var d plugin.Decision
	if _, err := p.call(ctx, plugin.HookBeforeBooking, b, func(out []byte) (err error) {
		d, err = plugin.ParseDecision(out)
		return err
	}); err != nil {
		return plugin.Decision{}, err
	}
	if d.Error != "" {
		return plugin.Decision{}, fmt.Errorf("plugin %s: %s: %w: %s", p.name, plugin.HookBeforeBooking, ErrReported, d.Error)
	}
	return d, nil
}

// Effects calls hook (after_booking, after_cancel or notification) with
// input and validates the effects it asks for. Whether the plugin is granted
// them is checked when they are performed.
func (p *Plugin) Effects(ctx context.Context, hook plugin.Hook, input any) (plugin.Effects, error) {
	b, err := json.Marshal(input)
	if err != nil {
		return plugin.Effects{}, err
	}
	var e plugin.Effects
	if _, err := p.call(ctx, hook, b, func(out []byte) (err error) {
		e, err = plugin.ParseEffects(out)
		return err
	}); err != nil {
		return plugin.Effects{}, err
	}
	if e.Error != "" {
		return plugin.Effects{}, fmt.Errorf("plugin %s: %s: %w: %s", p.name, hook, ErrReported, e.Error)
	}
	return e, nil
}

func (p *Plugin) close() {
	if p.rt != nil {
		p.rt.Close(context.Background())
	}
}

// headBuffer keeps the first bytes a guest wrote to stderr (where a Go
// runtime writes "fatal error: out of memory" before its goroutine dump), to
// classify a failure. Its content is never logged: it may echo data.
type headBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const headSize = 1024

func (t *headBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := headSize - len(t.buf); room > 0 {
		t.buf = append(t.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (t *headBuffer) outOfMemory() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Contains(t.buf, []byte("out of memory"))
}
