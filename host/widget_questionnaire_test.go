package host

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/staticrender"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/widgets/questionnaire"
	"github.com/parcours-sante/parcours/widgets/vdom"
)

func questionnaireURL(lang string) string {
	q := url.Values{}
	q.Set("establishment", sqlite.DemoEstablishment)
	q.Set("questionnaire", sqlite.DemoQuestionnaireMaternite)
	q.Set("lang", lang)
	q.Set("parent", testPageOrigin)
	return "/w/questionnaire?" + q.Encode()
}

func questionnaireConfig(t *testing.T) Config {
	cfg := demoConfig(t)
	cfg.Questionnaires = cfg.Booking.(*sqlite.Store)
	cfg.DemoSignIn = true
	return cfg
}

// TestQuestionnaireFirstPaintGolden: the introduction as the host renders it.
func TestQuestionnaireFirstPaintGolden(t *testing.T) {
	h := startHost(t, questionnaireConfig(t))
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			w := get(h, questionnaireURL(lang))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			got := firstPaint(t, w.Body.String())
			golden := filepath.Join("testdata", "questionnaire-"+lang+".golden")
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./host -update)", err)
			}
			if got != string(want) {
				t.Errorf("first paint differs from %s (run go test ./host -update if intended)\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

var (
	docAction  = regexp.MustCompile(`<form class="pc-form" method="post" action="([^"]*)"`)
	docState   = regexp.MustCompile(`<input type="hidden" name="state" value="([^"]*)"`)
	docBooking = regexp.MustCompile(`data-booking="([^"]*)"`)
	docSnap    = regexp.MustCompile(`<script type="application/json" id="parcours-state">([^<]*)</script>`)
)

// TestQuestionnaireHydrationMatchesServer: from the state the host hands
// over, the browser's first render is the server's HTML exactly — so that
// the Wasm keeps the server's DOM instead of replacing it. Checked on a
// step with answers, a typed value and errors, reached by form posts.
func TestQuestionnaireHydrationMatchesServer(t *testing.T) {
	b := newFormBrowser(t, questionnaireConfig(t))
	post := b.post

	doc := b.get(questionnaireURL("fr"))
	checkHydration(t, doc)
	doc = post(doc, "sign-in", url.Values{"demo": {sqlite.DemoPatientInesMoreau}})
	doc = post(doc, "begin", nil)
	doc = post(doc, "next", url.Values{"mat-age": {"trente"}, "mat-imc": {"2"}})
	checkHydration(t, doc)
	doc = post(doc, "next", url.Values{"mat-age": {"31"}, "mat-multiple": {"1"}, "mat-imc": {"2"}})
	doc = post(doc, "next", url.Values{"mat-parite": {"1"}})
	checkHydration(t, doc)
}

func checkHydration(t *testing.T, doc string) {
	t.Helper()
	m := docSnap.FindStringSubmatch(doc)
	a, b := docAction.FindStringSubmatch(doc), docBooking.FindStringSubmatch(doc)
	if m == nil || a == nil || b == nil {
		t.Fatalf("no state, form or booking address in\n%s", doc)
	}
	var snap questionnaire.Snapshot
	if err := json.Unmarshal([]byte(m[1]), &snap); err != nil {
		t.Fatal(err)
	}
	model := questionnaire.NewModel("fr", sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite)
	model.Hydrate(&snap)
	comp := &questionnaire.Questionnaire{M: model, Action: html.UnescapeString(a[1]), BookingURL: html.UnescapeString(b[1])}
	env, err := vugu.NewBuildEnv()
	if err != nil {
		t.Fatal(err)
	}
	br := env.RunBuild(comp)
	vdom.MergeText(br)
	var out bytes.Buffer
	if err := staticrender.New(&out).Render(br); err != nil {
		t.Fatal(err)
	}
	// staticrender wraps the component in a document; compare the widget.
	got, want := firstPaint(t, out.String()), firstPaint(t, doc)
	if got != want {
		t.Errorf("the browser's first render differs from the server's HTML (step %s)\n got:\n%s\nwant:\n%s", snap.Step, got, want)
	}
}
