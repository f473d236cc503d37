package wazeroplugin_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/parcours-sante/parcours/host/plugin"
	wazeroplugin "github.com/parcours-sante/parcours/host/plugin/wazero"
)

// benchInput is a realistic before_booking input: a slot and two booked
// appointments.
func benchInput() plugin.BeforeBooking {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	in := booking("maternite")
	in.Now = now
	in.Slot = plugin.Slot{ID: "pr-claire-martin-202611240900", Practitioner: "pr-claire-martin", Start: now.Add(25 * time.Hour), End: now.Add(25*time.Hour + 30*time.Minute)}
	in.Booked = []plugin.BookedAppointment{{Service: "diabetologie", Start: now.Add(48 * time.Hour)}, {Service: "consultations", Start: now.Add(72 * time.Hour)}}
	return in
}

// reportP50 reports the median of durations as p50-ms.
func reportP50(b *testing.B, durations []time.Duration) {
	if len(durations) == 0 {
		return
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkPooledCall is one before_booking call of the booking-rule example
// through the pool: JSON in, guest call, output validated. Target: p50 ≤ 0.5 ms.
func BenchmarkPooledCall(b *testing.B) {
	set, _ := load(b, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "booking-rule", PoolSize: 1})
	p := set.Plugin("booking-rule")
	in := benchInput()
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		d, err := p.BeforeBooking(ctx, in)
		durations = append(durations, time.Since(start))
		if err != nil || !d.Allow {
			b.Fatal(d, err)
		}
	}
	b.StopTimer()
	reportP50(b, durations)
}

// BenchmarkInstantiatePerCall is the same call on a fresh instance each
// time (compiled once, from the cache), for comparison: what pooling saves.
func BenchmarkInstantiatePerCall(b *testing.B) {
	ctx := context.Background()
	wasm, err := os.ReadFile(wasmPath["booking-rule"])
	if err != nil {
		b.Fatal(err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		b.Fatal(err)
	}
	defer cache.Close(ctx)
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache).WithMemoryLimitPages(wazeroplugin.DefaultMemoryPages))
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	compiled, err := r.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	modCfg := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").WithSysWalltime().WithSysNanotime()
	input, _ := json.Marshal(benchInput())
	hook := string(plugin.HookBeforeBooking)
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		mod, err := r.InstantiateModule(ctx, compiled, modCfg)
		if err != nil {
			b.Fatal(err)
		}
		buf := append([]byte(hook), input...)
		res, err := mod.ExportedFunction("parcours_alloc").Call(ctx, uint64(len(buf)))
		if err != nil {
			b.Fatal(err)
		}
		ptr := res[0]
		mod.Memory().Write(uint32(ptr), buf)
		res, err = mod.ExportedFunction("parcours_handle").Call(ctx, ptr, uint64(len(hook)), ptr+uint64(len(hook)), uint64(len(input)))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := mod.Memory().Read(uint32(res[0]>>32), uint32(res[0]))
		if _, err := plugin.ParseDecision(out); err != nil {
			b.Fatal(err)
		}
		mod.Close(ctx)
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	reportP50(b, durations)
}
