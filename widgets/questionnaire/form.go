package questionnaire

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/wirejson"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// FormState is what the server-rendered widget carries from one form post
// to the next, in a hidden field, so that it works before its Wasm runs or
// where WebAssembly is blocked. It holds the position (and, on the review,
// whether its answers were saved): the answers live in the patient's draft
// on the host, saved at every post, so no health data travels in the field
// and a tampered state can only move its own patient around their own
// questionnaire. The instances of a repeating group are in the draft too,
// each under its id, which names its fields.
type FormState struct {
	Step       Step   `json:"st,omitempty"`
	Page       int    `json:"p,omitempty"`
	SubmitKey  string `json:"k,omitempty"`
	Submission string `json:"s,omitempty"`
	// Person is the patient the form was drawn for: posted after another
	// person's sign-in (another tab), its answers are not saved for them.
	Person string `json:"pe,omitempty"`
	// Draft says where the answers a review shows are, for its "submit"
	// (which sends the draft): empty, in the patient's draft (or the page
	// predates this field); DraftNone, nowhere: none was given;
	// DraftUnsaved, not all in the draft: the last save failed.
	Draft string `json:"d,omitempty"`
	// Reviewed is, on a review whose answers are in the draft, a digest
	// of those answers (Model.answersDigest): its "submit" sends the draft
	// only if it still holds the answers reviewed, not ones changed since
	// in another tab.
	Reviewed string `json:"rv,omitempty"`
}

// Values of FormState.Draft.
const (
	DraftNone    = "n"
	DraftUnsaved = "u"
)

// MaxFormState bounds the encoded state.
const MaxFormState = 1024

// EncodeFormState is the hidden field's value.
func (m *Model) EncodeFormState() string {
	st := FormState{Step: m.Step, Page: m.Page, SubmitKey: m.submitKey}
	if m.Submission != nil {
		st.Submission = m.Submission.ID
	}
	if m.Patient != nil {
		st.Person = m.Patient.ID
	}
	switch {
	case m.Step != StepReview: // read by the review's "submit" only
	case m.DraftFailed:
		st.Draft = DraftUnsaved
	case m.DraftSaved.IsZero() && !m.Resumed && len(m.Answers.Values) == 0 && len(m.Answers.Groups) == 0:
		st.Draft = DraftNone
	default:
		st.Reviewed = m.answersDigest()
	}
	b, _ := wirejson.Marshal(st) // strings and an int: cannot fail
	return string(b)
}

// ParseFormState reads a hidden field's value; empty is the initial state.
func ParseFormState(s string) (FormState, error) {
	st, err := ui.DecodeState[FormState](s, MaxFormState)
	if err != nil {
		return st, err
	}
	switch st.Step {
	case "", StepIntro, StepPage, StepReview, StepResult:
	default:
		return st, errors.New("unknown step")
	}
	if st.Page < 0 || st.Page > engine.MaxItems {
		return st, errors.New("page out of range")
	}
	if st.SubmitKey != "" && portal.ValidateIdempotencyKey(st.SubmitKey) != nil {
		return st, errors.New("malformed submission key")
	}
	if len(st.Submission) > 128 || len(st.Person) > 128 {
		return st, errors.New("id too long")
	}
	switch st.Draft {
	case "", DraftNone, DraftUnsaved:
	default:
		return st, errors.New("unknown draft state")
	}
	if _, err := strconv.ParseUint(st.Reviewed, 16, 64); st.Reviewed != "" && (err != nil || len(st.Reviewed) > 16) {
		return st, errors.New("malformed digest")
	}
	return st, nil
}

// Post is one form post of the server-rendered widget: the state it
// carried, the action of the button pressed ("next", "edit:3") and the
// page's fields.
type Post struct {
	State  FormState
	Action string
	Form   map[string][]string // the posted fields (url.Values)
}

