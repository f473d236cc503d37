package access

import (
	"context"
	"errors"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/wirejson"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// FormState is what the server-rendered widget carries from one form post
// to the next (in a hidden field), so that it works before its Wasm runs or
// where WebAssembly is blocked. It holds choices only: the log and the
// grants are fetched again by the host at each post, and every decision is
// the host's. A grant names the professional found and the RPPS number they
// were found by, which the host checks again against the establishment's
// directory: a tampered state grants nobody but the holder of that number.
type FormState struct {
	Screen Screen `json:"sc,omitempty"`
	// Found is the professional to confirm (ScreenConfirmGrant): their id
	// in FoundIn's directory and the RPPS number they were found by.
	Found   string `json:"pr,omitempty"`
	RPPS    string `json:"rp,omitempty"`
	FoundIn string `json:"in,omitempty"`
	// Pages is how many pages of the log are shown.
	Pages int `json:"pg,omitempty"`
	// Person is the patient the form was drawn for: posted after another
	// person's sign-in (another tab), nothing of it is done for them.
	Person string `json:"pe,omitempty"`
}

// MaxFormState bounds the encoded state.
const MaxFormState = 1024

// MaxFormPages bounds the log's pages a form post shows.
const MaxFormPages = 10

// FormState returns the state to carry in the next form.
func (m *Model) FormState() FormState {
	st := FormState{Screen: m.Screen, Pages: m.pages}
	if m.Screen == ScreenConfirmGrant && m.Found != nil {
		st.Found, st.RPPS, st.FoundIn = m.Found.ID, m.Found.RPPS, m.FoundIn
	}
	if m.Patient != nil {
		st.Person = m.Patient.ID
	}
	return st
}

// EncodeFormState is the hidden field's value.
func (m *Model) EncodeFormState() string {
	b, _ := wirejson.Marshal(m.FormState()) // strings and an int: cannot fail
	return string(b)
}

// ParseFormState reads a hidden field's value. An empty value is the
// initial state.
func ParseFormState(s string) (FormState, error) {
	st, err := ui.DecodeState[FormState](s, MaxFormState)
	if err != nil {
		return st, err
	}
	switch st.Screen {
	case "", ScreenHome, ScreenConfirmGrant, ScreenConfirmRevoke:
	default:
		return st, errors.New("unknown screen")
	}
	if st.Pages < 0 || st.Pages > MaxFormPages {
		return st, errors.New("pages out of range")
	}
	if st.RPPS != "" && !portal.ValidRPPS(st.RPPS) {
		return st, errors.New("malformed RPPS number")
	}
	for _, s := range []string{st.Found, st.FoundIn, st.Person} {
		if len(s) > 128 {
			return st, errors.New("id too long")
		}
	}
	return st, nil
}

// Post is one form post of the server-rendered widget: the state it
// carried, the value of the button pressed ("lookup", "revoke:<grant>",
// "confirm-revoke:<grant>" …) and the form's fields.
type Post struct {
	State         FormState
	Action        string
	RPPS          string // the RPPS field
	Establishment string // a merged widget's establishment select
	DemoPatient   string // the demo sign-in select
}

// MaxServerSteps bounds the calls one post makes after the first screen.
const MaxServerSteps = 4

// Serve runs a form post on the server: the first screen (Preload), the
// log's pages shown before, then the button's action with the same state
// machine the browser runs: a sign-in or sign-out, a look-up, a grant, a
// revocation asked then confirmed, a page of the log. It returns the
// snapshot the browser hydrates from, nil when the backend failed (the host
// then serves the loading state, and the browser loads by itself).
func Serve(ctx context.Context, m *Model, b Backend, p Post) *Snapshot {
	run := func(cmd Cmd) { ui.Settle(ctx, b, cmd, m.Apply, MaxServerSteps) }
	if Preload(ctx, m, b) == nil {
		return nil
	}
	st := p.State
	if st.Person != "" && m.Patient != nil && m.Patient.ID != st.Person {
		// Drawn for another patient than the session's now (a sign-in in
		// another tab): nothing of it is done for this one.
		m.Err, m.ErrText = portal.ErrSessionChanged, portal.ErrSessionChanged.Message(m.Lang)
		return m.snapshot()
	}
	for m.pages < min(st.Pages, MaxFormPages) && m.Next != "" && ctx.Err() == nil {
		n := m.pages
		run(m.Apply(Action{Kind: LoadMore}))
		if m.pages == n || m.Err != "" {
			break
		}
	}
	m.Notice = ""

	kind, arg, _ := strings.Cut(p.Action, ":")
	switch Kind(kind) {
	case SignIn:
		m.Apply(Action{Kind: ChooseDemo, Value: p.DemoPatient})
		run(m.Apply(Action{Kind: SignIn}))
	case SignOut:
		run(m.Apply(Action{Kind: SignOut}))
	case LoadMore:
		if m.pages < MaxFormPages {
			run(m.Apply(Action{Kind: LoadMore}))
		}
	case Lookup:
		if m.Choosing() {
			m.Apply(Action{Kind: ChooseEst, Value: p.Establishment})
		}
		m.Apply(Action{Kind: TypeRPPS, Value: p.RPPS})
		run(m.Apply(Action{Kind: Lookup}))
	case Grant:
		if m.Patient == nil || st.Screen != ScreenConfirmGrant || st.Found == "" || st.RPPS == "" || !m.grantsThrough(st.FoundIn) {
			break
		}
		// The professional confirmed, as the look-up found them; the host
		// checks the number against the id again before granting.
		m.Found, m.FoundIn = &portal.Practitioner{ID: st.Found, RPPS: st.RPPS}, st.FoundIn
		m.goTo(ScreenConfirmGrant)
		run(m.Apply(Action{Kind: Grant}))
	case Revoke:
		m.Apply(Action{Kind: Revoke, ID: arg})
	case ConfirmRevoke:
		m.Apply(Action{Kind: Revoke, ID: arg})
		run(m.Apply(Action{Kind: ConfirmRevoke}))
	}
	// Cancel, or anything else: the first screen.
	if m.Loading || m.Busy || ctx.Err() != nil {
		return nil
	}
	if m.Err != "" && m.Screen != ScreenHome {
		// The error on the first screen, without a retry (a retry is the
		// Wasm's): a confirmation shown again would hold nothing to show.
		code, text := m.Err, m.ErrText
		m.Apply(Action{Kind: Cancel})
		m.Err, m.ErrText = code, text
	}
	m.retry = nil
	return m.snapshot()
}

// grantsThrough reports whether a grant may go through est: the widget's
// establishment, or one of a merged widget's.
func (m *Model) grantsThrough(est string) bool {
	if est == "" {
		return false
	}
	if !m.Merged {
		return est == m.Establishment
	}
	for _, e := range m.Establishments {
		if e.ID == est {
			return true
		}
	}
	return false
}
