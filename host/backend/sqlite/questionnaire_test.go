package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

// questionnaireFixture returns a QuestionnaireFixture on a fresh store
// seeded at seedTime, on a clock of its own: a copy of the seeded template
// file (WAL mode and a pool of connections), or with memory an in-memory
// database seeded afresh (one connection, which deadlocks any call that uses
// the database outside its transaction). The questionnaires are the
// maternity registration and the PHQ-9, of two services.
func questionnaireFixture(t *testing.T, memory bool) portaltest.QuestionnaireFixture {
	clock := portaltest.NewClock(seedTime)
	var s *sqlite.Store
	if memory {
		s = openSeeded(t, ":memory:", clock)
	} else {
		s, _ = seededCopy(t, clock)
	}
	return portaltest.QuestionnaireFixture{
		As: func(t *testing.T, patient string) portal.Questionnaires {
			return portaltest.AsPatientQuestionnaires(s, patient)
		},
		Anonymous:          s,
		CareTeam:           s,
		Establishment:      sqlite.DemoEstablishment,
		Questionnaire:      sqlite.DemoQuestionnaireMaternite,
		OtherQuestionnaire: sqlite.DemoQuestionnairePHQ9,
		Patients:           []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard},
		SetNow:             clock.Set,
		Now:                clock.Now,
	}
}

func TestQuestionnaireConformance(t *testing.T) {
	portaltest.RunQuestionnaireTests(t, func(t *testing.T) portaltest.QuestionnaireFixture {
		return questionnaireFixture(t, false)
	})
}

// TestQuestionnaireConformanceMemory runs the suite on in-memory databases.
// -short leaves them to TestQuestionnairesMemory: seeding takes a while
// under the race detector.
func TestQuestionnaireConformanceMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the suite runs on file databases; TestQuestionnairesMemory covers :memory:")
	}
	portaltest.RunQuestionnaireTests(t, func(t *testing.T) portaltest.QuestionnaireFixture {
		return questionnaireFixture(t, true)
	})
}

// asPatient returns ctx carrying patient as its subject.
func asPatient(ctx context.Context, patient string) context.Context {
	return portal.WithSubject(ctx, portal.Subject{Patient: patient})
}

// testSubmission returns a submission of the maternity registration.
func testSubmission(id, key string, alert bool) portal.QuestionnaireSubmission {
	return portal.QuestionnaireSubmission{
		ID:             id,
		Establishment:  sqlite.DemoEstablishment,
		Questionnaire:  sqlite.DemoQuestionnaireMaternite,
		Response:       json.RawMessage(`{"resourceType":"QuestionnaireResponse","id":"` + id + `","status":"completed"}`),
		IdempotencyKey: key,
		Result:         portal.QuestionnaireResult{Total: "2", Level: "A2", CareTeamAlert: alert, Urgent: alert},
	}
}

// TestQuestionnairesMemory goes through every method on ":memory:", with
// concurrent calls contending for its single connection.
func TestQuestionnairesMemory(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	ctx := context.Background()
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			as := asPatient(ctx, fmt.Sprintf("pat-memory-%02d", i))
			if _, err := s.Questionnaire(ctx, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite); err != nil {
				t.Errorf("Questionnaire: %v", err)
			}
			d := portal.QuestionnaireDraft{
				Establishment: sqlite.DemoEstablishment, Questionnaire: sqlite.DemoQuestionnaireMaternite,
				Response: json.RawMessage(`{"resourceType":"QuestionnaireResponse","status":"in-progress"}`),
			}
			if _, err := s.SaveDraft(as, d); err != nil {
				t.Errorf("SaveDraft: %v", err)
			}
			if _, err := s.Draft(as, d.Establishment, d.Questionnaire); err != nil {
				t.Errorf("Draft: %v", err)
			}
			req := testSubmission(fmt.Sprintf("qr-memory-%02d", i), fmt.Sprintf("memory-key-%02d", i), true)
			sub, err := s.Submit(as, req)
			if err != nil {
				t.Errorf("Submit: %v", err)
				return
			}
			if again, err := s.Submit(as, req); err != nil || again.ID != sub.ID {
				t.Errorf("Submit again = %s, %v; want %s", again.ID, err, sub.ID)
			}
			if _, err := s.Submission(as, sub.ID); err != nil {
				t.Errorf("Submission: %v", err)
			}
			if err := s.DeleteDraft(as, d.Establishment, d.Questionnaire); err != nil {
				t.Errorf("DeleteDraft: %v", err)
			}
			if _, err := s.CareTeamAlerts(ctx, sqlite.DemoEstablishment, sqlite.ServiceMaternite); err != nil {
				t.Errorf("CareTeamAlerts: %v", err)
			}
		})
	}
	wg.Wait()
	// One alert a submission, none for the replays.
	alerts, err := s.CareTeamAlerts(ctx, sqlite.DemoEstablishment, sqlite.ServiceMaternite)
	if err != nil || len(alerts) != n {
		t.Errorf("CareTeamAlerts = %d alerts, %v; want %d", len(alerts), err, n)
	}
}

