// Package documents is the documents and results widget,
// <parcours-documents>: a patient's reports, letters, images and lab
// results in one list (grouped by month, filtered by type, searched by
// title), each opened inside the widget (the browser's PDF viewer in a
// frame, images with zoom, results as a table), trend charts of the
// analytes measured several times, and the patient's own uploads for the
// care team. Signed in as a practitioner, the same widget lists the
// documents held back from patients in their services and releases them
// after the announcement consultation.
//
// As in the other widgets, the widget is one state machine: Model.Apply
// takes an Action and returns the next effect, a Cmd. What a patient may
// see is decided by the host: a held document never reaches the widget.
package documents

import (
	"cmp"
	"context"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Backend is what the widget needs from the edge host. sdk/client
// implements it over HTTP; the host implements it directly to render the
// first paint.
type Backend interface {
	// Establishments lists the host's establishments, for a widget
	// without one (Model.Merged); with a *portal.PartialError naming
	// those that did not answer.
	Establishments(ctx context.Context) ([]portal.Establishment, error)
	Establishment(ctx context.Context, id string) (portal.Establishment, error)
	Services(ctx context.Context, establishment string) ([]portal.Service, error)
	CurrentPatient(ctx context.Context) (*portal.Patient, error)
	DemoPatients(ctx context.Context) ([]portal.Patient, error)
	DemoSignIn(ctx context.Context, patient string) (portal.Patient, error)
	CurrentPractitioner(ctx context.Context) (*portal.Practitioner, error)
	DemoPractitioners(ctx context.Context) ([]portal.Practitioner, error)
	DemoPractitionerSignIn(ctx context.Context, practitioner string) (portal.Practitioner, error)
	SignOut(ctx context.Context) error

	Documents(ctx context.Context, establishment string, f portal.DocumentFilter) ([]portal.Document, error)
	Analytes(ctx context.Context, establishment string) ([]portal.Analyte, error)
	Trend(ctx context.Context, establishment, code string) (portal.Trend, error)
	MarkDocumentSeen(ctx context.Context, id string) error
	UploadDocument(ctx context.Context, u portal.NewUpload) (portal.Document, error)
	ReleaseDocument(ctx context.Context, id string) (portal.Document, error)
	// DocumentContentURL and DocumentImageURL are the addresses a document's
	// file and images load from; inline to show them in the widget.
	DocumentContentURL(id string, inline bool) string
	DocumentImageURL(document, image string, inline bool) string
}

// Screen is what the widget shows.
type Screen string

// Screens.
const (
	ScreenList     Screen = "list"     // the documents and the analytes
	ScreenDocument Screen = "document" // one document
	ScreenTrend    Screen = "trend"    // one analyte over time
	ScreenUpload   Screen = "upload"   // a patient adds a document
)

// Event is a widget event for the host page: ids only, never content.
type Event struct {
	Name     string // "parcours:document-uploaded", "parcours:document-released"
	Document string
}

// File is the file chosen for an upload, read by the browser.
type File struct {
	Name string
	// ContentType is found from the content when the file is chosen.
	ContentType string
	Size        int64
	Content     []byte
}

// Analyte is an analyte of the patient's results in one establishment
// (results of several establishments are not on one chart: their labs
// differ).
type Analyte struct {
	portal.Analyte
	Establishment string `json:"establishment"`
}

// Zoom levels of an image, in percent of the widget's width.
var zoomLevels = []int{100, 150, 200, 300}

// zoomLevel is i within the indexes of zoomLevels.
func zoomLevel(i int) int { return min(max(i, 0), len(zoomLevels)-1) }

// Model is the whole state of the widget.
type Model struct {
	Lang          string
	Establishment string
	// Merged: the widget was given no establishment: it lists the
	// documents of every establishment the host serves, each labelled
	// with its establishment (Establishments); Missing names those whose
	// documents could not be listed (their backend down).
	Merged         bool
	Establishments []portal.Establishment
	Missing        []string

	Screen  Screen
	Loading bool // the screen's data is on its way (skeleton)
	Err     portal.ErrorCode
	ErrText string
	retry   *Action
	// Offline says that the last refresh could not reach the host; the
	// widget keeps what it shows.
	Offline    bool
	refreshing bool
	// seq is bumped by each screen change, sign-in and sign-out: an answer
	// to a call made for another screen or person is dropped.
	seq int

	Est               portal.Establishment
	Services          []portal.Service
	Patient           *portal.Patient
	Practitioner      *portal.Practitioner
	DemoPatients      []portal.Patient
	DemoPractitioners []portal.Practitioner
	DemoChoice        string
	// SignIn are the sign-in buttons the host offers (its identity
	// providers), patients' and practitioners'.
	SignIn []widgets.SignInLink

	// Docs are the documents the signed-in person sees: a patient's own
	// (never a held one: the host leaves them out), or for a practitioner
	// those of their services, held ones only while HeldOnly.
	Docs     []portal.Document
	Analytes []Analyte
	// Type and Search select what the list shows, in the browser.
	Type     portal.DocumentType
	Search   string
	HeldOnly bool

	// Open is the document shown on ScreenDocument; Zoom the image zoom
	// level (an index of zoomLevels).
	Open *portal.Document
	Zoom int
	// Confirming: the practitioner asked to release Open and confirms.
	Confirming bool
	Releasing  bool

	Trend *portal.Trend

	// The upload form.
	Title       string
	Service     string
	File        *File
	TitleErr    string
	FileErr     string
	Uploading   bool
	uploadID    string
	MaxDocument int64 // 0 means portal.DefaultMaxDocumentSize
	// FormUpload is the client id the server-rendered upload form carries
	// (set by the host): a document uploaded by a form post before the
	// Wasm runs is stored once however often its form is posted, and the
	// Wasm's first upload uses it (a post that failed may have stored it).
	FormUpload string

	Notice      string
	Events      []Event
	Now         func() time.Time
	CallTimeout time.Duration
}

// DefaultCallTimeout bounds a call to the host but an upload, which gets
// more time for its file.
const DefaultCallTimeout = 30 * time.Second

// NewModel returns the state before anything has loaded.
//
// Without an establishment the widget is merged (see Model.Merged).
func NewModel(lang, establishment string) *Model {
	return &Model{Lang: lang, Establishment: establishment, Merged: establishment == "", Screen: ScreenList, Loading: true, HeldOnly: true}
}

// Kind names an action.
type Kind string

// Actions: intents, then results of calls.
const (
	Start         Kind = "start"
	Refresh       Kind = "tick" // refresh the list
	ChooseDemo    Kind = "choose-demo"
	SignIn        Kind = "sign-in"
	SignOut       Kind = "sign-out"
	FilterType    Kind = "type"   // Value: a document type, "" for all
	SearchTitle   Kind = "search" // Value: the text
	ShowHeld      Kind = "held"   // Value: "true" for held documents only
	Open          Kind = "open"   // ID: a document
	ShowTrend     Kind = "trend"  // ID: an analyte code; Value, when set: its establishment
	Back          Kind = "back"
	ZoomIn        Kind = "zoom-in"
	ZoomOut       Kind = "zoom-out"
	Release       Kind = "release" // asks to confirm
	ConfirmRel    Kind = "confirm-release"
	CancelRelease Kind = "cancel-release"
	Compose       Kind = "compose" // the upload form
	TypeTitle     Kind = "type-title"
	ChooseService Kind = "choose-service"
	AddFile       Kind = "add-file" // Files[0], read for the screen of Seq
	RemoveFile    Kind = "remove-file"
	Upload        Kind = "upload"
	Retry         Kind = "retry"
	// SessionChanged: a sign-in completed outside the widget (the frame's
	// sign-in popup, another tab): the session is read again.
	SessionChanged Kind = "session-changed"
	// Crashed reports that an effect panicked.
	Crashed Kind = "crashed"

	loaded    Kind = "loaded"
	signedIn  Kind = "signed-in"
	signedOut Kind = "signed-out"
	listed    Kind = "listed"
	trended   Kind = "trended"
	uploaded  Kind = "uploaded"
	released  Kind = "released"
	seen      Kind = "seen"
	// sessionKept: SessionChanged found nobody signed in.
	sessionKept Kind = "session-kept"
)

// Action is an intent or a result.
type Action struct {
	Kind  Kind
	ID    string
	Value string
	Files []File
	// Seq is the screen an action was made for (AddFile).
	Seq int

	seq      int
	est      portal.Establishment
	ests     []portal.Establishment
	missing  []string
	services []portal.Service
	patient  *portal.Patient
	pract    *portal.Practitioner
	patients []portal.Patient
	practs   []portal.Practitioner
	docs     []portal.Document
	analytes []Analyte
	doc      portal.Document
	trend    portal.Trend
	err      error
	cause    *Action
	owner    string // uploaded: the patient who uploaded
}

// Cmd is an effect: calls to the backend that yield the next action.
type Cmd func(ctx context.Context, b Backend) Action

func (m *Model) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Model) callTimeout() time.Duration {
	if m.CallTimeout > 0 {
		return m.CallTimeout
	}
	return DefaultCallTimeout
}

