// Package messaging is the secure-messaging widget in its two faces: the
// patient's <parcours-messages> (threads with a service's care team, a
// composer with attachments) and the care team's <parcours-inbox> (threads
// by status, assignment, replies, closing).
//
// As in widgets/booking, the widget is one state machine: Model.Apply takes
// an Action and returns the next effect, a Cmd. The vugu component maps DOM
// events to actions, and a ticker to a Tick every few seconds: the open list
// or conversation is fetched again, so that replies appear without a reload.
//
// Nothing typed is lost: a message leaves the composer for the outbox, where
// it shows as sending, then disappears into the conversation once the host
// stored it, or stays as failed with its reason. A message that failed for
// want of a network is sent again at each tick, with the same client id, so
// that the host stores it exactly once however many tries it took.
package messaging

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
	"sync/atomic"
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

	Threads(ctx context.Context, establishment string) ([]portal.Thread, error)
	Inbox(ctx context.Context, establishment string, f portal.InboxFilter) ([]portal.Thread, error)
	Thread(ctx context.Context, id string) (portal.Conversation, error)
	StartThread(ctx context.Context, t portal.NewThread) (portal.Conversation, error)
	Send(ctx context.Context, thread string, m portal.NewMessage) (portal.Message, error)
	MarkRead(ctx context.Context, thread string) error
	Assign(ctx context.Context, thread string) (portal.Thread, error)
	Close(ctx context.Context, thread string) (portal.Thread, error)
	// AttachmentURL is the address an attachment downloads from.
	AttachmentURL(message, attachment string) string
}

// Side says whose widget it is.
type Side string

// The two sides of a thread.
const (
	Patient  Side = "patient"      // <parcours-messages>
	CareTeam Side = "practitioner" // <parcours-inbox>
)

// Screen is what the widget shows.
type Screen string

// Screens.
const (
	ScreenList   Screen = "list"   // the threads
	ScreenThread Screen = "thread" // one conversation and the composer
	ScreenNew    Screen = "new"    // a new thread (patients)
)

// Event is a widget event for the host page: ids only, never content.
type Event struct {
	Name    string // "parcours:message-sent"
	Thread  string
	Message string
}

// File is an attachment chosen for the next message, checked by content.
type File struct {
	Name        string
	ContentType string
	Size        int64
	Content     []byte
	// OverCount: chosen beyond the files a message may carry, not read.
	OverCount bool
}

// OutState is the state of a message on its way.
type OutState string

// States of the outbox. A message the host stored leaves the outbox: it is
// then "sent" (and "read" once the other side opened it).
const (
	Sending OutState = "sending"
	// Waiting: not sent yet, sent again by a tick: after a failure that
	// may pass (no network, the host busy), or behind an earlier message of
	// the same thread (messages leave in the order they were written).
	Waiting OutState = "waiting"
	// Refused: the host refused it as it is (a rejected file, a service the
	// patient has no link with …): it can be edited, never resent as is.
	Refused OutState = "refused"
)

// Outgoing is a message in the outbox: typed, not yet stored by the host.
type Outgoing struct {
	ClientID string
	// Owner is who wrote it ("patient:ID", "practitioner:ID"): it is only
	// ever sent in that person's session.
	Owner   string
	Thread  string // "" for the first message of a new thread
	Service string // a new thread's service
	Subject string // a new thread's subject
	Body    string
	Files   []File
	State   OutState
	// Err and ErrText say why the last try failed; "" for a message
	// waiting behind another. Offline: the network failed (not the host).
	Err     portal.ErrorCode
	ErrText string
	Offline bool
	Tries   int
	// NextTry is when a tick may send it again (backing off after each
	// failure); zero for at once.
	NextTry time.Time
}

// Model is the whole state of the widget.
type Model struct {
	Side          Side
	Lang          string
	Establishment string
	// Merged: the widget was given no establishment: it lists the threads
	// of every establishment the host serves (Establishments), each
	// labelled; services are then named by ServiceKey. Missing names the
	// establishments whose threads could not be listed (their backend
	// down).
	Merged         bool
	Establishments []portal.Establishment
	Missing        []string
	// Service limits a patient's widget to one service's threads ("" for
	// every service).
	Service string

	Screen  Screen
	Loading bool // the screen's data is on its way (skeleton)
	Err     portal.ErrorCode
	ErrText string
	retry   *Action
	// Offline says that the last refresh could not reach the host; the
	// widget keeps what it shows and tries again at each tick.
	Offline    bool
	refreshing bool
	// seq is bumped by each screen change and each sign-in or sign-out:
	// an answer to a call made for another screen or another person is
	// dropped. It never goes back.
	seq int
	// session changes at each sign-in, sign-out or lost session; a tick's
	// sends check it between two messages (it is read outside the lock).
	session *atomic.Int64

	Est               portal.Establishment
	Services          []portal.Service
	Patient           *portal.Patient
	Practitioner      *portal.Practitioner
	DemoPatients      []portal.Patient
	DemoPractitioners []portal.Practitioner
	DemoChoice        string
	// SignIn are the sign-in buttons the host offers (its identity
	// providers); the widget shows its side's ones.
	SignIn []widgets.SignInLink

	// Threads: a patient's threads (in Service when set), or the care
	// team's inbox, every status (Filter selects what is listed).
	Threads []portal.Thread
	Filter  portal.ThreadStatus
	Conv    *portal.Conversation

	// The composer.
	Subject    string
	Body       string
	NewService string // a new thread's service when the widget has none
	Files      []File
	FileErr    string
	// composer is the composer's generation: it changes whenever the
	// composer is emptied (another thread or screen, a sign-out, another
	// person), and files are read for one (ReadingFiles, AddFiles).
	composer int
	// reading counts the files the browser is still reading for the
	// composer readFor (see Reading).
	reading, readFor int
	// SubjectErr and FormErr are the composer's problems found on sending
	// (no subject; an empty or too long text).
	SubjectErr string
	FormErr    string
	// FormClient is the client id the server-rendered composer's form
	// carries (set by the host): a message sent by a form post before the
	// Wasm runs is stored once however often its form is posted, and the
	// Wasm's first message uses it (a post that failed may have stored it).
	FormClient string
	// MaxAttachment is the size limit the widget checks before sending
	// (the host checks its own); 0 means portal.DefaultMaxAttachmentSize.
	MaxAttachment int64
	// CallTimeout bounds each call but the sending of a message, which
	// gets more time for its files; 0 means DefaultCallTimeout.
	CallTimeout time.Duration

	Outbox []Outgoing
	// recent are the messages stored since the page opened: a refresh that
	// started before one of them was stored must not hide it.
	recent []portal.Message
	// drafts keeps the text typed in a conversation's composer when the
	// person goes elsewhere, by thread, until they come back to it (in the
	// page's memory, as the outbox).
	drafts map[string]string

	// Notice is a polite status for screen readers.
	Notice string
	Events []Event
	Now    func() time.Time
}

