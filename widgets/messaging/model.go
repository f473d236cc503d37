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
	"context"
	"encoding/base32"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Backend is what the widget needs from the edge host. sdk/client
// implements it over HTTP; the host implements it directly to render the
// first paint.
type Backend interface {
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
}

// OutState is the state of a message on its way.
type OutState string

// States of the outbox. A message the host stored leaves the outbox: it is
// then "sent" (and "read" once the other side opened it).
const (
	Sending OutState = "sending"
	Failed  OutState = "failed"
)

// Outgoing is a message in the outbox: typed, not yet stored by the host.
type Outgoing struct {
	ClientID string
	Thread   string // "" for the first message of a new thread
	Service  string // a new thread's service
	Subject  string // a new thread's subject
	Body     string
	Files    []File
	State    OutState
	// Err says why it failed. Permanent: the host refused it (too large, a
	// rejected file …), and sending it again as it is cannot help; otherwise
	// the network or the host was away, and the next tick sends it again.
	Err       portal.ErrorCode
	ErrText   string
	Permanent bool
	Tries     int
}

// Model is the whole state of the widget.
type Model struct {
	Side          Side
	Lang          string
	Establishment string
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
	seq        int // bumped by each screen change: late answers are dropped

	Est               portal.Establishment
	Services          []portal.Service
	Patient           *portal.Patient
	Practitioner      *portal.Practitioner
	DemoPatients      []portal.Patient
	DemoPractitioners []portal.Practitioner
	DemoChoice        string

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
	// FormErr is the composer's problem found on sending (empty body …).
	FormErr string
	// MaxAttachment is the size limit the widget checks before sending
	// (the host checks its own); 0 means portal.DefaultMaxAttachmentSize.
	MaxAttachment int64

	Outbox []Outgoing
	// recent are the messages stored since the page opened: a refresh that
	// started before one of them was stored must not hide it.
	recent []portal.Message

	// Notice is a polite status for screen readers.
	Notice string
	Events []Event
	Now    func() time.Time
}