// bounded gives a call its timeout.
func bounded(d time.Duration, cmd Cmd) Cmd {
	return func(ctx context.Context, b Backend) Action {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return cmd(ctx, b)
	}
}

// Seq is the current screen's sequence number, for AddFile.
func (m *Model) Seq() int { return m.seq }

// Apply moves the model by one action and returns the effect to run next,
// or nil. It never blocks and never calls the backend itself.
func (m *Model) Apply(a Action) Cmd {
	switch a.Kind {
	case Start:
		m.Loading = true
		m.clearError()
		m.seq++
		seq, sc := m.seq, m.scope()
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			r := m.loadAll(ctx, b, sc)
			r.seq = seq
			return r
		}))
	case loaded:
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.Est, m.Services = a.est, a.services
		m.Establishments, m.Missing = a.ests, a.missing
		m.Patient, m.Practitioner = a.patient, a.pract
		m.DemoPatients, m.DemoPractitioners = a.patients, a.practs
		if m.DemoChoice == "" && len(a.patients) > 0 {
			m.DemoChoice = a.patients[0].ID
		}
		m.Docs, m.Analytes = a.docs, a.analytes
		return nil

	case ChooseDemo:
		m.DemoChoice = a.Value
		return nil
	case SignIn:
		if m.DemoChoice == "" {
			return nil
		}
		m.Loading = true
		m.clearError()
		m.seq++
		seq, choice, sc := m.seq, m.DemoChoice, m.scope()
		pract := slices.ContainsFunc(m.DemoPractitioners, func(p portal.Practitioner) bool { return p.ID == choice })
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			r := Action{Kind: signedIn, seq: seq}
			if pract {
				p, err := b.DemoPractitionerSignIn(ctx, choice)
				if err != nil {
					r.err = err
					return r
				}
				r.pract = &p
			} else {
				p, err := b.DemoSignIn(ctx, choice)
				if err != nil {
					r.err = err
					return r
				}
				r.patient = &p
			}
			r.docs, r.analytes, r.missing, r.err = m.list(ctx, b, sc.with(r.patient != nil))
			return r
		}))
	case SessionChanged:
		m.Loading = true
		m.clearError()
		m.seq++
		seq, sc := m.seq, m.scope()
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			r := Action{Kind: signedIn, seq: seq}
			var (
				wg   sync.WaitGroup
				errs [2]error
			)
			wg.Go(func() { r.patient, errs[0] = b.CurrentPatient(ctx) })
			wg.Go(func() { r.pract, errs[1] = b.CurrentPractitioner(ctx) })
			wg.Wait()
			if r.err = errs[0]; r.err == nil {
				r.err = errs[1]
			}
			if r.err != nil {
				r.patient, r.pract = nil, nil
				return r
			}
			if r.patient != nil {
				r.pract = nil // as on load: a patient's session comes first
			}
			if r.patient == nil && r.pract == nil {
				return Action{Kind: sessionKept, seq: seq}
			}
			r.docs, r.analytes, r.missing, r.err = m.list(ctx, b, sc.with(r.patient != nil))
			return r
		}))
	case sessionKept:
		if a.seq == m.seq {
			m.Loading = false
		}
		return nil
	case signedIn:
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil && a.patient == nil && a.pract == nil {
			return m.fail(a)
		}
		m.Patient, m.Practitioner = a.patient, a.pract
		m.Screen = ScreenList
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.Docs, m.Analytes, m.Missing = a.docs, a.analytes, a.missing
		m.announce(m.t("notice-signed-in"))
		return nil
	case SignOut:
		m.Loading = true
		m.clearError()
		m.seq++
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			return Action{Kind: signedOut, err: b.SignOut(ctx)}
		}))
	case signedOut:
		if a.err != nil {
			return m.fail(a)
		}
		m.forget()
		m.announce(m.t("notice-signed-out"))
		return m.Apply(Action{Kind: Start})

	case FilterType:
		t := portal.DocumentType(a.Value)
		if t != "" && !t.Valid() {
			return nil
		}
		m.Type = t
		m.announce(m.countNotice())
		return nil
	case SearchTitle:
		m.Search = a.Value
		return nil
	case ShowHeld:
		if m.Practitioner == nil {
			return nil
		}
		m.HeldOnly = a.Value == "true"
		return m.refresh(true)

	case Open:
		doc := m.doc(a.ID)
		if doc == nil {
			return nil
		}
		m.goTo(ScreenDocument)
		d := *doc
		m.Open, m.Zoom, m.Confirming = &d, 0, false
		m.clearError()
		if m.Patient == nil || !d.New {
			return nil
		}
		// Opening is reading: the document is no longer new. Shown at
		// once; the host is told in the background (a failure only keeps
		// it new for the next visit).
		m.setNew(d.ID, false)
		id := d.ID
		return bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			return Action{Kind: seen, ID: id, err: b.MarkDocumentSeen(ctx, id)}
		})
	case seen:
		if a.err != nil && !portal.IsCode(a.err, portal.ErrUnauthenticated) {
			m.setNew(a.ID, true)
		}
		return nil
	case ZoomIn:
		m.Zoom = zoomLevel(m.Zoom + 1)
		m.announce(m.tf("notice-zoom", zoomLevels[m.Zoom]))
		return nil
	case ZoomOut:
		m.Zoom = zoomLevel(m.Zoom - 1)
		m.announce(m.tf("notice-zoom", zoomLevels[m.Zoom]))
		return nil

	case Release:
		if m.Practitioner == nil || m.Open == nil || m.Open.Release != portal.ReleaseHeld {
			return nil
		}
		m.Confirming = true
		return nil
	case CancelRelease:
		m.Confirming = false
		return nil
	case ConfirmRel:
		if !m.Confirming || m.Open == nil || m.Releasing {
			return nil
		}
		m.Releasing = true
		m.clearError()
		seq, id := m.seq, m.Open.ID
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			d, err := b.ReleaseDocument(ctx, id)
			return Action{Kind: released, seq: seq, doc: d, err: err}
		}))
	case released:
		m.Releasing = false
		if a.err != nil {
			return m.fail(a)
		}
		m.Confirming = false
		m.replace(a.doc)
		if a.seq == m.seq && m.Open != nil && m.Open.ID == a.doc.ID {
			d := a.doc
			m.Open = &d
		}
		m.Events = append(m.Events, Event{Name: "parcours:document-released", Document: a.doc.ID})
		m.announce(m.t("notice-released"))
		return nil

	case ShowTrend:
		if m.Patient == nil || a.ID == "" {
			return nil
		}
		m.goTo(ScreenTrend)
		m.Trend = nil
		m.Loading = true
		m.clearError()
		seq, est, code := m.seq, m.analyteEstablishment(a.ID, a.Value), a.ID
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			tr, err := b.Trend(ctx, est, code)
			return Action{Kind: trended, seq: seq, trend: tr, err: err}
		}))
	case trended:
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		tr := a.trend
		m.Trend = &tr
		return nil

	case Back:
		m.goTo(ScreenList)
		m.Open, m.Trend, m.Confirming = nil, nil, false
		m.clearError()
		return m.refresh(false)

	case Compose:
		if m.Patient == nil {
			return nil
		}
		m.goTo(ScreenUpload)
		m.clearError()
		if m.service(m.Service) == nil && len(m.Services) > 0 {
			m.Service = ServiceKey(m.Services[0])
		}
		return nil
	case TypeTitle:
		if a.Value != m.Title {
			m.uploadID = ""
		}
		m.Title, m.TitleErr = a.Value, ""
		return nil
	case ChooseService:
		if m.service(a.Value) != nil && a.Value != m.Service {
			m.Service, m.uploadID = a.Value, ""
		}
		return nil
	case AddFile:
		if a.Seq != m.seq || m.Screen != ScreenUpload || len(a.Files) == 0 {
			return nil
		}
		m.addFile(a.Files[0])
		return nil
	case RemoveFile:
		if m.Uploading {
			return nil
		}
		m.File, m.FileErr, m.uploadID = nil, "", ""
		m.announce(m.t("notice-file-removed"))
		return nil
	case Upload:
		return m.upload(a)
	case uploaded:
		if m.Patient == nil || m.Patient.ID != a.owner {
			// The uploader has left (signed out, someone else signed in):
			// their document is not this person's to list, nor is the
			// failure of their session this person's.
			return nil
		}
		m.Uploading = false
		if a.err != nil {
			return m.fail(a)
		}
		m.Title, m.File, m.uploadID = "", nil, ""
		m.Docs = append([]portal.Document{a.doc}, slices.DeleteFunc(m.Docs, func(d portal.Document) bool { return d.ID == a.doc.ID })...)
		m.sortDocs()
		m.Events = append(m.Events, Event{Name: "parcours:document-uploaded", Document: a.doc.ID})
		if m.Screen == ScreenUpload && a.seq == m.seq {
			m.goTo(ScreenList)
		}
		m.announce(m.t("notice-uploaded"))
		return nil

	case Refresh:
		if m.Screen != ScreenList || m.Loading {
			return nil
		}
		return m.refresh(false)
	case listed:
		m.refreshing = false
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			return m.lost(a)
		}
		m.Offline, m.Loading = false, false
		m.Docs, m.Missing = a.docs, a.missing
		if m.Patient != nil {
			m.Analytes = a.analytes
		}
		return nil

	case Retry:
		if m.retry == nil {
			return nil
		}
		r := *m.retry
		m.clearError()
		return m.Apply(r)
	case Crashed:
		m.Loading, m.refreshing, m.Uploading, m.Releasing = false, false, false, false
		m.Err, m.ErrText, m.retry = portal.ErrInternal, m.t("crashed"), &Action{Kind: Start}
		return nil
	}
	return nil
}