// DefaultCallTimeout bounds a call to the host: a phone whose connection
// stalls gets an answer (a failure, tried again later) rather than a
// spinner forever.
const DefaultCallTimeout = 30 * time.Second

// NewModel returns the state before anything has loaded.
func NewModel(side Side, lang, establishment, service string) *Model {
	if side != CareTeam {
		side = Patient
	}
	m := &Model{Side: side, Lang: lang, Establishment: establishment, Merged: establishment == "", Screen: ScreenList, Loading: true, session: new(atomic.Int64)}
	if side == Patient {
		m.Service = service
	} else {
		m.Filter = portal.ThreadNew
	}
	return m
}

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

// Kind names an action.
type Kind string

// Actions: intents, then results of calls.
const (
	Start             Kind = "start"
	Tick              Kind = "tick" // refresh what is shown; resend what waits
	ChooseDemo        Kind = "choose-demo"
	SignIn            Kind = "sign-in"
	SignOut           Kind = "sign-out"
	Open              Kind = "open" // a thread: ID
	Back              Kind = "back"
	ShowStatus        Kind = "status" // the inbox's tab: Value
	Compose           Kind = "compose"
	CancelCompose     Kind = "cancel-compose"
	TypeSubject       Kind = "type-subject"
	TypeBody          Kind = "type-body"
	ChooseService     Kind = "choose-service"
	ReadingFiles      Kind = "reading-files" // Index files being read for the screen of Seq
	AddFiles          Kind = "add-files"     // Files, read for the screen of Seq
	RemoveFile        Kind = "remove-file"
	Send              Kind = "send"
	RetrySend         Kind = "retry-send" // ID: the client id
	Discard           Kind = "discard"    // ID: a refused message back to the composer
	Assign            Kind = "assign"
	CloseThread       Kind = "close"
	Retry             Kind = "retry"
	DismissFileErrors Kind = "dismiss-file-errors"
	// SessionChanged: a sign-in completed outside the widget (the frame's
	// sign-in popup, another tab): the session is read again.
	SessionChanged Kind = "session-changed"
	// Crashed reports that an effect panicked: whatever it was doing is
	// given up (and tried again where that is safe).
	Crashed Kind = "crashed"

	loaded     Kind = "loaded"
	signedIn   Kind = "signed-in"
	signedOut  Kind = "signed-out"
	listed     Kind = "listed"
	opened     Kind = "opened"
	refreshed  Kind = "refreshed"
	sent       Kind = "sent"
	sendFailed Kind = "send-failed"
	updated    Kind = "updated"
	// sessionKept: SessionChanged found nobody signed in.
	sessionKept Kind = "session-kept"
)

// Action is an intent or a result.
type Action struct {
	Kind  Kind
	ID    string
	Value string
	Index int
	Files []File
	// Seq is the composer an action was made for (ReadingFiles, AddFiles:
	// Model.Composer).
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
	threads  []portal.Thread
	conv     *portal.Conversation
	message  portal.Message
	thread   portal.Thread
	results  []Action // a tick's sends
	epoch    int64    // updated: the session it was made in
	err      error
	cause    *Action
}

// Cmd is an effect: calls to the backend that yield the next action.
type Cmd func(ctx context.Context, b Backend) Action

