//go:build !(js && wasm)

package documents_test

import (
	"context"
	"html"
	"strconv"
	"strings"
	"testing"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/internal/testhost"
	"github.com/parcours-sante/parcours/widgets/internal/uitest"
)

// world is a real host on the seeded SQLite store.
type world struct {
	url  string
	docs portal.Documents
}

func newWorld(t *testing.T) *world {
	t.Helper()
	var docs portal.Documents
	url, _ := testhost.Start(t, func(store *sqlite.Store, c *host.Config) {
		docs = store.Documents()
		c.Messaging, c.CareTeam, c.Documents = store.Messaging(), store, docs
	})
	return &world{url: url, docs: docs}
}

// harness runs the component as the browser does: handlers under the write
// lock, calls in goroutines, against the real host over HTTP.
type harness struct {
	*uitest.Harness[*documents.Documents]
	sent []documents.Event
}

func (w *world) open(t *testing.T, lang string) *harness {
	t.Helper()
	hs := &harness{Harness: uitest.NewHarness(t, nil, status)}
	hs.Start(&documents.Documents{
		M:         documents.NewModel(lang, sqlite.DemoEstablishment),
		Backend:   hs.Client(w.url, lang),
		PollEvery: -1,
		Emit:      func(e documents.Event) { hs.sent = append(hs.sent, e) },
	})
	return hs
}

func status(c *documents.Documents) uitest.Status {
	return uitest.Status{Loading: c.M.Loading, Err: string(c.M.Err), ErrText: c.M.ErrText}
}

func (hs *harness) attach(f documents.File) {
	hs.T.Helper()
	hs.Comp.Attach(hs.Env.EE, hs.Comp.M.Seq(), f)
	hs.Settle()
}

func has(docs []portal.Document, id string) bool {
	for _, d := range docs {
		if d.ID == id {
			return true
		}
	}
	return false
}

func TestPatientReadsDocumentsAndTrends(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "fr")
	pat.WantNoError()
	pat.WantHTML("signed out", "Connectez-vous", "Lucas BERNARD", "Nathalie Fournier", "<optgroup")
	pat.SignIn(sqlite.DemoPatientLucasBernard)
	m := pat.Comp.M
	if len(m.Docs) < 12 || has(m.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatalf("%d documents, biopsy listed %v: want the visible ones only", len(m.Docs), has(m.Docs, sqlite.DemoDocumentBiopsy))
	}
	html := pat.WantHTML("list", "Résultats d’analyses", "Nouveau", "Hémoglobine glyquée", `data-analyte="4548-4"`)
	if strings.Contains(html, sqlite.DemoDocumentBiopsy) || strings.Contains(strings.ToLower(html), "biopsie") {
		t.Fatal("the held biopsy shows in the patient's list")
	}

	// Filter by type, then search titles ignoring case and accents.
	total := len(m.Docs)
	pat.Change("type", string(portal.DocLabReport))
	if n := len(m.Listed()); n != sqlite.DemoLabReports {
		t.Errorf("lab reports listed: %d, want %d", n, sqlite.DemoLabReports)
	}
	pat.WantHTML("filtered", "12 sur "+strconv.Itoa(total)+" documents")
	pat.Change("type", "")
	pat.Change("search", "LETTRE de liaison")
	for _, d := range m.Listed() {
		if !portal.MatchTitle(d.Title, "lettre de liaison") {
			t.Errorf("search listed %q", d.Title)
		}
	}
	if len(m.Listed()) == 0 || len(m.Listed()) == total {
		t.Errorf("search listed %d of %d", len(m.Listed()), total)
	}
	pat.Change("search", "")

	// Open the latest lab report: its results table with flags in words,
	// and it is no longer new, for the host too.
	var lab portal.Document
	for _, d := range m.Docs {
		if d.Type == portal.DocLabReport {
			lab = d
			break
		}
	}
	pat.Do("open", lab.ID)
	pat.WantNoError()
	html = pat.WantHTML("lab report", "<table", "Référence", "Télécharger (PDF", `<iframe class="pc-viewer"`, "/api/v1/documents/"+lab.ID+"/content?disposition=inline")
	if lab.New {
		ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
		if d, err := w.docs.Document(ctx, lab.ID); err != nil || d.New {
			t.Errorf("opened, the document is still new for the host: %v %v", d.New, err)
		}
	}
	if !strings.Contains(html, "Voir l’évolution") {
		t.Error("the results table offers no trend")
	}

	// The HbA1c trend: a chart with a dot per value and the same values as
	// a table.
	pat.Do("trend", sqlite.LOINCHbA1c)
	pat.WantNoError()
	tr := m.Trend
	if tr == nil || len(tr.Points) != sqlite.DemoLabReports {
		t.Fatalf("trend %+v", tr)
	}
	html = pat.WantHTML("trend", "<svg", `role="img"`, "pc-band", "<polyline", "Tous les résultats de", "Zone grisée")
	if n := strings.Count(html, "<circle"); n != len(tr.Points) {
		t.Errorf("%d dots for %d values", n, len(tr.Points))
	}
	if n := strings.Count(html, "<tr data-out="); n != len(tr.Points) {
		t.Errorf("%d table rows for %d values", n, len(tr.Points))
	}
	pat.Do("back", "")
	if m.Screen != documents.ScreenList {
		t.Fatalf("back: screen %s", m.Screen)
	}
}