// refresh fetches the list again; loading shows the skeleton meanwhile.
func (m *Model) refresh(loading bool) Cmd {
	if !m.signedIn() || (m.refreshing && !loading) {
		return nil
	}
	if loading {
		m.seq++
		m.Loading = true
	}
	m.refreshing = true
	seq, sc := m.seq, m.scope()
	return bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
		docs, analytes, missing, err := m.list(ctx, b, sc)
		return Action{Kind: listed, seq: seq, docs: docs, analytes: analytes, missing: missing, err: err}
	})
}

// upload checks the form, then sends the file with a client id that
// stays the same until the form changes: a retry after a lost answer
// stores the document once.
func (m *Model) upload(a Action) Cmd {
	if m.Patient == nil || m.Uploading {
		return nil
	}
	title := strings.TrimSpace(m.Title)
	if err := portal.ValidateDocumentTitle(title); err != nil {
		m.TitleErr = m.t("title-needed")
		if portal.IsCode(err, portal.ErrTooLarge) {
			m.TitleErr = m.tf("title-too-long", portal.MaxDocumentTitle)
		}
	}
	if m.File == nil && m.FileErr == "" {
		m.FileErr = m.t("file-needed")
	}
	if m.TitleErr != "" || m.FileErr != "" || m.File == nil {
		return nil
	}
	if m.uploadID == "" {
		m.uploadID = cmp.Or(a.ID, m.FormUpload, NewClientID())
		m.FormUpload = ""
	}
	m.Uploading = true
	m.clearError()
	est, service := splitServiceKey(m.Service)
	u := portal.NewUpload{
		Establishment: est, Service: service, Title: title, ClientID: m.uploadID,
		File: portal.NewFile{Name: m.File.Name, ContentType: m.File.ContentType, Content: m.File.Content},
	}
	// A phone's upload link is slow: a second per 50 KB on top of the
	// usual bound.
	timeout := m.callTimeout() + time.Duration(len(u.File.Content)/50_000)*time.Second
	seq, owner := m.seq, m.Patient.ID
	return m.call(a, bounded(timeout, func(ctx context.Context, b Backend) Action {
		d, err := b.UploadDocument(ctx, u)
		return Action{Kind: uploaded, seq: seq, doc: d, err: err, owner: owner}
	}))
}

