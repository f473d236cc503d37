package host

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// repeatingQuestionnaire has a repeating group and nothing else: none of
// the shipped instruments has one. Nothing in it is required, so that it
// can be sent without a single answer. widgets/e2e serves it too.
const repeatingQuestionnaire = "../widgets/questionnaire/testdata/grossesses.json"

var repeatingURL = "/w/questionnaire?" + url.Values{
	"establishment": {sqlite.DemoEstablishment}, "questionnaire": {"grossesses"}, "lang": {"fr"}, "parent": {testPageOrigin},
}.Encode()

// formBrowser is a browser without the Wasm (or before it runs) on the
// questionnaire widget: it GETs the widget's document and posts its form.
type formBrowser struct {
	t   *testing.T
	srv *httptest.Server
	hc  *http.Client
}

// newRepeatingHost serves the demo establishment with repeatingQuestionnaire
// as "grossesses", and returns a browser signed in as Inès on its intro.
func newRepeatingHost(t *testing.T, wrap ...func(portal.Questionnaires) portal.Questionnaires) (*formBrowser, *sqlite.Store, string) {
	t.Helper()
	cfg := questionnaireConfig(t)
	store := cfg.Questionnaires.(*sqlite.Store)
	for _, w := range wrap {
		cfg.Questionnaires = w(cfg.Questionnaires)
	}
	resource, err := os.ReadFile(repeatingQuestionnaire)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutQuestionnaire(t.Context(), portal.QuestionnaireDef{
		ID: "grossesses", Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite,
		Title: portal.Text{FR: "Grossesses précédentes"}, Resource: resource,
	}); err != nil {
		t.Fatal(err)
	}
	b := newFormBrowser(t, cfg)
	doc := b.get(repeatingURL)
	doc = b.post(doc, "sign-in", url.Values{"demo": {sqlite.DemoPatientInesMoreau}})
	return b, store, doc
}

// newFormBrowser starts a host with cfg and a browser on it.
func newFormBrowser(t *testing.T, cfg Config) *formBrowser {
	srv := httptest.NewServer(startHost(t, cfg))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &formBrowser{t: t, srv: srv, hc: &http.Client{Jar: jar}}
}

func (b *formBrowser) get(path string) string {
	b.t.Helper()
	resp, err := b.hc.Get(b.srv.URL + path)
	return b.read(resp, err)
}

// post presses the button valued action in doc, with the fields given.
func (b *formBrowser) post(doc, action string, fields url.Values) string {
	b.t.Helper()
	a, s := docAction.FindStringSubmatch(doc), docState.FindStringSubmatch(doc)
	if a == nil || s == nil {
		b.t.Fatalf("no form in\n%s", doc)
	}
	form := url.Values{"state": {html.UnescapeString(s[1])}, "a": {action}}
	for k, vs := range fields {
		form[k] = vs
	}
	resp, err := b.hc.PostForm(b.srv.URL+html.UnescapeString(a[1]), form)
	return b.read(resp, err)
}

func (b *formBrowser) read(resp *http.Response, err error) string {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: %d\n%s", resp.Request.Method, resp.Request.URL, resp.StatusCode, body)
	}
	return string(body)
}

var (
	docButton = regexp.MustCompile(`<button type="submit" name="a"[^>]* value="([^"]*)"`)
	docInput  = regexp.MustCompile(`<input [^>]*>`)
	docName   = regexp.MustCompile(` name="([^"]*)"`)
	docValue  = regexp.MustCompile(` value="([^"]*)"`)
)

// buttons lists the values of doc's buttons that start with prefix.
func buttons(doc, prefix string) []string {
	var out []string
	for _, m := range docButton.FindAllStringSubmatch(doc, -1) {
		if v := html.UnescapeString(m[1]); strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// fields lists doc's input fields whose name ends with suffix, in order, with
// their values.
func fields(doc, suffix string) (names, values []string) {
	for _, in := range docInput.FindAllString(doc, -1) {
		n := docName.FindStringSubmatch(in)
		if n == nil || !strings.HasSuffix(n[1], suffix) {
			continue
		}
		v := ""
		if m := docValue.FindStringSubmatch(in); m != nil {
			v = html.UnescapeString(m[1])
		}
		names, values = append(names, html.UnescapeString(n[1])), append(values, v)
	}
	return names, values
}

// draftYears are the years of the instances in Inès's draft.
func draftYears(t *testing.T, store *sqlite.Store) []string {
	t.Helper()
	ines := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientInesMoreau})
	d, err := store.Draft(ines, sqlite.DemoEstablishment, "grossesses")
	if err != nil {
		t.Fatal(err)
	}
	var years []string
	for _, m := range regexp.MustCompile(`"valueInteger": (\d+)`).FindAllStringSubmatch(string(d.Response), -1) {
		years = append(years, m[1])
	}
	return years
}

