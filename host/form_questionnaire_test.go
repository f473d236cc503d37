package host_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// postFields presses action on page p with the page's fields set.
func (c *formClient) postFields(p *formPage, action string, fields url.Values) *formPage {
	c.t.Helper()
	var extra []string
	for k, vs := range fields {
		for _, v := range vs {
			extra = append(extra, k, v)
		}
	}
	return c.post(p, action, extra...)
}

// TestQuestionnaireWithoutWasm answers the maternity questionnaire with form
// posts only: each post saves the draft, errors show beside the fields, the
// host scores the submission.
func TestQuestionnaireWithoutWasm(t *testing.T) {
	th := newTestHostWith(t, func(c *host.Config) { c.Questionnaires = c.Booking.(*sqlite.Store) })
	jar, _ := cookiejar.New(nil)
	c := &formClient{t: t, base: th.URL, hc: &http.Client{Jar: jar}}

	p := c.get("/w/questionnaire?establishment=chu-exemple&questionnaire=maternite-inscription&lang=fr&parent=" + url.QueryEscape(pageOrigin))
	p.want(`data-step="intro"`, "Inscription à la maternité", `value="sign-in"`, `id="parcours-state"`)
	p = c.post(p, "sign-in", "demo", sqlite.DemoPatientInesMoreau)
	p.want("Connecté(e) : Inès MOREAU", `value="begin"`)
	p = c.post(p, "begin")
	p.want(`data-step="page"`, "Étape 1 sur 5", `name="mat-age"`)

	// Missing answers: the same page, with the errors beside the fields.
	p = c.postFields(p, "next", url.Values{"mat-age": {"32"}})
	p.want(`data-step="page"`, `class="pc-field-error"`, `value="32"`)
	p = c.postFields(p, "next", url.Values{"mat-age": {"32"}, "mat-multiple": {"1"}, "mat-imc": {"1"}})
	p.want("Étape 2 sur 5", `name="mat-parite"`)

	// An answer that brings new questions on the same page shows them
	// first, without calling them missing.
	p = c.postFields(p, "next", url.Values{"mat-parite": {"2"}})
	p.want("Étape 2 sur 5", `name="mat-cesarienne"`)
	if strings.Contains(p.body, `class="pc-field-error"`) {
		t.Error("the new questions are called missing before the patient saw them")
	}
	p = c.postFields(p, "next", url.Values{"mat-parite": {"2"}, "mat-cesarienne": {"0"}, "mat-premature": {"1"}, "mat-preeclampsie": {"1"}, "mat-hemorragie": {"1"}, "mat-mfiu": {"1"}})
	p.want("Étape 3 sur 5")

	// The draft is on the host: a fresh GET (a reload) offers to resume.
	r := c.get("/w/questionnaire?establishment=chu-exemple&questionnaire=maternite-inscription&lang=fr")
	r.want("Reprendre")
	ines := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientInesMoreau})
	if d, err := th.Store.Draft(ines, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite); err != nil || !strings.Contains(string(d.Response), "mat-cesarienne") {
		t.Fatalf("draft: %v %s", err, d.Response)
	}

	p = c.postFields(p, "next", url.Values{"mat-diabete": {"1"}, "mat-hta": {"1"}, "mat-medicaments": {"1"}})
	p = c.postFields(p, "next", url.Values{"mat-tabac": {"0"}, "mat-alcool": {"0"}})
	p.want(`data-step="review"`, "Vérifiez vos réponses", "Oui")
	submitPage := p
	p = c.post(p, "submit")
	p.want(`data-step="result"`, "Vos réponses ont été envoyées", `"name":"parcours:submitted"`, "service=maternite")
	// A resubmitted form records nothing more, and says that nothing is
	// left to send (the widget cannot tell a submission from a start over
	// in another tab: both deleted the draft).
	// Said on screen, not only to screen readers: the button did nothing.
	again := c.post(submitPage, "submit")
	again.want(`data-step="intro"`)
	if !regexp.MustCompile(`class="pc-notice">\s*Aucune réponse n’est plus en attente d’envoi`).MatchString(again.body) {
		t.Error("the notice that nothing was sent is not shown on screen")
	}
	if _, err := th.Store.Draft(ines, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite); err == nil {
		t.Error("the draft survived the submission")
	}
	// A previous caesarean: level A2, which alerts the care team, once.
	if !strings.Contains(p.body, "Suivi A2") {
		t.Error("the result does not show the level the answers call for")
	}
	alerts, err := th.Store.CareTeamAlerts(t.Context(), sqlite.DemoEstablishment, sqlite.ServiceMaternite)
	if err != nil || len(alerts) != 1 || alerts[0].Level != "A2" {
		t.Errorf("care-team alerts %v, %v; want one at A2", alerts, err)
	}
}