// addFile checks a chosen file by size and content before anything is
// sent (the host checks again).
func (m *Model) addFile(f File) {
	m.File, m.uploadID = nil, ""
	limit := m.maxDocument()
	switch {
	case f.Size > limit || int64(len(f.Content)) > limit:
		m.FileErr = m.tf("file-too-large", f.Name, megabytes(limit))
	case len(f.Content) == 0:
		m.FileErr = m.tf("file-unreadable", f.Name)
	default:
		ct, err := portal.SniffAttachment(f.Name, f.Content)
		if err != nil {
			m.FileErr = m.tf("file-kind", f.Name)
			return
		}
		f.ContentType = ct
		m.File, m.FileErr = &f, ""
		m.announce(m.tf("notice-file-added", f.Name))
	}
}

func (m *Model) maxDocument() int64 {
	if m.MaxDocument > 0 {
		return m.MaxDocument
	}
	return portal.DefaultMaxDocumentSize
}

func megabytes(n int64) int64 { return (n + 1<<20 - 1) >> 20 }

// listScope is what a list effect fetches, read from the model when the
// effect is made (the effect runs outside the renderer's lock).
type listScope struct {
	establishments []string // "" in a merged widget before they are known
	merged         bool
	held, patient  bool
}

func (m *Model) scope() listScope {
	sc := listScope{merged: m.Merged, held: m.HeldOnly, patient: m.Patient != nil}
	if m.Merged {
		for _, e := range m.Establishments {
			sc.establishments = append(sc.establishments, e.ID)
		}
	} else {
		sc.establishments = []string{m.Establishment}
	}
	return sc
}