// TestDemoQuestionnaires checks the seeded questionnaires against the
// instruments Parcours ships.
func TestDemoQuestionnaires(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	ctx := context.Background()
	services := map[string]string{
		sqlite.DemoQuestionnaireMaternite: sqlite.ServiceMaternite,
		sqlite.DemoQuestionnaireEPDS:      sqlite.ServiceMaternite,
		sqlite.DemoQuestionnairePHQ9:      sqlite.ServiceConsultations,
		sqlite.DemoQuestionnaireGAD7:      sqlite.ServiceConsultations,
	}
	practitioners := map[string][]string{} // service -> practitioner ids
	svcs, err := s.Services(ctx, sqlite.DemoEstablishment)
	if err != nil {
		t.Fatal(err)
	}
	for _, sv := range svcs {
		for _, p := range sv.Practitioners {
			practitioners[sv.ID] = append(practitioners[sv.ID], p.ID)
		}
	}
	for _, id := range instruments.IDs() {
		t.Run(id, func(t *testing.T) {
			d, err := s.Questionnaire(ctx, sqlite.DemoEstablishment, id)
			if err != nil {
				t.Fatalf("shipped instrument %s is not seeded: %v", id, err)
			}
			q, err := instruments.Lookup(id)
			if err != nil {
				t.Fatal(err)
			}
			shipped, _ := instruments.JSON(id)
			switch {
			case d.Service != services[id]:
				t.Errorf("service %q, want %q", d.Service, services[id])
			case string(d.Resource) != string(shipped):
				t.Errorf("Resource is not the shipped JSON")
			case d.Title.FR != q.Title.In("fr") || d.Title.EN != q.Title.In("en") || d.Title.FR == d.Title.EN:
				t.Errorf("title %+v, want the instrument's French and English titles", d.Title)
			}
			for _, st := range d.NextSteps {
				if st.Text.FR == "" || st.Text.EN == "" || st.Service == "" {
					t.Errorf("next step %+v: want texts in French and English and a service to book in", st)
				}
				if st.Practitioner != "" && !slices.Contains(practitioners[st.Service], st.Practitioner) {
					t.Errorf("next step %q: practitioner %s is not of service %s", st.Level, st.Practitioner, st.Service)
				}
			}
			// Every risk level has a step, its own or the default, and
			// so does a result without a level if there are no levels.
			levels := []string{""}
			if q.Rules != nil {
				levels = levels[:0]
				for _, l := range q.Rules.Levels {
					levels = append(levels, l.Code)
				}
			}
			for _, l := range levels {
				if _, ok := d.NextStep(l); !ok {
					t.Errorf("risk level %q has no next step", l)
				}
			}
		})
	}
	if got := len(instruments.IDs()); got != len(services) {
		t.Errorf("%d shipped instruments, the test knows %d: place the new ones in a demo service", got, len(services))
	}

	// The registration has a step of its own for each of its levels.
	d, err := s.Questionnaire(ctx, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite)
	if err != nil {
		t.Fatal(err)
	}
	var levels []string
	for _, st := range d.NextSteps {
		levels = append(levels, st.Level)
	}
	if want := []string{"A", "A1", "A2", "B"}; !slices.Equal(levels, want) {
		t.Errorf("registration next-step levels %q, want %q", levels, want)
	}
	if b, _ := d.NextStep("B"); b.Text.FR != "Prenez rendez-vous pour une consultation avec un gynécologue-obstétricien de la maternité." {
		t.Errorf("level B step text %q", b.Text.FR)
	}
}

