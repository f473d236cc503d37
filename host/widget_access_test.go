package host

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/widgets/access"
)

// apiAs signs in through the demo endpoint signIn with body and makes one
// API request, failing the test on an unexpected status.
func apiAs(t *testing.T, srv *httptest.Server, signIn, body, method, path, reqBody string, want int) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	do := func(method, path, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", srv.URL)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if resp, b := do("POST", signIn, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, b)
	}
	resp, b := do(method, path, reqBody)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

// TestAccessHydrationMatchesServer: the access widget's first paint, signed
// out, as a patient (who read their record, whom they granted access) and
// as a practitioner, hydrates node for node, and hands the browser nothing
// of anyone else.
func TestAccessHydrationMatchesServer(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Messaging, cfg.CareTeam, cfg.Documents, cfg.DemoSignIn = store.Messaging(), store, store.Documents(), true
	cfg.Consents, cfg.Audit, cfg.Practitioners = store, store, store
	srv := httptest.NewServer(startHost(t, cfg))
	t.Cleanup(srv.Close)

	lucas := `{"patient":"` + sqlite.DemoPatientLucasBernard + `"}`
	// A practitioner of Lucas's service reads his held biopsy report.
	apiAs(t, srv, demoPractitionerSession, `{"practitioner":"`+sqlite.DemoPractitionerNathalieFournier+`"}`,
		"GET", "/api/v1/documents/"+sqlite.DemoDocumentBiopsy, "", http.StatusOK)
	// Lucas grants the city doctor access.
	apiAs(t, srv, demoPatientSession, lucas, "POST", "/api/v1/establishments/"+sqlite.DemoEstablishment+"/grants",
		`{"practitioner":"`+sqlite.DemoPractitionerPaulMercier+`"}`, http.StatusCreated)

	for _, c := range []struct {
		name, signIn, body string
		want, never        []string
	}{
		{"signed out", "", "", []string{"Connectez-vous", `id="pc-demo"`}, []string{`class="pc-access-log"`}},
		{"patient", demoPatientSession, lucas,
			[]string{"Qui a consulté mon dossier", "Nathalie Fournier", `data-operation="getDocument"`, "a ouvert un document",
				"Paul Mercier", "Retirer l’accès", `inputmode="numeric"`, "Donner accès à un professionnel"},
			[]string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientInesMoreau, "demo_patients"}},
		{"practitioner", demoPractitionerSession, `{"practitioner":"` + sqlite.DemoPractitionerNathalieFournier + `"}`,
			[]string{"destiné aux patients"},
			[]string{sqlite.DemoPatientLucasBernard, `class="pc-access-log"`, `"grants"`, `"log"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, state := widgetAs(t, srv, c.signIn, c.body, "/w/access?establishment="+sqlite.DemoEstablishment+"&lang=fr")
			for _, w := range c.want {
				if !strings.Contains(doc, w) {
					t.Fatalf("the first paint lacks %q:\n%s", w, doc)
				}
			}
			for _, w := range c.never {
				if strings.Contains(doc, w) {
					t.Fatalf("the first paint (or its state) holds %q:\n%s", w, doc)
				}
			}
			var snap access.Snapshot
			if err := json.Unmarshal([]byte(state), &snap); err != nil {
				t.Fatal(err)
			}
			for _, e := range snap.Log {
				if e.Agent == sqlite.DemoPatientLucasBernard {
					t.Errorf("the log holds the patient's own request %+v", e)
				}
			}
			model := access.NewModel("fr", sqlite.DemoEstablishment)
			model.Hydrate(&snap)
			if model.Loading {
				t.Fatal("the snapshot did not hydrate the model")
			}
			wantHydrationMatches(t, &access.Access{M: model, Action: html.UnescapeString(docAction.FindStringSubmatch(doc)[1])}, doc)
		})
	}
}