// with returns sc for a patient (true) or a practitioner.
func (sc listScope) with(patient bool) listScope {
	sc.patient = patient
	return sc
}

// loadAll fetches what the first screen needs, concurrently: in a merged
// widget, the establishments first, then every one's services.
func (m *Model) loadAll(ctx context.Context, b Backend, sc listScope) Action {
	var (
		wg   sync.WaitGroup
		r    = Action{Kind: loaded}
		errs [4]error
	)
	if sc.merged {
		wg.Go(func() {
			var err error
			r.ests, err = b.Establishments(ctx)
			r.missing = portal.Missing(err)
			if r.missing == nil {
				errs[0] = err
			}
		})
	} else {
		wg.Go(func() { r.est, errs[0] = b.Establishment(ctx, m.Establishment) })
		wg.Go(func() { r.services, errs[1] = b.Services(ctx, m.Establishment) })
	}
	wg.Go(func() { r.patient, errs[2] = b.CurrentPatient(ctx) })
	wg.Go(func() { r.pract, errs[3] = b.CurrentPractitioner(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			r.err = err
			return r
		}
	}
	if sc.merged {
		sc.establishments = nil
		for _, e := range r.ests {
			sc.establishments = append(sc.establishments, e.ID)
		}
		services := make([][]portal.Service, len(r.ests))
		for i, e := range r.ests {
			wg.Go(func() {
				// Without its services an establishment takes no upload;
				// its documents still show.
				services[i], _ = b.Services(ctx, e.ID)
			})
		}
		wg.Wait()
		for _, list := range services {
			r.services = append(r.services, list...)
		}
	}
	if r.patient != nil {
		r.pract = nil
	}
	if r.patient == nil && r.pract == nil {
		wg.Go(func() { r.patients, errs[0] = b.DemoPatients(ctx) })
		wg.Go(func() { r.practs, errs[1] = b.DemoPractitioners(ctx) })
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			r.err = errs[0]
			if r.err == nil {
				r.err = errs[1]
			}
		}
		return r
	}
	docs, analytes, missing, err := m.list(ctx, b, sc.with(r.patient != nil))
	r.docs, r.analytes, r.err = docs, analytes, err
	r.missing = append(r.missing, missing...)
	return r
}

