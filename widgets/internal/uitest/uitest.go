//go:build !(js && wasm)

// Package uitest drives widget components on linux as the browser does:
// DOM events under the renderer's write lock, backend calls in goroutines,
// and a render with vugu's staticrender. Tests only.
package uitest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/vugu/vugu"
	js "github.com/vugu/vugu/js"
	"github.com/vugu/vugu/staticrender"
)

// Event is a DOM event as the widgets' handlers see it, with the target's
// value and checked state; vugu's own constructor needs a browser.
type Event struct {
	Env     vugu.EventEnv
	Value   string
	Checked bool
}

var _ vugu.DOMEvent = Event{}

func (e Event) Prop(keys ...string) any { return nil }

// PropString answers target.value.
func (e Event) PropString(keys ...string) string {
	if len(keys) == 2 && keys[0] == "target" && keys[1] == "value" {
		return e.Value
	}
	return ""
}
func (e Event) PropFloat64(keys ...string) float64 { return 0 }

// PropBool answers target.checked.
func (e Event) PropBool(keys ...string) bool {
	return len(keys) == 2 && keys[0] == "target" && keys[1] == "checked" && e.Checked
}
func (e Event) EventSummary() map[string]any   { return nil }
func (e Event) JSEvent() js.Value              { return js.Null() }
func (e Event) JSEventTarget() js.Value        { return js.Null() }
func (e Event) JSEventCurrentTarget() js.Value { return js.Null() }
func (e Event) EventEnv() vugu.EventEnv        { return e.Env }
func (e Event) PreventDefault()                {}
func (e Event) StopPropagation()               {}

// InitCtx is the context of a component's Init in a browser.
type InitCtx struct{ Env vugu.EventEnv }

// EventEnv returns the renderer's event environment.
func (c InitCtx) EventEnv() vugu.EventEnv { return c.Env }

// Env is a renderer's lock and event environment.
type Env struct {
	Mu sync.RWMutex
	EE *vugu.EventEnvImpl
}

// NewEnv returns a fresh environment.
func NewEnv() *Env {
	e := &Env{}
	e.EE = vugu.NewEventEnvImpl(&e.Mu, make(chan bool, 1))
	return e
}

// Locked runs fn under the write lock, as domrender runs event handlers.
func (e *Env) Locked(fn func(vugu.EventEnv)) {
	e.EE.Lock()
	fn(e.EE)
	e.EE.UnlockRender()
}

// Settle waits until quiet (read under the read lock) reports no call under
// way, failing t after 10 s.
func (e *Env) Settle(t testing.TB, quiet func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		e.Mu.RLock()
		q := quiet()
		e.Mu.RUnlock()
		if q {
			return
		}
	}
	t.Fatal("the widget did not settle in 10 s")
}

// Render is the component's HTML as the host serves it, built under the
// read lock.
func (e *Env) Render(t testing.TB, comp vugu.Builder) string {
	t.Helper()
	e.Mu.RLock()
	defer e.Mu.RUnlock()
	env, err := vugu.NewBuildEnv()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := staticrender.New(&b).Render(env.RunBuild(comp)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