func TestEstablishmentUrgentHelp(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	e, err := s.Establishment(context.Background(), sqlite.DemoEstablishment)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"15", "112", "3114"} {
		if !strings.Contains(e.UrgentHelp.FR, want) || !strings.Contains(e.UrgentHelp.EN, want) {
			t.Errorf("UrgentHelp = %+v, want %s in French and English", e.UrgentHelp, want)
		}
	}
	if !strings.HasPrefix(e.UrgentHelp.FR, "En cas d'urgence, appelez le 15 (SAMU) ou le 112.") {
		t.Errorf("UrgentHelp.FR = %q", e.UrgentHelp.FR)
	}
}

// questionnaireJSON is a minimal FHIR Questionnaire.
const questionnaireJSON = `{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"1","type":"string"}]}`

func TestPutQuestionnaire(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	ctx := context.Background()
	valid := func() portal.QuestionnaireDef {
		return portal.QuestionnaireDef{
			ID: "suivi-diabete", Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceDiabetologie,
			Title:    portal.Text{FR: "Suivi du diabète", EN: "Diabetes follow-up"},
			Resource: json.RawMessage(questionnaireJSON),
			NextSteps: []portal.NextStep{
				{Text: portal.Text{FR: "Prenez rendez-vous."}, Service: sqlite.ServiceDiabetologie, Practitioner: "pr-julien-roux"},
				{Level: "high", Text: portal.Text{FR: "Appelez le service."}},
			},
		}
	}
	tests := []struct {
		name   string
		change func(*portal.QuestionnaireDef)
		code   portal.ErrorCode
	}{
		{"NoEstablishment", func(d *portal.QuestionnaireDef) { d.Establishment = "" }, portal.ErrInvalid},
		{"NoID", func(d *portal.QuestionnaireDef) { d.ID = "" }, portal.ErrInvalid},
		{"NoService", func(d *portal.QuestionnaireDef) { d.Service = "" }, portal.ErrInvalid},
		{"NoFrenchTitle", func(d *portal.QuestionnaireDef) { d.Title.FR = "" }, portal.ErrInvalid},
		{"NoResource", func(d *portal.QuestionnaireDef) { d.Resource = nil }, portal.ErrInvalid},
		{"ResourceNotJSON", func(d *portal.QuestionnaireDef) { d.Resource = json.RawMessage(`{"resourceType":`) }, portal.ErrInvalid},
		{"ResourceArray", func(d *portal.QuestionnaireDef) { d.Resource = json.RawMessage(`[]`) }, portal.ErrInvalid},
		{"ResourceOfAnotherType", func(d *portal.QuestionnaireDef) {
			d.Resource = json.RawMessage(`{"resourceType":"QuestionnaireResponse"}`)
		}, portal.ErrInvalid},
		{"StepWithoutText", func(d *portal.QuestionnaireDef) { d.NextSteps[1].Text.FR = "" }, portal.ErrInvalid},
		{"TwoStepsForOneLevel", func(d *portal.QuestionnaireDef) { d.NextSteps[1].Level = "" }, portal.ErrInvalid},
		{"StepPractitionerWithoutService", func(d *portal.QuestionnaireDef) { d.NextSteps[1].Practitioner = "pr-julien-roux" }, portal.ErrInvalid},
		{"UnknownEstablishment", func(d *portal.QuestionnaireDef) { d.Establishment = "chu-inconnu" }, portal.ErrNotFound},
		{"UnknownService", func(d *portal.QuestionnaireDef) { d.Service = "cardiologie" }, portal.ErrNotFound},
		{"StepUnknownService", func(d *portal.QuestionnaireDef) { d.NextSteps[1].Service = "cardiologie" }, portal.ErrNotFound},
		{"StepPractitionerOfAnotherService", func(d *portal.QuestionnaireDef) { d.NextSteps[0].Practitioner = "pr-claire-martin" }, portal.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := valid()
			tc.change(&d)
			if err := s.PutQuestionnaire(ctx, d); portal.Code(err) != tc.code {
				t.Errorf("PutQuestionnaire: %v, want %s", err, tc.code)
			}
			if _, err := s.Questionnaire(ctx, sqlite.DemoEstablishment, "suivi-diabete"); portal.Code(err) != portal.ErrNotFound {
				t.Errorf("Questionnaire after a refused PutQuestionnaire: %v, want %s", err, portal.ErrNotFound)
			}
		})
	}

	d := valid()
	if err := s.PutQuestionnaire(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.Questionnaire(ctx, d.Establishment, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Service != d.Service || got.Title != d.Title || string(got.Resource) != questionnaireJSON ||
		fmt.Sprint(got.NextSteps) != fmt.Sprint(d.NextSteps) {
		t.Errorf("Questionnaire = %+v, want %+v", got, d)
	}

	// Replacing keeps the drafts and moves the questionnaire.
	as := asPatient(ctx, sqlite.DemoPatientInesMoreau)
	draft := portal.QuestionnaireDraft{Establishment: d.Establishment, Questionnaire: d.ID,
		Response: json.RawMessage(`{"resourceType":"QuestionnaireResponse"}`)}
	if _, err := s.SaveDraft(as, draft); err != nil {
		t.Fatal(err)
	}
	d.Service, d.Title, d.NextSteps = sqlite.ServiceConsultations, portal.Text{FR: "Suivi"}, nil
	if err := s.PutQuestionnaire(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err = s.Questionnaire(ctx, d.Establishment, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Service != sqlite.ServiceConsultations || got.Title.FR != "Suivi" || got.Title.EN != "" ||
		got.NextSteps == nil || len(got.NextSteps) != 0 {
		t.Errorf("Questionnaire after the replacement = service %s, title %+v, steps %#v", got.Service, got.Title, got.NextSteps)
	}
	if _, err := s.Draft(as, d.Establishment, d.ID); err != nil {
		t.Errorf("Draft after the questionnaire was replaced: %v", err)
	}
}

// TestSubmitRefusesMalformedDocuments covers what the conformance suite
// cannot send through a JSON client: malformed JSON and ids.
func TestSubmitRefusesMalformedDocuments(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	as := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	tests := []struct {
		name   string
		change func(*portal.QuestionnaireSubmission)
		// response: the change is to the Response, which SaveDraft refuses too.
		response bool
	}{
		{"Truncated", func(s *portal.QuestionnaireSubmission) { s.Response = s.Response[:len(s.Response)-1] }, true},
		{"TrailingData", func(s *portal.QuestionnaireSubmission) { s.Response = append(s.Response, " {}"...) }, true},
		{"InvalidUTF8", func(s *portal.QuestionnaireSubmission) {
			s.Response = json.RawMessage("{\"resourceType\":\"QuestionnaireResponse\",\"text\":\"\xff\"}")
		}, true},
		{"ResourceTypeNotAString", func(s *portal.QuestionnaireSubmission) { s.Response = json.RawMessage(`{"resourceType":1}`) }, true},
		{"RiskAssessmentTruncated", func(s *portal.QuestionnaireSubmission) { s.RiskAssessment = json.RawMessage(`{"resourceType"`) }, false},
		{"IDWithSpace", func(s *portal.QuestionnaireSubmission) { s.ID = "qr 1" }, false},
		{"IDWithSlash", func(s *portal.QuestionnaireSubmission) { s.ID = "QuestionnaireResponse/1" }, false},
		{"IDTooLong", func(s *portal.QuestionnaireSubmission) { s.ID = strings.Repeat("a", 65) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := testSubmission("qr-malformed", "malformed-key-01", true)
			tc.change(&sub)
			if _, err := s.Submit(as, sub); portal.Code(err) != portal.ErrInvalid {
				t.Errorf("Submit: %v, want %s", err, portal.ErrInvalid)
			}
			if !tc.response {
				return
			}
			d := portal.QuestionnaireDraft{Establishment: sub.Establishment, Questionnaire: sub.Questionnaire, Response: sub.Response}
			if _, err := s.SaveDraft(as, d); portal.Code(err) != portal.ErrInvalid {
				t.Errorf("SaveDraft: %v, want %s", err, portal.ErrInvalid)
			}
		})
	}
	if _, err := s.Submission(as, "qr-malformed"); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("Submission after the refused submits: %v, want %s", err, portal.ErrNotFound)
	}
	if _, err := s.Submit(as, testSubmission(strings.Repeat("a", 64), "malformed-key-02", false)); err != nil {
		t.Errorf("Submit with a 64-character id: %v", err)
	}
}

// TestSubmitRows checks what Submit writes: one submission, its alert, the
// draft gone; nothing more on replay; alerts that cannot be changed.
func TestSubmitRows(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, path := seededCopy(t, clock)
	ctx := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	d := portal.QuestionnaireDraft{Establishment: sqlite.DemoEstablishment, Questionnaire: sqlite.DemoQuestionnaireMaternite,
		Response: json.RawMessage(`{"resourceType":"QuestionnaireResponse","status":"in-progress"}`)}
	if _, err := s.SaveDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if got := count(t, db, `SELECT COUNT(*) FROM questionnaire_drafts`); got != 1 {
		t.Fatalf("%d draft rows, want 1", got)
	}

	withAlert := testSubmission("qr-rows-1", "rows-key-0001", true)
	withAlert.RiskAssessment = json.RawMessage(`{"resourceType":"RiskAssessment","status":"final"}`)
	for range 3 {
		if _, err := s.Submit(ctx, withAlert); err != nil {
			t.Fatal(err)
		}
	}
	noAlert := testSubmission("qr-rows-2", "rows-key-0002", false)
	sub, err := s.Submit(ctx, noAlert)
	if err != nil {
		t.Fatal(err)
	}
	if sub.RiskAssessment != nil || sub.Service != sqlite.ServiceMaternite || sub.IdempotencyKey != noAlert.IdempotencyKey {
		t.Errorf("Submit = risk %s, service %s, key %s", sub.RiskAssessment, sub.Service, sub.IdempotencyKey)
	}
	for query, want := range map[string]int{
		`SELECT COUNT(*) FROM questionnaire_submissions`:                                     2,
		`SELECT COUNT(*) FROM questionnaire_submissions WHERE risk_assessment IS NULL`:       1,
		`SELECT COUNT(*) FROM questionnaire_drafts`:                                          0,
		`SELECT COUNT(*) FROM care_team_alerts`:                                              1,
		`SELECT COUNT(*) FROM care_team_alerts WHERE submission = 'qr-rows-1' AND urgent`:    1,
		`SELECT COUNT(*) FROM care_team_alerts WHERE level = 'A2' AND service = 'maternite'`: 1,
	} {
		if got := count(t, db, query); got != want {
			t.Errorf("%s = %d, want %d", query, got, want)
		}
	}
	for _, stmt := range []string{`UPDATE care_team_alerts SET urgent = 0`, `DELETE FROM care_team_alerts`} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused (append-only)", stmt, err)
		}
	}
	if got := count(t, db, `SELECT COUNT(*) FROM care_team_alerts WHERE urgent`); got != 1 {
		t.Errorf("%d urgent alerts after the refused changes, want 1", got)
	}
}