// list fetches the documents, and a patient's analytes, of every
// establishment of sc at once. Establishments that fail are named in
// missing while the others' are listed; when every one fails, its error.
func (m *Model) list(ctx context.Context, b Backend, sc listScope) (docs []portal.Document, analytes []Analyte, missing []string, err error) {
	f := portal.DocumentFilter{}
	if !sc.patient {
		f.Held = sc.held
	}
	type part struct {
		docs []portal.Document
		as   []portal.Analyte
		err  error
	}
	parts := make([]part, len(sc.establishments))
	var wg sync.WaitGroup
	for i, est := range sc.establishments {
		wg.Go(func() {
			var errs [2]error
			var inner sync.WaitGroup
			inner.Go(func() { parts[i].docs, errs[0] = b.Documents(ctx, est, f) })
			if sc.patient {
				inner.Go(func() { parts[i].as, errs[1] = b.Analytes(ctx, est) })
			}
			inner.Wait()
			parts[i].err = errors.Join(errs[:]...)
		})
	}
	wg.Wait()
	for i, p := range parts {
		est := sc.establishments[i]
		if p.err != nil {
			if !sc.merged || portal.IsCode(p.err, portal.ErrUnauthenticated) || portal.IsCode(p.err, portal.ErrForbidden) {
				return nil, nil, nil, p.err
			}
			missing = append(missing, est)
			err = p.err
			continue
		}
		docs = append(docs, p.docs...)
		for _, a := range p.as {
			analytes = append(analytes, Analyte{Analyte: a, Establishment: est})
		}
	}
	if len(missing) < len(sc.establishments) || len(sc.establishments) == 0 {
		err = nil
	}
	ui.SortStable(docs, func(a, b *portal.Document) int { return b.Date.Compare(a.Date) })
	return docs, analytes, missing, err
}