func TestPractitionerReleasesAndThePatientSeesIt(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "fr")
	pat.SignIn(sqlite.DemoPatientLucasBernard)
	before := len(pat.Comp.M.Docs)

	pro := w.open(t, "fr")
	pro.SignIn(sqlite.DemoPractitionerNathalieFournier)
	m := pro.Comp.M
	if !has(m.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatalf("the held biopsy is not in the diabetologist's list: %d documents", len(m.Docs))
	}
	for _, d := range m.Docs {
		if d.Release != portal.ReleaseHeld {
			t.Errorf("held-only list shows %s (%s)", d.ID, d.Release)
		}
	}
	pro.WantHTML("held list", "Non visible par le patient", "Patient : Lucas BERNARD", "Seulement les documents à libérer")

	pro.Do("open", sqlite.DemoDocumentBiopsy)
	pro.WantHTML("held document", "Libérer pour le patient", "consultation d’annonce")
	pro.Do("release", "")
	pro.WantHTML("confirm", "Oui, libérer")
	// Cancelling releases nothing.
	pro.Do("cancel-release", "")
	pat.Tick()
	if has(pat.Comp.M.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatal("the biopsy reached the patient before its release")
	}
	pro.Do("release", "")
	pro.Do("confirm-release", "")
	pro.WantNoError()
	if m.Open.Release != portal.ReleaseReleased || has(m.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatalf("after release: %s, still in the held list %v", m.Open.Release, has(m.Docs, sqlite.DemoDocumentBiopsy))
	}
	pro.WantHTML("released", "Libéré le", "par Nathalie Fournier")
	if len(pro.sent) != 1 || pro.sent[0].Name != "parcours:document-released" || pro.sent[0].Document != sqlite.DemoDocumentBiopsy {
		t.Errorf("events %+v", pro.sent)
	}
	// Every document, released ones included.
	pro.Do("back", "")
	pro.Handle(uitest.Event{Checked: false}, func(ev vugu.DOMEvent) { pro.Comp.Check(ev, "held") })
	if !has(m.Docs, sqlite.DemoDocumentBiopsy) || len(m.Docs) <= 1 {
		t.Errorf("all documents: %d, biopsy %v", len(m.Docs), has(m.Docs, sqlite.DemoDocumentBiopsy))
	}

	// The patient's next refresh shows it, new.
	pat.Tick()
	pm := pat.Comp.M
	if !has(pm.Docs, sqlite.DemoDocumentBiopsy) || len(pm.Docs) != before+1 {
		t.Fatalf("after release the patient has %d documents (was %d), biopsy %v", len(pm.Docs), before, has(pm.Docs, sqlite.DemoDocumentBiopsy))
	}
	pat.WantHTML("released for the patient", sqlite.DemoDocumentBiopsy)
}

