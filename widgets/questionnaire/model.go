// Package questionnaire is the questionnaire widget, <parcours-questionnaire>:
// a FHIR R4 Questionnaire answered one step at a time, with a draft kept by
// the host (resumed after a reload or on another device), a review page, and
// the result the host computed from the answers.
//
// As in widgets/booking, the widget is one state machine: Model.Apply takes
// an Action and returns the next effect, a Cmd. The vugu component maps DOM
// events to actions; the host runs the same machine to render the first paint
// and to answer the widget's form posts before its Wasm runs. The engine
// (sdk/questionnaire) runs in the browser for instant validation and the
// urgent alerts; the score that counts is the host's.
package questionnaire

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/widgets"
)

// Backend is what the widget needs from the edge host. sdk/client implements
// it over HTTP; the host implements it directly for server-side rendering.
type Backend interface {
	Establishment(ctx context.Context, id string) (portal.Establishment, error)
	Questionnaire(ctx context.Context, establishment, id string) (portal.QuestionnaireDef, error)
	// Draft returns the signed-in patient's draft, or an ErrNotFound error.
	Draft(ctx context.Context, establishment, id string) (portal.QuestionnaireDraft, error)
	SaveDraft(ctx context.Context, establishment, id string, response []byte) (portal.QuestionnaireDraft, error)
	DeleteDraft(ctx context.Context, establishment, id string) error
	// SubmitResponse sends a completed QuestionnaireResponse; the host scores
	// it again and answers with what it recorded.
	SubmitResponse(ctx context.Context, establishment, id string, response []byte, key string) (portal.QuestionnaireSubmission, error)
	Submission(ctx context.Context, id string) (portal.QuestionnaireSubmission, error)
	CurrentPatient(ctx context.Context) (*portal.Patient, error)
	DemoPatients(ctx context.Context) ([]portal.Patient, error)
	DemoSignIn(ctx context.Context, patient string) (portal.Patient, error)
	SignOut(ctx context.Context) error
}

// Step is where the patient is.
type Step string

// Steps of the flow.
const (
	StepIntro  Step = "intro"  // what the questionnaire is for; sign in; start or resume
	StepPage   Step = "page"   // one question or group (Model.Page)
	StepReview Step = "review" // every answer, each step editable
	StepResult Step = "result" // the host's result and what comes next
)

// Event is a widget event for the host page. It carries no health data: the
// questionnaire's id and the response's id only.
type Event struct {
	Name          string // "parcours:submitted"
	Questionnaire string
	Response      string
}

// Model is the whole state of the widget.
type Model struct {
	Lang            string
	Establishment   string
	QuestionnaireID string

	Step    Step
	Page    int // index in Pages, for StepPage
	Loading bool
	Saving  bool // a draft is being saved (no skeleton: the patient goes on)
	Err     portal.ErrorCode
	ErrText string
	retry   *Action
	// DraftFailed says that the last draft could not be saved; the patient
	// may go on, the answers stay in the page and are sent again.
	DraftFailed bool

	Est   portal.Establishment
	Def   portal.QuestionnaireDef
	Q     *engine.Questionnaire
	Pages []Page
	// Outro are the trailing display items, shown on the review page.
	Outro []*engine.Item

	Answers *engine.Answers
	ev      *engine.Evaluation
	preview *engine.Result // the answers scored as they are, with ev
	// Inputs keeps what the patient typed in text fields, by field key, so
	// that a value that does not parse stays on screen with its error.
	Inputs map[string]string
	// FieldErrs are the problems of the fields of the current page, by key,
	// as found by the last attempt to go on.
	FieldErrs map[string]string
	// parseErrs are the problems of what was typed, shown at the next
	// attempt to go on.
	parseErrs map[string]string
	// Resumed: the answers came from a draft.
	Resumed    bool
	DraftSaved time.Time
	dirty      bool
	submitKey  string
	// answersOf is the patient who gave the answers; it outlives the end
	// of their session (Patient nil), so that they get them back.
	answersOf string

	Patient      *portal.Patient
	DemoPatients []portal.Patient
	DemoChoice   string
	// SignIn are the sign-in buttons the host offers (its identity
	// providers); the widget shows the patients' ones.
	SignIn []widgets.SignInLink

	Submission *portal.QuestionnaireSubmission
	// Notice is a polite status for screen readers (a message key).
	Notice string
	Events []Event
	Now    func() time.Time
}

// Page is one step of the questionnaire: a top-level question or group,
// with the display items before it.
type Page struct {
	Items []*engine.Item
}