// analyteEstablishment is where the trend of code is drawn from: est when
// the patient has results of code there, else the first establishment
// that has.
func (m *Model) analyteEstablishment(code, est string) string {
	first := ""
	for _, a := range m.Analytes {
		if a.Code != code {
			continue
		}
		if a.Establishment == est {
			return est
		}
		if first == "" {
			first = a.Establishment
		}
	}
	if first == "" {
		return m.Establishment
	}
	return first
}

// ServiceKey identifies a service among every establishment's: services
// of two establishments may share an id.
func ServiceKey(s portal.Service) string { return s.Establishment + "/" + s.ID }

func splitServiceKey(key string) (establishment, service string) {
	establishment, service, _ = strings.Cut(key, "/")
	return establishment, service
}

func (m *Model) goTo(s Screen) {
	m.Screen = s
	m.seq++
	m.Loading = false
}

// call wraps a cmd so that a failure can be retried by the same action.
func (m *Model) call(cause Action, cmd Cmd) Cmd {
	return func(ctx context.Context, b Backend) Action {
		r := cmd(ctx, b)
		if r.err != nil {
			r.cause = &cause
		}
		return r
	}
}

func (m *Model) clearError() { m.Err, m.ErrText, m.retry = "", "", nil }

func (m *Model) fail(a Action) Cmd {
	m.Loading = false
	m.Err = portal.Code(a.err)
	m.ErrText = portal.PatientMessage(a.err, m.Lang)
	m.retry = a.cause
	switch m.Err {
	case portal.ErrUnauthenticated:
		// The session ended: forget what was shown and ask again.
		m.forget()
		m.retry = nil
		return m.Apply(Action{Kind: Start})
	case portal.ErrNotFound:
		// A document or analyte that is not (or no longer) visible: back
		// to the list, which the refresh brings up to date.
		if m.Screen != ScreenList && m.Screen != ScreenUpload {
			m.goTo(ScreenList)
			m.Open, m.Trend, m.retry = nil, nil, nil
			return m.refresh(false)
		}
	}
	return nil
}