func TestCareTeamAlertsUnknown(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	ctx := context.Background()
	if _, err := s.CareTeamAlerts(ctx, "chu-inconnu", sqlite.ServiceMaternite); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("CareTeamAlerts(unknown establishment): %v, want %s", err, portal.ErrNotFound)
	}
	if _, err := s.CareTeamAlerts(ctx, sqlite.DemoEstablishment, "cardiologie"); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("CareTeamAlerts(unknown service): %v, want %s", err, portal.ErrNotFound)
	}
	as, err := s.CareTeamAlerts(ctx, sqlite.DemoEstablishment, sqlite.ServiceDiabetologie)
	if err != nil || as == nil || len(as) != 0 {
		t.Errorf("CareTeamAlerts of a service without alerts = %#v, %v; want an empty list", as, err)
	}
}

// TestSubmitBusyDatabase holds the write lock from another connection: a
// submission whose context ends first reports the backend unavailable, and
// succeeds once the lock is released.
func TestSubmitBusyDatabase(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	release := holdWriteLock(t, path)
	subject := asPatient(context.Background(), sqlite.DemoPatientLucasBernard)
	sub := testSubmission("qr-busy-1", "busy-key-0001", true)
	ctx, cancel := context.WithTimeout(subject, 200*time.Millisecond)
	defer cancel()
	if _, err := s.Submit(ctx, sub); portal.Code(err) != portal.ErrBackendUnavailable {
		t.Errorf("Submit while the database is locked: %v, want %s", err, portal.ErrBackendUnavailable)
	}
	release()
	if _, err := s.Submit(subject, sub); err != nil {
		t.Errorf("Submit after the lock was released: %v", err)
	}
}

