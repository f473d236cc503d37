//go:build !(js && wasm)

package uitest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/sdk/client"
)

// Component is a widget's root component as Harness drives it: built by
// vugu, initialised once, running its backend calls in goroutines, and
// answering a button with Do.
type Component interface {
	vugu.Builder
	Init(ctx vugu.InitCtx)
	Running() int                            // backend calls under way
	Do(event vugu.DOMEvent, kind, id string) // a button of kind for id
}

// Status is what Harness reads of a component's model.
type Status struct {
	Loading bool   // the screen's data is on its way
	Err     string // the error code shown, "" for none
	ErrText string // its text
}

// Harness runs a component C as the browser does — event handlers under
// the renderer's write lock, backend calls in goroutines — over Net.
type Harness[C Component] struct {
	T    testing.TB
	Comp C      // set by Start
	Env  *Env   // the renderer's lock and event environment
	Net  *Flaky // the network between the component and the host

	status func(C) Status
}

// NewHarness returns a harness whose network is next (a fresh
// client.NewHTTPTransport if nil) behind a Flaky, and which reads the
// component's model with status. Build the component with Client, then
// Start it.
func NewHarness[C Component](t testing.TB, next client.Transport, status func(C) Status) *Harness[C] {
	if next == nil {
		next = client.NewHTTPTransport()
	}
	return &Harness[C]{T: t, Env: NewEnv(), Net: &Flaky{Transport: next}, status: status}
}

// Client is a client of the host at url over Net, asking for lang.
func (h *Harness[C]) Client(url, lang string) *client.Client {
	return client.New(url, client.WithTransport(h.Net), client.WithLanguage(lang))
}

// Start initialises comp as the browser does and waits until it settles.
func (h *Harness[C]) Start(comp C) {
	h.T.Helper()
	h.Comp = comp
	comp.Init(InitCtx{Env: h.Env.EE})
	h.Settle()
}

// Settle waits until no call is under way and the model is not loading.
func (h *Harness[C]) Settle() {
	h.T.Helper()
	h.Env.Settle(h.T, func() bool { return h.Comp.Running() == 0 && !h.status(h.Comp).Loading })
}

// Handle performs a DOM event as domrender does: fn runs with ev (its Env
// set) under the write lock; then Handle settles.
func (h *Harness[C]) Handle(ev Event, fn func(vugu.DOMEvent)) {
	h.T.Helper()
	h.Env.Locked(func(ee vugu.EventEnv) {
		ev.Env = ee
		fn(ev)
	})
	h.Settle()
}

// Do presses the button of kind for id.
func (h *Harness[C]) Do(kind, id string) {
	h.T.Helper()
	h.Handle(Event{}, func(ev vugu.DOMEvent) { h.Comp.Do(ev, kind, id) })
}

// DoIndex presses the button of kind for the i-th item; C must have
// DoIndex(vugu.DOMEvent, string, int).
func (h *Harness[C]) DoIndex(kind string, i int) {
	h.T.Helper()
	c, ok := any(h.Comp).(interface {
		DoIndex(event vugu.DOMEvent, kind string, i int)
	})
	if !ok {
		h.T.Fatalf("%T has no DoIndex", h.Comp)
	}
	h.Handle(Event{}, func(ev vugu.DOMEvent) { c.DoIndex(ev, kind, i) })
}

// Change sets the form control of kind to value; C must have
// Change(vugu.DOMEvent, string).
func (h *Harness[C]) Change(kind, value string) {
	h.T.Helper()
	c, ok := any(h.Comp).(interface {
		Change(event vugu.DOMEvent, kind string)
	})
	if !ok {
		h.T.Fatalf("%T has no Change(vugu.DOMEvent, string)", h.Comp)
	}
	h.Handle(Event{Value: value}, func(ev vugu.DOMEvent) { c.Change(ev, kind) })
}

// Tick runs the component's periodic refresh as its timer would; C must
// have Poll(vugu.EventEnv).
func (h *Harness[C]) Tick() {
	h.T.Helper()
	c, ok := any(h.Comp).(interface{ Poll(ee vugu.EventEnv) })
	if !ok {
		h.T.Fatalf("%T has no Poll", h.Comp)
	}
	c.Poll(h.Env.EE)
	h.Settle()
}

// SignIn signs in as the demo user who with the "choose-demo" control and
// the "sign-in" button, failing the test unless C's SignedIn then holds.
func (h *Harness[C]) SignIn(who string) {
	h.T.Helper()
	c, ok := any(h.Comp).(interface{ SignedIn() bool })
	if !ok {
		h.T.Fatalf("%T has no SignedIn", h.Comp)
	}
	h.Change("choose-demo", who)
	h.Do("sign-in", "")
	if !c.SignedIn() {
		s := h.status(h.Comp)
		h.T.Fatalf("not signed in as %s: %q %s", who, s.Err, s.ErrText)
	}
}

// WantNoError fails the test if the model shows an error.
func (h *Harness[C]) WantNoError() {
	h.T.Helper()
	if s := h.status(h.Comp); s.Err != "" {
		h.T.Fatalf("error %q: %s", s.Err, s.ErrText)
	}
}

// Render is the component's HTML as the host serves it.
func (h *Harness[C]) Render() string {
	h.T.Helper()
	return h.Env.Render(h.T, h.Comp)
}

// WantHTML renders the component, reports each of wants it lacks (what
// names the screen in the report), and returns the HTML.
func (h *Harness[C]) WantHTML(what string, wants ...string) string {
	h.T.Helper()
	html := h.Render()
	for _, w := range wants {
		if !strings.Contains(html, w) {
			h.T.Errorf("%s: the widget lacks %q", what, w)
		}
	}
	return html
}

// Flaky is a browser's network that can go down, or lose the answers while
// the requests still reach the host, as a phone's connection does. Both
// switches are off at first; Transport may be replaced while no call is
// under way.
type Flaky struct {
	client.Transport
	// Down fails every request before it leaves, as fetch does offline.
	Down atomic.Bool
	// LoseAnswers delivers every request and loses its response.
	LoseAnswers atomic.Bool
}

var _ client.Transport = (*Flaky)(nil)

// Do sends r over Transport unless the switches say otherwise.
func (f *Flaky) Do(ctx context.Context, r *client.Request) (*client.Response, error) {
	if f.Down.Load() {
		return nil, errors.New("network is unreachable")
	}
	resp, err := f.Transport.Do(ctx, r)
	if f.LoseAnswers.Load() {
		return nil, errors.New("connection reset")
	}
	return resp, err
}
