package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/internal/syncbuf"
	"github.com/parcours-sante/parcours/host/plugin"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

const (
	demoEst  = sqlite.DemoEstablishment
	camille  = sqlite.DemoPatientCamilleDurand
	lucas    = sqlite.DemoPatientLucasBernard
	phq9Path = "/api/v1/establishments/" + demoEst + "/questionnaires/" + sqlite.DemoQuestionnairePHQ9
	epdsPath = "/api/v1/establishments/" + demoEst + "/questionnaires/" + sqlite.DemoQuestionnaireEPDS
)

// questionnaireHost is a test host with the SQLite store as its
// questionnaire store; configure may change more.
func questionnaireHost(t *testing.T, configure func(*hostConfig)) *testHost {
	return newTestHostWith(t, func(c *hostConfig) {
		c.Questionnaires = c.Booking.(*sqlite.Store)
		if configure != nil {
			configure(c)
		}
	})
}

// debugLogger writes a host's logs to w, at every level.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// notifications records the notifications a host sends to its plugins.
type notifications struct {
	mu  sync.Mutex
	got []plugin.Notification
}

func (n *notifications) Has(h plugin.Hook) bool { return h == plugin.HookNotification }
func (n *notifications) BeforeBooking(context.Context, plugin.BeforeBooking) error {
	return nil
}
func (n *notifications) AfterBooking(context.Context, plugin.AfterBooking) {}
func (n *notifications) AfterCancel(context.Context, plugin.AfterCancel)   {}
func (n *notifications) Notification(_ context.Context, in plugin.Notification) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, in)
}

func (n *notifications) list() []plugin.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.got)
}

