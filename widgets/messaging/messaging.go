package messaging

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// MountID is the id of the widget's root element (see widgets/booking).
const MountID = "parcours-root"

// DefaultPollEvery is how often the widget fetches what it shows again.
const DefaultPollEvery = 5 * time.Second

// Messaging is the vugu root component of both messaging widgets.
type Messaging struct {
	M       *Model
	Backend Backend
	// Emit, when set, receives widget events for the host page; it must
	// not block.
	Emit func(Event)
	Ctx  context.Context
	// PollEvery is the refresh period in a browser; 0 means
	// DefaultPollEvery, negative never (tests tick by hand).
	PollEvery time.Duration
	// Hidden, when set, reports that the page is not visible: ticks are
	// skipped then (a phone in a pocket need not poll).
	Hidden     func() bool
	Interacted bool
	// Action is where the widget's form posts (the host's document for
	// this widget): before the Wasm runs, opening a thread and going back
	// are form posts the host answers (Serve).
	Action string
	driver *ui.Driver[Action, Backend]
}

// OpenValue is the value of a thread's button: the form post that opens it
// before the Wasm runs (Serve).
func (c *Messaging) OpenValue(id string) string { return string(Open) + ":" + id }

// StatusValue is the form value of an inbox tab: "status:<status>".
func (c *Messaging) StatusValue(st string) string { return string(ShowStatus) + ":" + st }

// ThreadValue is the form value of an action on the open thread
// ("assign", "close"): "<action>:<thread>".
func (c *Messaging) ThreadValue(kind string) string {
	if c.M.Conv == nil {
		return kind
	}
	return kind + ":" + c.M.Conv.ID
}

// SendValue is the form value of the send button: "send:<thread>" in a
// thread, "send" for a new thread.
func (c *Messaging) SendValue() string {
	if c.M.Screen == ScreenThread && c.M.Conv != nil {
		return string(Send) + ":" + c.M.Conv.ID
	}
	return string(Send)
}

func (c *Messaging) drive() *ui.Driver[Action, Backend] {
	if c.driver == nil {
		c.driver = &ui.Driver[Action, Backend]{
			Apply:      func(a Action) func(context.Context, Backend) Action { return c.M.Apply(a) },
			Backend:    c.Backend,
			HasBackend: c.Backend != nil,
			Ctx:        c.Ctx,
			Panicked:   func(error) Action { return Action{Kind: Crashed} },
			After:      c.flushEvents,
		}
	}
	return c.driver
}

// Init starts loading (unless the host's snapshot hydrated the model) and
// the refresh ticker, when the component is first built in a browser.
func (c *Messaging) Init(ctx vugu.InitCtx) {
	ee := ctx.EventEnv()
	if ee == nil || c.Backend == nil {
		return // a server-side render
	}
	if c.M.Loading {
		c.drive().Start(ee, Action{Kind: Start})
	}
	every := c.PollEvery
	if every == 0 {
		every = DefaultPollEvery
	}
	if every > 0 {
		go ui.Every(every, c.Hidden, func() { c.Poll(ee) })
	}
}

// Poll refreshes what the widget shows and sends again what failed, as the
// ticker does. It takes the renderer's write lock.
func (c *Messaging) Poll(ee vugu.EventEnv) {
	ee.Lock()
	c.drive().Dispatch(ee, Action{Kind: Tick})
	ee.UnlockRender()
}

// Attach adds files chosen in the composer seq (Model.Composer) once read
// by the browser bridge: if that composer was emptied meanwhile (the person
// left its thread, or signed out), they are dropped. reading is how many files ReadingFiles announced for them. It
// takes the renderer's write lock.
func (c *Messaging) Attach(ee vugu.EventEnv, seq, reading int, files []File) {
	ee.Lock()
	c.drive().Dispatch(ee, Action{Kind: AddFiles, Seq: seq, Index: reading, Files: files})
	ee.UnlockRender()
}

