//go:build !(js && wasm)

package access_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/access"
	"github.com/parcours-sante/parcours/widgets/internal/testhost"
	"github.com/parcours-sante/parcours/widgets/internal/uitest"
)

func newWorld(t *testing.T) string {
	t.Helper()
	url, _ := testhost.Start(t, func(store *sqlite.Store, c *host.Config) {
		c.Messaging, c.CareTeam, c.Documents = store.Messaging(), store, store.Documents()
		c.Consents, c.Audit, c.Practitioners = store, store, store
	})
	return url
}

type harness struct {
	*uitest.Harness[*access.Access]
	sent []access.Event
}

func status(c *access.Access) uitest.Status {
	return uitest.Status{Loading: c.M.Loading, Err: string(c.M.Err), ErrText: c.M.ErrText}
}

func open(t *testing.T, url, lang string) *harness {
	t.Helper()
	hs := &harness{Harness: uitest.NewHarness(t, nil, status)}
	hs.Start(&access.Access{
		M:       access.NewModel(lang, sqlite.DemoEstablishment),
		Backend: hs.Client(url, lang),
		Emit:    func(e access.Event) { hs.sent = append(hs.sent, e) },
	})
	return hs
}

func released(t *testing.T, docs []portal.Document, patient string) int {
	t.Helper()
	n := 0
	for _, d := range docs {
		if d.Patient == patient {
			n++
		}
	}
	return n
}

// TestPatientSeesAccessGrantsAndRevokes: the whole flow through a real
// host: a practitioner's read appears in the patient's log; the patient
// grants the city doctor access by RPPS, who then sees the patient's
// documents, and revokes it, after which the doctor's next request does
// not.
func TestPatientSeesAccessGrantsAndRevokes(t *testing.T) {
	ctx := context.Background()
	url := newWorld(t)

	nurse := uitest.NewHarness[*access.Access](t, nil, status)
	nc := nurse.Client(url, "fr")
	if _, err := nc.DemoPractitionerSignIn(ctx, sqlite.DemoPractitionerNathalieFournier); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Document(ctx, sqlite.DemoDocumentBiopsy); err != nil {
		t.Fatal(err)
	}
	doctor := uitest.NewHarness[*access.Access](t, nil, status)
	dc := doctor.Client(url, "fr")
	if _, err := dc.DemoPractitionerSignIn(ctx, sqlite.DemoPractitionerPaulMercier); err != nil {
		t.Fatal(err)
	}
	before, err := dc.Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n := released(t, before, sqlite.DemoPatientLucasBernard); n != 0 {
		t.Fatalf("the city doctor sees %d of Lucas's documents before any grant", n)
	}

	pat := open(t, url, "fr")
	pat.WantNoError()
	pat.WantHTML("signed out", "Connectez-vous", `id="pc-demo"`)
	pat.SignIn(sqlite.DemoPatientLucasBernard)
	pat.WantNoError()
	pat.WantHTML("the log", "Qui a consulté mon dossier", "Nathalie Fournier", "a ouvert un document", "Vous n’avez accordé")

	// An invalid number is refused before any call.
	pat.Change("type-rpps", "12345678901")
	pat.Do("lookup", "")
	if pat.Comp.M.RPPSErr == "" || pat.Comp.M.Screen != access.ScreenHome {
		t.Fatalf("an invalid RPPS was not refused: %+v", pat.Comp.M.Screen)
	}
	pat.WantHTML("invalid RPPS", "n’est pas valide", `aria-invalid="true"`)

	pat.Change("type-rpps", sqlite.DemoRPPSPaulMercier)
	pat.Do("lookup", "")
	pat.WantNoError()
	if pat.Comp.M.Screen != access.ScreenConfirmGrant {
		t.Fatalf("screen %q after the look-up", pat.Comp.M.Screen)
	}
	pat.WantHTML("confirm grant", "Paul Mercier", "Médecin généraliste", "Donner accès à ce professionnel")
	pat.Do("grant", "")
	pat.WantNoError()
	if len(pat.sent) != 1 || pat.sent[0].Name != "parcours:access-granted" || pat.sent[0].Grant == "" {
		t.Fatalf("events %+v", pat.sent)
	}
	grant := pat.sent[0].Grant
	pat.WantHTML("granted", "Paul Mercier", "Accès accordé le", "Retirer l’accès", "Accès accordé à Paul Mercier.")

	after, err := dc.Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if released(t, after, sqlite.DemoPatientLucasBernard) == 0 {
		t.Fatal("the city doctor sees none of Lucas's documents after the grant")
	}
	for _, d := range after {
		if d.ID == sqlite.DemoDocumentBiopsy {
			t.Fatal("the city doctor sees the held biopsy")
		}
	}

	pat.Do("revoke", grant)
	if pat.Comp.M.Screen != access.ScreenConfirmRevoke {
		t.Fatalf("screen %q after revoke", pat.Comp.M.Screen)
	}
	pat.WantHTML("confirm revoke", "Retirer l’accès de Paul Mercier ?", "prochaine demande")
	pat.Do("confirm-revoke", "")
	pat.WantNoError()
	if len(pat.sent) != 2 || pat.sent[1] != (access.Event{Name: "parcours:access-revoked", Grant: grant}) {
		t.Fatalf("events %+v", pat.sent)
	}
	html := pat.WantHTML("revoked", "Accès retiré le")
	if strings.Contains(html, `data-grant="`+grant+`" data-active="true"`) {
		t.Fatal("the revoked grant still shows as active")
	}
	gone, err := dc.Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n := released(t, gone, sqlite.DemoPatientLucasBernard); n != 0 {
		t.Fatalf("the city doctor still sees %d of Lucas's documents after the revocation", n)
	}

	pat.Do("sign-out", "")
	pat.WantHTML("signed out again", "Connectez-vous")
}

// TestPractitionerIsToldTheWidgetIsForPatients: signed in as a
// practitioner, the widget says it is for patients and shows nothing else.
func TestPractitionerIsToldTheWidgetIsForPatients(t *testing.T) {
	url := newWorld(t)
	hs := &harness{Harness: uitest.NewHarness(t, nil, status)}
	c := hs.Client(url, "en")
	if _, err := c.DemoPractitionerSignIn(context.Background(), sqlite.DemoPractitionerNathalieFournier); err != nil {
		t.Fatal(err)
	}
	hs.Start(&access.Access{M: access.NewModel("en", sqlite.DemoEstablishment), Backend: c})
	hs.WantNoError()
	html := hs.WantHTML("practitioner", "This widget is for patients", "Signed in as Nathalie Fournier")
	for _, never := range []string{"pc-access-log", "pc-rpps", "Who accessed my record"} {
		if strings.Contains(html, never) {
			t.Errorf("a practitioner sees %q", never)
		}
	}
}
