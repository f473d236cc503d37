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
	"github.com/parcours-sante/parcours/widgets/messaging"
	"github.com/parcours-sante/parcours/widgets/vdom"
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
		{"patient", "messages", "/api/v1/demo/session", `{"patient":"` + sqlite.DemoPatientCamilleDurand + `"}`, messaging.Patient, "Nausées au premier trimestre"},
		{"practitioner", "inbox", "/api/v1/demo/practitioner-session", `{"practitioner":"` + sqlite.DemoPractitionerClaireMartin + `"}`, messaging.CareTeam, "Connecté(e) : Claire Martin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar}
			if c.signIn != "" {
				req, _ := http.NewRequest("POST", srv.URL+c.signIn, strings.NewReader(c.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", srv.URL)
				resp, err := hc.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("sign-in: %v %v", err, resp)
				}
				resp.Body.Close()
			}
			resp, err := hc.Get(srv.URL + "/w/" + c.widget + "?establishment=" + sqlite.DemoEstablishment + "&service=" + sqlite.ServiceMaternite + "&lang=fr")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			doc := string(b)
			if !strings.Contains(doc, c.want) {
				t.Fatalf("the first paint lacks %q:\n%s", c.want, doc)
			}
			m := docSnap.FindStringSubmatch(doc)
			if m == nil {
				t.Fatalf("no state in\n%s", doc)
			}
			var snap messaging.Snapshot
			if err := json.Unmarshal([]byte(m[1]), &snap); err != nil {
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
			env, err := vugu.NewBuildEnv()
			if err != nil {
				t.Fatal(err)
			}
			br := env.RunBuild(&messaging.Messaging{M: model})
			vdom.MergeText(br)
			var out bytes.Buffer
			if err := staticrender.New(&out).Render(br); err != nil {
				t.Fatal(err)
			}
			if got, want := firstPaint(t, out.String()), firstPaint(t, doc); got != want {
				t.Errorf("the browser's first render differs from the server's HTML\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