// Do handles a button: the named action with an id argument.
func (c *Messaging) Do(event vugu.DOMEvent, kind, id string) {
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), ID: id, Value: id})
}

// DoIndex handles a button whose argument is an index.
func (c *Messaging) DoIndex(event vugu.DOMEvent, kind string, i int) {
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), Index: i})
}

// Change handles a field: the named action with the field's value.
func (c *Messaging) Change(event vugu.DOMEvent, kind string) {
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), Value: event.PropString("target", "value")})
}

// Running reports how many backend calls are under way (under the lock).
func (c *Messaging) Running() int { return c.drive().Running() }

// View reports the screen (focus moves to its heading when it changes after
// the person acted), whether it is loading, and whether they acted.
func (c *Messaging) View() (screen string, loading, interacted bool) {
	return string(c.M.Screen), c.M.Loading, c.Interacted
}

func (c *Messaging) flushEvents() { ui.Flush(&c.M.Events, c.Emit) }

// View helpers, called by the template.

// T returns a UI text in the widget's language.
func (c *Messaging) T(key string) string { return messages.T(c.M.Lang, key) }

func (c *Messaging) tf(key string, args ...any) string { return messages.Tf(c.M.Lang, key, args...) }

// Busy is the aria-busy value.
func (c *Messaging) Busy() string { return strconv.FormatBool(c.M.Loading) }

// Title is the widget's heading.
func (c *Messaging) Title() string {
	if c.M.Side == CareTeam {
		return c.T("title-inbox")
	}
	if s := c.M.service(c.M.Service); s != nil {
		return c.T("title-patient") + " — " + s.Name.In(c.M.Lang)
	}
	return c.T("title-patient")
}

// CanRetry reports whether the error's action can be tried again.
func (c *Messaging) CanRetry() bool { return c.M.retry != nil }

// SignedIn reports whether someone is signed in.
func (c *Messaging) SignedIn() bool { return c.M.signedIn() }

// ShowSignIn reports whether the sign-in panel shows.
func (c *Messaging) ShowSignIn() bool {
	return !c.M.Loading && !c.M.signedIn() && (c.M.Err == "" || c.M.Err == portal.ErrUnauthenticated)
}

// Show reports whether a screen's panel is visible.
func (c *Messaging) Show(screen string) bool {
	if !c.M.signedIn() || c.M.Screen != Screen(screen) {
		return false
	}
	switch c.M.Screen {
	case ScreenThread:
		return c.M.Conv != nil
	case ScreenList:
		return !c.M.Loading
	}
	return true
}

// ShowComposer reports whether the composer shows: in a conversation, and
// for a new thread until it is on its way.
func (c *Messaging) ShowComposer() bool {
	return c.Show(string(ScreenThread)) || (c.Show(string(ScreenNew)) && c.M.outgoingThread() < 0)
}

// Option is a choice of a select.
type Option struct{ ID, Label string }

// DemoOptions are the demo people one may sign in as.
func (c *Messaging) DemoOptions() []Option {
	var out []Option
	for _, p := range c.M.DemoPatients {
		out = append(out, Option{p.ID, p.DisplayName()})
	}
	for _, p := range c.M.DemoPractitioners {
		out = append(out, Option{p.ID, practitionerLabel(p, c.M.Lang)})
	}
	return out
}

func practitionerLabel(p portal.Practitioner, lang string) string {
	if r := p.Role.In(lang); r != "" {
		return p.Name + " (" + r + ")"
	}
	return p.Name
}

// HasDemo reports whether demo sign-in is offered.
func (c *Messaging) HasDemo() bool { return len(c.M.DemoPatients)+len(c.M.DemoPractitioners) > 0 }

// SignInText says why to sign in.
func (c *Messaging) SignInText() string {
	if c.M.Side == CareTeam {
		return c.T("signin-needed-pro")
	}
	return c.T("signin-needed")
}

