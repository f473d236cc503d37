package messaging

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"

	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Post is a form post of the server-rendered widget, before its Wasm runs
// or where WebAssembly is blocked: the value of the button pressed
// (OpenValue, "back", "compose", SendValue) and, for a message, the
// composer's fields. Reading needs nothing more: the threads are the
// session's person's, fetched again at every post, and the host's store
// answers only a thread they may read.
type Post struct {
	Action string
	// The composer: the text, a new thread's subject and service, the
	// files chosen, and the client id its form carried (the message is
	// stored once however often the form is posted).
	Body, Subject, Service string
	Files                  []File
	Client                 string
	// Person is who the composer was drawn for (Model.Person): a message
	// posted after another person's sign-in (another tab) is not sent.
	Person string
	// NextClient is a new client id, for the composer shown next unless
	// the message posted stays in it (not sent: its id stays with it).
	NextClient string
	// Demo is the demo sign-in's choice (a patient or a practitioner).
	Demo string
	// Status is the inbox's tab the form was drawn on (the care team's).
	Status string
}

// MaxServerSteps bounds the calls one post makes after the list.
const MaxServerSteps = 4

// Serve runs a form post on the server: the first screen (Preload), then
// the action with the same state machine the browser runs: a thread opened
// (and marked read, as in the browser), a new thread's form, a message
// sent, a demo sign-in or a sign-out, the care team's tab, a thread
// assigned or closed, or the list again. It returns the snapshot the browser hydrates
// from, nil when the backend failed (the host then serves the loading
// state, and the browser loads by itself).
func Serve(ctx context.Context, m *Model, b Backend, p Post) *Snapshot {
	run := func(cmd Cmd) { ui.Settle(ctx, b, cmd, m.Apply, MaxServerSteps) }
	if Preload(ctx, m, b) == nil {
		return nil
	}
	m.FormClient = p.NextClient
	if p.Status != "" {
		m.Apply(Action{Kind: ShowStatus, Value: p.Status}) // the inbox's tab, kept across posts
	}
	kind, arg, _ := strings.Cut(p.Action, ":")
	switch Kind(kind) {
	case ShowStatus:
		m.Apply(Action{Kind: ShowStatus, Value: arg})
	case Assign, CloseThread:
		if m.changed(p) || m.Side != CareTeam || arg == "" {
			break
		}
		run(m.Apply(Action{Kind: Open, ID: arg}))
		if m.Conv != nil && m.Conv.ID == arg {
			run(m.Apply(Action{Kind: Kind(kind)}))
		}
	case Open:
		if arg != "" {
			run(m.Apply(Action{Kind: Open, ID: arg}))
		}
	case Compose:
		m.Apply(Action{Kind: Compose})
	case SignIn:
		m.Apply(Action{Kind: ChooseDemo, Value: p.Demo})
		run(m.Apply(Action{Kind: SignIn}))
	case SignOut:
		run(m.Apply(Action{Kind: SignOut}))
	case Send:
		if m.changed(p) {
			return m.snapshot()
		}
		if p.Client == "" {
			p.Client = NewClientID() // a form without its id: this message's own
		}
		if arg != "" {
			run(m.Apply(Action{Kind: Open, ID: arg}))
			if m.Conv == nil || m.Conv.ID != arg {
				break // not theirs, or not read: the error on the list
			}
		} else {
			m.Apply(Action{Kind: Compose})
			if m.Screen != ScreenNew {
				break
			}
			m.Apply(Action{Kind: ChooseService, Value: p.Service})
			m.Apply(Action{Kind: TypeSubject, Value: p.Subject})
		}
		m.Apply(Action{Kind: TypeBody, Value: p.Body})
		if len(p.Files) > 0 {
			m.Apply(Action{Kind: AddFiles, Seq: m.Composer(), Files: p.Files})
		}
		if len(m.Files) == len(p.Files) {
			m.sendPosted(p, run)
		} else {
			// A file refused (its type, its size, one too many): the
			// message does not leave without it; the patient sees why.
			m.unsent(p, p.Client)
		}
		if ctx.Err() != nil && (m.Screen == ScreenThread && m.Conv != nil || m.Screen == ScreenNew) {
			// No answer in time: the message stays in the composer, said
			// not confirmed; sent again under its id, it is stored once.
			m.Err, m.ErrText = portal.ErrBackendUnavailable, portal.ErrBackendUnavailable.Message(m.Lang)
			m.retry = nil
			return m.snapshot()
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if m.Err != "" && m.Screen == ScreenList || m.Screen == ScreenThread && m.Conv == nil {
		// Not opened (a thread of someone else, or a failure): the list,
		// with the error, and no retry (a retry is the Wasm's).
		code, text := m.Err, m.ErrText
		m.Apply(Action{Kind: Back})
		m.Err, m.ErrText = code, text
	}
	m.retry = nil
	return m.snapshot()
}

// sendPosted sends the composer as posted. A message the host did not
// store stays in the composer with its client id (a retry of the same
// form stays idempotent) and why; its files, which a new document cannot
// hold, are to be chosen again.
func (m *Model) sendPosted(p Post, run func(Cmd)) {
	events := len(m.Events)
	run(m.Apply(Action{Kind: Send, ID: p.Client}))
	if slices.ContainsFunc(m.Events[events:], func(e Event) bool { return e.Name == "parcours:message-sent" }) {
		m.FormClient = p.NextClient // stored: the composer is empty, for another message
		return
	}
	keep := p.Client
	if i := m.outgoing(p.Client); i >= 0 {
		o := m.Outbox[i]
		m.Outbox = slices.Delete(m.Outbox, i, i+1)
		m.Body = o.Body
		m.Err, m.ErrText = cmp.Or(o.Err, portal.ErrBackendUnavailable), cmp.Or(o.ErrText, portal.ErrBackendUnavailable.Message(m.Lang))
		if o.Err == portal.ErrIdempotencyKeyReused {
			// Its id is another message's (a form posted again after it
			// was changed): the next try is a message of its own.
			keep = p.NextClient
		}
	}
	m.unsent(p, keep)
}

// unsent leaves a posted message in the composer, with the client id it
// is to be sent under.
func (m *Model) unsent(p Post, client string) {
	m.FormClient = client
	if len(p.Files) > 0 {
		m.Files = nil
		m.FileErr = strings.TrimSpace(m.FileErr + " " + m.t("files-again"))
	}
	// The alert says why; the outbox's notices (a retry to come) and the
	// files' (added) do not apply to a form.
	m.Notice = ""
}

// changed reports, and shows, that a write's form was drawn for another
// person than the session's now (a sign-in in another tab), or for one
// whose session has ended: nothing of it is done.
func (m *Model) changed(p Post) bool {
	code := ui.PersonChanged(p.Person, m.owner())
	if code != "" {
		m.Err, m.ErrText = code, code.Message(m.Lang)
	}
	return code != ""
}

// Person names who the composer is drawn for, as Post.Person: "" when
// nobody is signed in.
func (m *Model) Person() string { return m.owner() }