// Apply moves the model by one action and returns the effect to run next,
// or nil. It never blocks and never calls the backend itself.
func (m *Model) Apply(a Action) Cmd {
	switch a.Kind {
	case Start:
		m.Loading = true
		m.clearError()
		m.seq++
		seq, l := m.seq, m.listing()
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			r := loadAll(ctx, b, l)
			r.seq = seq
			return r
		}))
	case loaded:
		if a.seq != m.seq {
			return nil // for a screen or a person since left
		}
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.Est, m.Services = a.est, a.services
		m.Establishments, m.Missing = a.ests, a.missing
		m.Patient, m.Practitioner = a.patient, a.pract
		m.DemoPatients, m.DemoPractitioners = a.patients, a.practs
		if m.DemoChoice == "" {
			if len(a.patients) > 0 {
				m.DemoChoice = a.patients[0].ID
			}
			if len(a.practs) > 0 {
				m.DemoChoice = a.practs[0].ID
			}
		}
		m.Threads = a.threads
		if m.Merged && m.Service != "" && !strings.Contains(m.Service, "/") {
			// The element's service is an id, while a merged widget names
			// services with their establishment: the one establishment's
			// service of that id; with several, the patient chooses among
			// every service, one of them preselected.
			var keys []string
			for _, s := range m.Services {
				if s.ID == m.Service {
					keys = append(keys, ServiceKey(s))
				}
			}
			m.Service = ""
			if len(keys) == 1 {
				m.Service = keys[0]
			} else if len(keys) > 1 {
				m.NewService = keys[0]
			}
		}
		if m.NewService == "" && m.Service == "" && len(m.Services) > 0 {
			m.NewService = m.serviceKey(m.Services[0])
		}
		m.keepOwnOutbox()
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
		seq, choice, l := m.seq, m.DemoChoice, m.listing()
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			r := Action{Kind: signedIn, seq: seq}
			if l.side == CareTeam {
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
			r.threads, r.missing, r.err = l.threads(ctx, b)
			return r
		}))
	case SessionChanged:
		m.Loading = true
		m.clearError()
		m.seq++
		seq, l := m.seq, m.listing()
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			r := Action{Kind: signedIn, seq: seq}
			if l.side == CareTeam {
				r.pract, r.err = b.CurrentPractitioner(ctx)
			} else {
				r.patient, r.err = b.CurrentPatient(ctx)
			}
			if r.err != nil {
				r.patient, r.pract = nil, nil
				return r
			}
			if r.patient == nil && r.pract == nil {
				return Action{Kind: sessionKept, seq: seq}
			}
			r.threads, r.missing, r.err = l.threads(ctx, b)
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
		m.session.Add(1)
		m.Patient, m.Practitioner = a.patient, a.pract
		m.Screen = ScreenList
		m.keepOwnOutbox()
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.Threads, m.Missing = a.threads, a.missing
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
		// Forget everything of the session, the outbox included: it holds
		// health data and belongs to whoever signed out.
		m.forget()
		m.Outbox = nil
		m.announce(m.t("notice-signed-out"))
		return m.Apply(Action{Kind: Start})

	case ShowStatus:
		st := portal.ThreadStatus(a.Value)
		if m.Side != CareTeam || !st.Valid() {
			return nil
		}
		m.Filter = st
		if m.Screen != ScreenList {
			m.goTo(ScreenList)
			m.Conv = nil
		}
		return nil
	case Open:
		if a.ID == "" || !m.signedIn() {
			return nil
		}
		if m.Conv == nil || m.Conv.ID != a.ID {
			m.keepDraft()
			m.Conv = nil
			m.resetComposer()
			m.Body = m.drafts[a.ID]
			delete(m.drafts, a.ID)
		}
		m.goTo(ScreenThread)
		m.Loading = m.Conv == nil
		m.clearError()
		seq, id := m.seq, a.ID
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			conv, err := m.open(ctx, b, id, true)
			return Action{Kind: opened, seq: seq, conv: conv, err: err}
		}))
	case opened:
		if a.seq != m.seq {
			return nil // the person went elsewhere meanwhile
		}
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.setConv(a.conv)
		return nil
	case Back:
		m.keepDraft()
		m.goTo(ScreenList)
		m.Conv = nil
		m.clearError()
		m.resetComposer()
		seq, l := m.seq, m.listing()
		m.refreshing = true
		return bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			threads, missing, err := l.threads(ctx, b)
			return Action{Kind: listed, seq: seq, threads: threads, missing: missing, err: err}
		})
	case listed:
		m.refreshing = false
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			return m.lost(a)
		}
		m.Offline = false
		m.Threads, m.Missing = a.threads, a.missing
		return nil

	case Compose:
		if m.Side != Patient || !m.signedIn() {
			return nil
		}
		m.goTo(ScreenNew)
		m.Conv = nil
		m.clearError()
		return nil
	case CancelCompose:
		m.goTo(ScreenList)
		m.resetComposer()
		return nil
	case TypeSubject:
		m.Subject = a.Value
		m.SubjectErr = ""
		return nil
	case TypeBody:
		m.Body = a.Value
		m.FormErr = ""
		return nil
	case ChooseService:
		if m.service(a.Value) != nil {
			m.NewService = a.Value
		}
		return nil
	case ReadingFiles:
		if a.Seq != m.composer {
			return nil
		}
		if m.readFor != m.composer {
			m.reading, m.readFor = 0, m.composer
		}
		m.reading += max(a.Index, 0)
		return nil
	case AddFiles:
		if a.Seq != m.composer {
			// Read for a composer since emptied (another thread, a
			// sign-out, someone else): dropped, and its count with it
			// (Reading counts this composer's reads only). A reload of
			// the same screen (a retry) keeps the composer, and the file.
			return nil
		}
		if m.readFor == m.composer {
			m.reading = max(m.reading-a.Index, 0)
		}
		m.addFiles(a.Files)
		return nil
	case RemoveFile:
		if a.Index >= 0 && a.Index < len(m.Files) {
			m.Files = slices.Delete(m.Files, a.Index, a.Index+1)
			m.announce(m.t("notice-file-removed"))
		}
		return nil
	case DismissFileErrors:
		m.FileErr = ""
		return nil

	case Send:
		return m.send(a.ID)
	case RetrySend:
		i := m.outgoing(a.ID)
		if i < 0 || m.Outbox[i].State == Sending || m.Outbox[i].Owner != m.owner() || m.blocked(i) {
			return nil
		}
		o := &m.Outbox[i]
		o.State, o.Err, o.ErrText, o.Offline = Sending, "", "", false
		return m.deliver(*o)
	case Discard:
		i := m.outgoing(a.ID)
		if i < 0 || m.Outbox[i].State != Refused {
			return nil // a message that may already be stored is never edited: it could be sent twice
		}
		o := m.Outbox[i]
		m.Outbox = slices.Delete(m.Outbox, i, i+1)
		// Back to the composer, after what is being typed there: nothing
		// is lost.
		if strings.TrimSpace(m.Body) != "" {
			m.Body = o.Body + "\n\n" + m.Body
		} else {
			m.Body = o.Body
		}
		m.Files = append(o.Files, m.Files...)
		if len(m.Files) > portal.MaxAttachments {
			// Every file stays; the patient removes some before sending.
			m.FileErr = m.tf("file-too-many", portal.MaxAttachments)
		}
		if o.Thread == "" {
			if m.Subject == "" {
				m.Subject = o.Subject
			}
			m.NewService = o.Service
			m.goTo(ScreenNew)
		}
		return nil
	case sent:
		m.delivered(a)
		return nil
	case sendFailed:
		m.undelivered(a)
		if portal.IsCode(a.err, portal.ErrUnauthenticated) {
			return m.fail(Action{err: a.err})
		}
		return nil

	case Tick:
		if !m.signedIn() || m.refreshing || m.Loading {
			return nil
		}
		m.refreshing = true
		again := m.due()
		seq, owner, est, session, l := m.seq, m.owner(), m.Establishment, m.session, m.listing()
		epoch := session.Load()
		thread := ""
		if m.Screen == ScreenThread && m.Conv != nil {
			thread = m.Conv.ID
		}
		timeout := m.callTimeout()
		return func(ctx context.Context, b Backend) Action {
			r := Action{Kind: refreshed, seq: seq}
			// First what is shown, and whether the session is still this
			// person's (another tab may have signed someone else in).
			func() {
				ctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				r.err = m.sameSession(ctx, b, owner)
				if r.err != nil {
					return
				}
				var wg sync.WaitGroup
				var errs [2]error
				if thread != "" {
					wg.Go(func() { r.conv, errs[0] = m.open(ctx, b, thread, false) })
				}
				wg.Go(func() { r.threads, r.missing, errs[1] = l.threads(ctx, b) })
				wg.Wait()
				r.err = errors.Join(errs[:]...)
			}()
			// Then what waits, in order, only in this person's session; a
			// thread whose message fails keeps its next ones waiting.
			failed := map[string]error{}
			for _, o := range again {
				switch {
				case r.err != nil || session.Load() != epoch:
					// Not tried: the host is out of reach, or the session is
					// no longer the owner's.
					r.results = append(r.results, Action{Kind: sendFailed, ID: o.ClientID, Value: "untried"})
				case failed[o.Thread] != nil:
					r.results = append(r.results, Action{Kind: sendFailed, ID: o.ClientID, Value: "behind"})
				default:
					res := deliver(ctx, b, est, o)
					if res.err != nil {
						failed[o.Thread] = res.err
					}
					r.results = append(r.results, res)
				}
			}
			return r
		}
	case refreshed:
		m.refreshing = false
		for _, r := range a.results {
			if r.Kind == sent {
				m.delivered(r)
			} else {
				m.undelivered(r)
			}
		}
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			return m.lost(a)
		}
		m.Offline = false
		if a.conv != nil && m.Conv != nil && a.conv.ID == m.Conv.ID {
			m.setConv(a.conv)
		}
		m.Threads, m.Missing = a.threads, a.missing
		return nil

	case Assign, CloseThread:
		if m.Side != CareTeam || m.Conv == nil {
			return nil
		}
		m.clearError()
		id, kind, seq, epoch := m.Conv.ID, a.Kind, m.seq, m.session.Load()
		return m.call(a, bounded(m.callTimeout(), func(ctx context.Context, b Backend) Action {
			var t portal.Thread
			var err error
			if kind == Assign {
				t, err = b.Assign(ctx, id)
			} else {
				t, err = b.Close(ctx, id)
			}
			return Action{Kind: updated, seq: seq, epoch: epoch, thread: t, err: err, Value: string(kind)}
		}))
	case updated:
		if a.epoch != m.session.Load() {
			return nil // made in another person's session
		}
		if a.err != nil {
			if a.seq != m.seq && !portal.IsCode(a.err, portal.ErrUnauthenticated) {
				// The thread was left before the answer: the failure is
				// said (or the care team would believe it done), with no
				// retry: it would act on whatever is open now.
				m.Err, m.ErrText, m.retry = portal.Code(a.err), portal.PatientMessage(a.err, m.Lang), nil
				return nil
			}
			return m.fail(a)
		}
		m.updateThread(a.thread)
		if Kind(a.Value) == Assign {
			m.announce(m.t("notice-assigned"))
		} else {
			m.announce(m.t("notice-closed"))
		}
		return nil

	case Crashed:
		// An effect panicked: nothing it did is known. What it was sending
		// waits for the next tick (the client ids make a resend harmless);
		// the screen stops loading and says so.
		m.refreshing = false
		m.Loading = false
		for i := range m.Outbox {
			if o := &m.Outbox[i]; o.State == Sending {
				o.State, o.NextTry = Waiting, m.now().Add(backoff(1))
			}
		}
		m.Err = portal.ErrInternal
		m.ErrText = portal.ErrInternal.Message(m.Lang)
		m.retry = nil
		return nil

	case Retry:
		if m.retry == nil {
			return nil
		}
		r := *m.retry
		m.clearError()
		return m.Apply(r)
	}
	return nil
}

