//go:build !(js && wasm)

package questionnaire_test

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/testhost"
	"github.com/parcours-sante/parcours/widgets/internal/uitest"
	"github.com/parcours-sante/parcours/widgets/questionnaire"
)

// world is a real host on the seeded SQLite store.
type world struct {
	url string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	url, _ := testhost.Start(t, func(store *sqlite.Store, c *host.Config) { c.Questionnaires = store })
	return &world{url: url}
}

// harness runs the component as the browser does: handlers under the write
// lock, calls in goroutines, against the real host over HTTP.
type harness struct {
	*uitest.Harness[*questionnaire.Questionnaire]
	sent []questionnaire.Event
}

func (w *world) open(t *testing.T, lang, id string, tr client.Transport) *harness {
	t.Helper()
	hs := &harness{Harness: uitest.NewHarness(t, tr, status)}
	hs.Start(&questionnaire.Questionnaire{
		M:          questionnaire.NewModel(lang, sqlite.DemoEstablishment, id),
		Backend:    hs.Client(w.url, lang),
		BookingURL: "/w/booking?establishment=chu-exemple&lang=" + lang,
		Emit:       func(e questionnaire.Event) { hs.sent = append(hs.sent, e) },
	})
	return hs
}

func status(c *questionnaire.Questionnaire) uitest.Status {
	return uitest.Status{Loading: c.M.Loading, Err: string(c.M.Err), ErrText: c.M.ErrText}
}

// change changes a form control: pick (radio, by option index), toggle or type.
func (hs *harness) change(kind, key, value string) {
	hs.Handle(uitest.Event{Value: value, Checked: true}, func(ev vugu.DOMEvent) { hs.Comp.Change(ev, kind, key) })
}

func (hs *harness) wantStep(step questionnaire.Step, page int) {
	hs.T.Helper()
	if m := hs.Comp.M; m.Step != step || (step == questionnaire.StepPage && m.Page != page) {
		hs.T.Fatalf("at %s page %d (error %q), want %s page %d", m.Step, m.Page, m.Err, step, page)
	}
}