// lost handles a refresh that failed: offline, the widget keeps what it
// shows; a session gone asks to sign in.
func (m *Model) lost(a Action) Cmd {
	m.Loading = false
	switch portal.Code(a.err) {
	case portal.ErrUnauthenticated, portal.ErrForbidden:
		return m.fail(Action{err: portal.Errorf(portal.ErrUnauthenticated, "%v", a.err)})
	}
	m.Offline = true
	return nil
}

// forget drops everything of the signed-in person: their documents are
// health data.
func (m *Model) forget() {
	m.seq++
	m.Patient, m.Practitioner = nil, nil
	m.Docs, m.Analytes, m.Open, m.Trend, m.Missing = nil, nil, nil, nil, nil
	m.Screen, m.Offline, m.refreshing = ScreenList, false, false
	m.Type, m.Search, m.HeldOnly, m.Confirming, m.Releasing = "", "", true, false, false
	m.Title, m.File, m.FileErr, m.TitleErr, m.uploadID, m.Uploading = "", nil, "", "", "", false
	m.DemoChoice = ""
}

func (m *Model) signedIn() bool { return m.Patient != nil || m.Practitioner != nil }

func (m *Model) service(key string) *portal.Service {
	for i := range m.Services {
		if ServiceKey(m.Services[i]) == key {
			return &m.Services[i]
		}
	}
	return nil
}

func (m *Model) doc(id string) *portal.Document {
	for i := range m.Docs {
		if m.Docs[i].ID == id {
			return &m.Docs[i]
		}
	}
	return nil
}

func (m *Model) setNew(id string, v bool) {
	if d := m.doc(id); d != nil {
		d.New = v
	}
	if m.Open != nil && m.Open.ID == id {
		m.Open.New = v
	}
}

// replace puts d in the list in place of the document of the same id; a
// released document leaves the practitioner's held-only list.
func (m *Model) replace(d portal.Document) {
	i := slices.IndexFunc(m.Docs, func(x portal.Document) bool { return x.ID == d.ID })
	switch {
	case i < 0:
	case m.Practitioner != nil && m.HeldOnly && d.Release != portal.ReleaseHeld:
		m.Docs = slices.Delete(m.Docs, i, i+1)
	default:
		m.Docs[i] = d
	}
}

// sortDocs orders the list as the host does: the latest date first.
func (m *Model) sortDocs() {
	ui.SortStable(m.Docs, func(a, b *portal.Document) int { return b.Date.Compare(a.Date) })
}

// Listed are the documents the list shows: of the chosen type, whose
// title matches the search.
func (m *Model) Listed() []portal.Document {
	var out []portal.Document
	for _, d := range m.Docs {
		if (m.Type == "" || d.Type == m.Type) && portal.MatchTitle(d.Title, m.Search) {
			out = append(out, d)
		}
	}
	return out
}

// NewCount counts the documents not opened yet.
func (m *Model) NewCount() int {
	n := 0
	for _, d := range m.Docs {
		if d.New {
			n++
		}
	}
	return n
}

func (m *Model) countNotice() string {
	return m.tf("notice-count", len(m.Listed()))
}

// announce sets the polite status; the same text twice is still read.
func (m *Model) announce(text string) {
	if text == m.Notice {
		text += "\u00a0"
	}
	m.Notice = text
}

func (m *Model) t(key string) string { return messages.T(m.Lang, key) }

func (m *Model) tf(key string, args ...any) string { return messages.Tf(m.Lang, key, args...) }

// NewClientID returns an upload's client id: 128 random bits.
func NewClientID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return "doc-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