func TestPatientUploadsOnceThroughALostAnswer(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "en")
	pat.SignIn(sqlite.DemoPatientCamilleDurand)
	m := pat.Comp.M
	before := len(m.Docs)
	pat.Do("compose", "")
	pat.WantHTML("upload form", "Add a document", "PDF, JPEG or PNG, at most 10 MB.", `type="file"`)

	// Nothing chosen, no title: said on the spot.
	pat.Do("upload", "")
	if m.TitleErr == "" || m.FileErr == "" {
		t.Fatalf("empty form: title %q, file %q", m.TitleErr, m.FileErr)
	}
	// An HTML page named .pdf is refused before anything is sent.
	pat.attach(documents.File{Name: "result.pdf", Content: []byte("<html><script>alert(1)</script></html>"), Size: 38})
	if m.File != nil || !strings.Contains(m.FileErr, "result.pdf") {
		t.Fatalf("an HTML page named .pdf: file %v, error %q", m.File, m.FileErr)
	}
	pat.attach(documents.File{Name: "huge.pdf", Size: 11 << 20})
	if m.File != nil || !strings.Contains(m.FileErr, "10 MB") {
		t.Fatalf("an 11 MB file: error %q", m.FileErr)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	pat.attach(documents.File{Name: "prescription.pdf", Content: pdf, Size: int64(len(pdf))})
	pat.Change("type-title", "GP prescription")
	if m.File == nil || m.FileErr != "" {
		t.Fatalf("a PDF: file %v, error %q", m.File, m.FileErr)
	}

	// The host stores it but the answer is lost: the form stays, with an
	// error to try again; the retry is answered with the same document.
	pat.Net.LoseAnswers.Store(true)
	pat.Do("upload", "")
	pat.Net.LoseAnswers.Store(false)
	if m.Err == "" || m.File == nil || m.Title != "GP prescription" {
		t.Fatalf("lost answer: err %q, file kept %v, title %q", m.Err, m.File != nil, m.Title)
	}
	pat.Do("retry", "")
	pat.WantNoError()
	if m.Screen != documents.ScreenList || m.File != nil {
		t.Fatalf("after the upload: screen %s", m.Screen)
	}
	ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	stored, err := w.docs.Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{Type: portal.DocPatientDocument})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range stored {
		if d.Title == "GP prescription" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("stored %d copies, want 1", n)
	}
	if len(m.Docs) != before+1 || len(pat.sent) != 1 || pat.sent[0].Name != "parcours:document-uploaded" {
		t.Errorf("list %d (was %d), events %+v", len(m.Docs), before, pat.sent)
	}
	pat.WantHTML("list after upload", "GP prescription", "Added by you")
}

func TestSignOutForgetsTheDocuments(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "fr")
	pat.SignIn(sqlite.DemoPatientLucasBernard)
	pat.Do("trend", sqlite.LOINCGlucose)
	pat.Do("sign-out", "")
	m := pat.Comp.M
	if m.Patient != nil || len(m.Docs) != 0 || m.Trend != nil || len(m.Analytes) != 0 {
		t.Fatalf("signed out, the model keeps %d documents, trend %v", len(m.Docs), m.Trend != nil)
	}
	if html := pat.Render(); strings.Contains(html, "Glyc") || !strings.Contains(html, "Connectez-vous") {
		t.Fatalf("signed out, the widget shows:\n%s", html)
	}
}

func TestOfflineRefreshKeepsTheList(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "fr")
	pat.SignIn(sqlite.DemoPatientLucasBernard)
	n := len(pat.Comp.M.Docs)
	pat.Net.Down.Store(true)
	pat.Tick()
	if !pat.Comp.M.Offline || len(pat.Comp.M.Docs) != n {
		t.Fatalf("offline: flag %v, %d documents (was %d)", pat.Comp.M.Offline, len(pat.Comp.M.Docs), n)
	}
	pat.WantHTML("offline", "Connexion perdue")
	pat.Net.Down.Store(false)
	pat.Tick()
	if pat.Comp.M.Offline {
		t.Fatal("back online, still offline")
	}
}

