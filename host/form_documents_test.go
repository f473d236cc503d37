package host

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/documents"
)

var pcForm = regexp.MustCompile(`<form id="pc-form" class="pc-form" method="post" action="([^"]*)"`)

// pcFormAction is the address the form="pc-form" buttons of doc post to
// (the documents and messaging widgets), as the Wasm reads it.
func pcFormAction(t *testing.T, doc string) string {
	t.Helper()
	m := pcForm.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no form in\n%s", doc)
	}
	return html.UnescapeString(m[1])
}

// signedInBrowser starts a host with cfg and a browser signed in as the
// demo patient, on the widgets whose buttons name the form "pc-form"
// (documents, messaging), before their Wasm runs.
func signedInBrowser(t *testing.T, cfg Config, patient string) *formBrowser {
	t.Helper()
	b := newFormBrowser(t, cfg)
	b.demoSignIn(demoPatientSession, `{"patient":"`+patient+`"}`)
	return b
}

// demoSignIn signs the browser in through the demo endpoint path with body.
func (b *formBrowser) demoSignIn(path, body string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.srv.URL)
	resp, err := b.hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.t.Fatalf("sign-in at %s: %v %v", path, err, resp)
	}
	resp.Body.Close()
}

// press posts doc's form "pc-form" with the button valued value.
func (b *formBrowser) press(doc, value string) string {
	b.t.Helper()
	return b.read(b.hc.PostForm(b.srv.URL+pcFormAction(b.t, doc), url.Values{"a": {value}}))
}

// stateOf decodes the state doc hands to the browser.
func stateOf[S any](t *testing.T, doc string) *S {
	t.Helper()
	m := docSnap.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no state in\n%s", doc)
	}
	var s S
	if err := json.Unmarshal([]byte(m[1]), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// documentsHydrate checks that the documents widget's Wasm, starting from
// doc's state, renders doc node for node.
func documentsHydrate(t *testing.T, doc string) {
	t.Helper()
	model := documents.NewModel("fr", sqlite.DemoEstablishment)
	model.Hydrate(stateOf[documents.Snapshot](t, doc))
	// The Wasm's backend is the API client (the viewer's addresses).
	wantHydrationMatches(t, &documents.Documents{M: model, Backend: client.New(""), Action: pcFormAction(t, doc)}, doc)
}

// TestDocumentsWithoutWasm reads documents through form posts, as before the
// Wasm runs or where WebAssembly is blocked: a report opened (in the
// viewer, marked seen), an analyte's trend, back to the list; each screen is
// the one the Wasm takes over node for node. An id that is not in the
// session's person's list opens nothing.
func TestDocumentsWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Documents, cfg.DemoSignIn = store.Documents(), true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientLucasBernard)
	read, press := b.get, b.press

	list := read("/w/documents?establishment=" + sqlite.DemoEstablishment + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin))
	report := "doc-demo-bilan-12"
	if !strings.Contains(list, `value="open:`+report+`"`) || !strings.Contains(list, `form="pc-form"`) {
		t.Fatalf("the list's documents are not buttons of the form:\n%s", firstPaint(t, list))
	}
	lucas := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
	isNew := func() bool {
		docs, err := store.Documents().Documents(lucas, sqlite.DemoEstablishment, portal.DocumentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if d.ID == report {
				return d.New
			}
		}
		t.Fatalf("%s is not Lucas's", report)
		return false
	}
	if !isNew() {
		t.Fatalf("%s is not new before it is opened", report)
	}

	doc := press(list, "open:"+report)
	if !strings.Contains(doc, `data-screen="document"`) || !strings.Contains(doc, `class="pc-viewer"`) || !strings.Contains(doc, "/api/v1/documents/"+report+"/content?disposition=inline") {
		t.Fatalf("the report is not open in the viewer:\n%s", firstPaint(t, doc))
	}
	documentsHydrate(t, doc)
	if isNew() {
		t.Error("the report opened is still new")
	}

	trend := press(doc, "trend:"+sqlite.DemoEstablishment+":"+sqlite.LOINCHbA1c)
	if !strings.Contains(trend, `data-screen="trend"`) || !strings.Contains(trend, `<svg class="pc-chart"`) || strings.Count(trend, "<circle") < 12 {
		t.Fatalf("the HbA1c trend is not shown:\n%s", firstPaint(t, trend))
	}
	documentsHydrate(t, trend)

	back := press(trend, "back")
	if !strings.Contains(back, `data-screen="list"`) || !strings.Contains(back, `value="open:`+report+`"`) {
		t.Fatalf("back is not the list:\n%s", firstPaint(t, back))
	}
	documentsHydrate(t, back)

	// The held biopsy, and a document of another patient, open nothing.
	for _, id := range []string{sqlite.DemoDocumentBiopsy, sqlite.DemoDocumentUltrasound} {
		got := press(list, "open:"+id)
		if !strings.Contains(got, `data-screen="list"`) || strings.Contains(got, id) {
			t.Errorf("open:%s: not the list, or the document is in it:\n%s", id, firstPaint(t, got))
		}
	}
}

