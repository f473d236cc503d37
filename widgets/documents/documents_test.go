//go:build !(js && wasm)

package documents_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/internal/uitest"
)

// world is a real host on the seeded SQLite store.
type world struct {
	url  string
	docs portal.Documents
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	docs := store.Documents()
	h, err := host.New(host.Config{
		Booking: store, Directory: store, Messaging: store.Messaging(), CareTeam: store, Documents: docs, DemoSignIn: true,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment}},
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &world{url: srv.URL, docs: docs}
}

// flaky is a browser's network that can go down, or lose the answers
// while the requests still reach the host.
type flaky struct {
	client.Transport
	down, loseAnswers atomic.Bool
}

func (f *flaky) Do(ctx context.Context, r *client.Request) (*client.Response, error) {
	if f.down.Load() {
		return nil, errors.New("network is unreachable")
	}
	resp, err := f.Transport.Do(ctx, r)
	if f.loseAnswers.Load() {
		return nil, errors.New("connection reset")
	}
	return resp, err
}

// harness runs the component as the browser does: handlers under the write
// lock, calls in goroutines, against the real host over HTTP.
type harness struct {
	t    *testing.T
	comp *documents.Documents
	env  *uitest.Env
	net  *flaky
	sent []documents.Event
}

func (w *world) open(t *testing.T, lang string) *harness {
	t.Helper()
	hs := &harness{t: t, env: uitest.NewEnv(), net: &flaky{Transport: client.NewHTTPTransport()}}
	hs.comp = &documents.Documents{
		M:         documents.NewModel(lang, sqlite.DemoEstablishment),
		Backend:   client.New(w.url, client.WithTransport(hs.net), client.WithLanguage(lang)),
		PollEvery: -1,
		Emit:      func(e documents.Event) { hs.sent = append(hs.sent, e) },
	}
	hs.comp.Init(uitest.InitCtx{Env: hs.env.EE})
	hs.settle()
	return hs
}

func (hs *harness) settle() {
	hs.t.Helper()
	hs.env.Settle(hs.t, func() bool { return hs.comp.Running() == 0 && !hs.comp.M.Loading })
}

func (hs *harness) do(kind, id string) {
	hs.t.Helper()
	hs.env.Locked(func(ee vugu.EventEnv) { hs.comp.Do(uitest.Event{Env: ee}, kind, id) })
	hs.settle()
}

func (hs *harness) change(kind, value string) {
	hs.t.Helper()
	hs.env.Locked(func(ee vugu.EventEnv) { hs.comp.Change(uitest.Event{Env: ee, Value: value}, kind) })
	hs.settle()
}

func (hs *harness) tick() {
	hs.t.Helper()
	hs.comp.Poll(hs.env.EE)
	hs.settle()
}

func (hs *harness) attach(f documents.File) {
	hs.t.Helper()
	hs.comp.Attach(hs.env.EE, hs.comp.M.Seq(), f)
	hs.settle()
}

func (hs *harness) render() string {
	hs.t.Helper()
	return hs.env.Render(hs.t, hs.comp)
}

func (hs *harness) signIn(who string) {
	hs.t.Helper()
	hs.change("choose-demo", who)
	hs.do("sign-in", "")
	if !hs.comp.SignedIn() {
		hs.t.Fatalf("not signed in as %s: %q %s", who, hs.comp.M.Err, hs.comp.M.ErrText)
	}
}

func (hs *harness) wantNoError() {
	hs.t.Helper()
	if hs.comp.M.Err != "" {
		hs.t.Fatalf("error %q: %s", hs.comp.M.Err, hs.comp.M.ErrText)
	}
}

