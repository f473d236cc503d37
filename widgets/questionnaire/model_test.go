package questionnaire

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/widgets"
)

// A questionnaire with what the shipped instruments do not use: a
// repeating group, a repeating choice (checkboxes), open-choice, decimal,
// boolean, an initial value and a trailing display.
const sampleQuestionnaire = `{
  "resourceType": "Questionnaire", "id": "sample", "status": "active", "language": "fr", "title": "Exemple",
  "item": [
    {"linkId": "weight", "type": "decimal", "text": "Poids (kg)", "required": true},
    {"linkId": "smoker", "type": "boolean", "text": "Fumeur ?", "initial": [{"valueBoolean": false}]},
    {"linkId": "pregnancies", "type": "group", "text": "Grossesses", "repeats": true, "item": [
      {"linkId": "year", "type": "integer", "text": "Année", "required": true},
      {"linkId": "mode", "type": "open-choice", "text": "Accouchement", "answerOption": [
        {"valueCoding": {"system": "urn:x", "code": "vb", "display": "Voie basse"}},
        {"valueCoding": {"system": "urn:x", "code": "cs", "display": "Césarienne"}}]}
    ]},
    {"linkId": "symptoms", "type": "choice", "text": "Symptômes", "repeats": true, "answerOption": [
      {"valueString": "nausées"}, {"valueString": "fatigue"}, {"valueString": "douleurs"}]},
    {"linkId": "end", "type": "display", "text": "Merci."}
  ]
}`

func sampleModel(t *testing.T) *Model {
	t.Helper()
	m := NewModel("fr", "est", "sample")
	if err := m.setDefinition(portal.Establishment{}, portal.QuestionnaireDef{Resource: []byte(sampleQuestionnaire)}); err != nil {
		t.Fatal(err)
	}
	m.Loading = false
	m.Patient = &portal.Patient{ID: "p"}
	return m
}

func TestPagesAndInitialValues(t *testing.T) {
	m := sampleModel(t)
	if len(m.Pages) != 4 || len(m.Outro) != 1 {
		t.Fatalf("%d pages, %d outro items; want 4 and 1", len(m.Pages), len(m.Outro))
	}
	m.Apply(Action{Kind: Begin})
	if m.Step != StepPage || m.Page != 0 {
		t.Fatalf("begin: %s %d", m.Step, m.Page)
	}
	if v := m.Answers.Get("smoker"); len(v) != 1 || v[0] != engine.Boolean(false) {
		t.Fatalf("initial value not applied: %v", v)
	}
	// A decimal with a French comma.
	m.Apply(Action{Kind: Type, Key: "weight", Value: "62,5"})
	if v := m.Answers.Get("weight"); len(v) != 1 || v[0].Str != "62.5" {
		t.Fatalf("weight: %v", v)
	}
	m.Apply(Action{Kind: Next})
	if m.Page != 1 {
		t.Fatalf("next: page %d, errors %v", m.Page, m.FieldErrs)
	}
}