// TestDocumentsZoomWithoutWasm zooms an image through form posts, as
// before the Wasm runs or where WebAssembly is blocked (the buttons did
// nothing there): each post shows the same document one level in or out,
// bounded, and the Wasm takes each screen over node for node. A zoom posted
// for a document not the patient's opens nothing.
func TestDocumentsZoomWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Documents, cfg.DemoSignIn = store.Documents(), true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientCamilleDurand)
	echo := sqlite.DemoDocumentUltrasound
	list := b.get("/w/documents?establishment=" + sqlite.DemoEstablishment + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin))
	doc := b.press(list, "open:"+echo)
	zoomIn := regexp.MustCompile(`<button[^>]*value="(zoom-in:[^"]*)"[^>]*>`)
	zoomOut := regexp.MustCompile(`<button[^>]*value="(zoom-out:[^"]*)"[^>]*>`)
	level := regexp.MustCompile(`<figure class="pc-image" data-zoom="(\d+)"`)
	check := func(doc string, wantLevel string, outDisabled, inDisabled bool) (in, out string) {
		t.Helper()
		if m := level.FindStringSubmatch(doc); m == nil || m[1] != wantLevel {
			t.Fatalf("the image is not at %s %%: %v\n%s", wantLevel, m, firstPaint(t, doc))
		}
		mi, mo := zoomIn.FindStringSubmatch(doc), zoomOut.FindStringSubmatch(doc)
		if mi == nil || mo == nil || !strings.Contains(mi[0], `form="pc-form"`) || !strings.Contains(mi[0], `type="submit"`) {
			t.Fatalf("the zoom buttons are not buttons of the form:\n%s", firstPaint(t, doc))
		}
		if strings.Contains(mo[0], "disabled") != outDisabled || strings.Contains(mi[0], "disabled") != inDisabled {
			t.Errorf("at %s %%: zoom-out disabled %v, zoom-in disabled %v; want %v, %v", wantLevel,
				strings.Contains(mo[0], "disabled"), strings.Contains(mi[0], "disabled"), outDisabled, inDisabled)
		}
		documentsHydrate(t, doc)
		return mi[1], mo[1]
	}
	in, _ := check(doc, "100", true, false)
	if in != "zoom-in:"+echo+":0" {
		t.Errorf("zoom-in's value = %q", in)
	}
	for _, want := range []string{"150", "200", "300"} {
		doc = b.press(doc, in)
		in, _ = check(doc, want, false, want == "300")
	}
	// Past the last level it stays there; a level posted out of range is
	// brought back within.
	doc = b.press(doc, "zoom-in:"+echo+":3")
	check(doc, "300", false, true)
	doc = b.press(doc, "zoom-in:"+echo+":99")
	_, out := check(doc, "300", false, true)
	doc = b.press(doc, out)
	check(doc, "200", false, false)
	doc = b.press(doc, "zoom-out:"+echo+":-5")
	check(doc, "100", true, false)
	// Lucas's report is not Camille's: the list, without it.
	got := b.press(doc, "zoom-in:doc-demo-bilan-12:0")
	if !strings.Contains(got, `data-screen="list"`) || strings.Contains(got, "doc-demo-bilan-12") {
		t.Errorf("a zoom on another patient's document: not the list, or the document is in it:\n%s", firstPaint(t, got))
	}
}

var uploadForm = multipartForm("pc-upload")

