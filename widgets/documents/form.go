package documents

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"

	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Post is a form post of the server-rendered widget, before its Wasm runs
// or where WebAssembly is blocked: the value of the button pressed
// (OpenValue, TrendValue, "back", "compose", ReleaseValue, ZoomValue,
// "upload") and, for an upload, the form's fields. Reading needs nothing
// more: the list is the session's person's, fetched again at every post,
// and an id that is not in it opens nothing.
type Post struct {
	Action string
	// Person is who the form was drawn for (Model.Person): a release or
	// an upload posted after another person's sign-in (another tab) is
	// not made for them.
	Person string
	// The upload form: the title, the service, the file chosen, and the
	// client id the form carried (the document is stored once however
	// often the form is posted).
	Title, Service string
	File           *File
	Client         string
	// NextClient is a new client id, for the upload form shown next
	// unless the document posted stays in it (not stored).
	NextClient string
	// Demo is the demo sign-in's choice (a patient or a practitioner).
	Demo string
	// Filters: the list's filters were posted (the list's form carries
	// them with every button): the type, the title search, and for a
	// practitioner whether only held documents are listed.
	Filters      bool
	Type, Search string
	Held         bool
}

// MaxServerSteps bounds the calls one post makes after the list.
const MaxServerSteps = 4

// Serve runs a form post on the server: the first screen (Preload), then
// the action with the same state machine the browser runs: a document of
// the list opened (and marked seen), an analyte's trend, the list again,
// the upload form and a patient's upload, a held document's release asked
// and confirmed by a practitioner, a demo sign-in or a sign-out. It returns the snapshot the browser
// hydrates from, nil when the backend failed (the host then serves the
// loading state, and the browser loads by itself).
func Serve(ctx context.Context, m *Model, b Backend, p Post) *Snapshot {
	run := func(cmd Cmd) { ui.Settle(ctx, b, cmd, m.Apply, MaxServerSteps) }
	if Preload(ctx, m, b) == nil {
		return nil
	}
	m.FormUpload = p.NextClient
	if p.Filters {
		// The list as it was filtered, kept across posts.
		m.Apply(Action{Kind: FilterType, Value: p.Type})
		m.Apply(Action{Kind: SearchTitle, Value: p.Search})
		if m.Practitioner != nil && p.Held != m.HeldOnly {
			run(m.Apply(Action{Kind: ShowHeld, Value: strconv.FormatBool(p.Held)}))
		}
		if p.Action != "filter" {
			m.Notice = "" // the count is announced when the patient filters
		}
	}
	kind, arg, _ := strings.Cut(p.Action, ":")
	switch Kind(kind) {
	case Open:
		run(m.Apply(Action{Kind: Open, ID: arg}))
	case ShowTrend:
		est, code, _ := strings.Cut(arg, ":")
		run(m.Apply(Action{Kind: ShowTrend, ID: code, Value: est}))
	case ZoomIn, ZoomOut:
		// The open document, one level in or out from the level posted.
		id, from, _ := strings.Cut(arg, ":")
		level, err := strconv.Atoi(from)
		run(m.Apply(Action{Kind: Open, ID: id}))
		if err != nil || m.Open == nil || m.Open.ID != id {
			break
		}
		m.Zoom = zoomLevel(level)
		m.Apply(Action{Kind: Kind(kind)})
	case Compose:
		m.Apply(Action{Kind: Compose})
	case SignIn:
		m.Apply(Action{Kind: ChooseDemo, Value: p.Demo})
		run(m.Apply(Action{Kind: SignIn}))
	case SignOut:
		run(m.Apply(Action{Kind: SignOut}))
	case Release, ConfirmRel, CancelRelease:
		if m.changed(p) {
			return m.snapshot()
		}
		run(m.Apply(Action{Kind: Open, ID: arg}))
		if m.Open == nil || m.Open.ID != arg || Kind(kind) == CancelRelease {
			break
		}
		m.Apply(Action{Kind: Release})
		if Kind(kind) == ConfirmRel {
			run(m.Apply(Action{Kind: ConfirmRel}))
		}
	case Upload:
		if m.changed(p) {
			return m.snapshot()
		}
		if p.Client == "" {
			p.Client = NewClientID() // a form without its id: this upload's own
		}
		m.Apply(Action{Kind: Compose})
		if m.Screen != ScreenUpload {
			break
		}
		if p.Service != "" {
			m.Apply(Action{Kind: ChooseService, Value: p.Service})
		}
		m.Apply(Action{Kind: TypeTitle, Value: p.Title})
		if p.File != nil {
			m.Apply(Action{Kind: AddFile, Seq: m.seq, Files: []File{*p.File}})
		}
		events := len(m.Events)
		run(m.Apply(Action{Kind: Upload, ID: p.Client}))
		if slices.ContainsFunc(m.Events[events:], func(e Event) bool { return e.Name == "parcours:document-uploaded" }) {
			m.FormUpload = p.NextClient // stored: the form is empty, for another document
			break
		}
		// Not stored: the form keeps the title, its id and why; the file,
		// which a new document cannot hold, is to be chosen again.
		m.FormUpload, m.uploadID = p.Client, ""
		if m.Err == portal.ErrIdempotencyKeyReused {
			m.FormUpload = p.NextClient // its id is another upload's: this one gets its own
		}
		if p.File != nil {
			m.File = nil
			m.FileErr = strings.TrimSpace(m.FileErr + " " + m.t("file-again"))
		}
		m.Notice = ""
		if m.Uploading || ctx.Err() != nil {
			// No answer in time: the form stays, said not confirmed; sent
			// again under its id, the document is stored once.
			m.Uploading, m.retry = false, nil
			m.Err, m.ErrText = portal.ErrBackendUnavailable, portal.ErrBackendUnavailable.Message(m.Lang)
			return m.snapshot()
		}
	}
	if m.Loading || ctx.Err() != nil {
		return nil
	}
	if m.Err != "" && m.Screen != ScreenUpload && (m.Screen != ScreenDocument || m.Open == nil) {
		// Not shown (a trend that could not be fetched): the list, with
		// the error.
		code, text := m.Err, m.ErrText
		m.Apply(Action{Kind: Back})
		m.Err, m.ErrText = code, text
	}
	m.retry = nil // a retry is the Wasm's
	return m.snapshot()
}

// changed reports, and shows, that a write's form was drawn for another
// person than the session's now (a sign-in in another tab): nothing of it
// is done for this one.
func (m *Model) changed(p Post) bool {
	code := ui.PersonChanged(p.Person, m.Person())
	if code != "" {
		m.Err, m.ErrText = code, code.Message(m.Lang)
	}
	return code != ""
}

// Person names who the forms are drawn for, as Post.Person: "" when
// nobody is signed in.
func (m *Model) Person() string { return ui.Person(m.Patient, m.Practitioner) }