// SaveStatus is the HTTP status that answers a background save (a post of
// the action Save, sent by frame.js as the patient answers, before the Wasm
// runs), given the state it carried and the snapshot Serve returned: 204
// when the patient's draft holds the page's answers; 409 when the post's
// page is not one the patient is on (signed out, another person signed in,
// a page no longer shown): nothing was saved, and the patient's next post
// shows why; 503 when the draft could not be saved. The answers stay in
// the page either way, and go with its next post.
func SaveStatus(st FormState, s *Snapshot) int {
	switch {
	case s == nil || s.DraftFailed:
		return 503
	case s.Err != "" || st.Step != StepPage || s.Step != StepPage || s.Page != st.Page:
		return 409
	}
	return 204
}

// MaxServerSteps bounds the calls one post makes.
const MaxServerSteps = 8

// Serve runs a form post on the server: it restores the model (the
// questionnaire, the session's patient and their draft), puts in the answers
// of the page that was shown, applies the action with the same state machine
// the browser runs, saves the draft, and leaves m ready to render. It
// returns the snapshot the browser hydrates from, nil when the backend
// failed (the host then serves the loading state).
func Serve(ctx context.Context, m *Model, b Backend, p Post) *Snapshot {
	run := func(cmd Cmd) { ui.Settle(ctx, b, cmd, m.Apply, MaxServerSteps) }
	run(m.Apply(Action{Kind: Start}))
	if m.Err != "" || m.Q == nil {
		return nil
	}
	st := p.State
	if st.Person != "" && m.Patient != nil && m.Patient.ID != st.Person {
		// Drawn for another patient than the session's now (a sign-in in
		// another tab of the browser): their answers are neither saved nor
		// submitted for this one, who starts from their own draft.
		m.Err, m.ErrText = portal.ErrSessionChanged, portal.ErrSessionChanged.Message(m.Lang)
		return m.snapshot()
	}
	if st.SubmitKey != "" {
		m.submitKey = st.SubmitKey // the same intent: a resubmitted form stays idempotent
	}
	if m.Patient != nil {
		switch st.Step {
		case StepPage:
			if st.Page < len(m.Pages) && m.pageEnabled(st.Page) {
				m.goTo(st.Page)
			}
		case StepReview:
			m.goTo(len(m.Pages))
		case StepResult:
			if sub, err := b.Submission(ctx, st.Submission); err == nil && sub.Questionnaire == m.QuestionnaireID {
				m.Submission, m.Step = &sub, StepResult
			}
		}
	}
	appeared := false
	if m.Step == StepPage {
		appeared = m.applyForm(p.Form)
	}

	kind, arg, _ := strings.Cut(p.Action, ":")
	a := Action{Kind: Kind(kind), Key: arg}
	switch a.Kind {
	case Edit:
		n, err := strconv.Atoi(arg)
		if err != nil {
			n = -1
		}
		a.Index = n
	case SignIn, ChooseDemoPatient:
		if d := formValue(p.Form, "demo"); d != "" {
			m.DemoChoice = d
		}
	case Pick, Toggle, Type, loaded, draftLoaded, draftSaved, signedIn, signedOut, submitted, restarted, sessionKept:
		a.Kind = "" // answers come as fields, results are never posted
	}
	if a.Kind == Submit && st.Step == StepReview && m.Patient != nil {
		switch {
		case st.Draft == DraftUnsaved:
			// The answers reviewed were not all saved: the draft, if
			// any, holds older ones. Send nothing; show what is kept.
			run(m.Apply(Action{Kind: Begin}))
			m.Notice = "not-saved"
			return m.snapshot()
		case st.Draft == "" && st.SubmitKey != "" && !m.Resumed:
			// The answers reviewed were in a draft that is gone: a
			// submission deleted it (a double click, a resubmitted
			// form), or the patient started over in another tab. Which
			// one the widget cannot tell: say both, rather than showing
			// an empty questionnaire or claiming they were sent.
			m.Step = StepIntro
			m.Notice = "not-pending"
			return m.snapshot()
		case st.Draft == "" && st.Reviewed != "" && st.Reviewed != m.answersDigest():
			// The draft changed since this review was drawn (in another
			// tab): sending it would send answers the patient did not
			// review here. Show them; they send once checked.
			m.Notice = "changed-elsewhere"
			return m.snapshot()
		}
		// DraftNone: nothing was answered, and nothing is lost; the
		// (empty) answers are sent as reviewed, again with the same key.
	}
	if a.Kind == Next && appeared {
		// The answers brought new questions on this page: show them before
		// going on, without calling them missing.
		m.Notice = "new-questions"
	} else {
		run(m.Apply(a))
	}
	if m.Step != StepResult {
		run(m.save())
	}
	return m.snapshot()
}

