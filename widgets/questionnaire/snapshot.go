package questionnaire

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// Snapshot is the whole state of the widget's current screen, computed by
// the host while rendering a document and handed to the browser in it, so
// that the Wasm starts from the screen the patient already sees.
type Snapshot struct {
	Establishment portal.Establishment    `json:"establishment"`
	Definition    portal.QuestionnaireDef `json:"definition"`
	Patient       *portal.Patient         `json:"patient,omitempty"`
	DemoPatients  []portal.Patient        `json:"demo_patients,omitempty"`
	DemoChoice    string                  `json:"demo_choice,omitempty"`
	// Answers are the answers so far, as an in-progress QuestionnaireResponse.
	Answers     json.RawMessage                 `json:"answers,omitempty"`
	Resumed     bool                            `json:"resumed,omitempty"`
	DraftSaved  time.Time                       `json:"draft_saved,omitzero"`
	DraftFailed bool                            `json:"draft_failed,omitempty"`
	Inputs      map[string]string               `json:"inputs,omitempty"`
	FieldErrs   map[string]string               `json:"field_errors,omitempty"`
	Step        Step                            `json:"step"`
	Page        int                             `json:"page,omitempty"`
	SubmitKey   string                          `json:"submit_key,omitempty"`
	Submission  *portal.QuestionnaireSubmission `json:"submission,omitempty"`
	Err         portal.ErrorCode                `json:"error,omitempty"`
	ErrText     string                          `json:"error_text,omitempty"`
	Notice      string                          `json:"notice,omitempty"`
	// SignIn are the host's sign-in buttons.
	SignIn []widgets.SignInLink `json:"signin,omitempty"`
}

// MaxPreloadSteps bounds the calls Preload makes.
const MaxPreloadSteps = 4

// Preload runs the start of the flow on the server against b and returns
// the snapshot of the first screen, nil when a call failed or ctx ended (the
// host then serves the loading skeleton and the browser loads by itself).
func Preload(ctx context.Context, m *Model, b Backend) *Snapshot {
	if !ui.Settle(ctx, b, m.Apply(Action{Kind: Start}), m.Apply, MaxPreloadSteps) {
		return nil
	}
	if m.Err != "" || m.Loading || m.Q == nil {
		return nil
	}
	return m.snapshot()
}

func (m *Model) snapshot() *Snapshot {
	s := &Snapshot{
		Establishment: m.Est, Definition: m.Def,
		Patient: m.Patient, DemoPatients: m.DemoPatients, DemoChoice: m.DemoChoice,
		Resumed: m.Resumed, DraftSaved: m.DraftSaved, DraftFailed: m.DraftFailed,
		Inputs: m.Inputs, FieldErrs: m.FieldErrs,
		Step: m.Step, Page: m.Page, SubmitKey: m.submitKey, Submission: m.Submission,
		Err: m.Err, ErrText: m.ErrText, Notice: m.Notice,
		SignIn: m.SignIn,
	}
	if m.Q != nil && m.Patient != nil {
		if b, err := m.Q.ResponseJSON(m.Answers, engine.ResponseOptions{Status: engine.InProgress, Lang: m.Lang}); err == nil {
			s.Answers = b
		}
	}
	return s
}

// Hydrate puts s into the model: the browser's first render then matches
// the server's HTML.
func (m *Model) Hydrate(s *Snapshot) {
	m.Loading = false
	m.SignIn = s.SignIn
	if err := m.setDefinition(s.Establishment, s.Definition); err != nil {
		m.fail(Action{err: err})
		return
	}
	m.DemoChoice = s.DemoChoice
	m.setPatient(s.Patient, s.DemoPatients)
	if len(s.Answers) > 0 {
		if r, err := m.Q.ReadResponse(s.Answers); err == nil && r.Answers != nil {
			m.Answers = r.Answers
			m.evaluate()
		}
	}
	m.Resumed, m.DraftSaved, m.DraftFailed = s.Resumed, s.DraftSaved, s.DraftFailed
	m.Inputs, m.FieldErrs = s.Inputs, s.FieldErrs
	m.submitKey = s.SubmitKey
	m.Submission = s.Submission
	m.Step, m.Page = StepIntro, 0
	switch {
	case s.Step == StepResult && s.Submission != nil:
		m.Step = StepResult
	case s.Step == StepPage && s.Page >= 0 && s.Page < len(m.Pages) && m.Patient != nil:
		m.Step, m.Page = StepPage, s.Page
	case s.Step == StepReview && m.Patient != nil:
		m.goTo(len(m.Pages))
		m.FieldErrs = s.FieldErrs
	}
	m.Err, m.ErrText, m.Notice = s.Err, s.ErrText, s.Notice
}

// ErrCode is the error the screen shows, "" for none: the host records a
// form post whose screen shows one as the API would have answered it.
func (s *Snapshot) ErrCode() portal.ErrorCode { return s.Err }