// instrument parses a shipped questionnaire, as the host reads the seeded one.
func instrument(t *testing.T, id string) *questionnaire.Questionnaire {
	t.Helper()
	q, err := instruments.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// weighing answers every scored item of q with its option of weight 0,
// except the items of over, answered with the option of the given weight.
func weighing(t *testing.T, q *questionnaire.Questionnaire, over map[string]int) *questionnaire.Answers {
	t.Helper()
	a := questionnaire.NewAnswers()
	q.Walk(func(it *questionnaire.Item) bool {
		if !it.Scored() {
			return true
		}
		w := over[it.LinkID]
		for _, o := range it.Options {
			if o.Scored && o.Weight.String() == fmt.Sprint(w) {
				a.Set(it.LinkID, o.Value)
				return true
			}
		}
		t.Fatalf("%s has no option weighing %d", it.LinkID, w)
		return false
	})
	return a
}

// option returns the answer option of linkID with code.
func option(t *testing.T, q *questionnaire.Questionnaire, linkID, code string) questionnaire.Value {
	t.Helper()
	for _, o := range q.Item(linkID).Options {
		if o.Value.Coding.Code == code {
			return o.Value
		}
	}
	t.Fatalf("%s has no option %q", linkID, code)
	return questionnaire.Value{}
}

// responseJSON writes answers as the widget sends them.
func responseJSON(t *testing.T, q *questionnaire.Questionnaire, a *questionnaire.Answers) []byte {
	t.Helper()
	b, err := q.ResponseJSON(a, questionnaire.ResponseOptions{Status: questionnaire.InProgress})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// maternityAnswers is a complete registration without any risk factor,
// diabetes answered diabetes.
func maternityAnswers(t *testing.T, q *questionnaire.Questionnaire, diabetes string) *questionnaire.Answers {
	a := questionnaire.NewAnswers()
	a.Set("mat-age", questionnaire.Integer(29))
	a.Set("mat-multiple", option(t, q, "mat-multiple", "N"))
	a.Set("mat-imc", option(t, q, "mat-imc", "18.5-24.9"))
	a.Set("mat-parite", questionnaire.Integer(0))
	a.Set("mat-diabete", option(t, q, "mat-diabete", diabetes))
	a.Set("mat-hta", option(t, q, "mat-hta", "N"))
	a.Set("mat-medicaments", option(t, q, "mat-medicaments", "N"))
	a.Set("mat-tabac", option(t, q, "mat-tabac", "never"))
	a.Set("mat-alcool", option(t, q, "mat-alcool", "none"))
	return a
}

// headers builds request headers from name, value pairs.
func headers(kv ...string) map[string]string {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// fhirPost is the headers of a submission with key.
func fhirPost(key string) map[string]string {
	return headers("Content-Type", "application/fhir+json", "Idempotency-Key", key)
}

func errorCode(t *testing.T, b []byte) portal.ErrorCode {
	t.Helper()
	var eb client.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("not an error body: %s", b)
	}
	return eb.Error.Code
}

func TestQuestionnaireDefinition(t *testing.T) {
	th := questionnaireHost(t, nil)
	ctx := context.Background()
	anonymous := client.New(th.URL)
	def, err := anonymous.Questionnaire(ctx, demoEst, sqlite.DemoQuestionnairePHQ9)
	if err != nil {
		t.Fatal(err)
	}
	if def.ID != sqlite.DemoQuestionnairePHQ9 || def.Establishment != demoEst || def.Service != sqlite.ServiceConsultations || len(def.NextSteps) == 0 {
		t.Errorf("definition %+v", def)
	}
	q, _, err := questionnaire.Parse(def.Resource)
	if err != nil || q.URL != instrument(t, "phq-9").URL || q.Rules == nil {
		t.Fatalf("the resource does not parse as PHQ-9: %v", err)
	}
	for _, tc := range []struct{ name, est, id string }{
		{"unknown questionnaire", demoEst, "phq-10"},
		{"unserved establishment", "chu-ailleurs", sqlite.DemoQuestionnairePHQ9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := anonymous.Questionnaire(ctx, tc.est, tc.id); portal.Code(err) != portal.ErrNotFound {
				t.Errorf("error %v, want not_found", err)
			}
		})
	}
}

// brokenQuestionnaires serves a Questionnaire the engine refuses.
type brokenQuestionnaires struct{ portal.Questionnaires }

func (b brokenQuestionnaires) Questionnaire(ctx context.Context, est, id string) (portal.QuestionnaireDef, error) {
	def, err := b.Questionnaires.Questionnaire(ctx, est, id)
	def.Resource = json.RawMessage(`{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"photo","type":"attachment"}]}`)
	return def, err
}

// TestQuestionnaireRefusedByEngine: a stored Questionnaire the engine
// refuses is the host's failure: the patient gets internal, the log the
// engine's report.
func TestQuestionnaireRefusedByEngine(t *testing.T) {
	var logs syncbuf.Buffer
	th := questionnaireHost(t, func(c *hostConfig) {
		c.Questionnaires = brokenQuestionnaires{c.Questionnaires}
		c.Logger = debugLogger(&logs)
	})
	status, b := th.raw(t, "").do("GET", phq9Path, nil, "")
	if status != 500 || errorCode(t, b) != portal.ErrInternal {
		t.Fatalf("%d %s, want 500 internal", status, b)
	}
	if out := logs.String(); !strings.Contains(out, "stored questionnaire refused by the engine") || !strings.Contains(out, "attachment") {
		t.Errorf("the log does not carry the engine's report:\n%s", out)
	}
}

// TestQuestionnairesOff: without a store, no questionnaire exists.
func TestQuestionnairesOff(t *testing.T) {
	th := newTestHost(t)
	c := th.raw(t, camille)
	for _, tc := range []struct{ method, path string }{
		{"GET", phq9Path},
		{"GET", phq9Path + "/draft"},
		{"PUT", phq9Path + "/draft"},
		{"DELETE", phq9Path + "/draft"},
		{"POST", phq9Path + "/responses"},
		{"GET", "/api/v1/questionnaire-responses/qr-x"},
	} {
		status, b := c.do(tc.method, tc.path, fhirPost("off-key-0001"), `{"resourceType":"QuestionnaireResponse","status":"in-progress"}`)
		if status != 404 || errorCode(t, b) != portal.ErrNotFound {
			t.Errorf("%s %s: %d %s, want 404 not_found", tc.method, tc.path, status, b)
		}
	}
}

// TestQuestionnaireDraftRoundTrip: a draft is stored normalised (the
// host's rewrite of the answers, never the bytes sent), read back,
// replaced and deleted.
func TestQuestionnaireDraftRoundTrip(t *testing.T) {
	th := questionnaireHost(t, nil)
	ctx := context.Background()
	c := th.signedIn(t, camille)
	const id = sqlite.DemoQuestionnaireMaternite
	q := instrument(t, id)

	if _, err := c.Draft(ctx, demoEst, id); portal.Code(err) != portal.ErrNotFound {
		t.Fatalf("draft before saving: %v, want not_found", err)
	}
	// What a careless or hostile client sends: its own id and status, a
	// forged display, an answer of the wrong type (kept in a draft).
	sent := `{"resourceType":"QuestionnaireResponse","id":"client-id","status":"completed","authored":"1999-01-01",
		"item":[{"linkId":"mat-grossesse","item":[
			{"linkId":"mat-age","answer":[{"valueString":"vingt-neuf"}]},
			{"linkId":"mat-multiple","answer":[{"valueCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0136","code":"N","display":"forged display"}}]}]}]}`
	d, err := c.SaveDraft(ctx, demoEst, id, []byte(sent))
	if err != nil {
		t.Fatal(err)
	}
	back, err := q.ReadResponse(d.Response)
	if err != nil {
		t.Fatalf("the stored draft does not read back: %v\n%s", err, d.Response)
	}
	if back.Status != questionnaire.InProgress || back.Subject != "Patient/"+camille || back.ID != "" || back.Authored == "1999-01-01" || back.Questionnaire != q.Canonical() {
		t.Errorf("draft metadata not normalised: %+v", back)
	}
	if bytes.Contains(d.Response, []byte("forged display")) || !bytes.Contains(d.Response, []byte("vingt-neuf")) {
		t.Errorf("draft not rewritten from its answers:\n%s", d.Response)
	}
	want, err := q.ResponseJSON(back.Answers, questionnaire.ResponseOptions{Status: questionnaire.InProgress, Subject: "Patient/" + camille, Authored: th.Clock.Now()})
	if err != nil || !sameJSON(d.Response, want) {
		t.Errorf("stored draft is not the engine's rewrite (%v):\n%s\nwant\n%s", err, d.Response, want)
	}
	got, err := c.Draft(ctx, demoEst, id)
	if err != nil || !bytes.Equal(got.Response, d.Response) || got.Establishment != demoEst || got.Questionnaire != id {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if _, err := th.signedIn(t, lucas).Draft(ctx, demoEst, id); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("another patient reads the draft: %v", err)
	}

	replaced, err := c.SaveDraft(ctx, demoEst, id, responseJSON(t, q, maternityAnswers(t, q, "N")))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Draft(ctx, demoEst, id); err != nil || !bytes.Equal(got.Response, replaced.Response) || bytes.Contains(got.Response, []byte("vingt-neuf")) {
		t.Errorf("draft not replaced: %v\n%s", err, got.Response)
	}

	if err := c.DeleteDraft(ctx, demoEst, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Draft(ctx, demoEst, id); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("draft after deletion: %v, want not_found", err)
	}
	if err := c.DeleteDraft(ctx, demoEst, id); err != nil {
		t.Errorf("deleting no draft: %v", err)
	}
}

// forgedPHQ9 is a complete PHQ-9 response whose answers all weigh 0 ("not
// at all") but that claims 27 everywhere a browser could: a risk-score
// extension, a group-score extension, and on every answer a display, an
// ordinalValue and an itemWeight of 3.
func forgedPHQ9() string {
	var items []string
	for i := 1; i <= 9; i++ {
		items = append(items, fmt.Sprintf(`{"linkId":"phq9-%d","answer":[{
			"extension":[{"url":%q,"valueDecimal":3}],
			"valueCoding":{"system":"http://loinc.org","code":"LA6568-5","display":"Presque tous les jours",
				"extension":[{"url":%q,"valueDecimal":3}]}}]}`, i, questionnaire.ExtItemWeight, questionnaire.ExtOrdinalValue))
	}
	return fmt.Sprintf(`{"resourceType":"QuestionnaireResponse","id":"qr-forged","status":"completed",
		"questionnaire":"https://parcours-sante.org/fhir/Questionnaire/phq-9|1.0.0",
		"extension":[{"url":%q,"valueDecimal":27},{"url":%q,"valueBoolean":true}],
		"item":[{"linkId":"phq9-questions",
			"extension":[{"url":%q,"extension":[{"url":"linkId","valueString":"phq9-questions"},{"url":"score","valueDecimal":27}]}],
			"item":[%s]}]}`,
		questionnaire.ExtRiskScore, questionnaire.ExtCareTeamAlert, questionnaire.ExtGroupScore, strings.Join(items, ","))
}

// TestQuestionnaireForgedScore: the host scores the answers only.
func TestQuestionnaireForgedScore(t *testing.T) {
	th := questionnaireHost(t, nil)
	ctx := context.Background()
	c := th.signedIn(t, camille)
	sub, err := c.SubmitResponse(ctx, demoEst, sqlite.DemoQuestionnairePHQ9, []byte(forgedPHQ9()), "forged-key-0001")
	if err != nil {
		t.Fatal(err)
	}
	r := sub.Result
	if r.Total != "0" || r.Level != "minimal" || r.LevelRank != 1 || r.Levels != 5 || r.CareTeamAlert || r.Urgent || len(r.Alerts) != 0 {
		t.Errorf("result %+v, want total 0, the lowest of 5 levels, no alert", r)
	}
	if len(r.Groups) != 1 || r.Groups[0].LinkID != "phq9-questions" || r.Groups[0].Total != "0" {
		t.Errorf("groups %+v", r.Groups)
	}
	if sub.ID == "qr-forged" || !regexp.MustCompile(`^qr-[a-z2-7]{26}$`).MatchString(sub.ID) {
		t.Errorf("submission id %q, want the host's qr- + 128 random bits", sub.ID)
	}
	for _, forged := range []string{"Presque tous les jours", questionnaire.ExtRiskScore, questionnaire.ExtOrdinalValue, questionnaire.ExtItemWeight, questionnaire.ExtGroupScore, "qr-forged"} {
		if bytes.Contains(sub.Response, []byte(forged)) {
			t.Errorf("the stored response carries the submitted %q:\n%s", forged, sub.Response)
		}
	}
	var ra struct {
		ID         string
		Prediction []struct {
			Extension []struct {
				URL          string
				ValueDecimal json.Number
			}
		}
	}
	if err := json.Unmarshal(sub.RiskAssessment, &ra); err != nil || len(ra.Prediction) != 1 {
		t.Fatalf("risk assessment %s: %v", sub.RiskAssessment, err)
	}
	if ra.ID != "ra-"+strings.TrimPrefix(sub.ID, "qr-") {
		t.Errorf("risk assessment id %q for submission %q", ra.ID, sub.ID)
	}
	for _, e := range ra.Prediction[0].Extension {
		if e.URL == questionnaire.ExtRiskScore && e.ValueDecimal != "0" {
			t.Errorf("the RiskAssessment's risk score is %s", e.ValueDecimal)
		}
	}
	// The forged total was 27: no value of the RiskAssessment repeats it
	// (its random id may hold the digits "27", so look at values only).
	if regexp.MustCompile(`:\s*"?27(\.0*)?"?[,}\]]`).Match(sub.RiskAssessment) {
		t.Errorf("the RiskAssessment repeats a forged score:\n%s", sub.RiskAssessment)
	}
	stored, err := th.Store.Submission(as(camille), sub.ID)
	if err != nil || !reflect.DeepEqual(stored.Result, sub.Result) || !sameJSON(stored.Response, sub.Response) {
		t.Errorf("stored submission differs: %+v, %v", stored, err)
	}
	if got, err := c.Submission(ctx, sub.ID); err != nil || !reflect.DeepEqual(got.Result, sub.Result) {
		t.Errorf("read through the API: %+v, %v", got, err)
	}
}

// sameJSON reports whether a and b are the same JSON, whitespace aside (the
// API compacts the documents the store keeps indented).
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// as is a context acting for patient, as the host's requests do.
func as(patient string) context.Context {
	return portal.WithSubject(context.Background(), portal.Subject{Patient: patient})
}

// alertsOf lists the care-team alerts of a demo service.
func alertsOf(t *testing.T, th *testHost, service string) []portal.CareTeamAlert {
	t.Helper()
	list, err := th.Store.CareTeamAlerts(context.Background(), demoEst, service)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestQuestionnaireIncomplete: a response with an answer missing is
// refused with response_incomplete, whose detail (in the logs) names the
// linkIds and issue codes; nothing is stored, the draft is untouched.
func TestQuestionnaireIncomplete(t *testing.T) {
	var logs syncbuf.Buffer
	th := questionnaireHost(t, func(c *hostConfig) { c.Logger = debugLogger(&logs) })
	ctx := context.Background()
	c := th.signedIn(t, camille)
	q := instrument(t, "epds")
	// Self-harm answered, so that a stored submission would raise an alert.
	a := weighing(t, q, map[string]int{"epds-10": 3})
	a.Set("epds-4")
	draft, err := c.SaveDraft(ctx, demoEst, "epds", responseJSON(t, q, a))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SubmitResponse(ctx, demoEst, "epds", responseJSON(t, q, a), "incomplete-key-01")
	if portal.Code(err) != portal.ErrResponseIncomplete {
		t.Fatalf("error %v, want response_incomplete", err)
	}
	if !strings.Contains(logs.String(), "epds-4:required") {
		t.Errorf("the log does not name the missing answer:\n%s", logs.String())
	}
	// A malformed answer is refused without its value reaching the logs.
	malformed := `{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[{"linkId":"mat-grossesse","item":[{"linkId":"mat-ddr","answer":[{"valueDate":"secret-answer"}]}]}]}`
	if _, err := c.SaveDraft(ctx, demoEst, sqlite.DemoQuestionnaireMaternite, []byte(malformed)); portal.Code(err) != portal.ErrInvalid {
		t.Errorf("malformed answer: %v, want invalid_request", err)
	}
	if strings.Contains(logs.String(), "secret-answer") || strings.Contains(logs.String(), "10-a") {
		t.Errorf("the logs quote an answer:\n%s", logs.String())
	}
	if got, err := c.Draft(ctx, demoEst, "epds"); err != nil || !bytes.Equal(got.Response, draft.Response) {
		t.Errorf("draft changed: %v", err)
	}
	if list := alertsOf(t, th, sqlite.ServiceMaternite); len(list) != 0 {
		t.Errorf("alerts %+v after a refused submission", list)
	}
	// The key was not spent: the complete response with it is a creation.
	a.Set("epds-4", option(t, q, "epds-4", "4-a"))
	status, b := th.raw(t, camille).do("POST", epdsPath+"/responses", fhirPost("incomplete-key-01"), string(responseJSON(t, q, a)))
	if status != 201 {
		t.Errorf("complete response with the same key: %d %s, want 201", status, b)
	}
}

// TestQuestionnaireReplay: a retry with the same key and answers answers
// the same submission with 200; other answers or another questionnaire
// with the key are refused.
func TestQuestionnaireReplay(t *testing.T) {
	th := questionnaireHost(t, nil)
	c := th.raw(t, camille)
	q := instrument(t, "phq-9")
	body := string(responseJSON(t, q, weighing(t, q, map[string]int{"phq9-1": 2})))
	var ids []string
	for i, want := range []int{201, 200, 200} {
		status, b := c.do("POST", phq9Path+"/responses", fhirPost("replay-key-0001"), body)
		if status != want {
			t.Fatalf("attempt %d: %d %s, want %d", i+1, status, b, want)
		}
		var sub portal.QuestionnaireSubmission
		if err := json.Unmarshal(b, &sub); err != nil || sub.Result.Total != "2" {
			t.Fatalf("attempt %d: %s", i+1, b)
		}
		ids = append(ids, sub.ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("retries answered %v, want one submission", ids)
	}
	other := string(responseJSON(t, q, weighing(t, q, map[string]int{"phq9-1": 3})))
	if status, b := c.do("POST", phq9Path+"/responses", fhirPost("replay-key-0001"), other); status != 422 || errorCode(t, b) != portal.ErrIdempotencyKeyReused {
		t.Errorf("same key, other answers: %d %s, want 422 idempotency_key_reused", status, b)
	}
	gad := instrument(t, "gad-7")
	if status, b := c.do("POST", "/api/v1/establishments/"+demoEst+"/questionnaires/gad-7/responses", fhirPost("replay-key-0001"), string(responseJSON(t, gad, weighing(t, gad, nil)))); status != 422 || errorCode(t, b) != portal.ErrIdempotencyKeyReused {
		t.Errorf("same key, another questionnaire: %d %s, want 422 idempotency_key_reused", status, b)
	}
	// Another patient's key space is their own.
	if status, b := th.raw(t, lucas).do("POST", phq9Path+"/responses", fhirPost("replay-key-0001"), body); status != 201 {
		t.Errorf("another patient with the same key: %d %s, want 201", status, b)
	}
}

// TestQuestionnaireSubmissionPrivacy: another patient's submission answers
// exactly as an unknown id.
func TestQuestionnaireSubmissionPrivacy(t *testing.T) {
	th := questionnaireHost(t, nil)
	q := instrument(t, "phq-9")
	sub, err := th.signedIn(t, camille).SubmitResponse(context.Background(), demoEst, "phq-9", responseJSON(t, q, weighing(t, q, nil)), "privacy-key-01")
	if err != nil {
		t.Fatal(err)
	}
	l := th.raw(t, lucas)
	s1, theirs := l.do("GET", "/api/v1/questionnaire-responses/"+sub.ID, nil, "")
	s2, unknown := l.do("GET", "/api/v1/questionnaire-responses/qr-aaaaaaaaaaaaaaaaaaaaaaaaaa", nil, "")
	if s1 != 404 || s2 != 404 || !bytes.Equal(theirs, unknown) {
		t.Errorf("another patient's: %d %s; unknown: %d %s", s1, theirs, s2, unknown)
	}
	if status, b := th.raw(t, "").do("GET", "/api/v1/questionnaire-responses/"+sub.ID, nil, ""); status != 401 {
		t.Errorf("anonymous: %d %s, want 401", status, b)
	}
}

// questionnaireState is what a questionnaire request could change: the
// demo patients' drafts of PHQ-9 and the care-team alerts.
type questionnaireState struct {
	Drafts map[string]string
	Alerts map[string][]portal.CareTeamAlert
}

func questionnaireSnapshot(t *testing.T, th *testHost) questionnaireState {
	t.Helper()
	s := questionnaireState{Drafts: map[string]string{}, Alerts: map[string][]portal.CareTeamAlert{}}
	for _, p := range []string{camille, lucas} {
		d, err := th.Store.Draft(as(p), demoEst, sqlite.DemoQuestionnairePHQ9)
		if err != nil && !portal.IsCode(err, portal.ErrNotFound) {
			t.Fatal(err)
		}
		s.Drafts[p] = string(d.Response)
	}
	for _, svc := range []string{sqlite.ServiceMaternite, sqlite.ServiceConsultations} {
		s.Alerts[svc] = alertsOf(t, th, svc)
	}
	return s
}

// TestQuestionnaireBadInput sends each kind of bad request to the
// questionnaire routes: each gets its status and code, and nothing changes.
func TestQuestionnaireBadInput(t *testing.T) {
	th := questionnaireHost(t, nil)
	ctx := context.Background()
	cam := th.raw(t, camille)
	anonymous := th.raw(t, "")
	q := instrument(t, "phq-9")
	complete := string(responseJSON(t, q, weighing(t, q, map[string]int{"phq9-9": 3})))
	gad := instrument(t, "gad-7")
	gadResponse := string(responseJSON(t, gad, weighing(t, gad, nil)))
	unknownItem := `{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[{"linkId":"phq9-10","answer":[{"valueBoolean":true}]}]}`
	notMirrored := `{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[{"linkId":"phq9-1","answer":[{"valueCoding":{"system":"http://loinc.org","code":"LA6568-5"}}]}]}`
	otherSubject := `{"resourceType":"QuestionnaireResponse","status":"in-progress","subject":{"reference":"Patient/` + lucas + `"}}`
	oversized := `{"resourceType":"QuestionnaireResponse","status":"in-progress"` + strings.Repeat(" ", portal.MaxQuestionnaireResponse) + `}`
	if _, err := th.signedIn(t, camille).SaveDraft(ctx, demoEst, "phq-9", responseJSON(t, q, weighing(t, q, map[string]int{"phq9-2": 1}))); err != nil {
		t.Fatal(err)
	}

	draft, submit := phq9Path+"/draft", phq9Path+"/responses"
	const ct, idem, k = "Content-Type", "Idempotency-Key", "bad-input-key-01"
	fhir, key := headers(ct, "application/fhir+json"), fhirPost(k)
	cases := []struct {
		name         string
		c            *rawClient
		method, path string
		header       map[string]string
		body         string
		status       int
		code         portal.ErrorCode
	}{
		{"read a draft anonymously", anonymous, "GET", draft, nil, "", 401, portal.ErrUnauthenticated},
		{"save a draft anonymously", anonymous, "PUT", draft, fhir, complete, 401, portal.ErrUnauthenticated},
		{"delete a draft anonymously", anonymous, "DELETE", draft, nil, "", 401, portal.ErrUnauthenticated},
		{"submit anonymously", anonymous, "POST", submit, key, complete, 401, portal.ErrUnauthenticated},
		{"oversized draft", cam, "PUT", draft, fhir, oversized, 413, portal.ErrTooLarge},
		{"oversized submission", cam, "POST", submit, key, oversized, 413, portal.ErrTooLarge},
		{"text content type", cam, "PUT", draft, headers(ct, "text/plain"), complete, 415, portal.ErrUnsupportedMediaType},
		{"FHIR XML", cam, "POST", submit, headers(ct, "application/fhir+xml", idem, k), complete, 415, portal.ErrUnsupportedMediaType},
		{"another +json type", cam, "PUT", draft, headers(ct, "application/merge-patch+json"), complete, 415, portal.ErrUnsupportedMediaType},
		{"no content type", cam, "POST", submit, headers(idem, k), complete, 415, portal.ErrUnsupportedMediaType},
		{"not JSON", cam, "PUT", draft, fhir, `{"resourceType":"QuestionnaireResponse",`, 400, portal.ErrInvalid},
		{"not JSON, submitted", cam, "POST", submit, key, `resourceType=QuestionnaireResponse`, 400, portal.ErrInvalid},
		{"another resource type", cam, "PUT", draft, fhir, `{"resourceType":"Patient","status":"in-progress"}`, 400, portal.ErrInvalid},
		{"a response to another questionnaire", cam, "PUT", draft, fhir, gadResponse, 400, portal.ErrInvalid},
		{"a response to another questionnaire, submitted", cam, "POST", submit, key, gadResponse, 400, portal.ErrInvalid},
		{"an answer to an unknown linkId", cam, "PUT", draft, fhir, unknownItem, 400, portal.ErrInvalid},
		{"an answer outside its group", cam, "POST", submit, key, notMirrored, 400, portal.ErrInvalid},
		{"another patient as subject", cam, "PUT", draft, fhir, otherSubject, 400, portal.ErrInvalid},
		{"missing idempotency key", cam, "POST", submit, fhir, complete, 400, portal.ErrIdempotencyKeyMissing},
		{"short idempotency key", cam, "POST", submit, headers(ct, "application/fhir+json", idem, "abc"), complete, 400, portal.ErrInvalid},
		{"unknown questionnaire", cam, "POST", "/api/v1/establishments/" + demoEst + "/questionnaires/phq-10/responses", key, complete, 404, portal.ErrNotFound},
		{"unserved establishment", cam, "PUT", "/api/v1/establishments/chu-ailleurs/questionnaires/phq-9/draft", fhir, complete, 404, portal.ErrNotFound},
		{"submit from another origin", cam, "POST", submit, headers(ct, "application/fhir+json", idem, k, "Origin", "https://evil.example"), complete, 403, portal.ErrForbidden},
		{"wrong method", cam, "POST", draft, fhir, complete, 405, portal.ErrMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := questionnaireSnapshot(t, th)
			tc.c.t = t
			status, b := tc.c.do(tc.method, tc.path, tc.header, tc.body)
			if code := errorCode(t, b); status != tc.status || code != tc.code {
				t.Errorf("got %d %s, want %d %s (%s)", status, code, tc.status, tc.code, b)
			}
			if after := questionnaireSnapshot(t, th); !reflect.DeepEqual(before, after) {
				t.Errorf("the store changed:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}

	// Bodies up to portal.MaxQuestionnaireResponse are read, beyond the
	// 16 KiB of the other routes.
	padded := strings.TrimSuffix(complete, "}") + strings.Repeat(" ", 64<<10) + "}"
	if status, b := cam.do("PUT", draft, fhir, padded); status != 200 {
		t.Errorf("a 64 KiB draft: %d %s, want 200", status, b)
	}
}

// TestQuestionnaireSelfHarmAlert: EPDS item 10 answered above "never"
// makes the result urgent and alerts the care team once: one alert in the
// store, one notification to the plugins, one log line without health
// data, also after a retry.
func TestQuestionnaireSelfHarmAlert(t *testing.T) {
	var logs syncbuf.Buffer
	notified := &notifications{}
	th := questionnaireHost(t, func(c *hostConfig) {
		c.Logger = debugLogger(&logs)
		c.Plugins = notified
	})
	c := th.raw(t, camille)
	q := instrument(t, "epds")
	// "Hardly ever" (10-c) is the least answer above "never" (10-d).
	a := weighing(t, q, nil)
	a.Set("epds-10", option(t, q, "epds-10", "10-c"))
	body := string(responseJSON(t, q, a))
	var first portal.QuestionnaireSubmission
	for i, want := range []int{201, 200} {
		status, b := c.do("POST", epdsPath+"/responses", fhirPost("epds-alert-key-1"), body)
		if status != want {
			t.Fatalf("attempt %d: %d %s, want %d", i+1, status, b, want)
		}
		var sub portal.QuestionnaireSubmission
		if err := json.Unmarshal(b, &sub); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = sub
		} else if sub.ID != first.ID {
			t.Fatalf("the retry answered %s, not %s", sub.ID, first.ID)
		}
	}
	r := first.Result
	if !r.Urgent || !r.CareTeamAlert || len(r.Alerts) != 1 || r.Alerts[0].Rule != "epds-item10-self-harm" || !r.Alerts[0].Urgent || r.Alerts[0].Message.EN == "" {
		t.Errorf("result %+v, want an urgent self-harm alert to the care team", r)
	}
	alerts := alertsOf(t, th, sqlite.ServiceMaternite)
	if len(alerts) != 1 || alerts[0].Submission != first.ID || !alerts[0].Urgent {
		t.Errorf("care-team alerts %+v, want exactly one for %s", alerts, first.ID)
	}
	want := []plugin.Notification{{Kind: plugin.NotifyQuestionnaireAlert, Recipient: plugin.RecipientStaff, Establishment: demoEst}}
	if got := notified.list(); !reflect.DeepEqual(got, want) {
		t.Errorf("notifications %+v, want %+v", got, want)
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "care-team alert") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "submission="+first.ID) || !strings.Contains(lines[0], "establishment="+demoEst) || !strings.Contains(lines[0], "service="+sqlite.ServiceMaternite) {
		t.Fatalf("care-team alert log lines %q", lines)
	}
	for _, health := range []string{camille, r.Level, "epds-10", "10-c", "urgent", "self-harm", "total"} {
		if strings.Contains(lines[0], health) {
			t.Errorf("the log line carries %q: %s", health, lines[0])
		}
	}
}

// TestQuestionnaireRiskAssessment: a maternity registration with a risk
// factor gets the level it calls for, and a RiskAssessment based on the
// stored response.
func TestQuestionnaireRiskAssessment(t *testing.T) {
	th := questionnaireHost(t, nil)
	const id = sqlite.DemoQuestionnaireMaternite
	q := instrument(t, id)
	c := th.signedIn(t, camille)
	sub, err := c.SubmitResponse(context.Background(), demoEst, id, responseJSON(t, q, maternityAnswers(t, q, "Y")), "maternity-key-01")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Result.Level != "B" || sub.Result.LevelRank != len(q.Rules.Levels) || sub.Service != sqlite.ServiceMaternite {
		t.Errorf("result %+v of service %s, want level B, the highest", sub.Result, sub.Service)
	}
	var ra struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Subject      struct{ Reference string }
		Basis        []struct{ Reference string }
		Prediction   []struct {
			QualitativeRisk struct{ Coding []questionnaire.Coding }
		}
	}
	if err := json.Unmarshal(sub.RiskAssessment, &ra); err != nil {
		t.Fatal(err)
	}
	if ra.ResourceType != "RiskAssessment" || ra.ID != "ra-"+strings.TrimPrefix(sub.ID, "qr-") || ra.Subject.Reference != "Patient/"+camille ||
		len(ra.Basis) != 1 || ra.Basis[0].Reference != "QuestionnaireResponse/"+sub.ID ||
		len(ra.Prediction) != 1 || len(ra.Prediction[0].QualitativeRisk.Coding) == 0 || ra.Prediction[0].QualitativeRisk.Coding[0].Code != "B" {
		t.Errorf("risk assessment:\n%s", sub.RiskAssessment)
	}
	resp, err := q.ReadResponse(sub.Response)
	if err != nil || resp.ID != sub.ID || resp.Status != questionnaire.Completed || resp.Subject != "Patient/"+camille {
		t.Errorf("stored response %+v, %v", resp, err)
	}
	if step, ok := (portal.QuestionnaireDef{NextSteps: mustDef(t, c, id).NextSteps}).NextStep(sub.Result.Level); !ok || step.Level != "B" {
		t.Errorf("next step for B: %+v, %v", step, ok)
	}
}

func mustDef(t *testing.T, c *client.Client, id string) portal.QuestionnaireDef {
	t.Helper()
	def, err := c.Questionnaire(context.Background(), demoEst, id)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// TestQuestionnaireHostScoresAsEngine: for every seeded questionnaire, the
// result the host records is the engine's result for the same answers (the
// published scores themselves are sdk/questionnaire's golden tests).
func TestQuestionnaireHostScoresAsEngine(t *testing.T) {
	th := questionnaireHost(t, nil)
	c := th.signedIn(t, camille)
	for _, id := range instruments.IDs() {
		t.Run(id, func(t *testing.T) {
			q := instrument(t, id)
			var a *questionnaire.Answers
			if id == sqlite.DemoQuestionnaireMaternite {
				a = maternityAnswers(t, q, "N")
			} else {
				max := map[string]int{}
				q.Walk(func(it *questionnaire.Item) bool {
					if it.Scored() {
						max[it.LinkID] = 3
					}
					return true
				})
				a = weighing(t, q, max)
			}
			want := q.Score(a)
			sub, err := c.SubmitResponse(context.Background(), demoEst, id, responseJSON(t, q, a), "engine-key-"+id)
			if err != nil {
				t.Fatal(err)
			}
			r := sub.Result
			var rules []string
			for _, al := range r.Alerts {
				rules = append(rules, al.Rule)
			}
			var wantRules []string
			for _, al := range want.Alerts {
				wantRules = append(wantRules, al.Rule)
			}
			if r.Total != want.Total.String() || r.Level != want.Level || r.Urgent != want.Urgent || r.CareTeamAlert != want.CareTeamAlert ||
				r.Text.FR != want.Text.In("fr") || r.Text.EN != want.Text.In("en") || r.LevelDisplay.EN != want.LevelDisplay.In("en") ||
				!slices.Equal(rules, wantRules) || len(r.Groups) != len(want.Groups) {
				t.Errorf("host result %+v\nengine result %+v", r, want)
			}
		})
	}
}
