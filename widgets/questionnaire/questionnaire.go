package questionnaire

import (
	"context"
	"github.com/parcours-sante/parcours/sdk/client/uri"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/sdk/portal"
	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// MountID is the id of the widget's root element (see widgets/booking).
const MountID = "parcours-root"

// Questionnaire is the vugu root component of the questionnaire widget.
//
// Its form controls bind the DOM properties (.checked, .value) as well as
// the attributes (for the server's HTML): the renderer reuses elements from
// one step to the next, and a control the patient has touched no longer
// follows its attributes.
type Questionnaire struct {
	M       *Model
	Backend Backend
	// Emit, when set, receives widget events for the host page; it must
	// not block.
	Emit func(Event)
	Ctx  context.Context
	// Action is the address the widget's form posts to when the Wasm is not
	// running.
	Action string
	// BookingURL is the address of the booking widget's document for this
	// establishment, language and page, without service: the result page
	// links to it with the next step's service.
	BookingURL string
	Interacted bool
	driver     *ui.Driver[Action, Backend]
}

func (c *Questionnaire) drive() *ui.Driver[Action, Backend] {
	if c.driver == nil {
		c.driver = &ui.Driver[Action, Backend]{
			Apply:      func(a Action) func(context.Context, Backend) Action { return c.M.Apply(a) },
			Backend:    c.Backend,
			HasBackend: c.Backend != nil,
			Ctx:        c.Ctx,
			Panicked: func(err error) Action {
				return Action{Kind: loaded, err: portal.Errorf(portal.ErrInternal, "%v", err)}
			},
			After: c.flushEvents,
		}
	}
	return c.driver
}

// Init starts loading when the component is first built in a browser.
func (c *Questionnaire) Init(ctx vugu.InitCtx) {
	ee := ctx.EventEnv()
	if ee == nil || c.Backend == nil || !c.M.Loading {
		return // a server-side render, or hydrated from the host's snapshot
	}
	c.drive().Start(ee, Action{Kind: Start})
}

// Do handles a button: the named action on a field key. The buttons are
// submit buttons of a form, for when the Wasm is not running; here the Wasm
// handles them.
func (c *Questionnaire) Do(event vugu.DOMEvent, kind, key string) {
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), Key: key})
}

// DoIndex handles a button whose argument is a page index.
func (c *Questionnaire) DoIndex(event vugu.DOMEvent, kind string, i int) {
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), Index: i})
}

// Change handles the change of a form control: a radio or a select (pick),
// a checkbox (toggle) or a text field (type).
func (c *Questionnaire) Change(event vugu.DOMEvent, kind, key string) {
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{
		Kind: Kind(kind), Key: key,
		Value: event.PropString("target", "value"),
		On:    event.PropBool("target", "checked"),
	})
}

// Running reports how many backend calls are under way (under the lock).
func (c *Questionnaire) Running() int { return c.drive().Running() }

func (c *Questionnaire) flushEvents() { ui.Flush(&c.M.Events, c.Emit) }

// View helpers, called by the template.

// T returns a UI text in the widget's language.
func (c *Questionnaire) T(key string) string { return messages.T(c.M.Lang, key) }

// Busy is the aria-busy value.
func (c *Questionnaire) Busy() string { return boolAttr(c.M.Loading) }

// Autosave marks the form whose answers frame.js saves in the background
// as the patient gives them, before the Wasm runs (a "save" post): a page
// of questions, for a signed-in patient. nil leaves the attribute out.
func (c *Questionnaire) Autosave() any {
	if c.M.Step == StepPage && c.M.Patient != nil && c.M.Q != nil {
		return ""
	}
	return nil
}

// Show reports whether a step's panel is visible.
func (c *Questionnaire) Show(step string) bool {
	return c.M.Q != nil && c.M.Step == Step(step) && !(c.M.Loading && step == string(StepIntro))
}

// Title is the questionnaire's title.
func (c *Questionnaire) Title() string {
	if t := c.M.Def.Title.In(c.M.Lang); t != "" {
		return t
	}
	if c.M.Q != nil {
		return c.M.Q.Title.In(c.M.Lang)
	}
	return c.T("title")
}

// Description is the questionnaire's description (plain text).
func (c *Questionnaire) Description() string {
	if c.M.Q == nil {
		return ""
	}
	return c.M.Q.Description.In(c.M.Lang)
}

// ErrText is the patient-facing text of the last error.
func (c *Questionnaire) ErrText() string {
	if c.M.ErrText != "" {
		return c.M.ErrText
	}
	return c.M.Err.Message(c.M.Lang)
}