// TestQuestionnairesKeptAcrossReopen reopens a file database: drafts,
// submissions and alerts outlive the Store, and times come back in the
// establishment's time zone.
func TestQuestionnairesKeptAcrossReopen(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, path := seededCopy(t, clock)
	ctx := asPatient(context.Background(), sqlite.DemoPatientInesMoreau)
	sub, err := s.Submit(ctx, testSubmission("qr-reopen-1", "reopen-key-01", true))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := sqlite.Open(context.Background(), path, sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Submission(ctx, sub.ID)
	if err != nil || !got.Submitted.Equal(seedTime) || got.Result.Level != "A2" {
		t.Fatalf("Submission after reopening = %+v, %v", got, err)
	}
	if _, off := got.Submitted.Zone(); off != 3600 {
		t.Errorf("Submitted %s: offset %ds, want Paris's +3600s in November", got.Submitted, off)
	}
	alerts, err := s2.CareTeamAlerts(context.Background(), sqlite.DemoEstablishment, sqlite.ServiceMaternite)
	if err != nil || len(alerts) != 1 || alerts[0].Submission != sub.ID {
		t.Errorf("CareTeamAlerts after reopening = %+v, %v", alerts, err)
	}
}

// Example_questionnaire shows a patient answering the demo maternity
// registration: a draft, the submission the host scored, and the alert the
// care team then reads.
func Example_questionnaire() {
	ctx := context.Background()
	paris, err := time.LoadLocation(sqlite.DemoTimeZone)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, paris)
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Seed(ctx, now); err != nil {
		log.Fatal(err)
	}

	def, err := store.Questionnaire(ctx, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%s)\n", def.Title.FR, def.Service)

	asCamille := portal.WithSubject(ctx, portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	_, err = store.SaveDraft(asCamille, portal.QuestionnaireDraft{
		Establishment: sqlite.DemoEstablishment,
		Questionnaire: sqlite.DemoQuestionnaireMaternite,
		Response:      json.RawMessage(`{"resourceType":"QuestionnaireResponse","status":"in-progress"}`),
	})
	if err != nil {
		log.Fatal(err)
	}

	// The host scores the completed response with sdk/questionnaire, then
	// records it; the draft goes away in the same transaction.
	sub, err := store.Submit(asCamille, portal.QuestionnaireSubmission{
		ID:             "qr-exemple-1",
		Establishment:  sqlite.DemoEstablishment,
		Questionnaire:  sqlite.DemoQuestionnaireMaternite,
		Response:       json.RawMessage(`{"resourceType":"QuestionnaireResponse","id":"qr-exemple-1","status":"completed"}`),
		Result:         portal.QuestionnaireResult{Total: "0", Level: "B", CareTeamAlert: true},
		IdempotencyKey: "exemple-soumission-1",
	})
	if err != nil {
		log.Fatal(err)
	}
	step, _ := def.NextStep(sub.Result.Level)
	fmt.Printf("submitted %s at %s\nnext: %s\n", sub.ID, sub.Submitted.Format("15:04 -07:00"), step.Text.FR)
	if _, err := store.Draft(asCamille, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite); portal.IsCode(err, portal.ErrNotFound) {
		fmt.Println("draft deleted")
	}

	alerts, err := store.CareTeamAlerts(ctx, sqlite.DemoEstablishment, def.Service)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range alerts {
		fmt.Printf("alert for %s: submission %s, level %s\n", a.Service, a.Submission, a.Level)
	}
	// Output:
	// Inscription à la maternité : repérage des situations à risque (maternite)
	// submitted qr-exemple-1 at 08:00 +01:00
	// next: Prenez rendez-vous pour une consultation avec un gynécologue-obstétricien de la maternité.
	// draft deleted
	// alert for maternite: submission qr-exemple-1, level B
}