// TestQuestionnaireFormPostKeepsAnAddedInstance: an instance added by a form
// post survives to the next post, empty as it is, so that what the patient
// types into it is kept; and the Wasm, taking over from the page, has it
// too (its first render is the server's HTML).
func TestQuestionnaireFormPostKeepsAnAddedInstance(t *testing.T) {
	b, store, doc := newRepeatingHost(t)
	doc = b.post(doc, "begin", nil)
	add := buttons(doc, "add:")
	if len(add) != 1 {
		t.Fatalf("add buttons %v in\n%s", add, doc)
	}
	doc = b.post(doc, add[0], nil)
	checkHydration(t, doc)
	years, _ := fields(doc, ".annee")
	places, _ := fields(doc, ".lieu")
	if len(years) != 1 || len(places) != 1 {
		t.Fatalf("after add: fields %v %v", years, places)
	}
	doc = b.post(doc, "next", url.Values{years[0]: {"2019"}, places[0]: {"Lyon"}})
	if !strings.Contains(doc, `data-step="review"`) || !strings.Contains(doc, "2019") || !strings.Contains(doc, "Lyon") {
		t.Fatalf("the answers typed into the added instance are lost:\n%s", firstPaint(t, doc))
	}
	if got := draftYears(t, store); !slices.Equal(got, []string{"2019"}) {
		t.Errorf("draft years %v, want [2019]", got)
	}
	doc = b.post(doc, "submit", nil)
	if !strings.Contains(doc, `data-step="result"`) {
		t.Fatalf("not sent:\n%s", firstPaint(t, doc))
	}
}

// TestQuestionnaireFormPostStaleRemove: a "remove" posted again (a double
// click, a resubmitted form, the back button) never writes the stale values
// of the page into the instances that moved up, and removes nothing more.
func TestQuestionnaireFormPostStaleRemove(t *testing.T) {
	b, store, doc := newRepeatingHost(t)
	doc = b.post(doc, "begin", nil)
	vals := url.Values{}
	for _, y := range []string{"2015", "2018", "2021"} {
		doc = b.post(doc, buttons(doc, "add:")[0], vals)
		names, _ := fields(doc, ".annee")
		vals.Set(names[len(names)-1], y)
	}
	doc = b.post(doc, "next", vals) // the review
	doc = b.post(doc, "edit:0", nil)
	if _, got := fields(doc, ".annee"); !slices.Equal(got, []string{"2015", "2018", "2021"}) {
		t.Fatalf("years %v before the removal", got)
	}
	names, _ := fields(doc, ".annee")
	page := doc
	vals = url.Values{}
	for i, y := range []string{"2015", "2018", "2021"} {
		vals.Set(names[i], y)
	}
	remove := buttons(page, "remove:")
	if len(remove) != 3 {
		t.Fatalf("remove buttons %v", remove)
	}
	doc = b.post(page, remove[0], vals)
	if _, got := fields(doc, ".annee"); !slices.Equal(got, []string{"2018", "2021"}) {
		t.Fatalf("years %v after removing 2015", got)
	}
	// The same post again: the page it came from is older than the
	// answers now.
	doc = b.post(page, remove[0], vals)
	if _, got := fields(doc, ".annee"); !slices.Equal(got, []string{"2018", "2021"}) {
		t.Errorf("years %v after the same removal posted again, want [2018 2021]", got)
	}
	if !strings.Contains(doc, "Cette partie avait déjà été retirée.") {
		t.Error("the removal posted again is not announced as done already")
	}
	if got := draftYears(t, store); !slices.Equal(got, []string{"2018", "2021"}) {
		t.Errorf("draft years %v, want [2018 2021]", got)
	}
	checkHydration(t, doc)
	// The stale page's "next" too: its fields of the removed instance go
	// nowhere, the others to their own instances.
	doc = b.post(page, "next", vals)
	if got := draftYears(t, store); !slices.Equal(got, []string{"2018", "2021"}) {
		t.Errorf("draft years %v after the stale page's next, want [2018 2021]", got)
	}
	if !strings.Contains(doc, `data-step="review"`) || strings.Contains(doc, "2015") {
		t.Errorf("the review after the stale page's next:\n%s", firstPaint(t, doc))
	}
}