// CanRetry reports whether the last failure can be retried.
func (c *Questionnaire) CanRetry() bool { return c.M.retry != nil }

// NoticeText is the status announced politely to screen readers.
func (c *Questionnaire) NoticeText() string {
	if c.M.Notice == "" {
		return ""
	}
	return c.T("notice-" + c.M.Notice)
}

// NoticeClass styles the notice: most only confirm what the screen shows
// (for screen readers, pc-sr); those that explain why an action did
// nothing, or not what the patient expected, are shown to everyone.
func (c *Questionnaire) NoticeClass() string {
	switch c.M.Notice {
	case "not-pending", "not-saved", "already-removed", "changed-elsewhere":
		return "pc-notice"
	}
	return "pc-sr"
}

// SignedInAs says who is signed in.
func (c *Questionnaire) SignedInAs() string {
	if c.M.Patient == nil {
		return ""
	}
	return messages.Tf(c.M.Lang, "signed-in-as", c.M.Patient.DisplayName())
}

// ResumedAt says when the draft was saved.
func (c *Questionnaire) ResumedAt() string {
	if c.M.DraftSaved.IsZero() {
		return ""
	}
	return messages.Tf(c.M.Lang, "resumed-at", ui.Date(c.M.Lang, c.inZone(c.M.DraftSaved)))
}

// inZone shows t in the establishment's time zone, the same on the
// server's first paint and in the browser (see ui.InZone).
func (c *Questionnaire) inZone(t time.Time) time.Time {
	return ui.InZone(c.M.Est.TimeZone, t)
}

// ProgressText is "Étape 2 sur 6".
func (c *Questionnaire) ProgressText() string {
	at, n := c.M.Progress()
	return messages.Tf(c.M.Lang, "progress", at, n)
}

// ProgressValue and ProgressMax feed the <progress> element.
func (c *Questionnaire) ProgressValue() string { at, _ := c.M.Progress(); return strconv.Itoa(at) }

// ProgressMax is the number of steps.
func (c *Questionnaire) ProgressMax() string { _, n := c.M.Progress(); return strconv.Itoa(n) }

// Rows are the rows of the current page.
func (c *Questionnaire) Rows() []Row { return c.M.Rows() }

// Label is a question's or group's text with its prefix.
func (c *Questionnaire) Label(r Row) string {
	t := r.Item.Text(c.M.Lang)
	if r.Item.Prefix != "" {
		t = r.Item.Prefix + " " + t
	}
	if r.Kind == RowInstance {
		return messages.Tf(c.M.Lang, "instance", t, r.Instance+1)
	}
	return t
}

// Required reports whether a question must be answered.
func (c *Questionnaire) Required(r Row) bool { return r.Item.Required }

// RequiredAttr is the aria-required value.
func (c *Questionnaire) RequiredAttr(r Row) string { return boolAttr(r.Item.Required) }

// PageTitle is the heading of the current page: its group's text, or the
// progress when the page is a single question (the question is the legend).
func (c *Questionnaire) PageTitle() string {
	if c.M.Step == StepPage && c.M.Page < len(c.M.Pages) {
		for _, it := range c.M.Pages[c.M.Page].Items {
			if it.Type == engine.TypeGroup {
				return it.Text(c.M.Lang)
			}
		}
	}
	return c.ProgressText()
}

// EditAction is the form value of a review section's edit button.
func (c *Questionnaire) EditAction(s ReviewSection) string {
	return string(Edit) + ":" + strconv.Itoa(s.Page)
}

// AnswerClass marks an unanswered question on the review page.
func (c *Questionnaire) AnswerClass(l ReviewLine) string {
	if l.Missing {
		return "pc-missing"
	}
	return ""
}

// View reports what the browser bridge needs after a render: a key that
// changes when the patient lands on another screen (focus then moves to its
// heading), whether a call is under way, and whether the patient has acted.
func (c *Questionnaire) View() (screen string, loading, interacted bool) {
	return string(c.M.Step) + ":" + strconv.Itoa(c.M.Page), c.M.Loading, c.Interacted
}

// Control is the kind of form control of a question row: "radio",
// "checkbox", "textarea", "date", "datetime" or "input".
func (c *Questionnaire) Control(r Row) string { return c.M.control(r) }