// TestDocumentsUploadAndReleaseWithoutWasm writes documents through form
// posts, as before the Wasm runs or where WebAssembly is blocked: Lucas
// adds a PDF for his care team (a missing title and a file that is no PDF
// refused with the title kept; stored once however often the form is
// posted), and the nurse releases his held biopsy report after
// confirming, which he then sees. A form drawn for one person stores
// nothing in another's session. Each screen is the one the Wasm takes over
// node for node.
func TestDocumentsUploadAndReleaseWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	docs := store.Documents()
	cfg.Documents, cfg.CareTeam, cfg.Audit, cfg.DemoSignIn = docs, store, store, true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientLucasBernard)
	hydrates := func(doc string) {
		t.Helper()
		model := documents.NewModel("fr", sqlite.DemoEstablishment)
		model.Hydrate(stateOf[documents.Snapshot](t, doc))
		wantHydrationMatches(t, &documents.Documents{M: model, Backend: client.New(""), Action: pcFormAction(t, doc)}, doc)
	}
	lucas := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
	uploads := func() []portal.Document {
		ds, err := docs.Documents(lucas, sqlite.DemoEstablishment, portal.DocumentFilter{Type: portal.DocPatientDocument})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	n := len(uploads())
	list := b.get("/w/documents?establishment=" + sqlite.DemoEstablishment + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin))
	form := b.press(list, "compose")
	if !strings.Contains(form, `data-screen="upload"`) || !uploadForm.MatchString(form) {
		t.Fatalf("no upload form:\n%s", firstPaint(t, form))
	}
	hydrates(form)

	untitled, _ := b.postFiles(uploadForm, "file", form, "upload", nil, formFile{"bilan.pdf", formPDF})
	if !strings.Contains(untitled, `id="pc-doc-title-err"`) || !strings.Contains(untitled, "Choisissez à nouveau le fichier") || len(uploads()) != n {
		t.Fatalf("an upload without a title: not refused, or stored:\n%s", firstPaint(t, untitled))
	}
	hydrates(untitled)
	title := "Bilan du laboratoire de ville"
	diabeto := sqlite.DemoEstablishment + "/" + sqlite.ServiceDiabetologie // his service
	bad, _ := b.postFiles(uploadForm, "file", untitled, "upload", url.Values{"title": {title}, "service": {diabeto}}, formFile{"bilan.pdf", []byte("<html>not a pdf</html>")})
	if !strings.Contains(bad, `value="`+title+`"`) || !strings.Contains(bad, "Choisissez à nouveau le fichier") || len(uploads()) != n {
		t.Fatalf("a file that is no PDF: not refused, the title lost, or stored:\n%s", firstPaint(t, bad))
	}
	hydrates(bad)

	// A service he has no link with: refused by the store, nothing stored,
	// and the audit says refused (the page answered 200, showing why).
	unlinked, _ := b.postFiles(uploadForm, "file", bad, "upload", url.Values{"title": {title}, "service": {sqlite.DemoEstablishment + "/" + sqlite.ServiceMaternite}}, formFile{"bilan.pdf", formPDF})
	if !strings.Contains(unlinked, `class="pc-error"`) || len(uploads()) != n {
		t.Fatalf("an upload to an unlinked service: no error, or stored:\n%s", firstPaint(t, unlinked))
	}
	hydrates(unlinked)
	events, err := store.AuditEvents(t.Context(), portal.AuditQuery{Patient: sqlite.DemoPatientLucasBernard, Newest: true, Limit: 1})
	if err != nil || len(events) != 1 || events[0].Operation != "widget.documents.upload" || events[0].Outcome == portal.AuditSuccess || events[0].Status != http.StatusForbidden {
		t.Fatalf("the refused upload's audit record: %+v %v", events, err)
	}

	stored, id := b.postFiles(uploadForm, "file", bad, "upload", url.Values{"title": {title}, "service": {diabeto}}, formFile{"bilan.pdf", formPDF})
	got := uploads()
	if len(got) != n+1 {
		t.Fatalf("%d uploads after the post, want %d:\n%s", len(got), n+1, firstPaint(t, stored))
	}
	var up portal.Document
	for _, d := range got {
		if d.Title == title {
			up = d
		}
	}
	if up.ID == "" {
		t.Fatalf("the upload is not stored with its title: %+v", got)
	}
	for _, want := range []string{`data-screen="list"`, `value="open:` + up.ID + `"`, "parcours:document-uploaded"} {
		if !strings.Contains(stored, want) {
			t.Fatalf("the list after the upload lacks %q:\n%s", want, firstPaint(t, stored))
		}
	}
	if m := uploadForm.FindStringSubmatch(b.press(stored, "compose")); m == nil || m[2] == id {
		t.Error("the next upload form's client id is not new")
	}
	hydrates(stored)
	b.postFiles(uploadForm, "file", bad, "upload", url.Values{"title": {title}, "service": {diabeto}}, formFile{"bilan.pdf", formPDF})
	if len(uploads()) != n+1 {
		t.Fatal("the same upload form posted again stored a second document")
	}

	// The nurse of his service releases the held biopsy report.
	nurse := &formBrowser{t: t, srv: b.srv, hc: newJarClient()}
	nurse.demoSignIn(demoPractitionerSession, `{"practitioner":"`+sqlite.DemoPractitionerNathalieFournier+`"}`)
	held := nurse.press(nurse.get("/w/documents?establishment="+sqlite.DemoEstablishment+"&lang=fr"), "open:"+sqlite.DemoDocumentBiopsy)
	ask := nurse.press(held, "release:"+sqlite.DemoDocumentBiopsy)
	if !strings.Contains(ask, `value="confirm-release:`+sqlite.DemoDocumentBiopsy+`"`) {
		t.Fatalf("no confirmation of the release:\n%s", firstPaint(t, ask))
	}
	hydratesPro := func(doc string) {
		t.Helper()
		model := documents.NewModel("fr", sqlite.DemoEstablishment)
		model.Hydrate(stateOf[documents.Snapshot](t, doc))
		wantHydrationMatches(t, &documents.Documents{M: model, Backend: client.New(""), Action: pcFormAction(t, doc)}, doc)
	}
	hydratesPro(ask)
	if d, err := docs.Document(lucas, sqlite.DemoDocumentBiopsy); err == nil {
		t.Fatalf("asking to release released %+v", d)
	}
	// Lucas's form, posted in the nurse's session, releases nothing.
	if got := nurse.pressAs(ask, "confirm-release:"+sqlite.DemoDocumentBiopsy, "patient:"+sqlite.DemoPatientLucasBernard); !strings.Contains(got, `class="pc-error"`) {
		t.Fatalf("a form of another person's released:\n%s", firstPaint(t, got))
	}
	if _, err := docs.Document(lucas, sqlite.DemoDocumentBiopsy); err == nil {
		t.Fatal("released by a form drawn for another person")
	}
	released := nurse.press(ask, "confirm-release:"+sqlite.DemoDocumentBiopsy)
	if !strings.Contains(released, "parcours:document-released") {
		t.Fatalf("no release event:\n%s", released)
	}
	hydratesPro(released)
	if _, err := docs.Document(lucas, sqlite.DemoDocumentBiopsy); err != nil {
		t.Fatalf("Lucas does not see the released report: %v", err)
	}
	// Lucas's upload form, posted in the nurse's session, stores nothing.
	other, _ := nurse.postFiles(uploadForm, "file", bad, "upload", url.Values{"title": {"Autre"}}, formFile{"autre.pdf", formPDF})
	if !strings.Contains(other, `class="pc-error"`) || len(uploads()) != n+1 {
		t.Fatalf("a patient's upload form stored in a practitioner's session:\n%s", firstPaint(t, other))
	}
}