// DemoLabel labels the demo select.
func (c *Messaging) DemoLabel() string {
	if c.M.Side == CareTeam {
		return c.T("demo-practitioner")
	}
	return c.T("demo-patient")
}

// SignedInAs names who is signed in.
func (c *Messaging) SignedInAs() string {
	switch {
	case c.M.Practitioner != nil:
		return c.tf("signed-in-as", practitionerLabel(*c.M.Practitioner, c.M.Lang))
	case c.M.Patient != nil:
		return c.tf("signed-in-as", c.M.Patient.DisplayName())
	}
	return ""
}

// UnreadText counts the unread messages.
func (c *Messaging) UnreadText() string {
	switch n := c.M.Unread(); n {
	case 0:
		return c.T("unread-none")
	case 1:
		return c.T("unread-one")
	default:
		return c.tf("unread-many", n)
	}
}

// Statuses are the inbox's tabs.
func (c *Messaging) Statuses() []string {
	return []string{string(portal.ThreadNew), string(portal.ThreadWaiting), string(portal.ThreadAnswered), string(portal.ThreadClosed)}
}

// Pressed is a tab's aria-pressed.
func (c *Messaging) Pressed(st string) string {
	return strconv.FormatBool(c.M.Filter == portal.ThreadStatus(st))
}

// TabLabel names a tab with its counts.
func (c *Messaging) TabLabel(st string) string {
	n, unread := c.M.Count(portal.ThreadStatus(st))
	if unread > 0 {
		return c.tf("tab-unread", c.T("status-"+st), n, c.unread(unread))
	}
	return c.tf("tab-count", c.T("status-"+st), n)
}

// ListTitle is the list screen's heading.
func (c *Messaging) ListTitle() string {
	if c.M.Side == CareTeam {
		return c.T("status-" + string(c.M.Filter))
	}
	return c.T("threads")
}

// EmptyText says that the list is empty.
func (c *Messaging) EmptyText() string {
	if c.M.Side == CareTeam {
		return c.T("no-threads-status")
	}
	return c.T("no-threads")
}

// Itoa formats an int for an attribute.
func (c *Messaging) Itoa(n int) string { return strconv.Itoa(n) }

// ThreadMeta is a list entry's second line: service or patient, status,
// date of the last message.
func (c *Messaging) ThreadMeta(t portal.Thread) string {
	var who string
	if c.M.Side == CareTeam {
		who = t.PatientName
		if who == "" {
			who = t.Patient
		}
		who += " · " + c.serviceName(t)
	} else {
		who = c.serviceName(t) + " · " + c.patientStatus(t.Status)
	}
	return who + " · " + c.tf("last-message", ui.DateTime(c.M.Lang, c.local(t.LastMessage)))
}

// UnreadBadge is a list entry's unread count.
func (c *Messaging) UnreadBadge(t portal.Thread) string { return c.unread(t.Unread) }

// unread says "1 non lu", "3 non lus".
func (c *Messaging) unread(n int) string {
	if n == 1 {
		return c.T("unread-badge-one")
	}
	return c.tf("unread-badge", n)
}

// serviceName names a thread's service, with its establishment in a
// merged widget.
func (c *Messaging) serviceName(t portal.Thread) string {
	name := t.Service
	if s := c.M.serviceOf(t.Establishment, t.Service); s != nil {
		name = s.Name.In(c.M.Lang)
	}
	if c.M.Merged {
		name += " — " + c.estName(t.Establishment)
	}
	return name
}

// estName names an establishment of a merged widget, its id otherwise.
func (c *Messaging) estName(id string) string {
	for _, e := range c.M.Establishments {
		if e.ID == id && e.Name != "" {
			return e.Name
		}
	}
	if id == c.M.Est.ID && c.M.Est.Name != "" {
		return c.M.Est.Name
	}
	return id
}