// InputMode is the inputmode attribute of a text input (the phone keyboard).
func (c *Questionnaire) InputMode(r Row) string {
	switch r.Item.Type {
	case engine.TypeInteger:
		return "numeric"
	case engine.TypeDecimal:
		return "decimal"
	}
	return "text"
}

// MaxLength is the maxlength attribute, "" for none.
func (c *Questionnaire) MaxLength(r Row) string {
	if r.Item.MaxLength > 0 {
		return strconv.Itoa(r.Item.MaxLength)
	}
	return ""
}

// Options are the choices of a question row.
func (c *Questionnaire) Options(r Row) []Option { return r.Options(c.M.Lang) }

// OptionID is the element id of one choice.
func (c *Questionnaire) OptionID(r Row, o Option) string { return r.ID + "-" + o.Value }

// Checked is a choice's checked state.
func (c *Questionnaire) Checked(r Row, o Option) bool { return r.Selected(o.Value) }

// OpenChoice reports whether the question also takes a free answer.
func (c *Questionnaire) OpenChoice(r Row) bool { return r.Item.Type == engine.TypeOpenChoice }

// Text is the value shown in a text field.
func (c *Questionnaire) Text(r Row) string { return c.M.Text(r) }

// FieldErr is the problem of a field, "" when none.
func (c *Questionnaire) FieldErr(r Row) string { return c.M.FieldErrs[r.Key] }

// Invalid is the aria-invalid value of a field.
func (c *Questionnaire) Invalid(r Row) string { return boolAttr(c.FieldErr(r) != "") }

// DescribedBy links a field to its error message.
func (c *Questionnaire) DescribedBy(r Row) string {
	if c.FieldErr(r) != "" {
		return r.ID + "-err"
	}
	return ""
}

// Indent is the row's nesting, for the stylesheet.
func (c *Questionnaire) Indent(r Row) string { return strconv.Itoa(min(r.Depth, 4)) }

// NextLabel is the label of the button that goes on: to the next step, or
// to the review from the last one.
func (c *Questionnaire) NextLabel() string {
	if c.M.nextPage(c.M.Page) >= len(c.M.Pages) {
		return c.T("to-review")
	}
	return c.T("next")
}

// BeginLabel is the label of the button that starts, or resumes, answering.
func (c *Questionnaire) BeginLabel() string {
	if c.M.Resumed {
		return c.T("resume")
	}
	return c.T("start")
}

// InputType is the type of a single-line input: date, datetime-local or text.
func (c *Questionnaire) InputType(r Row) string {
	switch c.M.control(r) {
	case "date":
		return "date"
	case "datetime":
		return "datetime-local"
	}
	return "text"
}

// Urgent returns the urgent alert messages the current answers raise (a
// preview computed in the browser; the host computes them again).
func (c *Questionnaire) Urgent() []string {
	var out []string
	if c.M.Step == StepResult && c.M.Submission != nil {
		for _, a := range c.M.Submission.Result.Alerts {
			if a.Urgent {
				out = append(out, a.Message.In(c.M.Lang))
			}
		}
		return out
	}
	if c.M.Step != StepPage && c.M.Step != StepReview {
		return nil
	}
	if r := c.M.Preview(); r != nil {
		for _, a := range r.Alerts {
			if a.Urgent {
				out = append(out, a.Message.In(c.M.Lang))
			}
		}
	}
	return out
}

// UrgentHelp is the establishment's urgent-help text, or the national numbers.
func (c *Questionnaire) UrgentHelp() string {
	if t := c.M.Est.UrgentHelp.In(c.M.Lang); t != "" {
		return t
	}
	return c.T("urgent-default")
}

// ReviewSection is one step on the review page.
type ReviewSection struct {
	Page  int
	Title string
	Lines []ReviewLine
}

// ReviewLine is one answered (or unanswered) question.
type ReviewLine struct {
	Question, Answer string
	Missing          bool
}

// Review lists the enabled steps with their questions and answers.
func (c *Questionnaire) Review() []ReviewSection {
	var out []ReviewSection
	for p, pg := range c.M.Pages {
		if !c.M.pageEnabled(p) {
			continue
		}
		sec := ReviewSection{Page: p}
		for _, it := range pg.Items {
			if it.Type != engine.TypeDisplay {
				sec.Title = it.Text(c.M.Lang)
				break
			}
		}
		for _, r := range c.M.rows(p) {
			if r.Kind != RowQuestion {
				continue
			}
			line := ReviewLine{Question: c.Label(r), Answer: c.answerText(r)}
			if line.Answer == "" {
				line.Answer, line.Missing = c.T("no-answer"), true
			}
			sec.Lines = append(sec.Lines, line)
		}
		out = append(out, sec)
	}
	return out
}

