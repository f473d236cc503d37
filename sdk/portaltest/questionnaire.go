package portaltest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// QuestionnaireFixture is a fresh implementation of portal.Questionnaires
// under test. RunQuestionnaireTests makes one per test.
//
// Fresh means no drafts, submissions or care-team alerts yet. The suite moves
// the clock forward; it never moves it back.
type QuestionnaireFixture struct {
	// As returns the service acting as the given patient. A backend wraps
	// its calls with portal.WithSubject (see AsPatientQuestionnaires); the
	// HTTP client is a client signed in as that patient.
	As func(t *testing.T, patient string) portal.Questionnaires
	// Anonymous is the service with no signed-in patient.
	Anonymous portal.Questionnaires
	// CareTeam is the service as the care team reads it, for
	// CareTeamAlerts (a backend: the store itself). Nil skips the tests
	// of care-team alerts, for an implementation without that view (the
	// HTTP client patients use).
	CareTeam portal.Questionnaires
	// Establishment offers Questionnaire and OtherQuestionnaire, two
	// distinct questionnaires; Questionnaire has at least one next step.
	Establishment                     string
	Questionnaire, OtherQuestionnaire string
	// Patients are at least two distinct patient ids.
	Patients []string
	// SetNow sets the implementation's clock.
	SetNow func(time.Time)
	// Now returns the implementation's clock.
	Now func() time.Time
}

// RunQuestionnaireTests runs the conformance suite of portal.Questionnaires,
// each test on a fixture of its own from newFixture. Errors are compared by
// code (portal.Code), documents as JSON values and times with
// time.Time.Equal, so that an implementation reached over JSON passes as a
// backend does.
//
// Beyond the comments of portal.Questionnaires, the suite requires that a
// draft's Response and a submission's Response and RiskAssessment be FHIR
// resources of their type in JSON, each of at most
// portal.MaxQuestionnaireResponse bytes (ErrTooLarge beyond, ErrInvalid
// otherwise); that Updated and Submitted record the clock (to the second);
// that an idempotent replay return the first submission even if the new
// request has another ID; that a submission ID another patient holds be
// refused with ErrInvalid, or replaced, with no sign of whose it is; and that
// an unknown questionnaire be ErrNotFound for drafts and submissions.
func RunQuestionnaireTests(t *testing.T, newFixture func(t *testing.T) QuestionnaireFixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, fx QuestionnaireFixture)
	}{
		{"Questionnaire", testQuestionnaire},
		{"QuestionnaireUnknown", testQuestionnaireUnknown},
		{"Unauthenticated", testQuestionnairesUnauthenticated},
		{"DraftSaveAndResume", testDraftSaveResume},
		{"DraftReplace", testDraftReplace},
		{"DraftDelete", testDraftDelete},
		{"DraftPerPatient", testDraftPerPatient},
		{"DraftUnknownQuestionnaire", testDraftUnknownQuestionnaire},
		{"DraftInvalid", testDraftInvalid},
		{"DraftAtMaximumSize", testDraftMaxSize},
		{"Submit", testSubmit},
		{"SubmitWithoutRiskAssessment", testSubmitWithoutRisk},
		{"SubmitInvalid", testSubmitInvalid},
		{"SubmitUnknownQuestionnaire", testSubmitUnknownQuestionnaire},
		{"SubmitIdempotentReplay", testSubmitReplay},
		{"SubmitIdempotencyKeyReused", testSubmitKeyReused},
		{"SubmitIdempotencyKeyPerPatient", testSubmitKeyPerPatient},
		{"SubmitIDTaken", testSubmitIDTaken},
		{"SubmissionOfAnotherPatient", testSubmissionOtherPatient},
		{"SubmitConcurrentRetries", testSubmitConcurrentRetries},
		{"CareTeamAlertRecordedOnce", testCareTeamAlertOnce},
		{"CareTeamAlertOnlyWhenFlagged", testCareTeamAlertOnlyWhenFlagged},
		{"CareTeamAlertsNewestFirst", testCareTeamAlertsNewestFirst},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			checkQuestionnaireFixture(t, fx)
			tc.run(t, fx)
		})
	}
}

func checkQuestionnaireFixture(t *testing.T, fx QuestionnaireFixture) {
	t.Helper()
	switch {
	case fx.As == nil || fx.Anonymous == nil || fx.SetNow == nil || fx.Now == nil:
		t.Fatal("fixture: As, Anonymous, SetNow and Now are required")
	case fx.Establishment == "" || fx.Questionnaire == "" || fx.OtherQuestionnaire == "":
		t.Fatal("fixture: Establishment, Questionnaire and OtherQuestionnaire are required")
	case fx.Questionnaire == fx.OtherQuestionnaire:
		t.Fatal("fixture: Questionnaire and OtherQuestionnaire must differ")
	case len(fx.Patients) < 2 || fx.Patients[0] == fx.Patients[1]:
		t.Fatalf("fixture: at least two distinct patients are required, got %q", fx.Patients)
	}
}

// AsPatientQuestionnaires returns q acting as patient: every call carries
// portal.Subject{Patient: patient} in its context, as the edge host puts the
// signed-in patient there. Backends use it for QuestionnaireFixture.As.
func AsPatientQuestionnaires(q portal.Questionnaires, patient string) portal.Questionnaires {
	return asPatientQuestionnaires{q: q, subject: portal.Subject{Patient: patient}}
}