func (hs *harness) wantHTML(what string, wants ...string) string {
	hs.t.Helper()
	html := hs.render()
	for _, w := range wants {
		if !strings.Contains(html, w) {
			hs.t.Errorf("%s: the widget lacks %q", what, w)
		}
	}
	return html
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
	pat.wantNoError()
	pat.wantHTML("signed out", "Connectez-vous", "Lucas BERNARD", "Nathalie Fournier", "<optgroup")
	pat.signIn(sqlite.DemoPatientLucasBernard)
	m := pat.comp.M
	if len(m.Docs) < 12 || has(m.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatalf("%d documents, biopsy listed %v: want the visible ones only", len(m.Docs), has(m.Docs, sqlite.DemoDocumentBiopsy))
	}
	html := pat.wantHTML("list", "Résultats d’analyses", "Nouveau", "Hémoglobine glyquée", `data-analyte="4548-4"`)
	if strings.Contains(html, sqlite.DemoDocumentBiopsy) || strings.Contains(strings.ToLower(html), "biopsie") {
		t.Fatal("the held biopsy shows in the patient's list")
	}

	// Filter by type, then search titles ignoring case and accents.
	total := len(m.Docs)
	pat.change("type", string(portal.DocLabReport))
	if n := len(m.Listed()); n != sqlite.DemoLabReports {
		t.Errorf("lab reports listed: %d, want %d", n, sqlite.DemoLabReports)
	}
	pat.wantHTML("filtered", "12 sur "+strconv.Itoa(total)+" documents")
	pat.change("type", "")
	pat.change("search", "LETTRE de liaison")
	for _, d := range m.Listed() {
		if !portal.MatchTitle(d.Title, "lettre de liaison") {
			t.Errorf("search listed %q", d.Title)
		}
	}
	if len(m.Listed()) == 0 || len(m.Listed()) == total {
		t.Errorf("search listed %d of %d", len(m.Listed()), total)
	}
	pat.change("search", "")

	// Open the latest lab report: its results table with flags in words,
	// and it is no longer new, for the host too.
	var lab portal.Document
	for _, d := range m.Docs {
		if d.Type == portal.DocLabReport {
			lab = d
			break
		}
	}
	pat.do("open", lab.ID)
	pat.wantNoError()
	html = pat.wantHTML("lab report", "<table", "Référence", "Télécharger (PDF", `<iframe class="pc-viewer"`, "/api/v1/documents/"+lab.ID+"/content?disposition=inline")
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
	pat.do("trend", sqlite.LOINCHbA1c)
	pat.wantNoError()
	tr := m.Trend
	if tr == nil || len(tr.Points) != sqlite.DemoLabReports {
		t.Fatalf("trend %+v", tr)
	}
	html = pat.wantHTML("trend", "<svg", `role="img"`, "pc-band", "<polyline", "Tous les résultats de", "Zone grisée")
	if n := strings.Count(html, "<circle"); n != len(tr.Points) {
		t.Errorf("%d dots for %d values", n, len(tr.Points))
	}
	if n := strings.Count(html, "<tr data-out="); n != len(tr.Points) {
		t.Errorf("%d table rows for %d values", n, len(tr.Points))
	}
	pat.do("back", "")
	if m.Screen != documents.ScreenList {
		t.Fatalf("back: screen %s", m.Screen)
	}
}