// errSessionChanged: the host's session is no longer the widget's person.
var errSessionChanged = portal.Errorf(portal.ErrUnauthenticated, "the session changed")

// goTo shows another screen: answers meant for the one left are dropped,
// and it is not loading (the screen's own call says if it is).
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
		// The session ended (expired, signed out or replaced in another
		// tab): forget what was shown and ask again. The outbox stays, for
		// its owner only: it is sent once they are back.
		m.forget()
		m.retry = nil
		return m.Apply(Action{Kind: Start})
	case portal.ErrNotFound:
		// A thread that is not (or no longer) the subject's: back to the list.
		if m.Screen == ScreenThread {
			m.goTo(ScreenList)
			m.Conv, m.retry = nil, nil
		}
	}
	return nil
}

// lost handles a refresh that failed: offline, the widget keeps what it
// shows and the next tick tries again; a session gone asks to sign in.
func (m *Model) lost(a Action) Cmd {
	switch portal.Code(a.err) {
	case portal.ErrUnauthenticated, portal.ErrForbidden:
		// The session is gone, or someone of the other side signed in
		// this browser: what is shown is no longer this session's.
		return m.fail(Action{err: portal.Errorf(portal.ErrUnauthenticated, "%v", a.err)})
	}
	m.Offline = true
	return nil
}

