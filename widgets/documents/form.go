package documents

import (
	"context"
	"strings"

	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Post is a form post of the server-rendered widget, before its Wasm runs
// or where WebAssembly is blocked: the value of the button pressed
// (OpenValue, TrendValue, "back"). Reading needs nothing more: the list is
// the session's person's, fetched again at every post, and an id that is
// not in it opens nothing.
type Post struct {
	Action string
}

// MaxServerSteps bounds the calls one post makes after the list.
const MaxServerSteps = 4

// Serve runs a form post on the server: the first screen (Preload), then
// the action with the same state machine the browser runs: a document of
// the list opened (and marked seen), an analyte's trend, or the list again.
// It returns the snapshot the browser hydrates from, nil when the backend
// failed (the host then serves the loading state, and the browser loads by
// itself).
func Serve(ctx context.Context, m *Model, b Backend, p Post) *Snapshot {
	if Preload(ctx, m, b) == nil {
		return nil
	}
	kind, arg, _ := strings.Cut(p.Action, ":")
	var a Action
	switch Kind(kind) {
	case Open:
		a = Action{Kind: Open, ID: arg}
	case ShowTrend:
		est, code, _ := strings.Cut(arg, ":")
		a = Action{Kind: ShowTrend, ID: code, Value: est}
	default: // "back", or anything else: the list
		return m.snapshot()
	}
	ui.Settle(ctx, b, m.Apply(a), m.Apply, MaxServerSteps)
	if m.Loading || ctx.Err() != nil {
		return nil
	}
	if m.Err != "" {
		// Not shown (a trend that could not be fetched): the list, with
		// the error, and no retry (a retry is the Wasm's).
		code, text := m.Err, m.ErrText
		m.Apply(Action{Kind: Back})
		m.Err, m.ErrText = code, text
	}
	return m.snapshot()
}
