package messaging

import (
	"context"
	"strings"

	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Post is a form post of the server-rendered widget, before its Wasm runs
// or where WebAssembly is blocked: the value of the button pressed
// (OpenValue, "back"). Reading needs nothing more: the threads are the
// session's person's, fetched again at every post, and the host's store
// answers only a thread they may read.
type Post struct {
	Action string
}

// MaxServerSteps bounds the calls one post makes after the list.
const MaxServerSteps = 2

// Serve runs a form post on the server: the first screen (Preload), then
// the action with the same state machine the browser runs: a thread opened
// (and marked read, as in the browser), or the list again. It returns the
// snapshot the browser hydrates from, nil when the backend failed (the host
// then serves the loading state, and the browser loads by itself).
func Serve(ctx context.Context, m *Model, b Backend, p Post) *Snapshot {
	if Preload(ctx, m, b) == nil {
		return nil
	}
	kind, arg, _ := strings.Cut(p.Action, ":")
	if Kind(kind) != Open || arg == "" {
		return m.snapshot() // "back", or anything else: the list
	}
	ui.Settle(ctx, b, m.Apply(Action{Kind: Open, ID: arg}), m.Apply, MaxServerSteps)
	if ctx.Err() != nil {
		return nil
	}
	if m.Err != "" || m.Conv == nil {
		// Not opened (a thread of someone else, or a failure): the list,
		// with the error, and no retry (a retry is the Wasm's).
		code, text := m.Err, m.ErrText
		m.Apply(Action{Kind: Back})
		m.Err, m.ErrText = code, text
	}
	return m.snapshot()
}