func TestRepeatingGroup(t *testing.T) {
	m := sampleModel(t)
	m.Apply(Action{Kind: Begin})
	m.Apply(Action{Kind: Edit, Index: 2})
	rows := m.Rows()
	if len(rows) != 2 || rows[1].Kind != RowAdd {
		t.Fatalf("an empty repeating group shows its heading and an add button: %+v", rows)
	}
	m.Apply(Action{Kind: AddInstance, Key: rows[1].Key})
	m.Apply(Action{Kind: AddInstance, Key: rows[1].Key})
	// Fields are named by instance, not by position.
	inst := m.Answers.Instances("pregnancies")
	if len(inst) != 2 || inst[0].ID == "" || inst[1].ID == "" || inst[0].ID == inst[1].ID {
		t.Fatalf("instances %+v: each needs an ID of its own", inst)
	}
	first, second := "pregnancies["+inst[0].ID+"]", "pregnancies["+inst[1].ID+"]"
	var keys []string
	for _, r := range m.Rows() {
		keys = append(keys, r.Key)
	}
	want := "pregnancies " + first + " " + first + ".year " + first + ".mode " + second + " " + second + ".year " + second + ".mode pregnancies[+]"
	if strings.Join(keys, " ") != want {
		t.Fatalf("rows %v\nwant %s", keys, want)
	}
	m.Apply(Action{Kind: Type, Key: second + ".year", Value: "20l9"}) // does not parse: kept on screen
	m.Apply(Action{Kind: Type, Key: first + ".year", Value: "2019"})
	m.Apply(Action{Kind: Pick, Key: first + ".mode", Value: "1"})
	m.Apply(Action{Kind: Type, Key: second + ".mode", Value: "forceps"}) // the open answer
	m.Apply(Action{Kind: Next})
	if m.Page != 2 || m.FieldErrs[second+".year"] == "" || m.FieldErrs[first+".year"] != "" {
		t.Fatalf("the unreadable year must be reported beside the second instance only: page %d %v", m.Page, m.FieldErrs)
	}
	// Removing the first: the second keeps its key, what was typed into
	// it and its error.
	m.Apply(Action{Kind: RemoveInstance, Key: first})
	if m.Inputs[second+".year"] != "20l9" || m.FieldErrs[second+".year"] == "" {
		t.Fatalf("the remaining instance lost what was typed into it: %v %v", m.Inputs, m.FieldErrs)
	}
	m.Apply(Action{Kind: RemoveInstance, Key: first}) // again: gone already
	if m.Notice != "already-removed" || len(m.Answers.Instances("pregnancies")) != 1 {
		t.Fatalf("a removal applied twice: notice %q, %d instances", m.Notice, len(m.Answers.Instances("pregnancies")))
	}
	m.Apply(Action{Kind: Type, Key: second + ".year", Value: "2019"})
	m.Apply(Action{Kind: RemoveInstance, Key: second})
	m.Apply(Action{Kind: AddInstance, Key: "pregnancies[+]"})
	m.Apply(Action{Kind: Type, Key: m.Rows()[1].Key + ".year", Value: "2019"})
	m.Apply(Action{Kind: Pick, Key: m.Rows()[1].Key + ".mode", Value: "1"})
	inst = m.Answers.Instances("pregnancies")
	if len(inst) != 1 || inst[0].ID == first || inst[0].ID == second || inst[0].Get("year")[0] != engine.Integer(2019) || inst[0].Get("mode")[0].Coding.Code != "cs" {
		t.Fatalf("after removing both and adding one: %+v", inst)
	}
	m.Apply(Action{Kind: Next})
	if m.Page != 3 {
		t.Fatalf("next: page %d, errors %v", m.Page, m.FieldErrs)
	}
}

func TestCheckboxesAndReview(t *testing.T) {
	m := sampleModel(t)
	m.Apply(Action{Kind: Begin})
	m.Apply(Action{Kind: Edit, Index: 3})
	m.Apply(Action{Kind: Toggle, Key: "symptoms", Value: "0", On: true})
	m.Apply(Action{Kind: Toggle, Key: "symptoms", Value: "2", On: true})
	m.Apply(Action{Kind: Toggle, Key: "symptoms", Value: "0", On: false})
	m.Apply(Action{Kind: Toggle, Key: "symptoms", Value: "9", On: true}) // not an option: ignored
	if v := m.Answers.Get("symptoms"); len(v) != 1 || v[0] != engine.String("douleurs") {
		t.Fatalf("symptoms: %v", v)
	}
	m.Apply(Action{Kind: Next})
	if m.Step != StepReview || m.submitKey == "" {
		t.Fatalf("step %s, key %q: the review must carry a submission key", m.Step, m.submitKey)
	}
	key := m.submitKey
	c := &Questionnaire{M: m}
	var missing int
	for _, s := range c.Review() {
		for _, l := range s.Lines {
			if l.Missing {
				missing++
			}
		}
	}
	if missing == 0 {
		t.Error("the unanswered weight is not marked on the review")
	}
	// Submitting with an answer missing goes back to it.
	if cmd := m.Apply(Action{Kind: Submit}); cmd != nil || m.Step != StepPage || m.Page != 0 || m.FieldErrs["weight"] == "" {
		t.Fatalf("submit with a missing answer: step %s page %d errors %v", m.Step, m.Page, m.FieldErrs)
	}
	m.Apply(Action{Kind: Type, Key: "weight", Value: "70"})
	m.Apply(Action{Kind: Review})
	if m.submitKey == "" || m.submitKey == key {
		t.Error("changed answers must be a new submission intent with a new key")
	}
	if cmd := m.Apply(Action{Kind: Submit}); cmd == nil || !m.Loading {
		t.Fatal("a complete response is not sent")
	}
}