// MissingText says which establishments' threads could not be listed.
func (c *Messaging) MissingText() string {
	var names []string
	for _, id := range c.M.Missing {
		names = append(names, c.estName(id))
	}
	return c.tf("missing", strings.Join(names, ", "))
}

func (c *Messaging) patientStatus(st portal.ThreadStatus) string {
	switch st {
	case portal.ThreadAnswered:
		return c.T("patient-status-ans")
	case portal.ThreadClosed:
		return c.T("patient-status-close")
	}
	return c.T("patient-status-open")
}

// local returns t as the host wrote it: with the establishment's UTC
// offset (the browser has no time zone database).
func (c *Messaging) local(t time.Time) time.Time { return t }

// ThreadInfo describes the open thread.
func (c *Messaging) ThreadInfo() string {
	t := c.M.Conv.Thread
	if c.M.Side == CareTeam {
		who := t.PatientName
		if who == "" {
			who = t.Patient
		}
		return c.tf("patient", who) + " · " + c.serviceName(t) + " · " + c.T("status-"+string(t.Status)) + " · " + c.Assignment()
	}
	return c.serviceName(t) + " · " + c.patientStatus(t.Status)
}

// Assignment says who took the open thread.
func (c *Messaging) Assignment() string {
	t := c.M.Conv.Thread
	switch {
	case t.AssignedTo == "":
		return c.T("unassigned")
	case c.M.Practitioner != nil && t.AssignedTo == c.M.Practitioner.ID:
		return c.T("assigned-me")
	}
	name := t.AssignedTo
	for _, s := range c.M.Services {
		for _, p := range s.Practitioners {
			if p.ID == t.AssignedTo {
				name = p.Name
			}
		}
	}
	return c.tf("assigned-to", name)
}

// CanAssign reports whether the practitioner may take the open thread.
func (c *Messaging) CanAssign() bool {
	return c.M.Practitioner != nil && c.M.Conv.AssignedTo != c.M.Practitioner.ID
}

// CanClose reports whether the open thread may be closed.
func (c *Messaging) CanClose() bool { return c.M.Conv.Status != portal.ThreadClosed }

// Closed reports whether the open thread is closed.
func (c *Messaging) Closed() bool { return c.M.Conv != nil && c.M.Conv.Status == portal.ThreadClosed }

// MineAttr is "true" for the signed-in person's own messages.
func (c *Messaging) MineAttr(msg portal.Message) string {
	return strconv.FormatBool(c.M.mine(msg.Author))
}

// AuthorName names a message's author.
func (c *Messaging) AuthorName(msg portal.Message) string {
	if c.M.mine(msg.Author) {
		return c.T("you")
	}
	if msg.Author.Name != "" {
		return msg.Author.Name
	}
	if msg.Author.Kind == portal.AuthorPractitioner {
		return c.T("care-team")
	}
	return msg.Author.ID
}

// SentAt dates a message.
func (c *Messaging) SentAt(msg portal.Message) string {
	return c.tf("sent-at", ui.DateTime(c.M.Lang, c.local(msg.Created)))
}

// ReadState is an own message's state: sent, or read by the other side.
func (c *Messaging) ReadState(msg portal.Message) string {
	for _, r := range msg.ReadBy {
		if r.Reader.Kind != msg.Author.Kind {
			return c.tf("state-read", ui.DateTime(c.M.Lang, c.local(r.At)))
		}
	}
	return c.T("state-sent")
}

// OutState is an outgoing message's state.
func (c *Messaging) OutState(o Outgoing) string {
	switch {
	case o.State == Sending:
		return c.T("state-sending")
	case o.State == Refused:
		return c.tf("state-refused", o.ErrText)
	case o.Err == "":
		return c.T("state-behind")
	case o.Err == portal.ErrUnauthenticated:
		return c.T("state-signin")
	case o.Offline:
		return c.T("state-queued")
	}
	return c.T("state-retrying")
}

