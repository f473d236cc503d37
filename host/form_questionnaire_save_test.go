package host

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// save posts doc's form with the action "save" and fields, as frame.js does
// in the background as the patient answers, before the Wasm runs. It
// returns the status, the body and the draft's time the host gave.
func (b *formBrowser) save(doc string, fields url.Values) (int, string, string) {
	b.t.Helper()
	a, s := docAction.FindStringSubmatch(doc), docState.FindStringSubmatch(doc)
	if a == nil || s == nil {
		b.t.Fatalf("no form in\n%s", doc)
	}
	form := url.Values{"state": {html.UnescapeString(s[1])}, "a": {"save"}}
	for k, vs := range fields {
		form[k] = vs
	}
	resp, err := b.hc.PostForm(b.srv.URL+html.UnescapeString(a[1]), form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Parcours-Draft-Saved")
}

// draftOf is the response in patient's maternity draft, "" when there is none.
func draftOf(t *testing.T, store *sqlite.Store, patient string) string {
	t.Helper()
	d, err := store.Draft(portal.WithSubject(t.Context(), portal.Subject{Patient: patient}), sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite)
	if portal.Code(err) == portal.ErrNotFound {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(d.Response)
}

// TestQuestionnaireBackgroundSave: a page of questions is marked for
// frame.js to save as the patient answers; a "save" post keeps the page's
// answers in the draft and answers 204 without a document, and saves
// nothing (409) where the page is not one the session's patient is on.
func TestQuestionnaireBackgroundSave(t *testing.T) {
	cfg := questionnaireConfig(t)
	store := cfg.Questionnaires.(*sqlite.Store)
	b := newFormBrowser(t, cfg)
	intro := b.get(questionnaireURL("fr"))
	if strings.Contains(intro, "data-parcours-autosave") {
		t.Error("the signed-out intro is marked for saving")
	}
	intro = b.post(intro, "sign-in", url.Values{"demo": {sqlite.DemoPatientInesMoreau}})
	if strings.Contains(intro, "data-parcours-autosave") {
		t.Error("the intro is marked for saving")
	}
	page := b.post(intro, "begin", nil)
	if !strings.Contains(page, `data-step="page"`) || !strings.Contains(page, "data-parcours-autosave") {
		t.Fatalf("the first page is not marked for saving:\n%s", firstPaint(t, page))
	}
	checkHydration(t, page)

	status, body, at := b.save(page, url.Values{"mat-age": {"32"}, "mat-multiple": {"1"}})
	if status != http.StatusNoContent || body != "" {
		t.Fatalf("save: %d %q, want 204 and no document", status, body)
	}
	// The draft's time, for the state the Wasm starts from.
	ines := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientInesMoreau})
	if d, err := store.Draft(ines, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite); err != nil || d.Updated.Format(time.RFC3339Nano) != at {
		t.Errorf("Parcours-Draft-Saved %q, the draft's time %v (%v)", at, d.Updated, err)
	}
	d := draftOf(t, store, sqlite.DemoPatientInesMoreau)
	if !strings.Contains(d, `"linkId": "mat-age"`) || !strings.Contains(d, "32") || !strings.Contains(d, `"linkId": "mat-multiple"`) {
		t.Fatalf("the draft does not hold the answers saved:\n%s", d)
	}
	// A later save of the same page replaces them (an answer changed).
	if status, _, _ := b.save(page, url.Values{"mat-age": {"33"}, "mat-multiple": {"1"}}); status != http.StatusNoContent {
		t.Fatalf("second save: %d", status)
	}
	if d := draftOf(t, store, sqlite.DemoPatientInesMoreau); !strings.Contains(d, "33") || strings.Contains(d, "32") {
		t.Fatalf("the draft does not hold the latest answer:\n%s", d)
	}
	// The page's next post goes on from the draft.
	next := b.post(page, "next", url.Values{"mat-age": {"33"}, "mat-multiple": {"1"}, "mat-imc": {"1"}})
	if !strings.Contains(next, "Étape 2 sur 5") {
		t.Fatalf("next after a save:\n%s", firstPaint(t, next))
	}

	// A save from a screen that is not a page of questions saves nothing.
	before := draftOf(t, store, sqlite.DemoPatientInesMoreau)
	if status, _, _ := b.save(intro, url.Values{"mat-age": {"40"}}); status != http.StatusConflict {
		t.Errorf("save from the intro: %d, want 409", status)
	}
	// Nor one drawn for Inès once Camille has signed in (another tab).
	other := b.post(b.post(next, "sign-out", nil), "sign-in", url.Values{"demo": {sqlite.DemoPatientCamilleDurand}})
	if !strings.Contains(other, "Camille") {
		t.Fatalf("not signed in as Camille:\n%s", firstPaint(t, other))
	}
	if status, _, _ := b.save(page, url.Values{"mat-age": {"41"}, "mat-multiple": {"0"}}); status != http.StatusConflict {
		t.Errorf("save of Inès's page in Camille's session: %d, want 409", status)
	}
	if d := draftOf(t, store, sqlite.DemoPatientCamilleDurand); d != "" {
		t.Errorf("Inès's page was saved in Camille's draft:\n%s", d)
	}
	if d := draftOf(t, store, sqlite.DemoPatientInesMoreau); d != before {
		t.Errorf("Inès's draft changed:\n%s", d)
	}
	// Nor one without a session.
	b.post(other, "sign-out", nil)
	if status, _, _ := b.save(page, url.Values{"mat-age": {"42"}}); status != http.StatusConflict {
		t.Errorf("save signed out: %d, want 409", status)
	}
	if d := draftOf(t, store, sqlite.DemoPatientInesMoreau); d != before {
		t.Errorf("Inès's draft changed by a save signed out:\n%s", d)
	}
}