// sessionBackend has a session opened outside the widget (nil: nobody),
// with a draft when draft is set.
type sessionBackend struct {
	Backend
	patient *portal.Patient
	draft   *portal.QuestionnaireDraft
}

func (b sessionBackend) CurrentPatient(context.Context) (*portal.Patient, error) {
	return b.patient, nil
}
func (b sessionBackend) Draft(context.Context, string, string) (portal.QuestionnaireDraft, error) {
	if b.draft == nil {
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrNotFound, "no draft")
	}
	return *b.draft, nil
}

func runAll(m *Model, b Backend, a Action) {
	for cmd := m.Apply(a); cmd != nil; {
		cmd = m.Apply(cmd(context.Background(), b))
	}
}

func TestSessionChanged(t *testing.T) {
	m := sampleModel(t)
	m.Patient = nil
	runAll(m, sessionBackend{}, Action{Kind: SessionChanged})
	if m.Loading || m.Patient != nil || m.Err != "" || m.Step != StepIntro || m.Notice != "" {
		t.Fatalf("nobody: loading %v patient %v err %q step %s notice %q", m.Loading, m.Patient, m.Err, m.Step, m.Notice)
	}
	runAll(m, sessionBackend{patient: &portal.Patient{ID: "pat-a"}}, Action{Kind: SessionChanged})
	if m.Loading || m.Patient == nil || m.Patient.ID != "pat-a" || m.Resumed || m.Notice != "signed-in" {
		t.Fatalf("signed in: loading %v patient %v resumed %v notice %q", m.Loading, m.Patient, m.Resumed, m.Notice)
	}
}

func TestSignInLinksSurviveTheSnapshot(t *testing.T) {
	m := sampleModel(t)
	m.SignIn = []widgets.SignInLink{{Kind: "patient", Label: [2]string{"Se connecter", "Sign in"}, URL: "/auth/signin?provider=x"}}
	b, err := json.Marshal(m.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	h := NewModel("fr", "est", "sample")
	h.Hydrate(&s)
	if len(h.SignIn) != 1 || h.SignIn[0] != m.SignIn[0] {
		t.Fatalf("hydrated links %v", h.SignIn)
	}
}

// expiringHost keeps the drafts saved while the session lasts; once it has
// expired, saving and submitting are refused until the patient signs in
// again.
type expiringHost struct {
	Backend
	expired bool
	draft   *portal.QuestionnaireDraft
	saves   int
}

var errExpired = portal.Errorf(portal.ErrUnauthenticated, "the session expired")

func (h *expiringHost) SaveDraft(_ context.Context, _, _ string, response []byte) (portal.QuestionnaireDraft, error) {
	if h.expired {
		return portal.QuestionnaireDraft{}, errExpired
	}
	h.saves++
	h.draft = &portal.QuestionnaireDraft{Response: response, Updated: time.Date(2026, 11, 24, 10, h.saves, 0, 0, time.UTC)}
	return *h.draft, nil
}
func (h *expiringHost) SubmitResponse(context.Context, string, string, []byte, string) (portal.QuestionnaireSubmission, error) {
	return portal.QuestionnaireSubmission{}, errExpired
}
func (h *expiringHost) CurrentPatient(context.Context) (*portal.Patient, error) {
	return &portal.Patient{ID: "p"}, nil
}
func (h *expiringHost) Draft(context.Context, string, string) (portal.QuestionnaireDraft, error) {
	if h.draft == nil {
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrNotFound, "no draft")
	}
	return *h.draft, nil
}