func TestPractitionerReleasesAndThePatientSeesIt(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "fr")
	pat.signIn(sqlite.DemoPatientLucasBernard)
	before := len(pat.comp.M.Docs)

	pro := w.open(t, "fr")
	pro.signIn(sqlite.DemoPractitionerNathalieFournier)
	m := pro.comp.M
	if !has(m.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatalf("the held biopsy is not in the diabetologist's list: %d documents", len(m.Docs))
	}
	for _, d := range m.Docs {
		if d.Release != portal.ReleaseHeld {
			t.Errorf("held-only list shows %s (%s)", d.ID, d.Release)
		}
	}
	pro.wantHTML("held list", "Non visible par le patient", "Patient : Lucas BERNARD", "Seulement les documents à libérer")

	pro.do("open", sqlite.DemoDocumentBiopsy)
	pro.wantHTML("held document", "Libérer pour le patient", "consultation d’annonce")
	pro.do("release", "")
	pro.wantHTML("confirm", "Oui, libérer")
	// Cancelling releases nothing.
	pro.do("cancel-release", "")
	pat.tick()
	if has(pat.comp.M.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatal("the biopsy reached the patient before its release")
	}
	pro.do("release", "")
	pro.do("confirm-release", "")
	pro.wantNoError()
	if m.Open.Release != portal.ReleaseReleased || has(m.Docs, sqlite.DemoDocumentBiopsy) {
		t.Fatalf("after release: %s, still in the held list %v", m.Open.Release, has(m.Docs, sqlite.DemoDocumentBiopsy))
	}
	pro.wantHTML("released", "Libéré le", "par Nathalie Fournier")
	if len(pro.sent) != 1 || pro.sent[0].Name != "parcours:document-released" || pro.sent[0].Document != sqlite.DemoDocumentBiopsy {
		t.Errorf("events %+v", pro.sent)
	}
	// Every document, released ones included.
	pro.do("back", "")
	pro.env.Locked(func(ee vugu.EventEnv) { pro.comp.Check(uitest.Event{Env: ee, Checked: false}, "held") })
	pro.settle()
	if !has(m.Docs, sqlite.DemoDocumentBiopsy) || len(m.Docs) <= 1 {
		t.Errorf("all documents: %d, biopsy %v", len(m.Docs), has(m.Docs, sqlite.DemoDocumentBiopsy))
	}

	// The patient's next refresh shows it, new.
	pat.tick()
	pm := pat.comp.M
	if !has(pm.Docs, sqlite.DemoDocumentBiopsy) || len(pm.Docs) != before+1 {
		t.Fatalf("after release the patient has %d documents (was %d), biopsy %v", len(pm.Docs), before, has(pm.Docs, sqlite.DemoDocumentBiopsy))
	}
	pat.wantHTML("released for the patient", sqlite.DemoDocumentBiopsy)
}

func TestPatientUploadsOnceThroughALostAnswer(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "en")
	pat.signIn(sqlite.DemoPatientCamilleDurand)
	m := pat.comp.M
	before := len(m.Docs)
	pat.do("compose", "")
	pat.wantHTML("upload form", "Add a document", "PDF, JPEG or PNG, at most 10 MB.", `type="file"`)

	// Nothing chosen, no title: said on the spot.
	pat.do("upload", "")
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
	pat.change("type-title", "GP prescription")
	if m.File == nil || m.FileErr != "" {
		t.Fatalf("a PDF: file %v, error %q", m.File, m.FileErr)
	}

	// The host stores it but the answer is lost: the form stays, with an
	// error to try again; the retry is answered with the same document.
	pat.net.loseAnswers.Store(true)
	pat.do("upload", "")
	pat.net.loseAnswers.Store(false)
	if m.Err == "" || m.File == nil || m.Title != "GP prescription" {
		t.Fatalf("lost answer: err %q, file kept %v, title %q", m.Err, m.File != nil, m.Title)
	}
	pat.do("retry", "")
	pat.wantNoError()
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
	pat.wantHTML("list after upload", "GP prescription", "Added by you")
}

func TestSignOutForgetsTheDocuments(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "fr")
	pat.signIn(sqlite.DemoPatientLucasBernard)
	pat.do("trend", sqlite.LOINCGlucose)
	pat.do("sign-out", "")
	m := pat.comp.M
	if m.Patient != nil || len(m.Docs) != 0 || m.Trend != nil || len(m.Analytes) != 0 {
		t.Fatalf("signed out, the model keeps %d documents, trend %v", len(m.Docs), m.Trend != nil)
	}
	if html := pat.render(); strings.Contains(html, "Glyc") || !strings.Contains(html, "Connectez-vous") {
		t.Fatalf("signed out, the widget shows:\n%s", html)
	}
}

func TestOfflineRefreshKeepsTheList(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, "fr")
	pat.signIn(sqlite.DemoPatientLucasBernard)
	n := len(pat.comp.M.Docs)
	pat.net.down.Store(true)
	pat.tick()
	if !pat.comp.M.Offline || len(pat.comp.M.Docs) != n {
		t.Fatalf("offline: flag %v, %d documents (was %d)", pat.comp.M.Offline, len(pat.comp.M.Docs), n)
	}
	pat.wantHTML("offline", "Connexion perdue")
	pat.net.down.Store(false)
	pat.tick()
	if pat.comp.M.Offline {
		t.Fatal("back online, still offline")
	}
}