type asPatientQuestionnaires struct {
	q       portal.Questionnaires
	subject portal.Subject
}

var _ portal.Questionnaires = asPatientQuestionnaires{}

func (a asPatientQuestionnaires) ctx(ctx context.Context) context.Context {
	return portal.WithSubject(ctx, a.subject)
}

func (a asPatientQuestionnaires) Questionnaire(ctx context.Context, est, id string) (portal.QuestionnaireDef, error) {
	return a.q.Questionnaire(a.ctx(ctx), est, id)
}

func (a asPatientQuestionnaires) Draft(ctx context.Context, est, questionnaire string) (portal.QuestionnaireDraft, error) {
	return a.q.Draft(a.ctx(ctx), est, questionnaire)
}

func (a asPatientQuestionnaires) SaveDraft(ctx context.Context, d portal.QuestionnaireDraft) (portal.QuestionnaireDraft, error) {
	return a.q.SaveDraft(a.ctx(ctx), d)
}

func (a asPatientQuestionnaires) DeleteDraft(ctx context.Context, est, questionnaire string) error {
	return a.q.DeleteDraft(a.ctx(ctx), est, questionnaire)
}

func (a asPatientQuestionnaires) Submit(ctx context.Context, s portal.QuestionnaireSubmission) (portal.QuestionnaireSubmission, error) {
	return a.q.Submit(a.ctx(ctx), s)
}

func (a asPatientQuestionnaires) Submission(ctx context.Context, id string) (portal.QuestionnaireSubmission, error) {
	return a.q.Submission(a.ctx(ctx), id)
}

func (a asPatientQuestionnaires) CareTeamAlerts(ctx context.Context, est, service string) ([]portal.CareTeamAlert, error) {
	return a.q.CareTeamAlerts(a.ctx(ctx), est, service)
}

// Helpers.

