package fhir_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// The portal's names of the questionnaires questionnaireFixture seeds.
const (
	fixtureQuestionnaire      = "epds"
	fixtureOtherQuestionnaire = "satisfaction"
)

// seededQuestionnaires is what questionnaireFixture wrote.
type seededQuestionnaires struct {
	seeded
	Backend *fhir.Backend
	// Logical ids of the Questionnaires.
	Questionnaire, OtherQuestionnaire string
	SetNow                            func(time.Time)
	Now                               func() time.Time
}

// seedQuestionnaires seeds an establishment of its own (seed) and two
// Questionnaires it offers: fixtureQuestionnaire to the first service, with
// a canonical url and next steps, fixtureOtherQuestionnaire to the other
// one, without url or next steps. The same portal names exist in every
// establishment the tests seed, so lookups must filter by establishment.
func seedQuestionnaires(t *testing.T) seededQuestionnaires {
	base := serverURL(t)
	var mu sync.Mutex
	now := time.Now().Truncate(time.Second)
	s := seededQuestionnaires{
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		},
		SetNow: func(tm time.Time) {
			mu.Lock()
			defer mu.Unlock()
			now = tm
		},
	}
	s.Backend = newBackend(t, base, s.Now)
	s.seeded = seed(t, s.Backend, s.Now(), 2)
	s.Questionnaire, s.OtherQuestionnaire = "q1-"+s.Establishment, "q2-"+s.Establishment
	useContext := func(service string) []any {
		return []any{
			map[string]any{
				"code":           map[string]any{"system": fhir.SystemUsageContext, "code": "establishment"},
				"valueReference": reference("Organization", s.Establishment),
			},
			map[string]any{
				"code":           map[string]any{"system": fhir.SystemUsageContext, "code": "service"},
				"valueReference": reference("HealthcareService", service),
			},
		}
	}
	step := func(level, fr, en, service, practitioner string) map[string]any {
		exts := []any{map[string]any{"url": "text", "valueString": fr, "_valueString": translation(en)}}
		if level != "" {
			exts = append(exts, map[string]any{"url": "level", "valueCode": level})
		}
		if service != "" {
			exts = append(exts, map[string]any{"url": "service", "valueReference": reference("HealthcareService", service)})
		}
		if practitioner != "" {
			exts = append(exts, map[string]any{"url": "practitioner", "valueReference": reference("Practitioner", practitioner)})
		}
		return map[string]any{"url": fhir.ExtNextStep, "extension": exts}
	}
	var bb bundleBuilder
	bb.put(map[string]any{
		"resourceType": "Questionnaire", "id": s.Questionnaire, "status": "active",
		"url":        "https://chu.example/fhir/Questionnaire/epds-" + s.Establishment,
		"version":    "1",
		"identifier": []any{map[string]any{"system": fhir.SystemQuestionnaireID, "value": fixtureQuestionnaire}},
		"name":       "EPDS", "title": "Échelle de dépression postnatale d'Édimbourg",
		"_title":     translation("Edinburgh Postnatal Depression Scale"),
		"useContext": useContext(s.Service),
		"extension": []any{
			step("conformance-high", "Un rendez-vous vous est proposé.", "An appointment is offered.", s.Service, s.Practitioners[0]),
			step("", "Merci de vos réponses.", "Thank you for your answers.", "", ""),
		},
		"item": []any{map[string]any{"linkId": "1", "text": "J'ai pu rire", "type": "integer"}},
	})
	bb.put(map[string]any{
		"resourceType": "Questionnaire", "id": s.OtherQuestionnaire, "status": "active",
		"identifier": []any{map[string]any{"system": fhir.SystemQuestionnaireID, "value": fixtureOtherQuestionnaire}},
		"title":      "Satisfaction",
		"useContext": useContext(s.Other),
		"item":       []any{map[string]any{"linkId": "1", "text": "Êtes-vous satisfaite ?", "type": "string"}},
	})
	for _, bundle := range bb.transactions(t) {
		if _, err := s.Backend.LoadBundle(t.Context(), bundle); err != nil {
			t.Fatalf("seeding questionnaires: %v", err)
		}
	}
	return s
}

func questionnaireFixture(t *testing.T) portaltest.QuestionnaireFixture {
	s := seedQuestionnaires(t)
	return portaltest.QuestionnaireFixture{
		As: func(t *testing.T, p string) portal.Questionnaires {
			return portaltest.AsPatientQuestionnaires(s.Backend, p)
		},
		Anonymous:          s.Backend,
		CareTeam:           s.Backend,
		Establishment:      s.Establishment,
		Questionnaire:      fixtureQuestionnaire,
		OtherQuestionnaire: fixtureOtherQuestionnaire,
		Patients:           s.Patients,
		SetNow:             s.SetNow,
		Now:                s.Now,
	}
}