// TestAnswersOutliveAnExpiredSession: the session expires while the
// patient answers (the drafts stop being saved, they go on), and the
// submission asks them to sign in again: back in, as the same person, the
// answers given since the last saved draft are still there; the next save
// sends them. Another draft saved meanwhile elsewhere, or another person,
// gets the host's draft.
func TestAnswersOutliveAnExpiredSession(t *testing.T) {
	answered := func(t *testing.T, h *expiringHost) *Model {
		m := sampleModel(t)
		runAll(m, h, Action{Kind: Begin})
		runAll(m, h, Action{Kind: Type, Key: "weight", Value: "62"})
		runAll(m, h, Action{Kind: Next}) // saved
		h.expired = true
		runAll(m, h, Action{Kind: Pick, Key: "smoker", Value: "true"})
		runAll(m, h, Action{Kind: Next}) // not saved: the patient goes on
		if !m.DraftFailed || m.Patient == nil {
			t.Fatalf("a failed draft: failed %v, patient %v", m.DraftFailed, m.Patient)
		}
		runAll(m, h, Action{Kind: Review})
		runAll(m, h, Action{Kind: Submit})
		if m.Patient != nil || m.Step != StepIntro || m.Err != portal.ErrUnauthenticated {
			t.Fatalf("after the refused submission: patient %v step %s err %q", m.Patient, m.Step, m.Err)
		}
		h.expired = false
		return m
	}
	smoker := func(m *Model) bool {
		v := m.Answers.Get("smoker")
		return len(v) == 1 && v[0] == engine.Boolean(true)
	}

	h := &expiringHost{}
	m := answered(t, h)
	runAll(m, h, Action{Kind: SessionChanged})
	if m.Patient == nil || !smoker(m) || len(m.Answers.Get("weight")) != 1 {
		t.Fatalf("back in: patient %v, smoker %v, weight %v", m.Patient, m.Answers.Get("smoker"), m.Answers.Get("weight"))
	}
	runAll(m, h, Action{Kind: Begin})
	runAll(m, h, Action{Kind: Review})
	if h.saves != 2 || !strings.Contains(string(h.draft.Response), `"smoker"`) {
		t.Fatalf("the kept answers were not saved: %d saves, %s", h.saves, h.draft.Response)
	}

	// A draft saved elsewhere meanwhile is the host's word.
	h = &expiringHost{}
	m = answered(t, h)
	h.saves = 5
	old := h.draft.Response
	h.draft = &portal.QuestionnaireDraft{Response: old, Updated: time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)}
	runAll(m, h, Action{Kind: SessionChanged})
	if m.Patient == nil || smoker(m) {
		t.Fatalf("a newer draft elsewhere: patient %v, smoker %v", m.Patient, m.Answers.Get("smoker"))
	}

	// Another person never gets them.
	h = &expiringHost{}
	m = answered(t, h)
	runAll(m, sessionBackend{patient: &portal.Patient{ID: "someone-else"}}, Action{Kind: SessionChanged})
	if m.Patient == nil || m.Patient.ID != "someone-else" || smoker(m) || len(m.Answers.Get("weight")) != 0 {
		t.Fatalf("another person sees %v %v", m.Answers.Get("smoker"), m.Answers.Get("weight"))
	}
}