// TestQuestionnaireReviewChangedElsewhere: a review posted to be sent after
// its answers changed in another tab (the draft saved since) sends nothing:
// it shows the answers as they are now, to be checked, and says why. The
// review drawn after the change sends.
func TestQuestionnaireReviewChangedElsewhere(t *testing.T) {
	b, store, doc := newRepeatingHost(t)
	doc = b.post(doc, "begin", nil)
	doc = b.post(doc, buttons(doc, "add:")[0], nil)
	years, _ := fields(doc, ".annee")
	first := b.post(doc, "next", url.Values{years[0]: {"2019"}})
	if !strings.Contains(first, `data-step="review"`) || !strings.Contains(first, "2019") {
		t.Fatalf("not the review:\n%s", firstPaint(t, first))
	}
	// Another tab: back to the page, another year, a new review.
	page := b.post(first, "edit:0", nil)
	years, _ = fields(page, ".annee")
	second := b.post(page, "next", url.Values{years[0]: {"2020"}})
	if got := draftYears(t, store); len(got) != 1 || got[0] != "2020" {
		t.Fatalf("draft years %v, want [2020]", got)
	}

	stale := b.post(first, "submit", nil)
	if !strings.Contains(stale, `data-step="review"`) || !strings.Contains(stale, "2020") || strings.Contains(stale, "2019") {
		t.Fatalf("the stale review did not show the answers as they are now:\n%s", firstPaint(t, stale))
	}
	if !strings.Contains(stale, `class="pc-notice">`) || !strings.Contains(stale, "ont changé depuis une autre fenêtre") {
		t.Errorf("the stale review does not say why nothing was sent:\n%s", firstPaint(t, stale))
	}
	ines := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientInesMoreau})
	if _, err := store.Draft(ines, sqlite.DemoEstablishment, "grossesses"); err != nil {
		t.Fatalf("the draft is gone after the stale review (sent?): %v", err)
	}
	done := b.post(second, "submit", nil)
	if !strings.Contains(done, `data-step="result"`) {
		t.Fatalf("the current review was not sent:\n%s", firstPaint(t, done))
	}
}