// document returns a FHIR resource of resourceType in JSON with fields.
func document(resourceType string, fields map[string]any) json.RawMessage {
	m := map[string]any{"resourceType": resourceType}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// draftResponse returns an in-progress QuestionnaireResponse answering
// question 1 with answer.
func draftResponse(questionnaire, answer string) json.RawMessage {
	return document("QuestionnaireResponse", map[string]any{
		"status":        "in-progress",
		"questionnaire": questionnaire,
		"item":          []any{map[string]any{"linkId": "1", "answer": []any{map[string]any{"valueString": answer}}}},
	})
}

// sizedResponse returns a QuestionnaireResponse of exactly n bytes.
func sizedResponse(n int) json.RawMessage {
	const head, tail = `{"resourceType":"QuestionnaireResponse","status":"in-progress","text":"`, `"}`
	return json.RawMessage(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

// newSubmissionID returns a fresh FHIR id for a submission.
func newSubmissionID() string { return "conformance-qr-" + strings.ToLower(rand.Text()) }

// newSubmission returns a scored submission of questionnaire with a fresh ID
// and key; alert sets Result.CareTeamAlert and Result.Urgent.
func newSubmission(fx QuestionnaireFixture, questionnaire string, alert bool) portal.QuestionnaireSubmission {
	id := newSubmissionID()
	level := "conformance-low"
	if alert {
		level = "conformance-high"
	}
	return portal.QuestionnaireSubmission{
		ID:            id,
		Establishment: fx.Establishment,
		Questionnaire: questionnaire,
		Response: document("QuestionnaireResponse", map[string]any{
			"id":     id,
			"status": "completed",
			"item":   []any{map[string]any{"linkId": "1", "answer": []any{map[string]any{"valueInteger": 3}}}},
		}),
		RiskAssessment: document("RiskAssessment", map[string]any{
			"status": "final",
			"basis":  []any{map[string]any{"reference": "QuestionnaireResponse/" + id}},
		}),
		Result: portal.QuestionnaireResult{
			Total:         "14",
			Groups:        []portal.GroupTotal{{LinkID: "g1", Text: portal.Text{FR: "Humeur", EN: "Mood"}, Total: "14"}},
			Level:         level,
			LevelDisplay:  portal.Text{FR: "Niveau " + level, EN: "Level " + level},
			LevelRank:     2,
			Levels:        3,
			Text:          portal.Text{FR: "Parlez-en à votre médecin.", EN: "Talk to your doctor."},
			Alerts:        []portal.ResultAlert{{Rule: "item-9", Message: portal.Text{FR: "Appelez le 3114."}, Urgent: alert}},
			Urgent:        alert,
			CareTeamAlert: alert,
		},
		IdempotencyKey: newKey(),
	}
}

// sameJSON reports whether a and b are the same JSON value; two empty
// documents are the same.
func sameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// marshal returns v in JSON.
func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantClock fails t unless tm records now to the second: in (now-1s, now].
func wantClock(t *testing.T, what string, tm, now time.Time) {
	t.Helper()
	if tm.After(now) || !tm.After(now.Add(-time.Second)) {
		t.Errorf("%s = %s, want the clock's %s (to the second)", what, tm, now)
	}
}

func definition(t *testing.T, q portal.Questionnaires, fx QuestionnaireFixture, id string) portal.QuestionnaireDef {
	t.Helper()
	d, err := q.Questionnaire(t.Context(), fx.Establishment, id)
	if err != nil {
		t.Fatalf("Questionnaire(%s, %s): %v", fx.Establishment, id, err)
	}
	return d
}

func saveDraft(t *testing.T, q portal.Questionnaires, d portal.QuestionnaireDraft) portal.QuestionnaireDraft {
	t.Helper()
	got, err := q.SaveDraft(t.Context(), d)
	if err != nil {
		t.Fatalf("SaveDraft(%s): %v", d.Questionnaire, err)
	}
	return got
}

// newDraft returns a draft of questionnaire answering answer.
func newDraft(fx QuestionnaireFixture, questionnaire, answer string) portal.QuestionnaireDraft {
	return portal.QuestionnaireDraft{
		Establishment: fx.Establishment, Questionnaire: questionnaire, Response: draftResponse(questionnaire, answer),
	}
}

func draft(t *testing.T, q portal.Questionnaires, fx QuestionnaireFixture, questionnaire string) portal.QuestionnaireDraft {
	t.Helper()
	d, err := q.Draft(t.Context(), fx.Establishment, questionnaire)
	if err != nil {
		t.Fatalf("Draft(%s): %v", questionnaire, err)
	}
	return d
}

func wantNoDraft(t *testing.T, q portal.Questionnaires, fx QuestionnaireFixture, questionnaire, what string) {
	t.Helper()
	d, err := q.Draft(t.Context(), fx.Establishment, questionnaire)
	if portal.Code(err) != portal.ErrNotFound {
		t.Errorf("%s: Draft(%s) = %s, %v; want %s", what, questionnaire, d.Response, err, portal.ErrNotFound)
	}
}

// sameDraft fails t unless got and want are the same draft.
func sameDraft(t *testing.T, what string, got, want portal.QuestionnaireDraft) {
	t.Helper()
	if got.Establishment != want.Establishment || got.Questionnaire != want.Questionnaire ||
		!sameJSON(got.Response, want.Response) || !got.Updated.Equal(want.Updated) {
		t.Errorf("%s: draft\n%s/%s %s at %s\nwant\n%s/%s %s at %s", what,
			got.Establishment, got.Questionnaire, got.Response, got.Updated,
			want.Establishment, want.Questionnaire, want.Response, want.Updated)
	}
}

func submit(t *testing.T, q portal.Questionnaires, s portal.QuestionnaireSubmission) portal.QuestionnaireSubmission {
	t.Helper()
	got, err := q.Submit(t.Context(), s)
	if err != nil {
		t.Fatalf("Submit(%s): %v", s.ID, err)
	}
	return got
}

func submission(t *testing.T, q portal.Questionnaires, id string) portal.QuestionnaireSubmission {
	t.Helper()
	s, err := q.Submission(t.Context(), id)
	if err != nil {
		t.Fatalf("Submission(%s): %v", id, err)
	}
	return s
}

func wantNoSubmission(t *testing.T, q portal.Questionnaires, id, what string) {
	t.Helper()
	s, err := q.Submission(t.Context(), id)
	if portal.Code(err) != portal.ErrNotFound {
		t.Errorf("%s: Submission(%s) = %s, %v; want %s", what, id, s.ID, err, portal.ErrNotFound)
	}
}

// sameSubmission fails t unless got and want describe the same submission.
func sameSubmission(t *testing.T, what string, got, want portal.QuestionnaireSubmission) {
	t.Helper()
	var diffs []string
	eq := func(field string, ok bool, g, w any) {
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", field, g, w))
		}
	}
	eq("ID", got.ID == want.ID, got.ID, want.ID)
	eq("Establishment", got.Establishment == want.Establishment, got.Establishment, want.Establishment)
	eq("Questionnaire", got.Questionnaire == want.Questionnaire, got.Questionnaire, want.Questionnaire)
	eq("Service", got.Service == want.Service, got.Service, want.Service)
	eq("Response", sameJSON(got.Response, want.Response), got.Response, want.Response)
	eq("RiskAssessment", sameJSON(got.RiskAssessment, want.RiskAssessment), got.RiskAssessment, want.RiskAssessment)
	gr, wr := marshal(t, got.Result), marshal(t, want.Result)
	eq("Result", sameJSON(gr, wr), gr, wr)
	eq("Submitted", got.Submitted.Equal(want.Submitted), got.Submitted, want.Submitted)
	if len(diffs) > 0 {
		t.Errorf("%s: submission differs:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// alertsOf returns the alerts of the questionnaire's service that refer to
// submission; it skips t when the fixture has no care-team view.
func alertsOf(t *testing.T, fx QuestionnaireFixture, service, submission string) []portal.CareTeamAlert {
	t.Helper()
	var out []portal.CareTeamAlert
	for _, a := range careTeamAlerts(t, fx, service) {
		if a.Submission == submission {
			out = append(out, a)
		}
	}
	return out
}

func careTeamAlerts(t *testing.T, fx QuestionnaireFixture, service string) []portal.CareTeamAlert {
	t.Helper()
	if fx.CareTeam == nil {
		t.Skip("the fixture has no care-team view (CareTeam is nil)")
	}
	as, err := fx.CareTeam.CareTeamAlerts(t.Context(), fx.Establishment, service)
	if err != nil {
		t.Fatalf("CareTeamAlerts(%s, %s): %v", fx.Establishment, service, err)
	}
	return as
}

// Definitions.

func testQuestionnaire(t *testing.T, fx QuestionnaireFixture) {
	// Public: no patient needed, and the same for a patient.
	d := definition(t, fx.Anonymous, fx, fx.Questionnaire)
	if d.ID != fx.Questionnaire || d.Establishment != fx.Establishment || d.Service == "" || d.Title.FR == "" {
		t.Errorf("Questionnaire = id %q, establishment %q, service %q, title %q; want its ids, a service and a French title",
			d.ID, d.Establishment, d.Service, d.Title.FR)
	}
	var resource map[string]any
	if err := json.Unmarshal(d.Resource, &resource); err != nil || resource["resourceType"] != "Questionnaire" {
		t.Errorf("Questionnaire.Resource = %.200s (%v), want a FHIR Questionnaire in JSON", d.Resource, err)
	}
	if len(d.NextSteps) == 0 {
		t.Fatalf("Questionnaire(%s) has no next step; the fixture's Questionnaire needs one", fx.Questionnaire)
	}
	var def *portal.NextStep
	for i, st := range d.NextSteps {
		if st.Text.FR == "" {
			t.Errorf("next step %d (level %q) has no French text", i, st.Level)
		}
		if got, ok := d.NextStep(st.Level); !ok || !reflect.DeepEqual(got, st) {
			t.Errorf("NextStep(%q) = %+v, %v; want step %d, %+v (levels must be unique)", st.Level, got, ok, i, st)
		}
		if st.Level == "" {
			def = &d.NextSteps[i]
		}
	}
	if got, ok := d.NextStep("conformance-no-such-level"); def != nil && (!ok || !reflect.DeepEqual(got, *def)) {
		t.Errorf("NextStep(unknown level) = %+v, %v; want the default step %+v", got, ok, *def)
	}

	asPatient := definition(t, fx.As(t, fx.Patients[0]), fx, fx.Questionnaire)
	if !reflect.DeepEqual(asPatient.NextSteps, d.NextSteps) || !sameJSON(asPatient.Resource, d.Resource) ||
		asPatient.Service != d.Service || asPatient.Title != d.Title {
		t.Errorf("Questionnaire as a patient differs from the anonymous one")
	}
	if other := definition(t, fx.Anonymous, fx, fx.OtherQuestionnaire); other.ID != fx.OtherQuestionnaire {
		t.Errorf("Questionnaire(%s).ID = %q", fx.OtherQuestionnaire, other.ID)
	}
}

func testQuestionnaireUnknown(t *testing.T, fx QuestionnaireFixture) {
	_, err := fx.Anonymous.Questionnaire(t.Context(), unknownID, fx.Questionnaire)
	wantCode(t, err, portal.ErrNotFound, "Questionnaire(unknown establishment)")
	_, err = fx.Anonymous.Questionnaire(t.Context(), fx.Establishment, unknownID)
	wantCode(t, err, portal.ErrNotFound, "Questionnaire(unknown questionnaire)")
}

func testQuestionnairesUnauthenticated(t *testing.T, fx QuestionnaireFixture) {
	a, ctx := fx.Anonymous, t.Context()
	_, err := a.Draft(ctx, fx.Establishment, fx.Questionnaire)
	wantCode(t, err, portal.ErrUnauthenticated, "Draft")
	_, err = a.SaveDraft(ctx, newDraft(fx, fx.Questionnaire, "anonymous"))
	wantCode(t, err, portal.ErrUnauthenticated, "SaveDraft")
	wantCode(t, a.DeleteDraft(ctx, fx.Establishment, fx.Questionnaire), portal.ErrUnauthenticated, "DeleteDraft")
	s := newSubmission(fx, fx.Questionnaire, true)
	_, err = a.Submit(ctx, s)
	wantCode(t, err, portal.ErrUnauthenticated, "Submit")
	_, err = a.Submission(ctx, s.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "Submission")

	for _, p := range fx.Patients[:2] {
		q := fx.As(t, p)
		wantNoDraft(t, q, fx, fx.Questionnaire, "after an anonymous SaveDraft")
		wantNoSubmission(t, q, s.ID, "after an anonymous Submit")
	}
}

// Drafts.

func testDraftSaveResume(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	wantNoDraft(t, q, fx, fx.Questionnaire, "before any SaveDraft")
	d := newDraft(fx, fx.Questionnaire, "première réponse")
	saved := saveDraft(t, q, d)
	want := d
	want.Updated = saved.Updated
	sameDraft(t, "SaveDraft", saved, want)
	wantClock(t, "SaveDraft.Updated", saved.Updated, fx.Now())

	// Resuming later, from another device: the draft as saved.
	fx.SetNow(fx.Now().Add(time.Hour))
	sameDraft(t, "Draft", draft(t, q, fx, fx.Questionnaire), saved)
	wantNoDraft(t, q, fx, fx.OtherQuestionnaire, "Draft of another questionnaire")
}

func testDraftReplace(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	first := saveDraft(t, q, newDraft(fx, fx.Questionnaire, "first"))
	fx.SetNow(fx.Now().Add(10 * time.Minute))
	d := newDraft(fx, fx.Questionnaire, "second")
	second := saveDraft(t, q, d)
	if !second.Updated.After(first.Updated) {
		t.Errorf("replaced draft: Updated %s, want after the first's %s", second.Updated, first.Updated)
	}
	wantClock(t, "replaced draft: Updated", second.Updated, fx.Now())
	got := draft(t, q, fx, fx.Questionnaire)
	if !sameJSON(got.Response, d.Response) {
		t.Errorf("Draft after a replace = %s, want the second response %s", got.Response, d.Response)
	}
	sameDraft(t, "Draft after a replace", got, second)
}

func testDraftDelete(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	saveDraft(t, q, newDraft(fx, fx.Questionnaire, "to delete"))
	kept := saveDraft(t, q, newDraft(fx, fx.OtherQuestionnaire, "to keep"))
	if err := q.DeleteDraft(t.Context(), fx.Establishment, fx.Questionnaire); err != nil {
		t.Fatalf("DeleteDraft: %v", err)
	}
	wantNoDraft(t, q, fx, fx.Questionnaire, "after DeleteDraft")
	sameDraft(t, "the draft of the other questionnaire", draft(t, q, fx, fx.OtherQuestionnaire), kept)
	if err := q.DeleteDraft(t.Context(), fx.Establishment, fx.Questionnaire); err != nil {
		t.Errorf("DeleteDraft of no draft: %v, want nil", err)
	}
	if err := q.DeleteDraft(t.Context(), fx.Establishment, unknownID); err != nil {
		t.Errorf("DeleteDraft of an unknown questionnaire: %v, want nil", err)
	}
	// A deleted draft can be saved again.
	saveDraft(t, q, newDraft(fx, fx.Questionnaire, "again"))
}

func testDraftPerPatient(t *testing.T, fx QuestionnaireFixture) {
	owner, other := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	mine := saveDraft(t, owner, newDraft(fx, fx.Questionnaire, "owner's answer"))

	_, errOther := other.Draft(t.Context(), fx.Establishment, fx.Questionnaire)
	_, errNone := other.Draft(t.Context(), fx.Establishment, fx.OtherQuestionnaire)
	wantCode(t, errOther, portal.ErrNotFound, "Draft of a questionnaire another patient has a draft of")
	if portal.PatientMessage(errOther, "fr") != portal.PatientMessage(errNone, "fr") {
		t.Errorf("another patient's draft is reported as %q, no draft as %q: want the same", errOther, errNone)
	}

	theirs := saveDraft(t, other, newDraft(fx, fx.Questionnaire, "other's answer"))
	sameDraft(t, "the owner's draft after another patient saved theirs", draft(t, owner, fx, fx.Questionnaire), mine)
	sameDraft(t, "the other patient's draft", draft(t, other, fx, fx.Questionnaire), theirs)
	if err := other.DeleteDraft(t.Context(), fx.Establishment, fx.Questionnaire); err != nil {
		t.Fatalf("DeleteDraft: %v", err)
	}
	sameDraft(t, "the owner's draft after another patient deleted theirs", draft(t, owner, fx, fx.Questionnaire), mine)
}

func testDraftUnknownQuestionnaire(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	_, err := q.SaveDraft(t.Context(), newDraft(fx, unknownID, "x"))
	wantCode(t, err, portal.ErrNotFound, "SaveDraft(unknown questionnaire)")
	d := newDraft(fx, fx.Questionnaire, "x")
	d.Establishment = unknownID
	_, err = q.SaveDraft(t.Context(), d)
	wantCode(t, err, portal.ErrNotFound, "SaveDraft(unknown establishment)")
	_, err = q.Draft(t.Context(), fx.Establishment, unknownID)
	wantCode(t, err, portal.ErrNotFound, "Draft(unknown questionnaire)")
}

func testDraftInvalid(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	kept := saveDraft(t, q, newDraft(fx, fx.Questionnaire, "kept"))
	tests := []struct {
		name     string
		response json.RawMessage
		code     portal.ErrorCode
	}{
		{"Empty", nil, portal.ErrInvalid},
		{"Null", json.RawMessage(`null`), portal.ErrInvalid},
		{"EmptyObject", json.RawMessage(`{}`), portal.ErrInvalid},
		{"Array", json.RawMessage(`[{"resourceType":"QuestionnaireResponse"}]`), portal.ErrInvalid},
		{"String", json.RawMessage(`"QuestionnaireResponse"`), portal.ErrInvalid},
		{"OtherResource", document("Patient", map[string]any{"id": "x"}), portal.ErrInvalid},
		{"NoResourceType", json.RawMessage(`{"status":"in-progress"}`), portal.ErrInvalid},
		{"TooLarge", sizedResponse(portal.MaxQuestionnaireResponse + 1), portal.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, questionnaire := range []string{fx.Questionnaire, fx.OtherQuestionnaire} {
				_, err := q.SaveDraft(t.Context(), portal.QuestionnaireDraft{
					Establishment: fx.Establishment, Questionnaire: questionnaire, Response: tc.response,
				})
				wantCode(t, err, tc.code, "SaveDraft("+questionnaire+")")
			}
			sameDraft(t, "the draft after a refused replacement", draft(t, q, fx, fx.Questionnaire), kept)
			wantNoDraft(t, q, fx, fx.OtherQuestionnaire, "after a refused SaveDraft")
		})
	}
	t.Run("MissingFields", func(t *testing.T) {
		d := newDraft(fx, fx.Questionnaire, "x")
		d.Establishment = ""
		_, err := q.SaveDraft(t.Context(), d)
		wantCode(t, err, portal.ErrInvalid, "SaveDraft(no establishment)")
		d = newDraft(fx, "", "x")
		_, err = q.SaveDraft(t.Context(), d)
		wantCode(t, err, portal.ErrInvalid, "SaveDraft(no questionnaire)")
	})
}

func testDraftMaxSize(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	d := portal.QuestionnaireDraft{
		Establishment: fx.Establishment, Questionnaire: fx.Questionnaire,
		Response: sizedResponse(portal.MaxQuestionnaireResponse),
	}
	saved := saveDraft(t, q, d)
	if !sameJSON(draft(t, q, fx, fx.Questionnaire).Response, d.Response) || !sameJSON(saved.Response, d.Response) {
		t.Errorf("a draft of exactly %d bytes was not kept as sent", portal.MaxQuestionnaireResponse)
	}
}

// Submissions.

func testSubmit(t *testing.T, fx QuestionnaireFixture) {
	q, other := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	def := definition(t, q, fx, fx.Questionnaire)
	saveDraft(t, q, newDraft(fx, fx.Questionnaire, "to submit"))
	keptOwn := saveDraft(t, q, newDraft(fx, fx.OtherQuestionnaire, "other questionnaire"))
	keptOther := saveDraft(t, other, newDraft(fx, fx.Questionnaire, "other patient"))
	fx.SetNow(fx.Now().Add(5 * time.Minute))

	s := newSubmission(fx, fx.Questionnaire, false)
	got := submit(t, q, s)
	want := s
	want.Service, want.Submitted = def.Service, got.Submitted
	sameSubmission(t, "Submit", got, want)
	wantClock(t, "Submit: Submitted", got.Submitted, fx.Now())

	fx.SetNow(fx.Now().Add(time.Minute))
	sameSubmission(t, "Submission", submission(t, q, s.ID), got)
	wantNoDraft(t, q, fx, fx.Questionnaire, "after Submit")
	sameDraft(t, "the patient's draft of another questionnaire", draft(t, q, fx, fx.OtherQuestionnaire), keptOwn)
	sameDraft(t, "another patient's draft of the questionnaire", draft(t, other, fx, fx.Questionnaire), keptOther)
}

func testSubmitWithoutRisk(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	s := newSubmission(fx, fx.OtherQuestionnaire, false)
	s.RiskAssessment = nil
	s.Result = portal.QuestionnaireResult{Total: "3", Text: portal.Text{FR: "Merci.", EN: "Thank you."}}
	got := submit(t, q, s)
	if len(got.RiskAssessment) != 0 {
		t.Errorf("Submit without a RiskAssessment returned %s, want none", got.RiskAssessment)
	}
	sameSubmission(t, "Submission", submission(t, q, s.ID), got)
}

func testSubmitInvalid(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	kept := saveDraft(t, q, newDraft(fx, fx.Questionnaire, "kept"))
	tests := []struct {
		name   string
		change func(*portal.QuestionnaireSubmission)
		code   portal.ErrorCode
	}{
		{"NoEstablishment", func(s *portal.QuestionnaireSubmission) { s.Establishment = "" }, portal.ErrInvalid},
		{"NoQuestionnaire", func(s *portal.QuestionnaireSubmission) { s.Questionnaire = "" }, portal.ErrInvalid},
		{"NoID", func(s *portal.QuestionnaireSubmission) { s.ID = "" }, portal.ErrInvalid},
		{"NoResponse", func(s *portal.QuestionnaireSubmission) { s.Response = nil }, portal.ErrInvalid},
		{"ResponseNotAnObject", func(s *portal.QuestionnaireSubmission) { s.Response = json.RawMessage(`[1, 2]`) }, portal.ErrInvalid},
		{"ResponseOfAnotherType", func(s *portal.QuestionnaireSubmission) { s.Response = document("Observation", nil) }, portal.ErrInvalid},
		{"RiskAssessmentNotAnObject", func(s *portal.QuestionnaireSubmission) { s.RiskAssessment = json.RawMessage(`"high"`) }, portal.ErrInvalid},
		{"RiskAssessmentOfAnotherType", func(s *portal.QuestionnaireSubmission) {
			s.RiskAssessment = document("QuestionnaireResponse", nil)
		}, portal.ErrInvalid},
		{"ResponseTooLarge", func(s *portal.QuestionnaireSubmission) {
			s.Response = sizedResponse(portal.MaxQuestionnaireResponse + 1)
		}, portal.ErrTooLarge},
		{"NoIdempotencyKey", func(s *portal.QuestionnaireSubmission) { s.IdempotencyKey = "" }, portal.ErrIdempotencyKeyMissing},
		{"ShortIdempotencyKey", func(s *portal.QuestionnaireSubmission) { s.IdempotencyKey = "short" }, portal.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSubmission(fx, fx.Questionnaire, true)
			id := s.ID
			tc.change(&s)
			_, err := q.Submit(t.Context(), s)
			wantCode(t, err, tc.code, "Submit")
			wantNoSubmission(t, q, id, "after a refused Submit")
			sameDraft(t, "the draft after a refused Submit", draft(t, q, fx, fx.Questionnaire), kept)
		})
	}
}

func testSubmitUnknownQuestionnaire(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	s := newSubmission(fx, unknownID, false)
	_, err := q.Submit(t.Context(), s)
	wantCode(t, err, portal.ErrNotFound, "Submit(unknown questionnaire)")
	wantNoSubmission(t, q, s.ID, "after Submit(unknown questionnaire)")
	s = newSubmission(fx, fx.Questionnaire, false)
	s.Establishment = unknownID
	_, err = q.Submit(t.Context(), s)
	wantCode(t, err, portal.ErrNotFound, "Submit(unknown establishment)")
}

func testSubmitReplay(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	s := newSubmission(fx, fx.Questionnaire, false)
	first := submit(t, q, s)

	// The retry of a client that lost the answer and rebuilt the request:
	// same key, another ID and other documents. It gets the first
	// submission, unchanged, and nothing else is written.
	fx.SetNow(fx.Now().Add(time.Minute))
	draftAfter := saveDraft(t, q, newDraft(fx, fx.Questionnaire, "a new draft"))
	retry := newSubmission(fx, fx.Questionnaire, false)
	retry.IdempotencyKey = s.IdempotencyKey
	got := submit(t, q, retry)
	sameSubmission(t, "the replay", got, first)
	sameSubmission(t, "the same request again", submit(t, q, s), first)
	sameSubmission(t, "Submission after the replays", submission(t, q, s.ID), first)
	wantNoSubmission(t, q, retry.ID, "the replay's own ID")
	sameDraft(t, "a draft saved after the submission, on replay", draft(t, q, fx, fx.Questionnaire), draftAfter)
}

func testSubmitKeyReused(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	s := newSubmission(fx, fx.Questionnaire, false)
	first := submit(t, q, s)
	kept := saveDraft(t, q, newDraft(fx, fx.OtherQuestionnaire, "kept"))

	reuse := newSubmission(fx, fx.OtherQuestionnaire, true)
	reuse.IdempotencyKey = s.IdempotencyKey
	_, err := q.Submit(t.Context(), reuse)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "Submit(another questionnaire, same key)")
	wantNoSubmission(t, q, reuse.ID, "after the refused reuse")
	sameDraft(t, "the draft of the other questionnaire after the refused reuse", draft(t, q, fx, fx.OtherQuestionnaire), kept)
	sameSubmission(t, "the first submission after the refused reuse", submission(t, q, s.ID), first)
}

func testSubmitKeyPerPatient(t *testing.T, fx QuestionnaireFixture) {
	a, b := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	sa := newSubmission(fx, fx.Questionnaire, false)
	sb := newSubmission(fx, fx.Questionnaire, false)
	sb.IdempotencyKey = sa.IdempotencyKey
	ga, gb := submit(t, a, sa), submit(t, b, sb)
	if ga.ID != sa.ID || gb.ID != sb.ID {
		t.Errorf("two patients with one key: submissions %s and %s, want %s and %s", ga.ID, gb.ID, sa.ID, sb.ID)
	}
	sameSubmission(t, "first patient's", submission(t, a, sa.ID), ga)
	sameSubmission(t, "second patient's", submission(t, b, sb.ID), gb)
}

func testSubmitIDTaken(t *testing.T, fx QuestionnaireFixture) {
	owner, other := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	s := newSubmission(fx, fx.Questionnaire, false)
	first := submit(t, owner, s)

	// The same ID with a new key, from another patient and from the
	// owner: the outcome must not tell them apart.
	outcome := func(q portal.Questionnaires, who string) error {
		again := newSubmission(fx, fx.OtherQuestionnaire, false)
		again.ID = s.ID
		got, err := q.Submit(t.Context(), again)
		switch {
		case portal.Code(err) == portal.ErrInvalid:
		case err != nil:
			t.Errorf("%s: Submit with a taken ID: %v, want %s or a submission under another ID", who, err, portal.ErrInvalid)
		case got.ID == s.ID:
			t.Errorf("%s: Submit with a taken ID returned that ID", who)
		}
		return err
	}
	errOther := outcome(other, "another patient")
	errOwner := outcome(owner, "the owner")
	if portal.Code(errOther) != portal.Code(errOwner) || portal.PatientMessage(errOther, "fr") != portal.PatientMessage(errOwner, "fr") {
		t.Errorf("a taken ID is reported as %v to another patient and %v to its owner: want the same", errOther, errOwner)
	}
	sameSubmission(t, "the owner's submission", submission(t, owner, s.ID), first)
	wantNoSubmission(t, other, s.ID, "another patient, the taken ID")
}

func testSubmissionOtherPatient(t *testing.T, fx QuestionnaireFixture) {
	owner, other := fx.As(t, fx.Patients[0]), fx.As(t, fx.Patients[1])
	s := submit(t, owner, newSubmission(fx, fx.Questionnaire, false))
	_, errOther := other.Submission(t.Context(), s.ID)
	_, errUnknown := other.Submission(t.Context(), unknownID)
	wantCode(t, errOther, portal.ErrNotFound, "Submission of another patient")
	wantCode(t, errUnknown, portal.ErrNotFound, "Submission(unknown)")
	if portal.PatientMessage(errOther, "fr") != portal.PatientMessage(errUnknown, "fr") ||
		portal.PatientMessage(errOther, "en") != portal.PatientMessage(errUnknown, "en") {
		t.Errorf("another patient's submission is reported as %q, an unknown one as %q: want the same", errOther, errUnknown)
	}
	// Nor does the other patient's replay of the owner's key reach it.
	retry := newSubmission(fx, fx.Questionnaire, false)
	retry.IdempotencyKey = s.IdempotencyKey
	if got := submit(t, other, retry); got.ID == s.ID {
		t.Errorf("another patient's Submit with the owner's key returned the owner's submission")
	}
}

// submitters is the number of simultaneous Submit calls of the concurrent test.
const submitters = 20

func testSubmitConcurrentRetries(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	key := newKey()
	reqs := make([]portal.QuestionnaireSubmission, submitters)
	for i := range reqs {
		// Each retry rebuilt with its own ID: one key, one submission.
		reqs[i] = newSubmission(fx, fx.Questionnaire, true)
		reqs[i].IdempotencyKey = key
	}
	ids := make([]string, submitters)
	errs := make([]error, submitters)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range submitters {
		wg.Go(func() {
			<-start
			s, err := q.Submit(t.Context(), reqs[i])
			ids[i], errs[i] = s.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("retry %d: %v, want the one submission", i, err)
		} else if ids[i] != ids[0] {
			t.Errorf("retry %d: submission %s, want %s like the others", i, ids[i], ids[0])
		}
	}
	if t.Failed() {
		return
	}
	stored := 0
	for _, r := range reqs {
		if _, err := q.Submission(t.Context(), r.ID); err == nil {
			stored++
			if r.ID != ids[0] {
				t.Errorf("submission %s stored besides %s", r.ID, ids[0])
			}
		} else {
			wantCode(t, err, portal.ErrNotFound, "Submission of a retry's ID")
		}
	}
	if stored != 1 {
		t.Errorf("%d of the %d requested IDs are stored, want exactly 1", stored, submitters)
	}
	if fx.CareTeam != nil {
		service := definition(t, q, fx, fx.Questionnaire).Service
		if n := len(careTeamAlerts(t, fx, service)); n != 1 {
			t.Errorf("%d care-team alerts after %d concurrent retries, want 1", n, submitters)
		}
	}
}

// Care-team alerts.

func testCareTeamAlertOnce(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	service := definition(t, q, fx, fx.Questionnaire).Service
	s := newSubmission(fx, fx.Questionnaire, true)
	got := submit(t, q, s)

	fx.SetNow(fx.Now().Add(time.Minute))
	submit(t, q, s) // a replay raises no second alert
	as := alertsOf(t, fx, service, s.ID)
	if len(as) != 1 {
		t.Fatalf("%d care-team alerts for submission %s after a submission and its replay, want 1: %+v", len(as), s.ID, as)
	}
	a := as[0]
	if a.ID == "" || a.Establishment != fx.Establishment || a.Service != service ||
		a.Level != s.Result.Level || !a.Urgent || !a.Created.Equal(got.Submitted) {
		t.Errorf("care-team alert = %+v, want an id, %s/%s, level %q, urgent, created at the submission's %s",
			a, fx.Establishment, service, s.Result.Level, got.Submitted)
	}
	if all := careTeamAlerts(t, fx, service); len(all) != 1 {
		t.Errorf("%d care-team alerts for service %s, want 1", len(all), service)
	}
}

func testCareTeamAlertOnlyWhenFlagged(t *testing.T, fx QuestionnaireFixture) {
	q := fx.As(t, fx.Patients[0])
	service := definition(t, q, fx, fx.Questionnaire).Service
	s := newSubmission(fx, fx.Questionnaire, false)
	// Urgent without CareTeamAlert: the patient sees the urgent help, the
	// care team is not alerted.
	s.Result.Urgent = true
	submit(t, q, s)
	if as := careTeamAlerts(t, fx, service); len(as) != 0 {
		t.Errorf("care-team alerts after a submission without CareTeamAlert: %+v, want none", as)
	}
}

func testCareTeamAlertsNewestFirst(t *testing.T, fx QuestionnaireFixture) {
	service := definition(t, fx.Anonymous, fx, fx.Questionnaire).Service
	var want []string
	for i, p := range []string{fx.Patients[0], fx.Patients[1], fx.Patients[0]} {
		s := newSubmission(fx, fx.Questionnaire, true)
		s.Result.Urgent = i%2 == 0
		submit(t, fx.As(t, p), s)
		want = append([]string{s.ID}, want...)
		fx.SetNow(fx.Now().Add(time.Hour))
	}
	as := careTeamAlerts(t, fx, service)
	var got []string
	for i, a := range as {
		got = append(got, a.Submission)
		if i > 0 && a.Created.After(as[i-1].Created) {
			t.Errorf("alert %s (%s) listed after %s (%s)", a.ID, a.Created, as[i-1].ID, as[i-1].Created)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CareTeamAlerts submissions = %q, want newest first %q", got, want)
	}
	if len(as) == 3 && (!as[0].Urgent || as[1].Urgent) {
		t.Errorf("CareTeamAlerts urgent flags = %v, %v; want true, false", as[0].Urgent, as[1].Urgent)
	}
}