var signInLinks = []widgets.SignInLink{
	{Kind: "practitioner", Label: [2]string{"Connexion professionnelle", "Practitioner sign-in"}, URL: "http://127.0.0.1/auth/signin?provider=pro&return=%2Fw%2Fdocuments"},
	{Kind: "patient", Label: [2]string{"Connexion patient", "Patient sign-in"}, URL: "http://127.0.0.1/auth/signin?provider=idp&return=%2Fw%2Fdocuments"},
}

// TestSignInLinks: the sign-in panel shows the patients' then the
// practitioners' sign-in buttons for the frame's popup, and the hidden
// button the frame presses once the popup signed in.
func TestSignInLinks(t *testing.T) {
	w := newWorld(t)
	hs := w.open(t, "fr")
	h := hs.WantHTML("sign-in", `<button type="button" class="pc-session-changed" hidden="" data-parcours-session-changed="">Actualiser la session</button>`, "Connexion de démonstration")
	if strings.Contains(h, "data-parcours-signin") {
		t.Error("a sign-in link without any")
	}
	hs.Comp.M.SignIn = signInLinks
	h = hs.WantHTML("sign-in",
		`target="_blank" rel="opener" data-parcours-signin="" data-kind="patient" href="`+html.EscapeString(signInLinks[1].URL)+`">Connexion patient</a>`,
		`target="_blank" rel="opener" data-parcours-signin="" data-kind="practitioner" href="`+html.EscapeString(signInLinks[0].URL)+`">Connexion professionnelle</a>`,
		"Connexion de démonstration")
	if p, pro := strings.Index(h, "Connexion patient"), strings.Index(h, "Connexion professionnelle"); p > pro {
		t.Error("the practitioners' sign-in comes before the patients'")
	}
}

// TestSessionChanged: a session opened outside the widget (the frame's
// sign-in popup, on the same cookie jar) is taken when the frame presses
// "session-changed", a patient's or a practitioner's; with nobody signed
// in, nothing changes.
func TestSessionChanged(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	hs := w.open(t, "fr")
	m := hs.Comp.M
	hs.Do(string(documents.SessionChanged), "")
	hs.WantNoError()
	if m.Patient != nil || m.Practitioner != nil || m.Loading || !hs.Comp.ShowSignIn() || len(m.DemoPatients) == 0 {
		t.Fatalf("nobody signed in: patient %v practitioner %v loading %v", m.Patient, m.Practitioner, m.Loading)
	}
	if _, err := hs.Client(w.url, "fr").DemoSignIn(ctx, sqlite.DemoPatientLucasBernard); err != nil {
		t.Fatal(err)
	}
	hs.Do(string(documents.SessionChanged), "")
	hs.WantNoError()
	if m.Patient == nil || m.Patient.ID != sqlite.DemoPatientLucasBernard || m.Practitioner != nil || len(m.Docs) == 0 || m.Loading {
		t.Fatalf("patient %v practitioner %v documents %d loading %v", m.Patient, m.Practitioner, len(m.Docs), m.Loading)
	}
	if h := hs.Render(); strings.Contains(h, "data-parcours-session-changed") {
		t.Error("the sign-in panel stays once signed in")
	}

	pro := w.open(t, "fr")
	if _, err := pro.Client(w.url, "fr").DemoPractitionerSignIn(ctx, sqlite.DemoPractitionerNathalieFournier); err != nil {
		t.Fatal(err)
	}
	pro.Do(string(documents.SessionChanged), "")
	pro.WantNoError()
	if pm := pro.Comp.M; pm.Practitioner == nil || pm.Patient != nil || !has(pm.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatalf("practitioner %v patient %v documents %d", pm.Practitioner, pm.Patient, len(pm.Docs))
	}
}