// NewModel returns the state before anything has loaded.
func NewModel(side Side, lang, establishment, service string) *Model {
	if side != CareTeam {
		side = Patient
	}
	m := &Model{Side: side, Lang: lang, Establishment: establishment, Screen: ScreenList, Loading: true}
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

// Kind names an action.
type Kind string

// Actions: intents, then results of calls.
const (
	Start             Kind = "start"
	Tick              Kind = "tick" // refresh what is shown; resend what failed
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
	AddFiles          Kind = "add-files" // Files
	RemoveFile        Kind = "remove-file"
	Send              Kind = "send"
	RetrySend         Kind = "retry-send" // ID: the client id
	Discard           Kind = "discard"    // ID: back to the composer
	Assign            Kind = "assign"
	CloseThread       Kind = "close"
	Retry             Kind = "retry"
	DismissFileErrors Kind = "dismiss-file-errors"

	loaded     Kind = "loaded"
	signedIn   Kind = "signed-in"
	signedOut  Kind = "signed-out"
	listed     Kind = "listed"
	opened     Kind = "opened"
	refreshed  Kind = "refreshed"
	sent       Kind = "sent"
	sendFailed Kind = "send-failed"
	updated    Kind = "updated"
)

// Action is an intent or a result.
type Action struct {
	Kind  Kind
	ID    string
	Value string
	Index int
	Files []File

	seq      int
	est      portal.Establishment
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
		return m.call(a, m.loadAll)
	case loaded:
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.Est, m.Services = a.est, a.services
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
		if m.NewService == "" && m.Service == "" && len(m.Services) > 0 {
			m.NewService = m.Services[0].ID
		}
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
		choice := m.DemoChoice
		return m.call(a, func(ctx context.Context, b Backend) Action {
			r := Action{Kind: signedIn}
			if m.Side == CareTeam {
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
			r.threads, r.err = m.list(ctx, b)
			return r
		})
	case signedIn:
		if a.err != nil && a.patient == nil && a.pract == nil {
			return m.fail(a)
		}
		m.Patient, m.Practitioner = a.patient, a.pract
		m.Screen = ScreenList
		m.seq++
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.Threads = a.threads
		m.Notice = m.t("notice-signed-in")
		return nil
	case SignOut:
		m.Loading = true
		m.clearError()
		return m.call(a, func(ctx context.Context, b Backend) Action {
			return Action{Kind: signedOut, err: b.SignOut(ctx)}
		})
	case signedOut:
		if a.err != nil {
			return m.fail(a)
		}
		// Forget everything of the session, the outbox included: it holds
		// health data and belongs to whoever signed out.
		side, lang, est, svc, now := m.Side, m.Lang, m.Establishment, m.Service, m.Now
		*m = *NewModel(side, lang, est, svc)
		m.Now = now
		m.Notice = m.t("notice-signed-out")
		return m.Apply(Action{Kind: Start})

	case ShowStatus:
		st := portal.ThreadStatus(a.Value)
		if m.Side != CareTeam || !st.Valid() {
			return nil
		}
		m.Filter = st
		if m.Screen != ScreenList {
			m.Screen = ScreenList
			m.Conv = nil
			m.seq++
		}
		return nil
	case Open:
		if a.ID == "" || !m.signedIn() {
			return nil
		}
		m.Screen = ScreenThread
		if m.Conv == nil || m.Conv.ID != a.ID {
			m.Conv = nil
			m.Loading = true
			m.resetComposer()
		}
		m.clearError()
		m.seq++
		seq, id := m.seq, a.ID
		return m.call(a, func(ctx context.Context, b Backend) Action {
			conv, err := m.open(ctx, b, id)
			return Action{Kind: opened, seq: seq, conv: conv, err: err}
		})
	case opened:
		if a.seq != m.seq {
			return nil // the patient went elsewhere meanwhile
		}
		if a.err != nil {
			return m.fail(a)
		}
		m.Loading = false
		m.setConv(a.conv)
		return nil
	case Back:
		m.Screen = ScreenList
		m.Conv = nil
		m.clearError()
		m.resetComposer()
		m.seq++
		seq := m.seq
		m.refreshing = true
		return func(ctx context.Context, b Backend) Action {
			threads, err := m.list(ctx, b)
			return Action{Kind: listed, seq: seq, threads: threads, err: err}
		}
	case listed:
		m.refreshing = false
		if a.seq != m.seq {
			return nil
		}
		if a.err != nil {
			m.Offline = offline(a.err)
			return nil // the list shown stays; the next tick tries again
		}
		m.Offline = false
		m.Threads = a.threads
		return nil

	case Compose:
		if m.Side != Patient || !m.signedIn() {
			return nil
		}
		m.Screen = ScreenNew
		m.Conv = nil
		m.clearError()
		m.seq++
		return nil
	case CancelCompose:
		m.Screen = ScreenList
		m.resetComposer()
		return nil
	case TypeSubject:
		m.Subject = a.Value
		m.FormErr = ""
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
	case AddFiles:
		m.addFiles(a.Files)
		return nil
	case RemoveFile:
		if a.Index >= 0 && a.Index < len(m.Files) {
			m.Files = slices.Delete(m.Files, a.Index, a.Index+1)
			m.Notice = m.t("notice-file-removed")
		}
		return nil
	case DismissFileErrors:
		m.FileErr = ""
		return nil

	case Send:
		return m.send()
	case RetrySend:
		i := m.outgoing(a.ID)
		if i < 0 || m.Outbox[i].State == Sending {
			return nil
		}
		m.Outbox[i].State = Sending
		m.Outbox[i].Err, m.Outbox[i].ErrText, m.Outbox[i].Permanent = "", "", false
		return m.deliver(m.Outbox[i])
	case Discard:
		i := m.outgoing(a.ID)
		if i < 0 || m.Outbox[i].State == Sending {
			return nil
		}
		o := m.Outbox[i]
		m.Outbox = slices.Delete(m.Outbox, i, i+1)
		// Back to the composer, so that nothing typed is lost.
		m.Body, m.Files = o.Body, o.Files
		if o.Thread == "" {
			m.Subject, m.NewService = o.Subject, o.Service
			m.Screen = ScreenNew
		}
		return nil
	case sent:
		m.delivered(a)
		return nil
	case sendFailed:
		m.undelivered(a)
		return nil

	case Tick:
		if !m.signedIn() || m.refreshing || m.Loading {
			return nil
		}
		m.refreshing = true
		// Send again what failed for want of a network, with the same
		// client ids.
		var again []Outgoing
		for i := range m.Outbox {
			if o := &m.Outbox[i]; o.State == Failed && !o.Permanent {
				o.State = Sending
				again = append(again, *o)
			}
		}
		seq, screen := m.seq, m.Screen
		thread := ""
		if screen == ScreenThread && m.Conv != nil {
			thread = m.Conv.ID
		}
		return func(ctx context.Context, b Backend) Action {
			r := Action{Kind: refreshed, seq: seq}
			for _, o := range again {
				r.results = append(r.results, deliver(ctx, b, m.Establishment, o))
			}
			if thread != "" {
				r.conv, r.err = m.open(ctx, b, thread)
			}
			if r.err == nil {
				r.threads, r.err = m.list(ctx, b)
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
			m.Offline = offline(a.err)
			if portal.IsCode(a.err, portal.ErrUnauthenticated) {
				return m.fail(a)
			}
			return nil
		}
		m.Offline = false
		if a.conv != nil && m.Conv != nil && a.conv.ID == m.Conv.ID {
			m.setConv(a.conv)
		}
		m.Threads = a.threads
		return nil

	case Assign, CloseThread:
		if m.Side != CareTeam || m.Conv == nil {
			return nil
		}
		m.clearError()
		id, kind := m.Conv.ID, a.Kind
		return m.call(a, func(ctx context.Context, b Backend) Action {
			var t portal.Thread
			var err error
			if kind == Assign {
				t, err = b.Assign(ctx, id)
			} else {
				t, err = b.Close(ctx, id)
			}
			return Action{Kind: updated, thread: t, err: err, Value: string(kind)}
		})
	case updated:
		if a.err != nil {
			return m.fail(a)
		}
		m.updateThread(a.thread)
		if Kind(a.Value) == Assign {
			m.Notice = m.t("notice-assigned")
		} else {
			m.Notice = m.t("notice-closed")
		}
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
		// The session ended (expired, or signed out in another tab): ask
		// again. The outbox stays: it is sent once the same person is back.
		m.Patient, m.Practitioner = nil, nil
		m.Screen, m.Conv, m.retry = ScreenList, nil, nil
		m.seq++
		return m.call(Action{Kind: Start}, m.loadAll)
	case portal.ErrNotFound:
		// A thread that is not (or no longer) the subject's: back to the list.
		if m.Screen == ScreenThread {
			m.Screen, m.Conv, m.retry = ScreenList, nil, nil
		}
	}
	return nil
}

func (m *Model) signedIn() bool {
	if m.Side == CareTeam {
		return m.Practitioner != nil
	}
	return m.Patient != nil
}

// service returns the establishment's service id, or nil.
func (m *Model) service(id string) *portal.Service {
	for i := range m.Services {
		if m.Services[i].ID == id {
			return &m.Services[i]
		}
	}
	return nil
}

// loadAll fetches what the first screen needs, concurrently: on a phone
// each round trip costs.
func (m *Model) loadAll(ctx context.Context, b Backend) Action {
	var (
		wg   sync.WaitGroup
		r    = Action{Kind: loaded}
		errs [3]error
	)
	wg.Go(func() { r.est, errs[0] = b.Establishment(ctx, m.Establishment) })
	wg.Go(func() { r.services, errs[1] = b.Services(ctx, m.Establishment) })
	wg.Go(func() {
		if m.Side == CareTeam {
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
		if m.Side == CareTeam {
			r.practs, r.err = b.DemoPractitioners(ctx)
		} else {
			r.patients, r.err = b.DemoPatients(ctx)
		}
		if portal.IsCode(r.err, portal.ErrNotFound) {
			r.err = nil // no demo sign-in here: the widget asks to sign in
		}
		return r
	}
	r.threads, r.err = m.list(ctx, b)
	return r
}

// list fetches the threads of the list screen.
func (m *Model) list(ctx context.Context, b Backend) ([]portal.Thread, error) {
	if m.Side == CareTeam {
		return b.Inbox(ctx, m.Establishment, portal.InboxFilter{})
	}
	all, err := b.Threads(ctx, m.Establishment)
	if err != nil || m.Service == "" {
		return all, err
	}
	out := []portal.Thread{}
	for _, t := range all {
		if t.Service == m.Service {
			out = append(out, t)
		}
	}
	return out, nil
}

// open fetches a conversation and records its reading when it holds
// unread messages of the other side.
func (m *Model) open(ctx context.Context, b Backend, id string) (*portal.Conversation, error) {
	conv, err := b.Thread(ctx, id)
	if err != nil {
		return nil, err
	}
	if conv.Unread > 0 {
		if err := b.MarkRead(ctx, id); err != nil {
			return nil, err
		}
		// What the other side will see: read now, by this side.
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
	slices.SortStableFunc(conv.Messages, func(a, b portal.Message) int { return a.Created.Compare(b.Created) })
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
				m.Notice = m.tf("notice-new-message", msg.Author.Name)
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

func (m *Model) resetComposer() {
	m.Subject, m.Body, m.Files, m.FileErr, m.FormErr = "", "", nil, "", ""
}

// addFiles checks chosen files before anything is sent: kind by content,
// size, count. A refused file is named in FileErr; the others are kept.
func (m *Model) addFiles(files []File) {
	limit := m.limit()
	var problems []string
	for _, f := range files {
		switch {
		case len(m.Files) >= portal.MaxAttachments:
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
			m.Notice = m.tf("notice-file-added", f.Name)
		}
	}
	m.FileErr = strings.Join(problems, " ")
}

// limit is the attachment size limit the widget checks.
func (m *Model) limit() int64 {
	if m.MaxAttachment > 0 {
		return m.MaxAttachment
	}
	return portal.DefaultMaxAttachmentSize
}

func megabytes(n int64) int64 { return (n + 1<<20 - 1) >> 20 }

// send moves the composer's message to the outbox and sends it.
func (m *Model) send() Cmd {
	if !m.signedIn() {
		return nil
	}
	o := Outgoing{ClientID: newClientID(), Body: m.Body, Files: m.Files, State: Sending}
	switch {
	case m.Screen == ScreenNew && m.Side == Patient:
		o.Service = m.Service
		if o.Service == "" {
			o.Service = m.NewService
		}
		o.Subject = strings.TrimSpace(m.Subject)
		if err := portal.ValidateThreadSubject(o.Subject); err != nil {
			m.FormErr = m.t("subject-needed")
			if portal.IsCode(err, portal.ErrTooLarge) {
				m.FormErr = m.tf("subject-too-long", portal.MaxThreadSubject)
			}
			return nil
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
		return nil
	}
	m.FormErr = ""
	m.Outbox = append(m.Outbox, o)
	if o.Thread != "" {
		// The composer empties at once; the message shows as sending.
		m.Body, m.Files, m.FileErr = "", nil, ""
	}
	m.Notice = m.t("notice-sending")
	return m.deliver(o)
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

// deliver sends one outgoing message; the answer is sent or sendFailed.
func deliver(ctx context.Context, b Backend, est string, o Outgoing) Action {
	var atts []portal.NewAttachment
	for _, f := range o.Files {
		atts = append(atts, portal.NewAttachment{Name: f.Name, ContentType: f.ContentType, Content: f.Content})
	}
	r := Action{ID: o.ClientID}
	var err error
	if o.Thread == "" {
		var conv portal.Conversation
		conv, err = b.StartThread(ctx, portal.NewThread{
			Establishment: est, Service: o.Service, Subject: o.Subject, Body: o.Body, ClientID: o.ClientID, Attachments: atts,
		})
		if err == nil {
			r.conv = &conv
			if len(conv.Messages) > 0 {
				r.message = conv.Messages[0]
			}
		}
	} else {
		r.message, err = b.Send(ctx, o.Thread, portal.NewMessage{ClientID: o.ClientID, Body: o.Body, Attachments: atts})
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
	if a.message.ID != "" {
		m.recent = append(m.recent, a.message)
	}
	m.Notice = m.t("notice-sent")
	m.Events = append(m.Events, Event{Name: "parcours:message-sent", Thread: a.message.Thread, Message: a.message.ID})
	if o.Thread == "" && a.conv != nil {
		// The new thread: open it, unless the patient left the form.
		m.Threads = append([]portal.Thread{a.conv.Thread}, m.Threads...)
		if m.Screen == ScreenNew {
			m.resetComposer()
			m.Screen = ScreenThread
			m.Conv = nil
			m.seq++
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

// undelivered marks an outgoing message failed, with the reason.
func (m *Model) undelivered(a Action) {
	i := m.outgoing(a.ID)
	if i < 0 {
		return
	}
	o := &m.Outbox[i]
	o.State = Failed
	o.Tries++
	o.Err = portal.Code(a.err)
	o.ErrText = portal.PatientMessage(a.err, m.Lang)
	o.Permanent = !offline(a.err)
	if o.Permanent {
		m.Notice = m.t("notice-refused")
	} else {
		m.Notice = m.t("notice-queued")
	}
}

// offline reports whether err means that the host could not be reached or
// could not answer now, so that the same request may succeed later; the
// others are the host's refusals.
func offline(err error) bool {
	switch portal.Code(err) {
	case portal.ErrBackendUnavailable, portal.ErrRateLimited, portal.ErrInternal:
		return true
	}
	return false
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

// newClientID returns a message's client id: 128 random bits (the browser
// build leaves crypto/rand out; the runtime seeds math/rand from the
// platform's random source).
func newClientID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return "msg-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