// EditLabel is the spoken label of a review section's edit button.
func (c *Questionnaire) EditLabel(s ReviewSection) string {
	return messages.Tf(c.M.Lang, "edit-label", s.Title)
}

// answerText writes a question's answers in words.
func (c *Questionnaire) answerText(r Row) string {
	var parts []string
	for _, v := range r.Scope.Get(r.Item.LinkID) {
		parts = append(parts, c.valueText(r, v))
	}
	return strings.Join(parts, ", ")
}

func (c *Questionnaire) valueText(r Row, v engine.Value) string {
	switch v.Kind {
	case engine.KindBoolean:
		if v.Bool {
			return c.T("yes")
		}
		return c.T("no")
	case engine.KindCoding:
		for _, o := range r.Item.Options {
			if sameAnswer(o.Value, v) {
				return o.Text(c.M.Lang)
			}
		}
		if v.Coding.Display != "" {
			return v.Coding.Display
		}
	case engine.KindDate:
		if t, err := time.Parse("2006-01-02", v.Str); err == nil {
			return ui.Date(c.M.Lang, t)
		}
	case engine.KindDecimal:
		if c.M.Lang == "fr" {
			return strings.Replace(v.Str, ".", ",", 1)
		}
	}
	return v.String()
}

// Outro are the texts shown on the review page.
func (c *Questionnaire) Outro() []string {
	var out []string
	for _, it := range c.M.Outro {
		out = append(out, it.Text(c.M.Lang))
	}
	return out
}

// Result is the host's result of the submission.
func (c *Questionnaire) Result() portal.QuestionnaireResult {
	if c.M.Submission == nil {
		return portal.QuestionnaireResult{}
	}
	return c.M.Submission.Result
}

// SentAt says when the response was recorded.
func (c *Questionnaire) SentAt() string {
	if c.M.Submission == nil {
		return ""
	}
	return messages.Tf(c.M.Lang, "result-sent", ui.Date(c.M.Lang, c.inZone(c.M.Submission.Submitted)))
}

// GaugeText is "Niveau 2 sur 4".
func (c *Questionnaire) GaugeText() string {
	r := c.Result()
	return messages.Tf(c.M.Lang, "gauge", r.LevelRank, r.Levels)
}

// Gauge lists the segments of the risk gauge: one per level, the reached
// ones marked.
func (c *Questionnaire) Gauge() []string {
	r := c.Result()
	out := make([]string, r.Levels)
	for i := range out {
		switch {
		case i+1 == r.LevelRank:
			out[i] = "current"
		case i+1 < r.LevelRank:
			out[i] = "below"
		default:
			out[i] = "above"
		}
	}
	return out
}

// Next is the next step the establishment offers for the result's level.
func (c *Questionnaire) Next() (portal.NextStep, bool) {
	if c.M.Submission == nil {
		return portal.NextStep{}, false
	}
	return c.M.Def.NextStep(c.M.Submission.Result.Level)
}

// NextText is the next step's text.
func (c *Questionnaire) NextText() string {
	s, _ := c.Next()
	return s.Text.In(c.M.Lang)
}

// BookingHref is the address of the booking widget opened on the next
// step's service, "" when the step offers no booking.
func (c *Questionnaire) BookingHref() string {
	s, ok := c.Next()
	if !ok || s.Service == "" || c.BookingURL == "" {
		return ""
	}
	v := uri.Values{"service": {s.Service}}
	if s.Practitioner != "" {
		v.Set("practitioner", s.Practitioner)
	}
	sep := "?"
	if strings.Contains(c.BookingURL, "?") {
		sep = "&"
	}
	return c.BookingURL + sep + v.Encode()
}

// SavingText is the draft's status line.
func (c *Questionnaire) SavingText() string {
	switch {
	case c.M.DraftFailed:
		return c.T("draft-failed")
	case c.M.Saving:
		return c.T("draft-saving")
	case !c.M.DraftSaved.IsZero() && c.M.Step != StepIntro:
		return c.T("draft-saved")
	}
	return ""
}

func boolAttr(on bool) string {
	if on {
		return "true"
	}
	return "false"
}

// SignInLinks are the host's sign-in buttons the sign-in panel shows:
// the patients'.
func (c *Questionnaire) SignInLinks() []widgets.SignInLink {
	return ui.SignInLinks(c.M.SignIn, "patient")
}