// answersDigest identifies the answers: a 64-bit FNV-1a hash of them as an
// in-progress response (no id, no date: the same answers, the same
// digest). It tells a review's answers from the draft's at its "submit";
// a tampered one can only show the patient their own answers again.
func (m *Model) answersDigest() string {
	if m.Q == nil {
		return ""
	}
	b, err := m.Q.ResponseJSON(m.Answers, engine.ResponseOptions{Status: engine.InProgress, Lang: m.Lang})
	if err != nil {
		return ""
	}
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 16)
}

// applyForm puts the posted fields of the current page into the answers. It
// reports whether new questions appeared on the page as a result.
func (m *Model) applyForm(form map[string][]string) bool {
	before := m.questionKeys()
	for _, r := range m.rows(m.Page) {
		if r.Kind != RowQuestion || r.Item.ReadOnly {
			continue
		}
		vals := form[r.Key]
		switch m.control(r) {
		case "checkbox":
			var answers []engine.Value
			for _, v := range vals {
				if x, ok := r.optionValue(v); ok && len(answers) < engine.MaxInstances {
					answers = append(answers, x)
				}
			}
			if !slices.EqualFunc(answers, r.Scope.Get(r.Item.LinkID), sameAnswer) {
				r.Scope.Set(r.Item.LinkID, answers...)
				m.changed()
			}
			if other := formValue(form, r.Key+".other"); other != "" {
				m.answer(Action{Kind: Type, Key: r.Key, Value: other})
			}
		case "radio":
			v := ""
			if len(vals) > 0 {
				v = vals[0]
			}
			other := formValue(form, r.Key+".other")
			if other != "" && r.Item.Type == engine.TypeOpenChoice {
				m.answer(Action{Kind: Type, Key: r.Key, Value: other})
			} else {
				m.answer(Action{Kind: Pick, Key: r.Key, Value: v})
			}
		default:
			m.answer(Action{Kind: Type, Key: r.Key, Value: formValue(form, r.Key)})
		}
	}
	return !slices.Equal(before, m.questionKeys())
}

// questionKeys lists the keys of the current page's questions.
func (m *Model) questionKeys() []string {
	var keys []string
	for _, r := range m.rows(m.Page) {
		if r.Kind == RowQuestion {
			keys = append(keys, r.Key)
		}
	}
	return keys
}

// control is the kind of form control of a question row: "radio",
// "checkbox", "textarea", "date", "datetime" or "input".
func (m *Model) control(r Row) string {
	switch r.Item.Type {
	case engine.TypeBoolean:
		return "radio"
	case engine.TypeChoice, engine.TypeOpenChoice:
		if r.Item.Repeats {
			return "checkbox"
		}
		return "radio"
	case engine.TypeText:
		return "textarea"
	case engine.TypeDate:
		return "date"
	case engine.TypeDateTime:
		return "datetime"
	}
	return "input"
}

// formValue is the first value of the field named key, "" when there is
// none (url.Values.Get: the widgets do not import net/url).
func formValue(form map[string][]string, key string) string {
	if vs := form[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