// TestQuestionnaireFormPostSubmitWithoutDraft: a review posted when the
// patient has no draft is "already sent" only when the answers reviewed
// were in a draft: a questionnaire left unanswered (nothing to save) is
// sent, and answers deleted meanwhile (start over in another tab) are not
// said to be sent.
func TestQuestionnaireFormPostSubmitWithoutDraft(t *testing.T) {
	t.Run("nothing answered", func(t *testing.T) {
		b, _, doc := newRepeatingHost(t)
		doc = b.post(doc, "begin", nil)
		doc = b.post(doc, "next", nil)
		if !strings.Contains(doc, `data-step="review"`) {
			t.Fatalf("not on the review:\n%s", firstPaint(t, doc))
		}
		doc = b.post(doc, "submit", nil)
		if !strings.Contains(doc, `data-step="result"`) || strings.Contains(doc, "déjà été envoyées") {
			t.Fatalf("a questionnaire left unanswered cannot be sent:\n%s", firstPaint(t, doc))
		}
	})
	t.Run("draft deleted meanwhile", func(t *testing.T) {
		b, _, doc := newRepeatingHost(t)
		doc = b.post(doc, "begin", nil)
		doc = b.post(doc, buttons(doc, "add:")[0], nil)
		names, _ := fields(doc, ".annee")
		review := b.post(doc, "next", url.Values{names[0]: {"2019"}})
		if !strings.Contains(review, `data-step="review"`) {
			t.Fatalf("not on the review:\n%s", firstPaint(t, review))
		}
		// Another tab: start over.
		other := b.get(repeatingURL)
		if !strings.Contains(other, `value="start-over"`) {
			t.Fatalf("no start-over in\n%s", firstPaint(t, other))
		}
		b.post(other, "start-over", nil)
		doc = b.post(review, "submit", nil)
		if strings.Contains(doc, "Vos réponses ont déjà été envoyées") || !strings.Contains(doc, "ou effacées depuis une autre fenêtre") {
			t.Errorf("answers deleted, never sent, are said to be sent:\n%s", firstPaint(t, doc))
		}
		if strings.Contains(doc, `data-step="result"`) {
			t.Errorf("something was sent without the answers:\n%s", firstPaint(t, doc))
		}
	})
}

// failingDrafts fails to save drafts while fail is set.
type failingDrafts struct {
	portal.Questionnaires
	fail *atomic.Bool
}

func (f failingDrafts) SaveDraft(ctx context.Context, d portal.QuestionnaireDraft) (portal.QuestionnaireDraft, error) {
	if f.fail.Load() {
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrBackendUnavailable, "the store is down")
	}
	return f.Questionnaires.SaveDraft(ctx, d)
}

// TestQuestionnaireFormPostSubmitUnsaved: a review drawn after its answers
// failed to save sends nothing: the draft holds older answers than the
// ones the patient checked, and a form post has no others.
func TestQuestionnaireFormPostSubmitUnsaved(t *testing.T) {
	var fail atomic.Bool
	b, store, doc := newRepeatingHost(t, func(q portal.Questionnaires) portal.Questionnaires { return failingDrafts{q, &fail} })
	doc = b.post(doc, "begin", nil)
	doc = b.post(doc, buttons(doc, "add:")[0], nil)
	names, _ := fields(doc, ".annee")
	doc = b.post(doc, "next", url.Values{names[0]: {"2019"}})
	doc = b.post(doc, "edit:0", nil)
	fail.Store(true)
	doc = b.post(doc, "next", url.Values{names[0]: {"2020"}})
	fail.Store(false)
	if !strings.Contains(doc, `data-step="review"`) || !strings.Contains(doc, "2020") {
		t.Fatalf("the review of the unsaved answers:\n%s", firstPaint(t, doc))
	}
	doc = b.post(doc, "submit", nil)
	if strings.Contains(doc, `data-step="result"`) {
		t.Fatalf("the draft's older answers were sent for the ones reviewed:\n%s", firstPaint(t, doc))
	}
	if !strings.Contains(doc, "n’ont pas pu être enregistrées ni envoyées") || !strings.Contains(doc, "2019") {
		t.Errorf("the patient is not shown what is kept, and why:\n%s", firstPaint(t, doc))
	}
	if got := draftYears(t, store); !slices.Equal(got, []string{"2019"}) {
		t.Errorf("draft years %v, want [2019]", got)
	}
}
