package host

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/staticrender"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/messaging"
	"github.com/parcours-sante/parcours/widgets/vdom"
)

// widgetAs fetches a widget document (path and query) from srv, first
// signed in through the demo endpoint signIn with body (none when empty),
// and returns it with the state it hands to the browser (JSON).
func widgetAs(t *testing.T, srv *httptest.Server, signIn, body, path string) (doc, state string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	if signIn != "" {
		req, _ := http.NewRequest("POST", srv.URL+signIn, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", srv.URL)
		resp, err := hc.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("sign-in: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	resp, err := hc.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc = string(b)
	m := docSnap.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no state in\n%s", doc)
	}
	return doc, m[1]
}

// wantHydrationMatches renders comp as the browser's first render does and
// compares it with the server's first paint in doc, node for node.
func wantHydrationMatches(t *testing.T, comp vugu.Builder, doc string) {
	t.Helper()
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
	if got, want := firstPaint(t, out.String()), firstPaint(t, doc); got != want {
		t.Errorf("the browser's first render differs from the server's HTML\n got:\n%s\nwant:\n%s", got, want)
	}
}

const (
	demoPatientSession      = "/api/v1/demo/session"
	demoPractitionerSession = "/api/v1/demo/practitioner-session"
)

// TestMessagingHydrationMatchesServer: the browser's first render, from the
// state the host hands over, is the server's HTML node for node, signed out
// and signed in, on both sides.
func TestMessagingHydrationMatchesServer(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Messaging, cfg.CareTeam, cfg.DemoSignIn = store.Messaging(), store, true
	srv := httptest.NewServer(startHost(t, cfg))
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		name, widget, signIn, body string
		side                       messaging.Side
		want                       string
	}{
		{"patient signed out", "messages", "", "", messaging.Patient, "Connectez-vous"},
		{"patient", "messages", demoPatientSession, `{"patient":"` + sqlite.DemoPatientCamilleDurand + `"}`, messaging.Patient, "Nausées au premier trimestre"},
		{"practitioner", "inbox", demoPractitionerSession, `{"practitioner":"` + sqlite.DemoPractitionerClaireMartin + `"}`, messaging.CareTeam, "Connecté(e) : Claire Martin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, state := widgetAs(t, srv, c.signIn, c.body, "/w/"+c.widget+"?establishment="+sqlite.DemoEstablishment+"&service="+sqlite.ServiceMaternite+"&lang=fr")
			if !strings.Contains(doc, c.want) {
				t.Fatalf("the first paint lacks %q:\n%s", c.want, doc)
			}
			var snap messaging.Snapshot
			if err := json.Unmarshal([]byte(state), &snap); err != nil {
				t.Fatal(err)
			}
			service := sqlite.ServiceMaternite
			if c.side == messaging.CareTeam {
				service = ""
			}
			model := messaging.NewModel(c.side, "fr", sqlite.DemoEstablishment, service)
			model.Hydrate(&snap)
			if model.Loading {
				t.Fatal("the snapshot did not hydrate the model")
			}
			wantHydrationMatches(t, &messaging.Messaging{M: model, Action: pcFormAction(t, doc)}, doc)
		})
	}
}

// TestDocumentsHydrationMatchesServer: the same for the documents widget,
// whose first paint for a patient holds their list and never a held
// document.
func TestDocumentsHydrationMatchesServer(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Messaging, cfg.CareTeam, cfg.Documents, cfg.DemoSignIn = store.Messaging(), store, store.Documents(), true
	srv := httptest.NewServer(startHost(t, cfg))
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		name, signIn, body string
		want               []string
	}{
		{"signed out", "", "", []string{"Connectez-vous", "<optgroup"}},
		{"patient", demoPatientSession, `{"patient":"` + sqlite.DemoPatientLucasBernard + `"}`, []string{"Résultats d’analyses", `data-analyte="` + sqlite.LOINCHbA1c + `"`}},
		{"practitioner", demoPractitionerSession, `{"practitioner":"` + sqlite.DemoPractitionerNathalieFournier + `"}`, []string{sqlite.DemoDocumentBiopsy, "Non visible par le patient"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, state := widgetAs(t, srv, c.signIn, c.body, "/w/documents?establishment="+sqlite.DemoEstablishment+"&lang=fr")
			for _, w := range c.want {
				if !strings.Contains(doc, w) {
					t.Fatalf("the first paint lacks %q:\n%s", w, doc)
				}
			}
			if c.signIn == demoPatientSession && strings.Contains(doc, sqlite.DemoDocumentBiopsy) {
				t.Fatal("the patient's first paint (or its state) holds the held biopsy")
			}
			var snap documents.Snapshot
			if err := json.Unmarshal([]byte(state), &snap); err != nil {
				t.Fatal(err)
			}
			model := documents.NewModel("fr", sqlite.DemoEstablishment)
			model.Hydrate(&snap)
			if model.Loading {
				t.Fatal("the snapshot did not hydrate the model")
			}
			wantHydrationMatches(t, &documents.Documents{M: model, Action: pcFormAction(t, doc)}, doc)
		})
	}
}