// NewModel returns the state before anything has loaded.
func NewModel(lang, establishment, questionnaire string) *Model {
	return &Model{
		Lang: lang, Establishment: establishment, QuestionnaireID: questionnaire,
		Step: StepIntro, Loading: true, Answers: engine.NewAnswers(),
	}
}

func (m *Model) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Kind names an action.
type Kind string

// Actions: patient intents, then results of calls.
const (
	Start     Kind = "start"
	Begin     Kind = "begin"      // start or resume answering
	StartOver Kind = "start-over" // drop the draft
	Pick      Kind = "pick"       // a radio or select: Key, Value
	Toggle    Kind = "toggle"     // a checkbox: Key, Value, On
	Type      Kind = "type"       // a text field: Key, Value
	Next      Kind = "next"
	Prev      Kind = "prev"
	Edit      Kind = "edit" // from the review: go to page Index
	Review    Kind = "review"
	// Save keeps the page's answers in the draft now. frame.js posts it in
	// the background as the patient answers, before the Wasm runs (the
	// host answers it without a document: SaveStatus); the Wasm saves at
	// each step.
	Save              Kind = "save"
	AddInstance       Kind = "add"    // a repeating group: Key
	RemoveInstance    Kind = "remove" // Key of the instance
	Submit            Kind = "submit"
	ChooseDemoPatient Kind = "choose-demo-patient"
	SignIn            Kind = "sign-in"
	SignOut           Kind = "sign-out"
	Retry             Kind = "retry"
	// SessionChanged: a sign-in completed outside the widget (the frame's
	// sign-in popup, another tab): the session is read again.
	SessionChanged Kind = "session-changed"

	sessionKept Kind = "session-kept"

	loaded      Kind = "loaded"
	draftLoaded Kind = "draft-loaded"
	draftSaved  Kind = "draft-saved"
	signedIn    Kind = "signed-in"
	signedOut   Kind = "signed-out"
	submitted   Kind = "submitted"
	restarted   Kind = "restarted"
)

// Action is an intent or a result.
type Action struct {
	Kind  Kind
	Key   string // field key
	Value string
	On    bool
	Index int

	est      portal.Establishment
	def      portal.QuestionnaireDef
	draft    *portal.QuestionnaireDraft
	patient  *portal.Patient
	patients []portal.Patient
	sub      portal.QuestionnaireSubmission
	saved    time.Time
	err      error
	cause    *Action
}

// Cmd is an effect: a call to the backend that yields the next action.
type Cmd func(ctx context.Context, b Backend) Action

