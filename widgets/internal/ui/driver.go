package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/vugu/vugu"
)

// Driver runs a widget's state machine in the browser: it applies an action
// under the renderer's write lock, runs the effect the machine returns in a
// goroutine (a call to the backend), and feeds the effect's result back
// under the lock, until the machine has nothing left to do. A is the
// machine's action type, B its backend.
type Driver[A, B any] struct {
	// Apply is the machine's transition: it returns the next effect, or nil.
	Apply func(A) func(context.Context, B) A
	// Backend runs the effects; with HasBackend false (a server-side
	// render) effects are dropped.
	Backend    B
	HasBackend bool
	// Ctx bounds the effects; nil means context.Background().
	Ctx context.Context
	// Panicked turns a panic of an effect into an action reporting the
	// failure, rather than killing every widget of the page.
	Panicked func(error) A
	// After runs after each transition, under the lock (to send the
	// widget's events to the page, for example).
	After   func()
	running int
}

// Dispatch applies a and follows its effects. The caller holds the write lock.
func (d *Driver[A, B]) Dispatch(ee vugu.EventEnv, a A) {
	cmd := d.Apply(a)
	if d.After != nil {
		d.After()
	}
	if cmd == nil || !d.HasBackend {
		return
	}
	d.running++
	ctx := d.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	go func() {
		next := d.run(ctx, cmd)
		ee.Lock()
		d.running--
		d.Dispatch(ee, next)
		ee.UnlockRender()
	}()
}

// Running reports how many effects are under way. Read it under the lock.
func (d *Driver[A, B]) Running() int { return d.running }

func (d *Driver[A, B]) run(ctx context.Context, cmd func(context.Context, B) A) (a A) {
	defer func() {
		if r := recover(); r != nil {
			a = d.Panicked(fmt.Errorf("panic: %v", r))
		}
	}()
	return cmd(ctx, d.Backend)
}

// Start dispatches first from a goroutine: Init runs inside a build, under
// the renderer's read lock, so the write lock is taken once the build is over.
func (d *Driver[A, B]) Start(ee vugu.EventEnv, first A) {
	go func() {
		ee.Lock()
		d.Dispatch(ee, first)
		ee.UnlockRender()
	}()
}

// Flush hands a machine's pending events to emit, in order, and empties
// the list; with emit nil (no page listens) they are dropped. The widgets
// call it after each transition, under the lock.
func Flush[E any](events *[]E, emit func(E)) {
	if len(*events) == 0 {
		return
	}
	if emit != nil {
		for _, e := range *events {
			emit(e)
		}
	}
	*events = (*events)[:0]
}

// Every calls tick every period, in a goroutine, while the page is visible
// (hidden, when set, reports that it is not: a phone in a pocket need not
// poll); it never returns. tick takes the renderer's lock itself.
func Every(period time.Duration, hidden func() bool, tick func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for range t.C {
		if hidden != nil && hidden() {
			continue
		}
		tick()
	}
}

// Settle runs cmd on b and the effects it leads to through apply (a
// model's Apply), as the host does when it preloads a widget or answers
// its form post: at most max calls, while ctx lasts. It reports whether
// the model settled (no effect left to run).
func Settle[A, B any, C ~func(context.Context, B) A](ctx context.Context, b B, cmd C, apply func(A) C, max int) bool {
	for i := 0; cmd != nil && i < max && ctx.Err() == nil; i++ {
		cmd = apply(cmd(ctx, b))
	}
	return cmd == nil
}