// forget drops everything of the signed-in person but the outbox (which
// keeps its owners) and the settings.
func (m *Model) forget() {
	m.session.Add(1)
	m.seq++
	m.Patient, m.Practitioner = nil, nil
	m.Threads, m.Conv, m.recent, m.drafts = nil, nil, nil, nil
	m.Screen, m.Offline, m.refreshing = ScreenList, false, false
	m.DemoChoice = ""
	m.resetComposer()
}

// owner names the signed-in person, as Outgoing.Owner does.
func (m *Model) owner() string { return ui.Person(m.Patient, m.Practitioner) }

// keepOwnOutbox drops the messages of anyone but the signed-in person:
// another person on the same device never sends, nor sees, them.
func (m *Model) keepOwnOutbox() {
	if !m.signedIn() {
		return
	}
	owner := m.owner()
	m.Outbox = slices.DeleteFunc(m.Outbox, func(o Outgoing) bool { return o.Owner != owner })
}

// sameSession checks that the host's session is still owner's.
func (m *Model) sameSession(ctx context.Context, b Backend, owner string) error {
	var who string
	if m.Side == CareTeam {
		p, err := b.CurrentPractitioner(ctx)
		if err != nil {
			return err
		}
		if p != nil {
			who = string(portal.AuthorPractitioner) + ":" + p.ID
		}
	} else {
		p, err := b.CurrentPatient(ctx)
		if err != nil {
			return err
		}
		if p != nil {
			who = string(portal.AuthorPatient) + ":" + p.ID
		}
	}
	if who != owner {
		return errSessionChanged
	}
	return nil
}

func (m *Model) signedIn() bool {
	if m.Side == CareTeam {
		return m.Practitioner != nil
	}
	return m.Patient != nil
}

// service returns a service by its id, or by its ServiceKey in a merged
// widget; nil when there is none.
func (m *Model) service(id string) *portal.Service {
	for i := range m.Services {
		if m.serviceKey(m.Services[i]) == id {
			return &m.Services[i]
		}
	}
	return nil
}

// serviceOf returns the service id of establishment est, or nil.
func (m *Model) serviceOf(est, id string) *portal.Service {
	for i := range m.Services {
		if m.Services[i].ID == id && (!m.Merged || m.Services[i].Establishment == est) {
			return &m.Services[i]
		}
	}
	return nil
}

// ServiceKey names a service among every establishment's ("est/id"):
// services of two establishments may share an id.
func ServiceKey(s portal.Service) string { return s.Establishment + "/" + s.ID }

// serviceKey is how the widget names s: its id, or its ServiceKey in a
// merged widget.
func (m *Model) serviceKey(s portal.Service) string {
	if m.Merged {
		return ServiceKey(s)
	}
	return s.ID
}

// loadAll fetches what the first screen needs, concurrently: on a phone
// each round trip costs.
func loadAll(ctx context.Context, b Backend, l listing) Action {
	var (
		wg   sync.WaitGroup
		r    = Action{Kind: loaded}
		errs [3]error
	)
	if l.merged {
		wg.Go(func() {
			var err error
			r.ests, err = b.Establishments(ctx)
			if r.missing = portal.Missing(err); r.missing == nil {
				errs[0] = err
			}
		})
	} else {
		wg.Go(func() { r.est, errs[0] = b.Establishment(ctx, l.est) })
		wg.Go(func() { r.services, errs[1] = b.Services(ctx, l.est) })
	}
	wg.Go(func() {
		if l.side == CareTeam {
			r.pract, errs[2] = b.CurrentPractitioner(ctx)
		} else {
			r.patient, errs[2] = b.CurrentPatient(ctx)
		}
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			r.err = err
			return r
		}
	}
	if r.patient == nil && r.pract == nil {
		if l.side == CareTeam {
			r.practs, r.err = b.DemoPractitioners(ctx)
		} else {
			r.patients, r.err = b.DemoPatients(ctx)
		}
		if portal.IsCode(r.err, portal.ErrNotFound) {
			r.err = nil // no demo sign-in here: the widget asks to sign in
		}
		return r
	}
	if l.merged {
		services := make([][]portal.Service, len(r.ests))
		for i, e := range r.ests {
			// Without its services an establishment takes no new thread;
			// its threads still show.
			wg.Go(func() { services[i], _ = b.Services(ctx, e.ID) })
		}
		wg.Wait()
		for _, list := range services {
			r.services = append(r.services, list...)
		}
	}
	var missing []string
	if r.ests != nil {
		l.ests = r.ests
	}
	r.threads, missing, r.err = l.threads(ctx, b)
	r.missing = append(r.missing, missing...)
	return r
}

// listing is what listing the threads needs of the model. Apply takes it
// under the renderer's lock; the effect that lists runs outside it
// (ui.Driver), while the next actions change the model (a reload after a
// sign-out writes Establishments as a refresh may still be listing).
type listing struct {
	side    Side
	merged  bool
	est     string
	service string
	ests    []portal.Establishment
}

func (m *Model) listing() listing {
	return listing{side: m.Side, merged: m.Merged, est: m.Establishment, service: m.Service, ests: m.Establishments}
}