// Apply moves the model by one action and returns the effect to run next,
// or nil. It never blocks and never calls the backend itself.
func (m *Model) Apply(a Action) Cmd {
	if a.err != nil {
		return m.fail(a)
	}
	switch a.Kind {
	case Start:
		return m.call(a, m.loadAll)
	case loaded:
		m.Loading = false
		if err := m.setDefinition(a.est, a.def); err != nil {
			return m.fail(Action{err: err})
		}
		m.setPatient(a.patient, a.patients)
		if a.draft != nil {
			m.setDraft(a.draft)
		}
		return nil
	case draftLoaded:
		m.Loading = false
		if a.draft != nil {
			m.setDraft(a.draft)
		}
		return nil
	case Begin:
		if m.Patient == nil || m.Q == nil {
			return nil
		}
		m.clearError()
		if m.Resumed {
			m.goTo(m.resumePage())
		} else {
			if m.Answers.Values == nil && m.Answers.Groups == nil {
				m.applyInitial(m.Q.Items, m.Answers)
				m.evaluate()
			}
			m.goTo(m.nextPage(-1))
		}
		return nil
	case StartOver:
		if m.Patient == nil {
			return nil
		}
		return m.call(a, func(ctx context.Context, b Backend) Action {
			return Action{Kind: restarted, err: b.DeleteDraft(ctx, m.Establishment, m.QuestionnaireID)}
		})
	case restarted:
		m.Loading = false
		m.resetAnswers()
		m.Step = StepIntro
		m.Notice = "restarted"
		return nil
	case Pick, Toggle, Type:
		m.answer(a)
		return nil
	case AddInstance, RemoveInstance:
		m.instances(a)
		return nil
	case Next:
		if m.Step != StepPage {
			return nil
		}
		if !m.checkPage() {
			m.Notice = "check-answers"
			return nil
		}
		m.goTo(m.nextPage(m.Page))
		return m.save()
	case Prev:
		switch m.Step {
		case StepPage:
			if p := m.prevPage(m.Page); p >= 0 {
				m.goTo(p)
			} else {
				m.Step = StepIntro
			}
		case StepReview:
			m.goTo(m.prevPage(len(m.Pages)))
		}
		m.FieldErrs = nil
		return m.save()
	case Edit:
		if a.Index >= 0 && a.Index < len(m.Pages) && m.pageEnabled(a.Index) && m.Patient != nil {
			m.goTo(a.Index)
		}
		return nil
	case Save:
		if m.Step != StepPage {
			return nil
		}
		return m.save()
	case Review:
		if m.Patient != nil && m.Q != nil {
			m.goTo(len(m.Pages))
			return m.save()
		}
		return nil
	case draftSaved:
		m.Saving = false
		m.DraftFailed = false
		m.DraftSaved = a.saved
		return nil
	case Submit:
		if m.Step != StepReview || m.Patient == nil || m.Q == nil {
			return nil
		}
		if p := m.firstPageWithIssues(); p >= 0 {
			m.goTo(p)
			m.checkPage()
			m.Notice = "check-answers"
			return nil
		}
		body, err := m.Q.ResponseJSON(m.Answers, engine.ResponseOptions{Status: engine.Completed, Lang: m.Lang, Authored: m.now()})
		if err != nil {
			return m.fail(Action{err: err})
		}
		key := m.submitKey
		return m.call(a, func(ctx context.Context, b Backend) Action {
			sub, err := b.SubmitResponse(ctx, m.Establishment, m.QuestionnaireID, body, key)
			return Action{Kind: submitted, sub: sub, err: err}
		})
	case submitted:
		m.Loading = false
		sub := a.sub
		m.Submission = &sub
		m.Step = StepResult
		m.Notice = "submitted"
		m.dirty = false
		m.Events = append(m.Events, Event{Name: "parcours:submitted", Questionnaire: m.QuestionnaireID, Response: sub.ID})
		return nil
	case ChooseDemoPatient:
		m.DemoChoice = a.Value
		return nil
	case SignIn:
		if m.DemoChoice == "" {
			return nil
		}
		choice := m.DemoChoice
		return m.call(a, func(ctx context.Context, b Backend) Action {
			p, err := b.DemoSignIn(ctx, choice)
			if err != nil {
				return Action{Kind: signedIn, err: err}
			}
			d, err := m.loadDraft(ctx, b)
			return Action{Kind: signedIn, patient: &p, draft: d, err: err}
		})
	case SessionChanged:
		return m.call(a, func(ctx context.Context, b Backend) Action {
			p, err := b.CurrentPatient(ctx)
			if err != nil {
				return Action{Kind: signedIn, err: err}
			}
			if p == nil {
				return Action{Kind: sessionKept}
			}
			d, err := m.loadDraft(ctx, b)
			return Action{Kind: signedIn, patient: p, draft: d, err: err}
		})
	case sessionKept:
		m.Loading = false
		return nil
	case signedIn:
		m.Loading = false
		if !m.ownUnsaved(a.patient, a.draft) {
			m.resetAnswers()
			if a.draft != nil {
				m.setDraft(a.draft)
			}
		}
		m.Patient = a.patient
		m.Notice = "signed-in"
		return nil
	case SignOut:
		return m.call(a, func(ctx context.Context, b Backend) Action {
			return Action{Kind: signedOut, err: b.SignOut(ctx)}
		})
	case signedOut:
		m.Loading = false
		m.Patient = nil
		m.resetAnswers()
		m.Submission = nil
		m.Step = StepIntro
		m.Notice = "signed-out"
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

// call marks the model busy and returns cmd, remembering the action so that
// a failure can offer to retry it.
func (m *Model) call(a Action, cmd Cmd) Cmd {
	m.Loading = true
	m.clearError()
	m.Notice = ""
	return func(ctx context.Context, b Backend) Action {
		r := cmd(ctx, b)
		if r.err != nil {
			cause := a
			r.cause = &cause
		}
		return r
	}
}

func (m *Model) clearError() { m.Err, m.ErrText, m.retry = "", "", nil }

func (m *Model) fail(a Action) Cmd {
	m.Loading = false
	if a.Kind == draftSaved {
		// A draft that could not be saved does not stop the patient: the
		// answers are in the page and go with the next save.
		m.Saving = false
		m.DraftFailed = true
		m.dirty = true
		return nil
	}
	code := portal.Code(a.err)
	m.Err = code
	m.ErrText = portal.PatientMessage(a.err, m.Lang)
	m.retry = a.cause
	if code == portal.ErrUnauthenticated {
		// The session ended: ask again; the draft on the host is kept.
		m.Patient = nil
		m.retry = nil
		m.Step = StepIntro
	}
	return nil
}

// loadAll fetches the first screen's data concurrently; the draft needs
// the session, so it follows the current patient.
func (m *Model) loadAll(ctx context.Context, b Backend) Action {
	var (
		wg       sync.WaitGroup
		est      portal.Establishment
		def      portal.QuestionnaireDef
		patient  *portal.Patient
		patients []portal.Patient
		draft    *portal.QuestionnaireDraft
		errs     [4]error
	)
	wg.Go(func() { est, errs[0] = b.Establishment(ctx, m.Establishment) })
	wg.Go(func() { def, errs[1] = b.Questionnaire(ctx, m.Establishment, m.QuestionnaireID) })
	wg.Go(func() {
		patient, errs[2] = b.CurrentPatient(ctx)
		if errs[2] == nil && patient != nil {
			draft, errs[2] = m.loadDraft(ctx, b)
		}
	})
	wg.Go(func() { patients, errs[3] = b.DemoPatients(ctx) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Action{Kind: loaded, err: err}
		}
	}
	return Action{Kind: loaded, est: est, def: def, patient: patient, patients: patients, draft: draft}
}

// loadDraft returns the signed-in patient's draft, nil when there is none.
func (m *Model) loadDraft(ctx context.Context, b Backend) (*portal.QuestionnaireDraft, error) {
	d, err := b.Draft(ctx, m.Establishment, m.QuestionnaireID)
	if portal.IsCode(err, portal.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// save returns the effect that saves the draft when the answers changed.
func (m *Model) save() Cmd {
	if !m.dirty || m.Patient == nil || m.Q == nil {
		return nil
	}
	body, err := m.Q.ResponseJSON(m.Answers, engine.ResponseOptions{Status: engine.InProgress, Lang: m.Lang})
	if err != nil {
		return nil
	}
	m.dirty = false
	m.Saving = true
	return func(ctx context.Context, b Backend) Action {
		d, err := b.SaveDraft(ctx, m.Establishment, m.QuestionnaireID, body)
		return Action{Kind: draftSaved, saved: d.Updated, err: err}
	}
}

// setDefinition parses the questionnaire and splits it into pages.
func (m *Model) setDefinition(est portal.Establishment, def portal.QuestionnaireDef) error {
	q, _, err := engine.Parse(def.Resource)
	if err != nil {
		return portal.Errorf(portal.ErrInternal, "questionnaire %q: %v", def.ID, err)
	}
	m.Est, m.Def, m.Q = est, def, q
	m.Pages, m.Outro = nil, nil
	var lead []*engine.Item
	for _, it := range q.Items {
		if it.Hidden {
			continue
		}
		lead = append(lead, it)
		if it.Type != engine.TypeDisplay {
			m.Pages = append(m.Pages, Page{Items: lead})
			lead = nil
		}
	}
	m.Outro = lead
	m.evaluate()
	return nil
}

func (m *Model) setPatient(p *portal.Patient, demo []portal.Patient) {
	m.Patient = p
	if p != nil {
		demo = nil
	}
	m.DemoPatients = demo
	if m.DemoChoice == "" && len(demo) > 0 {
		m.DemoChoice = demo[0].ID
	}
}

// setDraft puts a draft's answers in. A draft that no longer fits the
// questionnaire (it changed) is ignored: the patient starts again.
func (m *Model) setDraft(d *portal.QuestionnaireDraft) {
	if m.Q == nil {
		return
	}
	r, err := m.Q.ReadResponse(d.Response)
	if err != nil || r.Answers == nil {
		return
	}
	m.Answers = r.Answers
	m.Resumed = true
	m.DraftSaved = d.Updated
	m.evaluate()
}

// ownUnsaved reports whether the answers shown are p's own, changed since
// the last draft saved, over the host's draft d that is still the one
// they were saved over: p's session ended while p answered, and p is back.
// A draft saved meanwhile elsewhere is not overwritten.
func (m *Model) ownUnsaved(p *portal.Patient, d *portal.QuestionnaireDraft) bool {
	if p == nil || p.ID != m.answersOf || !m.dirty {
		return false
	}
	if d == nil {
		return m.DraftSaved.IsZero()
	}
	return d.Updated.Equal(m.DraftSaved)
}

func (m *Model) resetAnswers() {
	m.Answers = engine.NewAnswers()
	m.Inputs, m.FieldErrs, m.parseErrs = nil, nil, nil
	m.Resumed, m.dirty, m.DraftFailed = false, false, false
	m.DraftSaved = time.Time{}
	m.submitKey = ""
	m.evaluate()
}

func (m *Model) evaluate() {
	if m.Q != nil {
		m.ev = m.Q.Evaluate(m.Answers)
		m.preview = m.Q.Score(m.Answers)
	}
}

// applyInitial fills in the initial answers of a new response.
func (m *Model) applyInitial(items []*engine.Item, a *engine.Answers) {
	for _, it := range items {
		switch {
		case it.RepeatingGroup():
			continue // instances start empty: the patient adds them
		case it.Type == engine.TypeGroup:
			m.applyInitial(it.Items, a)
		case it.Type.IsQuestion():
			vals := append([]engine.Value(nil), it.Initial...)
			for _, o := range it.Options {
				if o.InitialSelected {
					vals = append(vals, o.Value)
				}
			}
			if len(vals) > 0 {
				a.Set(it.LinkID, vals...)
			}
		}
	}
}

func (m *Model) goTo(p int) {
	m.FieldErrs = nil
	if p >= len(m.Pages) {
		m.Step, m.Page = StepReview, len(m.Pages)
		if m.submitKey == "" {
			// One key per submission intent, made before the review is
			// shown so that the review's form carries it: a resubmitted
			// form, or a retry, is the same submission.
			m.submitKey = newKey()
		}
		return
	}
	m.Step, m.Page = StepPage, p
}

// pageEnabled reports whether some question or group of page p is enabled.
func (m *Model) pageEnabled(p int) bool {
	for _, it := range m.Pages[p].Items {
		if it.Type != engine.TypeDisplay && m.ev.Enabled(nil, it.LinkID) {
			return true
		}
	}
	return false
}

func (m *Model) nextPage(from int) int {
	for p := from + 1; p < len(m.Pages); p++ {
		if m.pageEnabled(p) {
			return p
		}
	}
	return len(m.Pages)
}

func (m *Model) prevPage(from int) int {
	for p := from - 1; p >= 0; p-- {
		if m.pageEnabled(p) {
			return p
		}
	}
	return -1
}

// resumePage is where a resumed draft continues: the first step with a
// missing or invalid answer, or the review when every step is complete.
func (m *Model) resumePage() int {
	if p := m.firstPageWithIssues(); p >= 0 {
		return p
	}
	return len(m.Pages)
}

func (m *Model) firstPageWithIssues() int {
	if m.ev == nil || len(m.ev.Issues) == 0 {
		return -1
	}
	for p := range m.Pages {
		if !m.pageEnabled(p) {
			continue
		}
		for _, r := range m.rows(p) {
			if r.Kind == RowQuestion && m.issue(r) != nil {
				return p
			}
		}
	}
	return -1
}

// checkPage validates the current page and records each field's problem;
// it reports whether the page is complete.
func (m *Model) checkPage() bool {
	errs := map[string]string{}
	for _, r := range m.rows(m.Page) {
		if r.Kind != RowQuestion {
			continue
		}
		if e, ok := m.parseErrs[r.Key]; ok {
			errs[r.Key] = e // what was typed does not parse
			continue
		}
		if is := m.issue(r); is != nil {
			errs[r.Key] = is.Message.In(m.Lang)
		}
	}
	m.FieldErrs = errs
	return len(errs) == 0
}

// issue returns the validation problem of a question row, if any.
func (m *Model) issue(r Row) *engine.Issue {
	if m.ev == nil {
		return nil
	}
	for i := range m.ev.Issues {
		if is := &m.ev.Issues[i]; is.LinkID == r.Item.LinkID && (is.Scope == nil || is.Scope == r.Scope) {
			return is
		}
	}
	return nil
}

// answer records a patient's answer to the field a.Key of the current page.
func (m *Model) answer(a Action) {
	if m.Step != StepPage {
		return
	}
	r, ok := m.field(a.Key)
	if !ok || r.Item.ReadOnly {
		return
	}
	it := r.Item
	// A field's error is cleared by a new answer but a new error waits for
	// the next step: text fields change as the patient types, and nothing
	// may appear or move under a finger about to tap.
	delete(m.FieldErrs, a.Key)
	delete(m.parseErrs, a.Key)
	switch a.Kind {
	case Pick:
		if a.Value == "" {
			r.Scope.Set(it.LinkID)
			break
		}
		if v, ok := r.optionValue(a.Value); ok {
			r.Scope.Set(it.LinkID, v)
			if m.Inputs != nil {
				delete(m.Inputs, a.Key)
			}
		}
	case Toggle:
		v, ok := r.optionValue(a.Value)
		if !ok {
			break
		}
		var vals []engine.Value
		for _, x := range r.Scope.Get(it.LinkID) {
			if !sameAnswer(x, v) {
				vals = append(vals, x)
			}
		}
		if a.On && len(vals) < engine.MaxInstances {
			vals = append(vals, v)
		}
		r.Scope.Set(it.LinkID, vals...)
	case Type:
		text := strings.TrimSpace(a.Value)
		if m.Inputs == nil {
			m.Inputs = map[string]string{}
		}
		m.Inputs[a.Key] = a.Value
		if it.Type == engine.TypeOpenChoice && text == "" {
			// Emptying the "other" field leaves the chosen option alone.
			if vals := r.Scope.Get(it.LinkID); len(vals) > 0 && vals[0].Kind == engine.KindString {
				r.Scope.Set(it.LinkID)
			}
			break
		}
		if text == "" {
			r.Scope.Set(it.LinkID)
			break
		}
		if it.Type == engine.TypeDateTime && len(text) == len("2006-01-02T15:04") {
			// <input type="datetime-local"> has no seconds and no offset.
			text += ":00" + m.now().Format("-07:00")
		}
		v, is := it.ParseInput(text)
		if is != nil {
			if m.parseErrs == nil {
				m.parseErrs = map[string]string{}
			}
			m.parseErrs[a.Key] = is.Message.In(m.Lang)
			r.Scope.Set(it.LinkID)
			break
		}
		r.Scope.Set(it.LinkID, v)
	}
	m.changed()
}

// changed records that the answers changed: the draft must be saved, and a
// submission of these answers is a new intent with a new key.
func (m *Model) changed() {
	m.dirty = true
	m.submitKey = ""
	if m.Patient != nil {
		m.answersOf = m.Patient.ID
	}
	m.evaluate()
}

// instances adds or removes an instance of a repeating group.
func (m *Model) instances(a Action) {
	if m.Step != StepPage {
		return
	}
	r, ok := m.field(a.Key)
	if !ok {
		if a.Kind == RemoveInstance {
			// Removed already: the same "remove" again (a double click, a
			// form posted twice or from an older page).
			m.Notice = "already-removed"
		}
		return
	}
	switch {
	case a.Kind == AddInstance && r.Kind == RowAdd:
		if len(r.Scope.Instances(r.Item.LinkID)) < engine.MaxInstances {
			r.Scope.AddGroup(r.Item.LinkID)
		}
	case a.Kind == RemoveInstance && r.Kind == RowInstance:
		r.Scope.RemoveGroup(r.Item.LinkID, r.Instance)
		// The other instances keep their keys; the removed one's go.
		for _, fields := range []map[string]string{m.Inputs, m.FieldErrs, m.parseErrs} {
			for k := range fields {
				if strings.HasPrefix(k, a.Key+".") {
					delete(fields, k)
				}
			}
		}
	default:
		return
	}
	m.changed()
}

// field finds the row of a field key on the current page.
func (m *Model) field(key string) (Row, bool) {
	if m.Step != StepPage || m.Page >= len(m.Pages) {
		return Row{}, false
	}
	for _, r := range m.rows(m.Page) {
		if r.Key == key {
			return r, true
		}
	}
	return Row{}, false
}

// Progress returns the position of the current step among the enabled
// steps (1-based) and their number; the review counts as the last step.
func (m *Model) Progress() (int, int) {
	n, at := 0, 0
	for p := range m.Pages {
		if m.pageEnabled(p) {
			n++
			if p <= m.Page {
				at = n
			}
		}
	}
	n++ // the review
	if m.Step == StepReview || m.Step == StepResult {
		at = n
	}
	return at, n
}

// Preview scores the answers as they are, in the browser: for the urgent
// alerts only. The result that counts is the host's.
func (m *Model) Preview() *engine.Result { return m.preview }

// newKey returns a fresh idempotency key for one submission: 128 bits from
// the runtime's ChaCha8 generator (see widgets/booking for why not
// crypto/rand).
func newKey() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return "qs-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