// CanResend reports whether an outgoing message may be sent again now.
func (c *Messaging) CanResend(o Outgoing) bool {
	i := c.M.outgoing(o.ClientID)
	return o.State == Waiting && o.Err != "" && i >= 0 && !c.M.blocked(i)
}

// SendDisabled is the send button's disabled state: files still being read.
func (c *Messaging) SendDisabled() bool { return c.M.Reading() > 0 }

// SubjectInvalid is the subject's aria-invalid.
func (c *Messaging) SubjectInvalid() string { return strconv.FormatBool(c.M.SubjectErr != "") }

// FilterLabel names the inbox's status tabs.
func (c *Messaging) FilterLabel() string { return c.T("filter-label") }

// FileURL is an attachment's download address.
func (c *Messaging) FileURL(msg portal.Message, f portal.AttachmentMeta) string {
	if c.Backend == nil {
		return ""
	}
	return c.Backend.AttachmentURL(msg.ID, f.ID)
}

// FileLabel names a stored attachment with its size.
func (c *Messaging) FileLabel(f portal.AttachmentMeta) string {
	return c.tf("download", f.Name, ui.Size(c.M.Lang, f.Size))
}

// LocalFileLabel names a chosen file with its size.
func (c *Messaging) LocalFileLabel(f File) string {
	return c.tf("file-size", f.Name, ui.Size(c.M.Lang, f.Size))
}

// RemoveLabel labels the button removing a chosen file.
func (c *Messaging) RemoveLabel(f File) string { return c.tf("remove-file", f.Name) }

// AttachHint states the attachment rules.
func (c *Messaging) AttachHint() string {
	return c.tf("attach-hint", megabytes(c.M.limit()), portal.MaxAttachments)
}

// BodyLabel labels the composer's text.
func (c *Messaging) BodyLabel() string {
	if c.M.Screen == ScreenThread {
		return c.T("reply")
	}
	return c.T("body")
}

// BodyInvalid is the text's aria-invalid.
func (c *Messaging) BodyInvalid() string { return strconv.FormatBool(c.M.FormErr != "") }

// ComposeService is the service the composer writes to.
func (c *Messaging) ComposeService() *portal.Service {
	switch {
	case c.M.Screen == ScreenThread && c.M.Conv != nil:
		return c.M.serviceOf(c.M.Conv.Establishment, c.M.Conv.Service)
	case c.M.Service != "":
		return c.M.service(c.M.Service)
	}
	return c.M.service(c.M.NewService)
}

// ResponseTime is the service's promise about answering, or "".
func (c *Messaging) ResponseTime() string {
	if s := c.ComposeService(); s != nil {
		if t := s.ResponseTime.In(c.M.Lang); t != "" {
			return t + "."
		}
	}
	return ""
}

// UrgentHelp is what to do in an emergency: the establishment's text, or
// the national numbers.
func (c *Messaging) UrgentHelp() string {
	est := c.M.Est
	if c.M.Merged {
		// The establishment of the service written to.
		if s := c.ComposeService(); s != nil {
			for _, e := range c.M.Establishments {
				if e.ID == s.Establishment {
					est = e
				}
			}
		}
	}
	if t := est.UrgentHelp.In(c.M.Lang); t != "" {
		return t
	}
	return c.T("urgent-default")
}

// ServiceOptions are the services a new thread may go to.
func (c *Messaging) ServiceOptions() []Option {
	var out []Option
	for _, s := range c.M.Services {
		label := s.Name.In(c.M.Lang)
		if c.M.Merged {
			label += " — " + c.estName(s.Establishment)
		}
		out = append(out, Option{c.M.serviceKey(s), label})
	}
	return out
}

// SignInLinks are the host's sign-in buttons the sign-in panel shows:
// its side's (patients' or practitioners').
func (c *Messaging) SignInLinks() []widgets.SignInLink {
	return ui.SignInLinks(c.M.SignIn, string(c.M.Side))
}