// threads fetches the threads of the list screen: of the widget's
// establishment, or of every one of a merged widget's, latest message
// first. Establishments that fail are named in missing while the others'
// are listed; when every one fails, its error.
func (l listing) threads(ctx context.Context, b Backend) (threads []portal.Thread, missing []string, err error) {
	ids := []string{l.est}
	if l.merged {
		ids = nil
		for _, e := range l.ests {
			ids = append(ids, e.ID)
		}
	}
	parts := make([][]portal.Thread, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, est := range ids {
		wg.Go(func() {
			if l.side == CareTeam {
				parts[i], errs[i] = b.Inbox(ctx, est, portal.InboxFilter{})
			} else {
				parts[i], errs[i] = b.Threads(ctx, est)
			}
		})
	}
	wg.Wait()
	threads = []portal.Thread{}
	for i, est := range ids {
		if errs[i] != nil {
			if !l.merged || portal.IsCode(errs[i], portal.ErrUnauthenticated) || portal.IsCode(errs[i], portal.ErrForbidden) {
				return nil, nil, errs[i]
			}
			missing, err = append(missing, est), errs[i]
			continue
		}
		for _, t := range parts[i] {
			if l.service == "" || t.Service == l.service || l.merged && t.Establishment+"/"+t.Service == l.service {
				threads = append(threads, t)
			}
		}
	}
	if len(missing) < len(ids) || len(ids) == 0 {
		err = nil
	}
	if l.merged {
		ui.SortStable(threads, func(a, b *portal.Thread) int { return b.LastMessage.Compare(a.LastMessage) })
	}
	return threads, missing, err
}

// open fetches a conversation. When the person opened it (read), the
// messages of the other side are recorded as read; a refresh never does
// (a screen left open is not a reader).
func (m *Model) open(ctx context.Context, b Backend, id string, read bool) (*portal.Conversation, error) {
	conv, err := b.Thread(ctx, id)
	if err != nil {
		return nil, err
	}
	if read && conv.Unread > 0 {
		if err := b.MarkRead(ctx, id); err != nil {
			return nil, err
		}
		conv.Unread = 0
	}
	return &conv, nil
}

// setConv shows conv, keeping the messages stored since the page opened
// that a refresh started earlier may not list yet, and announces the new
// messages of the other side.
func (m *Model) setConv(conv *portal.Conversation) {
	if conv == nil {
		return
	}
	known := map[string]bool{}
	for _, msg := range conv.Messages {
		known[msg.ID] = true
	}
	for _, msg := range m.recent {
		if msg.Thread == conv.ID && !known[msg.ID] {
			conv.Messages = append(conv.Messages, msg)
		}
	}
	ui.SortStable(conv.Messages, func(a, b *portal.Message) int { return a.Created.Compare(b.Created) })
	// A message of the outbox the host lists was stored, even if the answer
	// to its sending was lost: it leaves the outbox.
	for _, msg := range conv.Messages {
		if i := m.outgoing(msg.ClientID); i >= 0 && m.mine(msg.Author) && m.Outbox[i].Thread == conv.ID {
			m.Outbox = slices.Delete(m.Outbox, i, i+1)
			m.Events = append(m.Events, Event{Name: "parcours:message-sent", Thread: msg.Thread, Message: msg.ID})
		}
	}
	if m.Conv != nil && m.Conv.ID == conv.ID {
		before := map[string]bool{}
		for _, msg := range m.Conv.Messages {
			before[msg.ID] = true
		}
		for _, msg := range conv.Messages {
			if !before[msg.ID] && !m.mine(msg.Author) {
				m.announce(m.tf("notice-new-message", msg.Author.Name))
			}
		}
	}
	m.Conv = conv
	for i := range m.Threads {
		if m.Threads[i].ID == conv.ID {
			m.Threads[i] = conv.Thread
		}
	}
}

// updateThread shows a thread's new status or assignment.
func (m *Model) updateThread(t portal.Thread) {
	if m.Conv != nil && m.Conv.ID == t.ID {
		m.Conv.Thread = t
	}
	for i := range m.Threads {
		if m.Threads[i].ID == t.ID {
			m.Threads[i] = t
		}
	}
}

// Mine reports whether an author is this widget's signed-in person.
func (m *Model) mine(a portal.Author) bool {
	switch {
	case a.Kind == portal.AuthorPatient && m.Patient != nil:
		return a.ID == m.Patient.ID
	case a.Kind == portal.AuthorPractitioner && m.Practitioner != nil:
		return a.ID == m.Practitioner.ID
	}
	return false
}

// keepDraft keeps the open conversation's unsent text for a return to it.
func (m *Model) keepDraft() {
	if m.Screen != ScreenThread || m.Conv == nil || strings.TrimSpace(m.Body) == "" {
		return
	}
	if m.drafts == nil {
		m.drafts = map[string]string{}
	}
	m.drafts[m.Conv.ID] = m.Body
}

func (m *Model) resetComposer() {
	m.Subject, m.Body, m.Files, m.FileErr, m.FormErr, m.SubjectErr = "", "", nil, "", "", ""
	m.composer++
}

// announce sets the polite status; the same text again is changed
// invisibly, so that screen readers say it again.
func (m *Model) announce(text string) {
	if text == m.Notice {
		text += "\u00a0"
	}
	m.Notice = text
}

// Reading counts the files chosen in this composer that the browser is
// still reading: the message cannot be sent before they are attached. Reads
// for a composer since emptied (another thread, a sign-out, someone else
// signed in) do not count: their files are dropped when they arrive, and a
// count that outlived its composer would either block the next one or,
// reset and then decremented by a late read, let a message leave without
// the file still being read for it.
func (m *Model) Reading() int {
	if m.readFor != m.composer {
		return 0
	}
	return m.reading
}

// FileSlots is how many more files the next message may carry.
func (m *Model) FileSlots() int {
	return max(portal.MaxAttachments-len(m.Files)-m.Reading(), 0)
}

// addFiles checks chosen files before anything is sent: kind by content,
// size, count. A refused file is named in FileErr; the others are kept.
func (m *Model) addFiles(files []File) {
	limit := m.limit()
	var problems []string
	for _, f := range files {
		switch {
		case len(m.Files) >= portal.MaxAttachments || f.OverCount:
			problems = append(problems, m.tf("file-too-many", portal.MaxAttachments))
		case f.Size > limit || int64(len(f.Content)) > limit:
			problems = append(problems, m.tf("file-too-large", f.Name, megabytes(limit)))
		default:
			ct, err := portal.SniffAttachment(f.Name, f.Content)
			if err != nil {
				problems = append(problems, m.tf("file-rejected", f.Name))
				continue
			}
			f.ContentType, f.Size = ct, int64(len(f.Content))
			m.Files = append(m.Files, f)
			m.announce(m.tf("notice-file-added", f.Name))
		}
	}
	m.FileErr = strings.Join(slices.Compact(problems), " ")
}

// limit is the attachment size limit the widget checks.
func (m *Model) limit() int64 {
	if m.MaxAttachment > 0 {
		return m.MaxAttachment
	}
	return portal.DefaultMaxAttachmentSize
}

func megabytes(n int64) int64 { return (n + 1<<20 - 1) >> 20 }

// Composer is the composer's generation, for files read meanwhile: they
// are attached if it is still the same composer when they arrive.
func (m *Model) Composer() int { return m.composer }

// send moves the composer's message to the outbox and sends it, unless an
// earlier message of the same thread still waits: it then waits behind it.
// Its client id is clientID (a form post's), else the form's, else new.
func (m *Model) send(clientID string) Cmd {
	if !m.signedIn() || m.Reading() > 0 {
		return nil
	}
	o := Outgoing{Owner: m.owner(), Body: m.Body, Files: m.Files, State: Sending}
	switch {
	case m.Screen == ScreenNew && m.Side == Patient:
		o.Service = m.Service
		if o.Service == "" {
			o.Service = m.NewService
		}
		o.Subject = strings.TrimSpace(m.Subject)
		if err := portal.ValidateThreadSubject(o.Subject); err != nil {
			m.SubjectErr = m.t("subject-needed")
			if portal.IsCode(err, portal.ErrTooLarge) {
				m.SubjectErr = m.tf("subject-too-long", portal.MaxThreadSubject)
			}
		}
		if m.outgoingThread() >= 0 {
			return nil // the new thread is already on its way
		}
	case m.Screen == ScreenThread && m.Conv != nil:
		o.Thread = m.Conv.ID
	default:
		return nil
	}
	if err := portal.ValidateMessageBody(o.Body); err != nil {
		m.FormErr = m.t("body-needed")
		if portal.IsCode(err, portal.ErrTooLarge) {
			m.FormErr = m.tf("body-too-long", portal.MaxMessageBody)
		}
	}
	if len(o.Files) > portal.MaxAttachments {
		m.FileErr = m.tf("file-too-many", portal.MaxAttachments)
		return nil
	}
	if m.SubjectErr != "" || m.FormErr != "" {
		return nil
	}
	o.ClientID = cmp.Or(clientID, m.FormClient, NewClientID())
	m.FormClient = ""
	m.Outbox = append(m.Outbox, o)
	// The composer empties at once; the message shows as sending. A new
	// thread's too (its subject stays in view): what comes back to the
	// composer on Discard is the outbox's copy, and only it.
	m.Body, m.Files, m.FileErr = "", nil, ""
	i := len(m.Outbox) - 1
	if m.blocked(i) {
		m.Outbox[i].State = Waiting
		m.announce(m.t("notice-waiting"))
		return nil
	}
	m.announce(m.t("notice-sending"))
	return m.deliver(o)
}

// blocked reports whether an earlier message of the same thread is still
// in the outbox (not refused): messages leave in order.
func (m *Model) blocked(i int) bool {
	for _, o := range m.Outbox[:i] {
		if o.Thread == m.Outbox[i].Thread && o.State != Refused {
			return true
		}
	}
	return false
}

// due marks sending, and returns in order, the messages a tick sends: this
// person's, waiting, whose time has come.
func (m *Model) due() []Outgoing {
	var out []Outgoing
	now, owner := m.now(), m.owner()
	for i := range m.Outbox {
		o := &m.Outbox[i]
		if o.Owner == owner && o.State == Waiting && !o.NextTry.After(now) {
			o.State = Sending
			out = append(out, *o)
		}
	}
	return out
}

// outgoingThread is the index of the new thread in the outbox, or -1.
func (m *Model) outgoingThread() int {
	for i, o := range m.Outbox {
		if o.Thread == "" {
			return i
		}
	}
	return -1
}

func (m *Model) outgoing(clientID string) int {
	for i, o := range m.Outbox {
		if o.ClientID == clientID {
			return i
		}
	}
	return -1
}

func (m *Model) deliver(o Outgoing) Cmd {
	est := m.Establishment
	return func(ctx context.Context, b Backend) Action { return deliver(ctx, b, est, o) }
}

// sendTimeout bounds the sending of a message: its files get time at a
// slow phone's upload rate (base64 makes them a third larger).
func sendTimeout(o Outgoing) time.Duration {
	var n int64
	for _, f := range o.Files {
		n += f.Size
	}
	return DefaultCallTimeout + time.Duration(n/(16<<10))*time.Second
}

// deliver sends one outgoing message; the answer is sent or sendFailed.
// A reply also records that its writer read the thread.
func deliver(ctx context.Context, b Backend, est string, o Outgoing) Action {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout(o))
	defer cancel()
	var atts []portal.NewAttachment
	for _, f := range o.Files {
		atts = append(atts, portal.NewAttachment{Name: f.Name, ContentType: f.ContentType, Content: f.Content})
	}
	r := Action{ID: o.ClientID}
	var err error
	if o.Thread == "" {
		var conv portal.Conversation
		service := o.Service
		if est == "" {
			// A merged widget names the service with its establishment.
			est, service, _ = strings.Cut(o.Service, "/")
		}
		conv, err = b.StartThread(ctx, portal.NewThread{
			Establishment: est, Service: service, Subject: o.Subject, Body: o.Body, ClientID: o.ClientID, Attachments: atts,
		})
		if err == nil {
			r.conv = &conv
			if len(conv.Messages) > 0 {
				r.message = conv.Messages[0]
			}
		}
	} else {
		r.message, err = b.Send(ctx, o.Thread, portal.NewMessage{ClientID: o.ClientID, Body: o.Body, Attachments: atts})
		if err == nil {
			b.MarkRead(ctx, o.Thread) // answering is reading; a failure here changes nothing sent
		}
	}
	if err != nil {
		r.Kind, r.err = sendFailed, err
		return r
	}
	r.Kind = sent
	return r
}