func TestMaternityQuestionnaireFlow(t *testing.T) {
	w := newWorld(t)
	tr := client.NewHTTPTransport() // one cookie jar: one browser
	hs := w.open(t, "fr", sqlite.DemoQuestionnaireMaternite, tr)
	m := hs.Comp.M
	if m.Err != "" || m.Q == nil {
		t.Fatalf("not loaded: %q", m.Err)
	}
	hs.wantStep(questionnaire.StepIntro, 0)
	if html := hs.Render(); !strings.Contains(html, "Connexion de démonstration") || !strings.Contains(html, `value="sign-in"`) {
		t.Fatalf("the intro does not offer the demo sign-in:\n%s", html)
	}
	hs.Do("begin", "") // signed out: nothing happens
	hs.wantStep(questionnaire.StepIntro, 0)

	hs.Do("sign-in", "")
	if m.Patient == nil {
		t.Fatalf("not signed in: %q", m.Err)
	}
	hs.Do("begin", "")
	hs.wantStep(questionnaire.StepPage, 0)
	html := hs.Render()
	for _, want := range []string{"Étape 1 sur 5", "Votre grossesse", `name="mat-age"`, `inputmode="numeric"`, `type="radio"`, `aria-required="true"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}

	// Next with nothing answered: inline errors, same page.
	hs.Do("next", "")
	hs.wantStep(questionnaire.StepPage, 0)
	if m.FieldErrs["mat-age"] == "" || m.FieldErrs["mat-multiple"] == "" {
		t.Fatalf("missing answers not reported: %v", m.FieldErrs)
	}
	if html := hs.Render(); !strings.Contains(html, `aria-invalid="true"`) || !strings.Contains(html, `class="pc-field-error"`) {
		t.Error("the errors are not shown next to the fields")
	}
	// A typed value that does not parse stays on screen; its error shows
	// at the next attempt to go on (not while typing: nothing moves under
	// a finger about to tap).
	hs.change("type", "mat-age", "trente")
	if m.FieldErrs["mat-age"] != "" || !strings.Contains(hs.Render(), `value="trente"`) {
		t.Fatal("an answer being typed is reported, or not kept on screen")
	}
	hs.Do("next", "")
	if e := m.FieldErrs["mat-age"]; !strings.Contains(e, "nombre entier") {
		t.Fatalf("the invalid number is not reported: %q", e)
	}
	hs.change("type", "mat-age", "32")
	if m.FieldErrs["mat-age"] != "" {
		t.Fatal("a corrected answer keeps its error")
	}
	hs.change("pick", "mat-multiple", "1") // N
	hs.change("pick", "mat-imc", "1")      // 18.5-24.9
	hs.Do("next", "")
	hs.wantStep(questionnaire.StepPage, 1)
	if d, err := w.draft(t, tr); err != nil || !strings.Contains(d, `"linkId":"mat-age"`) {
		t.Fatalf("the draft was not saved at the step change: %v %s", err, d)
	}

	// Previous births bring the detail questions.
	hs.change("type", "mat-parite", "1")
	keys := rowKeys(m)
	if !contains(keys, "mat-cesarienne") {
		t.Fatalf("enableWhen did not show the detail questions: %v", keys)
	}
	for _, k := range []string{"mat-cesarienne", "mat-premature", "mat-preeclampsie", "mat-hemorragie", "mat-mfiu"} {
		hs.change("pick", k, "1") // N
	}
	hs.Do("next", "")
	hs.wantStep(questionnaire.StepPage, 2)

	// A reload: a new widget in the same browser resumes where the patient was.
	hs2 := w.open(t, "fr", sqlite.DemoQuestionnaireMaternite, tr)
	m2 := hs2.Comp.M
	if m2.Patient == nil || !m2.Resumed {
		t.Fatalf("the reload did not find the draft: patient %v resumed %v", m2.Patient, m2.Resumed)
	}
	if !strings.Contains(hs2.Render(), "Reprendre") {
		t.Error("the intro does not offer to resume")
	}
	hs2.Do("begin", "")
	hs2.wantStep(questionnaire.StepPage, 2)
	hs2.change("pick", "mat-diabete", "0") // Y: raises the level
	hs2.change("pick", "mat-hta", "1")
	hs2.change("pick", "mat-medicaments", "0") // Y: asks which
	hs2.Do("next", "")
	hs2.wantStep(questionnaire.StepPage, 2)
	if m2.FieldErrs["mat-medicaments-liste"] == "" {
		t.Fatal("the question enabled by the answer is not required")
	}
	hs2.change("type", "mat-medicaments-liste", "Insuline")
	hs2.Do("next", "")
	hs2.wantStep(questionnaire.StepPage, 3)
	hs2.change("pick", "mat-tabac", "0")
	hs2.change("pick", "mat-alcool", "0")
	hs2.Do("next", "")
	hs2.wantStep(questionnaire.StepReview, 0)
	html = hs2.Render()
	for _, want := range []string{"Vérifiez vos réponses", "Insuline", "De 18,5 à 24,9", `value="submit"`, `value="edit:0"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the review lacks %q", want)
		}
	}
	hs2.Do("edit", "")
	hs2.DoIndex("edit", 0)
	hs2.wantStep(questionnaire.StepPage, 0)
	hs2.Do("review", "")
	hs2.wantStep(questionnaire.StepReview, 0)

	hs2.Do("submit", "")
	hs2.wantStep(questionnaire.StepResult, 0)
	sub := m2.Submission
	if sub == nil || sub.ID == "" || sub.Result.Level == "" || sub.Result.Level == "A" {
		t.Fatalf("unexpected result: %+v", sub)
	}
	if len(hs2.sent) != 1 || hs2.sent[0].Name != "parcours:submitted" || hs2.sent[0].Response != sub.ID || hs2.sent[0].Questionnaire != sqlite.DemoQuestionnaireMaternite {
		t.Fatalf("events: %+v", hs2.sent)
	}
	html = hs2.Render()
	for _, want := range []string{"Vos réponses ont été envoyées", sub.Result.LevelDisplay.FR, `class="pc-gauge"`, `/w/booking?establishment=chu-exemple&amp;lang=fr&amp;`, `service=maternite"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the result lacks %q in\n%s", want, html)
		}
	}
	if _, err := w.draft(t, tr); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("the draft survived the submission: %v", err)
	}
}

func TestUrgentAlertShowsAtOnce(t *testing.T) {
	w := newWorld(t)
	hs := w.open(t, "en", sqlite.DemoQuestionnaireEPDS, client.NewHTTPTransport())
	hs.Do("sign-in", "")
	hs.Do("begin", "")
	m := hs.Comp.M
	var selfHarm string
	for _, r := range m.Rows() {
		if r.Kind == questionnaire.RowQuestion && strings.HasSuffix(r.Key, "10") {
			selfHarm = r.Key
		}
	}
	if selfHarm == "" {
		t.Fatalf("no item 10 on the page: %v", rowKeys(m))
	}
	if strings.Contains(hs.Render(), `class="pc-urgent"`) {
		t.Fatal("urgent help shown before any answer")
	}
	hs.change("pick", selfHarm, "0") // the first option: "Yes, quite often"
	html := hs.Render()
	if !strings.Contains(html, `class="pc-urgent"`) || !strings.Contains(html, "3114") {
		t.Fatalf("the urgent help is not shown at once:\n%s", html)
	}
}

func (w *world) draft(t *testing.T, tr client.Transport) (string, error) {
	c := client.New(w.url, client.WithTransport(tr))
	d, err := c.Draft(context.Background(), sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite)
	return string(d.Response), err
}

func rowKeys(m *questionnaire.Model) []string {
	var keys []string
	for _, r := range m.Rows() {
		keys = append(keys, r.Key)
	}
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var signInLinks = []widgets.SignInLink{
	{Kind: "patient", Label: [2]string{"Se connecter", "Sign in"}, URL: "http://127.0.0.1/auth/signin?provider=idp&return=%2Fw%2Fquestionnaire"},
	{Kind: "practitioner", Label: [2]string{"Connexion professionnelle", "Practitioner sign-in"}, URL: "http://127.0.0.1/auth/signin?provider=pro"},
}

// TestSignInLinks: the intro's sign-in panel shows the host's patient
// sign-in buttons for the frame's popup, and the hidden button the frame
// presses once the popup signed in; no link without any.
func TestSignInLinks(t *testing.T) {
	w := newWorld(t)
	hs := w.open(t, "fr", sqlite.DemoQuestionnaireMaternite, nil)
	h := hs.WantHTML("intro", `type="submit" name="a" value="session-changed"`, `hidden="" data-parcours-session-changed=""`, "Actualiser la session", "Connexion de démonstration")
	if strings.Contains(h, "data-parcours-signin") {
		t.Error("a sign-in link without any")
	}
	hs.Comp.M.SignIn = signInLinks
	h = hs.WantHTML("intro", `target="_blank" rel="opener" data-parcours-signin="" data-kind="patient" href="`+html.EscapeString(signInLinks[0].URL)+`">Se connecter</a>`, "Connexion de démonstration")
	if strings.Contains(h, "Connexion professionnelle") {
		t.Error("the questionnaire shows the practitioners' sign-in")
	}
}

// TestSessionChanged: a session opened outside the widget (the frame's
// sign-in popup) is taken when the frame presses "session-changed", with
// the patient's draft; with nobody signed in, nothing changes.
func TestSessionChanged(t *testing.T) {
	w := newWorld(t)
	tr := client.NewHTTPTransport() // one cookie jar: one browser
	hs := w.open(t, "fr", sqlite.DemoQuestionnaireMaternite, tr)
	m := hs.Comp.M
	hs.Do(string(questionnaire.SessionChanged), "")
	hs.WantNoError()
	hs.wantStep(questionnaire.StepIntro, 0)
	if m.Patient != nil || m.Loading || m.Notice != "" {
		t.Fatalf("nobody signed in: patient %v loading %v notice %q", m.Patient, m.Loading, m.Notice)
	}

	// Another widget of the same browser signs in and leaves a draft.
	other := w.open(t, "fr", sqlite.DemoQuestionnaireMaternite, tr)
	other.Do("sign-in", "")
	other.Do("begin", "")
	other.change("type", "mat-age", "32")
	other.change("pick", "mat-multiple", "1")
	other.change("pick", "mat-imc", "1")
	other.Do("next", "")
	if d, err := w.draft(t, tr); err != nil || !strings.Contains(d, `"linkId":"mat-age"`) {
		t.Fatalf("no draft: %v %s", err, d)
	}

	hs.Do(string(questionnaire.SessionChanged), "")
	hs.WantNoError()
	hs.wantStep(questionnaire.StepIntro, 0)
	if m.Patient == nil || m.Patient.ID != other.Comp.M.Patient.ID || !m.Resumed || m.Notice != "signed-in" {
		t.Fatalf("patient %v resumed %v notice %q", m.Patient, m.Resumed, m.Notice)
	}
	if h := hs.Render(); strings.Contains(h, "data-parcours-session-changed") {
		t.Error("the sign-in panel stays once signed in")
	}
}

// TestSessionChangedFormPost: without the Wasm, the hidden button posts the
// form; the host answers with the session of the request's cookie.
func TestSessionChangedFormPost(t *testing.T) {
	w := newWorld(t)
	b := client.New(w.url)
	ctx := context.Background()
	post := questionnaire.Post{Action: string(questionnaire.SessionChanged)}
	m := questionnaire.NewModel("fr", sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite)
	if s := questionnaire.Serve(ctx, m, b, post); s == nil || s.Patient != nil || m.Err != "" || m.Step != questionnaire.StepIntro {
		t.Fatalf("nobody signed in: snapshot %v err %q step %s", s, m.Err, m.Step)
	}
	if _, err := b.DemoSignIn(ctx, sqlite.DemoPatientCamilleDurand); err != nil {
		t.Fatal(err)
	}
	m = questionnaire.NewModel("fr", sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite)
	s := questionnaire.Serve(ctx, m, b, post)
	if s == nil || s.Patient == nil || s.Patient.ID != sqlite.DemoPatientCamilleDurand || s.Notice != "signed-in" {
		t.Fatalf("snapshot %+v", s)
	}
}