func TestQuestionnaireConformance(t *testing.T) {
	portaltest.RunQuestionnaireTests(t, questionnaireFixture)
}

// getJSON reads a FHIR search or resource from the test server directly.
func questionnaireGet(t *testing.T, base, path string, q url.Values) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/" + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func questionnaireEntries(bundle map[string]any) []map[string]any {
	var out []map[string]any
	es, _ := bundle["entry"].([]any)
	for _, e := range es {
		if m, ok := e.(map[string]any); ok {
			if r, ok := m["resource"].(map[string]any); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// TestQuestionnaireMapping checks what a submission writes as FHIR, for the
// hospital's own tools: a completed QuestionnaireResponse with the answers,
// subject and canonical; a RiskAssessment based on it with the level and
// score; a Communication to the service.
func TestQuestionnaireMapping(t *testing.T) {
	s := seedQuestionnaires(t)
	patient := s.Patients[0]
	q := portaltest.AsPatientQuestionnaires(s.Backend, patient)
	id := "mapping-" + s.Establishment
	sub := portal.QuestionnaireSubmission{
		ID: id, Establishment: s.Establishment, Questionnaire: fixtureQuestionnaire,
		Response: json.RawMessage(`{"resourceType":"QuestionnaireResponse","id":"` + id + `","status":"completed",` +
			`"item":[{"linkId":"1","answer":[{"valueInteger":2}]}]}`),
		RiskAssessment: json.RawMessage(`{"resourceType":"RiskAssessment","status":"final"}`),
		Result: portal.QuestionnaireResult{
			Total: "12.5", Level: "conformance-high", LevelDisplay: portal.Text{FR: "Élevé", EN: "High"},
			LevelRank: 3, Levels: 3, Urgent: true, CareTeamAlert: true,
		},
		IdempotencyKey: "mapping-key-" + s.Establishment,
	}
	got, err := q.Submit(t.Context(), sub)
	if err != nil {
		t.Fatal(err)
	}
	base := serverURL(t)
	qrs := questionnaireEntries(questionnaireGet(t, base, "QuestionnaireResponse", url.Values{"identifier": {fhir.SystemQuestionnaireSubmission + "|" + id}}))
	if len(qrs) != 1 {
		t.Fatalf("%d QuestionnaireResponses for the submission, want 1", len(qrs))
	}
	qr := qrs[0]
	wantCanonical := "https://chu.example/fhir/Questionnaire/epds-" + s.Establishment + "|1"
	if qr["status"] != "completed" || qr["questionnaire"] != wantCanonical ||
		qr["subject"].(map[string]any)["reference"] != "Patient/"+patient || qr["item"] == nil {
		t.Errorf("QuestionnaireResponse = %v, want completed, questionnaire %s, subject Patient/%s, with item", qr, wantCanonical, patient)
	}
	ras := questionnaireEntries(questionnaireGet(t, base, "RiskAssessment", url.Values{"subject": {"Patient/" + patient}}))
	if len(ras) != 1 {
		t.Fatalf("%d RiskAssessments, want 1", len(ras))
	}
	ra, _ := json.Marshal(ras[0])
	for _, want := range []string{`"reference":"QuestionnaireResponse/` + qr["id"].(string) + `"`, `"code":"conformance-high"`, `"valueDecimal":12.5`} {
		if !json.Valid(ra) || !strings.Contains(string(ra), want) {
			t.Errorf("RiskAssessment %s lacks %s", ra, want)
		}
	}
	cs := questionnaireEntries(questionnaireGet(t, base, "Communication", url.Values{"recipient": {"HealthcareService/" + s.Service}}))
	if len(cs) != 1 || cs[0]["priority"] != "urgent" {
		t.Fatalf("Communications to the service = %v, want one urgent", cs)
	}
	alerts, err := s.Backend.CareTeamAlerts(t.Context(), s.Establishment, s.Service)
	if err != nil || len(alerts) != 1 || alerts[0].Submission != id || !alerts[0].Created.Equal(got.Submitted) {
		t.Errorf("CareTeamAlerts = %+v, %v; want the submission's", alerts, err)
	}
}

// TestCareTeamAlertsScope checks who may list a service's alerts: the host
// (no subject), a practitioner of the service; not a patient, nor a
// practitioner of another service.
func TestCareTeamAlertsScope(t *testing.T) {
	s := seedQuestionnaires(t)
	ctx := t.Context()
	as := func(sub portal.Subject) error {
		_, err := s.Backend.CareTeamAlerts(portal.WithSubject(ctx, sub), s.Establishment, s.Service)
		return err
	}
	if _, err := s.Backend.CareTeamAlerts(ctx, s.Establishment, s.Service); err != nil {
		t.Errorf("without a subject: %v", err)
	}
	if err := as(portal.Subject{Practitioner: s.Practitioners[0]}); err != nil {
		t.Errorf("a practitioner of the service: %v", err)
	}
	for name, sub := range map[string]portal.Subject{
		"patient":                 {Patient: s.Patients[0]},
		"practitioner of another": {Practitioner: s.Practitioners[2]},
	} {
		if err := as(sub); portal.Code(err) != portal.ErrForbidden {
			t.Errorf("%s: %v, want %s", name, err, portal.ErrForbidden)
		}
	}
	_, err := s.Backend.CareTeamAlerts(ctx, s.Establishment, "svc-unknown")
	if portal.Code(err) != portal.ErrNotFound {
		t.Errorf("unknown service: %v, want %s", err, portal.ErrNotFound)
	}
	_, err = s.Backend.CareTeamAlerts(ctx, s.Establishment, s.Other)
	if err != nil {
		t.Errorf("the other service: %v", err)
	}
}

// TestSubmitAnswersNotFHIR checks that a submission whose answers the
// server refuses as FHIR is stored all the same, without item, its portal
// JSON whole.
func TestSubmitAnswersNotFHIR(t *testing.T) {
	s := seedQuestionnaires(t)
	q := portaltest.AsPatientQuestionnaires(s.Backend, s.Patients[0])
	id := "not-fhir-" + s.Establishment
	sub := portal.QuestionnaireSubmission{
		ID: id, Establishment: s.Establishment, Questionnaire: fixtureOtherQuestionnaire,
		// answer must be an array, and linkId is required.
		Response:       json.RawMessage(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"answer":"oui"}]}`),
		Result:         portal.QuestionnaireResult{Total: "0"},
		IdempotencyKey: "not-fhir-key-" + s.Establishment,
	}
	got, err := q.Submit(t.Context(), sub)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if string(got.Response) != string(sub.Response) {
		t.Errorf("Response = %s, want %s byte for byte", got.Response, sub.Response)
	}
	qrs := questionnaireEntries(questionnaireGet(t, serverURL(t), "QuestionnaireResponse",
		url.Values{"identifier": {fhir.SystemQuestionnaireSubmission + "|" + id}}))
	if len(qrs) != 1 || qrs[0]["item"] != nil {
		t.Errorf("stored QuestionnaireResponses = %v, want one without item", qrs)
	}
}

// TestSaveDraftConcurrent checks that concurrent saves of one patient's
// draft leave one draft, one of the saved responses.
func TestSaveDraftConcurrent(t *testing.T) {
	s := seedQuestionnaires(t)
	q := portaltest.AsPatientQuestionnaires(s.Backend, s.Patients[0])
	const savers = 8
	var wg sync.WaitGroup
	errs := make([]error, savers)
	for i := range savers {
		wg.Go(func() {
			_, errs[i] = q.SaveDraft(t.Context(), portal.QuestionnaireDraft{
				Establishment: s.Establishment, Questionnaire: fixtureQuestionnaire,
				Response: json.RawMessage(`{"resourceType":"QuestionnaireResponse","status":"in-progress","id":"` + strconv.Itoa(i) + `"}`),
			})
		})
	}
	wg.Wait()
	saved := 0
	for _, err := range errs {
		// A save may lose every retry to the others (ErrBackendUnavailable);
		// none may fail otherwise.
		if err == nil {
			saved++
		} else if portal.Code(err) != portal.ErrBackendUnavailable {
			t.Errorf("SaveDraft: %v", err)
		}
	}
	if saved == 0 {
		t.Fatal("no concurrent SaveDraft succeeded")
	}
	qrs := questionnaireEntries(questionnaireGet(t, serverURL(t), "QuestionnaireResponse",
		url.Values{"subject": {"Patient/" + s.Patients[0]}, "status": {"in-progress"}}))
	if len(qrs) != 1 {
		t.Errorf("%d drafts after %d concurrent saves, want 1", len(qrs), savers)
	}
	if _, err := q.Draft(t.Context(), s.Establishment, fixtureQuestionnaire); err != nil {
		t.Errorf("Draft: %v", err)
	}
}

// TestPutQuestionnaire loads a definition with PutQuestionnaire, reads it
// back with Questionnaire, replaces it, and checks the refusals.
func TestPutQuestionnaire(t *testing.T) {
	s := seedQuestionnaires(t)
	ctx := t.Context()
	d := portal.QuestionnaireDef{
		ID: "phq9", Establishment: s.Establishment, Service: s.Other,
		Title:    portal.Text{FR: "Questionnaire PHQ-9", EN: "PHQ-9 questionnaire"},
		Resource: json.RawMessage(`{"resourceType":"Questionnaire","status":"draft","url":"https://chu.example/Questionnaire/phq9","item":[{"linkId":"1","text":"Peu d'intérêt","type":"integer"}]}`),
		NextSteps: []portal.NextStep{
			{Level: "high", Text: portal.Text{FR: "Prenez rendez-vous.", EN: "Book an appointment."}, Service: s.Other, Practitioner: s.Practitioners[2]},
			{Text: portal.Text{FR: "Merci."}},
		},
	}
	if err := s.Backend.PutQuestionnaire(ctx, d); err != nil {
		t.Fatalf("PutQuestionnaire: %v", err)
	}
	got, err := s.Backend.Questionnaire(ctx, s.Establishment, "phq9")
	if err != nil {
		t.Fatalf("Questionnaire: %v", err)
	}
	if got.ID != d.ID || got.Service != d.Service || got.Title != d.Title || !reflect.DeepEqual(got.NextSteps, d.NextSteps) ||
		!strings.Contains(string(got.Resource), `"linkId":"1"`) {
		t.Errorf("Questionnaire = %+v, want %+v", got, d)
	}
	d.Title.FR, d.NextSteps = "PHQ-9", nil
	if err := s.Backend.PutQuestionnaire(ctx, d); err != nil {
		t.Fatalf("PutQuestionnaire (replace): %v", err)
	}
	got, err = s.Backend.Questionnaire(ctx, s.Establishment, "phq9")
	if err != nil || got.Title.FR != "PHQ-9" || len(got.NextSteps) != 0 {
		t.Errorf("Questionnaire after a replace = %+v, %v", got, err)
	}
	qs := questionnaireEntries(questionnaireGet(t, serverURL(t), "Questionnaire", url.Values{"url": {"https://chu.example/Questionnaire/phq9"}}))
	n := 0
	for _, q := range qs {
		if strings.Contains(fmt.Sprint(q["useContext"]), s.Establishment) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Questionnaires of the establishment after a replace, want 1", n)
	}

	for name, tc := range map[string]struct {
		change func(*portal.QuestionnaireDef)
		code   portal.ErrorCode
	}{
		"NoTitle":           {func(d *portal.QuestionnaireDef) { d.Title.FR = "" }, portal.ErrInvalid},
		"NotAQuestionnaire": {func(d *portal.QuestionnaireDef) { d.Resource = json.RawMessage(`{"resourceType":"Patient"}`) }, portal.ErrInvalid},
		"InvalidFHIR": {func(d *portal.QuestionnaireDef) {
			d.Resource = json.RawMessage(`{"resourceType":"Questionnaire","item":[{"type":"nope"}]}`)
		}, portal.ErrInvalid},
		"UnknownService":   {func(d *portal.QuestionnaireDef) { d.Service = "svc-unknown" }, portal.ErrNotFound},
		"ServiceOfAnother": {func(d *portal.QuestionnaireDef) { d.Establishment = "org-unknown" }, portal.ErrNotFound},
		"PractitionerOutside": {func(d *portal.QuestionnaireDef) {
			d.NextSteps = []portal.NextStep{{Text: portal.Text{FR: "x"}, Service: s.Other, Practitioner: s.Practitioners[0]}}
		}, portal.ErrNotFound},
		"DuplicateLevel": {func(d *portal.QuestionnaireDef) {
			d.NextSteps = []portal.NextStep{{Text: portal.Text{FR: "x"}}, {Text: portal.Text{FR: "y"}}}
		}, portal.ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			bad := d
			bad.ID = "phq9-bad"
			tc.change(&bad)
			if err := s.Backend.PutQuestionnaire(ctx, bad); portal.Code(err) != tc.code {
				t.Errorf("PutQuestionnaire: %v, want %s", err, tc.code)
			}
		})
	}
}