// pressAs posts doc's form "pc-form" with the button valued value, as drawn
// for person.
func (b *formBrowser) pressAs(doc, value, person string) string {
	b.t.Helper()
	return b.read(b.hc.PostForm(b.srv.URL+pcFormAction(b.t, doc), url.Values{"a": {value}, "person": {person}}))
}

func newJarClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// TestDocumentsFiltersWithoutWasm: the list's filters work through form
// posts (Filtrer, or Enter in the search field: the form's default button
// filters), are kept while a document is open and back, and a
// practitioner lists every document, not only the held ones; each screen
// the one the Wasm takes over.
func TestDocumentsFiltersWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Documents, cfg.CareTeam, cfg.DemoSignIn = store.Documents(), store, true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientLucasBernard)
	page := "/w/documents?establishment=" + sqlite.DemoEstablishment + "&lang=fr"
	filter := func(doc string, fields url.Values) string {
		t.Helper()
		fields.Set("a", "filter")
		fields.Set("filters", "1")
		return b.read(b.hc.PostForm(b.srv.URL+pcFormAction(t, doc), fields))
	}
	listed := func(doc string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<li class="pc-doc" data-document="[^"]*" data-new="[^"]*" data-type="([^"]*)"`).FindAllStringSubmatch(doc, -1) {
			out = append(out, m[1])
		}
		return out
	}
	list := b.get(page)
	if !strings.Contains(list, `<button type="submit" form="pc-form" name="a" value="filter" class="pc-btn pc-secondary pc-nojs">Filtrer</button>`) ||
		!strings.Contains(list, `<button type="submit" name="a" value="filter" class="pc-default"`) {
		t.Fatalf("no filter button, or no default button:\n%s", firstPaint(t, list))
	}
	all := listed(list)
	labs := filter(list, url.Values{"type": {string(portal.DocLabReport)}})
	got := listed(labs)
	if len(got) == 0 || len(got) == len(all) || slices.ContainsFunc(got, func(s string) bool { return s != string(portal.DocLabReport) }) {
		t.Fatalf("lab reports only: %v (of %v):\n%s", got, all, firstPaint(t, list))
	}
	hydratesAny(t, page, labs)
	// Kept while a document is open, and back.
	// (A browser posts the form's fields with any of its buttons: the
	// filters, in the list; their hidden copies, on a document.)
	open := b.read(b.hc.PostForm(b.srv.URL+pcFormAction(t, labs), url.Values{
		"a": {"open:" + regexp.MustCompile(`value="open:([^"]*)"`).FindStringSubmatch(labs)[1]}, "filters": {"1"}, "type": {string(portal.DocLabReport)}}))
	back := b.read(b.hc.PostForm(b.srv.URL+pcFormAction(t, open), url.Values{"a": {"back"}, "filters": {"1"}, "type": {regexp.MustCompile(`<input type="hidden" name="type" value="([^"]*)"`).FindStringSubmatch(open)[1]}}))
	if !slices.Equal(listed(back), got) {
		t.Fatalf("back from a document: %v, want the filtered %v:\n%s", listed(back), got, firstPaint(t, open))
	}
	hydratesAny(t, page, back)
	none := filter(list, url.Values{"q": {"zzz introuvable"}})
	if len(listed(none)) != 0 || !strings.Contains(none, `value="zzz introuvable"`) {
		t.Fatalf("a search that matches nothing:\n%s", firstPaint(t, none))
	}
	hydratesAny(t, page, none)

	// The nurse: the held documents, then every one.
	nurse := &formBrowser{t: t, srv: b.srv, hc: newJarClient()}
	nurse.demoSignIn(demoPractitionerSession, `{"practitioner":"`+sqlite.DemoPractitionerNathalieFournier+`"}`)
	held := nurse.get(page)
	everything := nurse.read(nurse.hc.PostForm(nurse.srv.URL+pcFormAction(t, held), url.Values{"a": {"filter"}, "filters": {"1"}}))
	if len(listed(everything)) <= len(listed(held)) || strings.Contains(everything, `id="pc-held" name="held" value="true" form="pc-form" checked`) {
		t.Fatalf("every document: %d listed, %d held", len(listed(everything)), len(listed(held)))
	}
	hydratesAny(t, page, everything)
}

// TestDocumentsSignedOutWithoutDemo: on a host without the demo sign-in,
// the signed-out documents widget shows its sign-in screen (its state
// handed to the browser), not the loading skeleton, which without the
// Wasm would never go away.
func TestDocumentsSignedOutWithoutDemo(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Documents, cfg.CareTeam, cfg.DemoSignIn = store.Documents(), store, false
	b := newFormBrowser(t, cfg)
	doc := b.get("/w/documents?establishment=" + sqlite.DemoEstablishment + "&lang=fr")
	if !strings.Contains(doc, `id="parcours-state"`) || strings.Contains(doc, `class="pc-skeleton"`) {
		t.Fatalf("the signed-out widget is not its sign-in screen:\n%s", firstPaint(t, doc))
	}
}