// delivered takes a stored message out of the outbox into its conversation.
func (m *Model) delivered(a Action) {
	i := m.outgoing(a.ID)
	if i < 0 {
		return // already taken (a retry and a tick both got through)
	}
	o := m.Outbox[i]
	m.Outbox = slices.Delete(m.Outbox, i, i+1)
	if o.Owner != m.owner() {
		return // sent in its owner's session, who has left since
	}
	if a.message.ID != "" {
		m.recent = append(m.recent, a.message)
	}
	m.announce(m.t("notice-sent"))
	m.Events = append(m.Events, Event{Name: "parcours:message-sent", Thread: a.message.Thread, Message: a.message.ID})
	if o.Thread == "" && a.conv != nil {
		// The new thread: open it, unless the patient left the form.
		if !slices.ContainsFunc(m.Threads, func(t portal.Thread) bool { return t.ID == a.conv.ID }) {
			m.Threads = append([]portal.Thread{a.conv.Thread}, m.Threads...)
		}
		if m.Screen == ScreenNew {
			m.resetComposer()
			m.goTo(ScreenThread)
			m.Conv = nil
			m.setConv(a.conv)
		}
		return
	}
	if m.Conv != nil && m.Conv.ID == o.Thread {
		for _, msg := range m.Conv.Messages {
			if msg.ID == a.message.ID {
				return
			}
		}
		m.Conv.Messages = append(m.Conv.Messages, a.message)
	}
}

// undelivered records why an outgoing message did not go: it waits for the
// next try (backing off), or is refused for good.
func (m *Model) undelivered(a Action) {
	i := m.outgoing(a.ID)
	if i < 0 {
		return
	}
	o := &m.Outbox[i]
	if a.Value == "behind" || a.Value == "untried" {
		// An earlier message of its thread failed, or the tick could not
		// reach the host: it waits, as it was.
		o.State = Waiting
		return
	}
	o.Tries++
	o.Err = portal.Code(a.err)
	o.ErrText = portal.PatientMessage(a.err, m.Lang)
	o.Offline = o.Err == portal.ErrBackendUnavailable
	if retriable(a.err) {
		// No network: the next tick tries again (it checks the host first,
		// so a phone still offline costs one small request). The host
		// failing or busy: back off.
		wait := DefaultPollEvery
		if !o.Offline {
			wait = backoff(o.Tries)
		}
		o.State, o.NextTry = Waiting, m.now().Add(wait)
		if o.Offline {
			m.announce(m.t("notice-queued"))
		} else {
			m.announce(m.t("notice-retrying"))
		}
		return
	}
	o.State = Refused
	m.announce(m.t("notice-refused"))
}

// retriable reports whether the same request may succeed later: the host
// could not be reached or could not answer now, or the session must be
// opened again (the message waits for its owner); the others are the host's
// refusals of the message as it is.
func retriable(err error) bool {
	switch portal.Code(err) {
	case portal.ErrBackendUnavailable, portal.ErrRateLimited, portal.ErrInternal, portal.ErrUnauthenticated:
		return true
	}
	return false
}

// backoff is the wait before try n+1: 5 s, then doubling, at most 2 min (a
// phone back online is caught by the next tick within that).
func backoff(tries int) time.Duration {
	d := DefaultPollEvery
	for i := 1; i < tries && d < 2*time.Minute; i++ {
		d *= 2
	}
	return min(d, 2*time.Minute)
}

// Unread is the number of unread messages over the threads listed.
func (m *Model) Unread() int {
	n := 0
	for _, t := range m.Threads {
		n += t.Unread
	}
	return n
}

// Listed returns the threads of the list screen: a patient's, or the
// inbox's of the selected status.
func (m *Model) Listed() []portal.Thread {
	if m.Side == Patient {
		return m.Threads
	}
	var out []portal.Thread
	for _, t := range m.Threads {
		if t.Status == m.Filter {
			out = append(out, t)
		}
	}
	return out
}

// Count returns the number of threads and of unread messages with a status.
func (m *Model) Count(st portal.ThreadStatus) (threads, unread int) {
	for _, t := range m.Threads {
		if t.Status == st {
			threads++
			unread += t.Unread
		}
	}
	return threads, unread
}

// Pending returns the outbox's messages of the open thread.
func (m *Model) Pending() []Outgoing {
	var out []Outgoing
	for _, o := range m.Outbox {
		if (m.Screen == ScreenThread && m.Conv != nil && o.Thread == m.Conv.ID) || (m.Screen == ScreenNew && o.Thread == "") {
			out = append(out, o)
		}
	}
	return out
}

func (m *Model) t(key string) string { return messages.T(m.Lang, key) }

func (m *Model) tf(key string, args ...any) string { return messages.Tf(m.Lang, key, args...) }

// NewClientID returns a message's client id: 128 random bits (the browser
// build leaves crypto/rand out; the runtime seeds math/rand from the
// platform's random source). The id must be unique, not secret.
func NewClientID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return "msg-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
