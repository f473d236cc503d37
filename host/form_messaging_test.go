package host

import (
	"bytes"
	"context"
	"html"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/messaging"
)

// TestMessagingWithoutWasm reads a thread through form posts, as before the
// Wasm runs or where WebAssembly is blocked: Camille opens her thread (the
// care team's answer shown, the thread marked read, as in the browser) and
// goes back; each screen is the one the Wasm takes over node for node.
// Another patient's thread opens nothing.
func TestMessagingWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	msgs := store.Messaging()
	cfg.Messaging, cfg.CareTeam, cfg.DemoSignIn = msgs, store, true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientCamilleDurand)
	read, press := b.get, b.press
	hydrates := func(doc string) {
		t.Helper()
		model := messaging.NewModel(messaging.Patient, "fr", sqlite.DemoEstablishment, sqlite.ServiceMaternite)
		model.Hydrate(stateOf[messaging.Snapshot](t, doc))
		// The Wasm's backend is the API client (the attachments' addresses).
		wantHydrationMatches(t, &messaging.Messaging{M: model, Backend: client.New(""), Action: pcFormAction(t, doc)}, doc)
	}
	camille := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	unread := func() int {
		threads, err := msgs.Threads(camille, sqlite.DemoEstablishment)
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range threads {
			if th.ID == sqlite.DemoThreadMaternite {
				return th.Unread
			}
		}
		t.Fatal("Camille's thread is not listed")
		return 0
	}
	if unread() == 0 {
		t.Fatal("the care team's answer is already read")
	}

	list := read("/w/messages?establishment=" + sqlite.DemoEstablishment + "&service=" + sqlite.ServiceMaternite + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin))
	if !strings.Contains(list, `value="open:`+sqlite.DemoThreadMaternite+`"`) || !strings.Contains(list, `form="pc-form"`) {
		t.Fatalf("the threads are not buttons of the form:\n%s", firstPaint(t, list))
	}
	thread := press(list, "open:"+sqlite.DemoThreadMaternite)
	if !strings.Contains(thread, `data-screen="thread"`) || !strings.Contains(thread, "Fractionnez vos repas") {
		t.Fatalf("the thread is not open with the care team's answer:\n%s", firstPaint(t, thread))
	}
	hydrates(thread)
	if n := unread(); n != 0 {
		t.Errorf("%d unread after the thread was opened", n)
	}

	back := press(thread, "back")
	if !strings.Contains(back, `data-screen="list"`) || !strings.Contains(back, `value="open:`+sqlite.DemoThreadMaternite+`"`) {
		t.Fatalf("back is not the list:\n%s", firstPaint(t, back))
	}
	hydrates(back)

	// Lucas's thread is not Camille's: nothing of it is shown.
	other := press(list, "open:"+sqlite.DemoThreadDiabetologie)
	if !strings.Contains(other, `data-screen="list"`) || strings.Contains(other, "Glycémies élevées") || strings.Contains(other, "1,60 g/L") {
		t.Fatalf("another patient's thread:\n%s", firstPaint(t, other))
	}
	hydrates(other)
}

// formPDF is a PDF the hosts' sniffing accepts.
var formPDF = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n")

// formFile is a file chosen in a composer's file input.
type formFile struct {
	name    string
	content []byte
}

// multipartForm finds a form with files (the messaging composer
// "pc-send", the documents upload form "pc-upload"): its address, and its
// hidden client id and person.
func multipartForm(id string) *regexp.Regexp {
	return regexp.MustCompile(`<form id="` + id + `" class="pc-form" method="post" enctype="multipart/form-data" action="([^"]*)">\s*<input type="hidden" name="client" value="([^"]*)"/>\s*<input type="hidden" name="person" value="([^"]*)"/>`)
}

var composerForm = multipartForm("pc-send")

// send posts doc's composer (form pc-send) as a browser does: see postFiles.
func (b *formBrowser) send(doc, action string, fields url.Values, files ...formFile) (string, string) {
	b.t.Helper()
	return b.postFiles(composerForm, "files", doc, action, fields, files...)
}

// postFiles posts doc's form found by re as a browser does, multipart,
// with the button valued action, the fields given and files in the file
// input fileField; an empty file input posts one empty part. It returns
// the answer and the client id posted.
func (b *formBrowser) postFiles(re *regexp.Regexp, fileField, doc, action string, fields url.Values, files ...formFile) (string, string) {
	b.t.Helper()
	m := re.FindStringSubmatch(doc)
	if m == nil {
		b.t.Fatalf("no form %s in\n%s", re, firstPaint(b.t, doc))
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fields = maps.Clone(fields)
	if fields == nil {
		fields = url.Values{}
	}
	fields.Set("a", action)
	fields.Set("client", html.UnescapeString(m[2]))
	fields.Set("person", html.UnescapeString(m[3]))
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	if len(files) == 0 {
		files = []formFile{{}}
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile(fileField, f.name)
		fw.Write(f.content)
	}
	w.Close()
	req, _ := http.NewRequest("POST", b.srv.URL+html.UnescapeString(m[1]), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Origin", b.srv.URL)
	resp, err := b.hc.Do(req)
	return b.read(resp, err), fields.Get("client")
}

// TestMessagingSendWithoutWasm sends messages through form posts, as before
// the Wasm runs or where WebAssembly is blocked: Camille answers in her
// thread with a PDF, starts a new thread, and the care team answers from
// its inbox; each message is stored once however often its form is posted
// again (the same client id); an empty message is refused with its
// problem, a rejected file with the text kept; each screen is the one the
// Wasm takes over node for node.
func TestMessagingSendWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	msgs := store.Messaging()
	cfg.Messaging, cfg.CareTeam, cfg.DemoSignIn = msgs, store, true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientCamilleDurand)
	hydrates := func(side messaging.Side, doc string) {
		t.Helper()
		model := messaging.NewModel(side, "fr", sqlite.DemoEstablishment, sqlite.ServiceMaternite)
		if side == messaging.CareTeam {
			model = messaging.NewModel(side, "fr", sqlite.DemoEstablishment, "")
		}
		model.Hydrate(stateOf[messaging.Snapshot](t, doc))
		wantHydrationMatches(t, &messaging.Messaging{M: model, Backend: client.New(""), Action: pcFormAction(t, doc)}, doc)
	}
	camille := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	thread := func() portal.Conversation {
		c, err := msgs.Thread(camille, sqlite.DemoThreadMaternite)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	list := b.get("/w/messages?establishment=" + sqlite.DemoEstablishment + "&service=" + sqlite.ServiceMaternite + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin))
	open := b.press(list, "open:"+sqlite.DemoThreadMaternite)
	n := len(thread().Messages)

	// Nothing written: refused in the field, nothing stored.
	empty, _ := b.send(open, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {"  "}})
	if !strings.Contains(empty, `id="pc-body-err"`) || len(thread().Messages) != n {
		t.Fatalf("an empty message: no error, or stored:\n%s", firstPaint(t, empty))
	}
	hydrates(messaging.Patient, empty)

	// A rejected file: nothing stored, the text kept, the file to choose again.
	text := "Bonjour, voici le compte rendu de ma prise de sang."
	bad, _ := b.send(open, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {text}}, formFile{"analyses.pdf", []byte("not a pdf")})
	if !strings.Contains(bad, "n’est pas un fichier PDF, JPEG ou PNG valide") || !strings.Contains(bad, "Choisissez à nouveau") ||
		!strings.Contains(bad, text+"</textarea>") || len(thread().Messages) != n {
		t.Fatalf("a rejected file: not said, the text lost, or stored:\n%s", firstPaint(t, bad))
	}
	hydrates(messaging.Patient, bad)

	sent, client := b.send(bad, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {text}}, formFile{"analyses.pdf", formPDF})
	c := thread()
	if len(c.Messages) != n+1 {
		t.Fatalf("%d messages after the send, want %d", len(c.Messages), n+1)
	}
	msg := c.Messages[len(c.Messages)-1]
	if msg.Body != text || msg.ClientID != client || len(msg.Attachments) != 1 || msg.Attachments[0].Name != "analyses.pdf" {
		t.Fatalf("stored %+v", msg)
	}
	for _, want := range []string{`data-screen="thread"`, `data-message="` + msg.ID + `"`, "Message envoyé.", "analyses.pdf",
		`<script type="application/json" id="parcours-events">[{"name":"parcours:message-sent"`} {
		if !strings.Contains(sent, want) {
			t.Fatalf("the thread after the send lacks %q:\n%s", want, firstPaint(t, sent))
		}
	}
	if m := composerForm.FindStringSubmatch(sent); m == nil || m[2] == client || m[2] == "" {
		t.Errorf("the next composer's client id is not new")
	}
	hydrates(messaging.Patient, sent)

	// The same form posted again (a resubmission): stored once.
	b.send(bad, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {text}}, formFile{"analyses.pdf", formPDF})
	if got := len(thread().Messages); got != n+1 {
		t.Fatalf("%d messages after the same form was posted again, want %d", got, n+1)
	}

	// A new thread.
	compose := b.press(sent, "compose")
	if !strings.Contains(compose, `data-screen="new"`) || !strings.Contains(compose, `name="subject" form="pc-send"`) {
		t.Fatalf("no new thread's form:\n%s", firstPaint(t, compose))
	}
	hydrates(messaging.Patient, compose)
	noSubject, _ := b.send(compose, "send", url.Values{"body": {"Question"}})
	if !strings.Contains(noSubject, `id="pc-subject-err"`) || !strings.Contains(noSubject, "Question</textarea>") {
		t.Fatalf("a new thread without a subject:\n%s", firstPaint(t, noSubject))
	}
	hydrates(messaging.Patient, noSubject)
	started, _ := b.send(noSubject, "send", url.Values{"subject": {"Rendez-vous d’échographie"}, "body": {"Puis-je venir accompagnée ?"}})
	if !strings.Contains(started, `data-screen="thread"`) || !strings.Contains(started, "Rendez-vous d’échographie") || !strings.Contains(started, "Puis-je venir accompagnée ?") {
		t.Fatalf("the new thread is not shown:\n%s", firstPaint(t, started))
	}
	hydrates(messaging.Patient, started)

	// The midwife answers from her inbox, without the Wasm either.
	pro := newSignedInPractitioner(t, b, sqlite.DemoPractitionerClaireMartin)
	inbox := pro.get("/w/inbox?establishment=" + sqlite.DemoEstablishment + "&lang=fr&parent=" + url.QueryEscape(testPageOrigin))
	answer := "Oui, bien sûr."
	opened := pro.press(inbox, "open:"+sqlite.DemoThreadMaternite)
	replied, _ := pro.send(opened, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {answer}})
	if last := thread().Messages; last[len(last)-1].Body != answer || last[len(last)-1].Author.Kind != portal.AuthorPractitioner {
		t.Fatalf("the midwife's answer is not stored as hers: %+v", last[len(last)-1])
	}
	hydrates(messaging.CareTeam, replied)

	// Camille's composer posted after the midwife signed in in the same
	// browser: not sent for her.
	other, _ := pro.send(sent, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {"Merci"}})
	if !strings.Contains(other, `class="pc-error"`) || thread().Messages[len(thread().Messages)-1].Body == "Merci" {
		t.Fatalf("a patient's composer sent in a practitioner's session:\n%s", firstPaint(t, other))
	}
}

// newSignedInPractitioner is another browser on b's host, signed in as the
// demo practitioner.
func newSignedInPractitioner(t *testing.T, b *formBrowser, practitioner string) *formBrowser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	p := &formBrowser{t: t, srv: b.srv, hc: &http.Client{Jar: jar}}
	p.demoSignIn(demoPractitionerSession, `{"practitioner":"`+practitioner+`"}`)
	return p
}

// TestMessagingSendFormEdges: a multipart post without a session is
// refused unread (401); a file over the limit is said too large with the text
// kept (the body read and dropped, not an error page); a composer posted
// once the session has ended says to sign in again, unread;
// a form that lost its client id still sends, under an id of its own.
func TestMessagingSendFormEdges(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	msgs := store.Messaging()
	cfg.Messaging, cfg.CareTeam, cfg.DemoSignIn = msgs, store, true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientCamilleDurand)
	camille := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	count := func() int {
		c, err := msgs.Thread(camille, sqlite.DemoThreadMaternite)
		if err != nil {
			t.Fatal(err)
		}
		return len(c.Messages)
	}
	page := "/w/messages?establishment=" + sqlite.DemoEstablishment + "&service=" + sqlite.ServiceMaternite + "&lang=fr"
	open := b.press(b.get(page), "open:"+sqlite.DemoThreadMaternite)
	n := count()

	// No session: 401, the body unread, the page saying to sign in.
	anonPost := func(hc *http.Client) (int, string) {
		t.Helper()
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("a", "send:"+sqlite.DemoThreadMaternite)
		w.WriteField("body", "x")
		w.Close()
		req, _ := http.NewRequest("POST", b.srv.URL+page, &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(got)
	}
	if status, page := anonPost(newJarClient()); status != http.StatusUnauthorized || !strings.Contains(page, "reconnectez-vous") {
		t.Fatalf("an anonymous multipart post: %d %s, want 401", status, page)
	}

	text := "Le compte rendu complet de l’échographie."
	big, _ := b.send(open, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {text}},
		formFile{"echo.pdf", append(formPDF, make([]byte, portal.DefaultMaxAttachmentSize)...)})
	if !strings.Contains(big, "est trop volumineux") || !strings.Contains(big, text+"</textarea>") || count() != n {
		t.Fatalf("a file over the limit: not said, the text lost, or sent:\n%s", firstPaint(t, big))
	}

	// No client id in the form: sent, under an id of its own.
	sent, _ := b.send(open, "send:"+sqlite.DemoThreadMaternite, url.Values{"body": {"Sans identifiant"}, "client": {""}})
	if count() != n+1 || !strings.Contains(sent, "Message envoyé.") {
		t.Fatalf("a form without its client id did not send:\n%s", firstPaint(t, sent))
	}

	// The session ends (a sign-out in another tab); the composer is posted:
	// it says to sign in again, not that someone else did.
	req, _ := http.NewRequest("DELETE", b.srv.URL+"/api/v1/session", nil)
	req.Header.Set("Origin", b.srv.URL)
	if resp, err := b.hc.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("sign-out: %v %v", err, resp)
	}
	if status, page := anonPost(b.hc); status != http.StatusUnauthorized || !strings.Contains(page, "reconnectez-vous") || count() != n+1 {
		t.Fatalf("a composer posted after the session ended: %d %s", status, page)
	}
}

// TestSignInAndOutWithoutWasm: the messaging and documents widgets' demo
// sign-in (a patient's, a practitioner's) and sign-out are form posts too,
// each screen the one the Wasm takes over.
func TestSignInAndOutWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	cfg.Messaging, cfg.CareTeam, cfg.Documents, cfg.Audit, cfg.DemoSignIn = store.Messaging(), store, store.Documents(), store, true
	b := newFormBrowser(t, cfg)
	for _, c := range []struct {
		page, who, name, want string
	}{
		{"/w/messages?establishment=" + sqlite.DemoEstablishment + "&service=" + sqlite.ServiceMaternite + "&lang=fr",
			sqlite.DemoPatientCamilleDurand, "Camille DURAND", `value="open:` + sqlite.DemoThreadMaternite + `"`},
		{"/w/inbox?establishment=" + sqlite.DemoEstablishment + "&lang=fr",
			sqlite.DemoPractitionerClaireMartin, "Claire Martin", `value="status:answered">Avec réponse (1)`},
		{"/w/documents?establishment=" + sqlite.DemoEstablishment + "&lang=fr",
			sqlite.DemoPractitionerNathalieFournier, "Nathalie Fournier", `value="open:` + sqlite.DemoDocumentBiopsy + `"`},
	} {
		signedOut := b.get(c.page)
		if !strings.Contains(signedOut, `id="pc-demo" name="demo" form="pc-form"`) || !strings.Contains(signedOut, `value="sign-in"`) {
			t.Fatalf("%s: no demo sign-in by form post:\n%s", c.page, firstPaint(t, signedOut))
		}
		in := b.read(b.hc.PostForm(b.srv.URL+pcFormAction(t, signedOut), url.Values{"a": {"sign-in"}, "demo": {c.who}}))
		if !strings.Contains(in, "Connecté(e) : "+c.name) || !strings.Contains(in, c.want) {
			t.Fatalf("%s: not signed in as %s:\n%s", c.page, c.who, firstPaint(t, in))
		}
		hydratesAny(t, c.page, in)
		// Audited as the API's sign-in is, its agent the person signed in.
		events, err := store.AuditEvents(t.Context(), portal.AuditQuery{Newest: true, Limit: 1})
		if err != nil || len(events) != 1 || !strings.HasSuffix(events[0].Operation, ".sign-in") || events[0].Agent != c.who {
			t.Fatalf("%s: the sign-in's audit record: %+v %v", c.page, events, err)
		}
		out := b.press(in, "sign-out")
		if strings.Contains(out, "Connecté(e)") || strings.Contains(out, c.want) || !strings.Contains(out, `value="sign-in"`) {
			t.Fatalf("%s: still signed in after the sign-out:\n%s", c.page, firstPaint(t, out))
		}
		hydratesAny(t, c.page, out)
	}
}

// hydratesAny checks that the Wasm of the widget of page renders doc from
// its state node for node.
func hydratesAny(t *testing.T, page, doc string) {
	t.Helper()
	action := pcFormAction(t, doc)
	switch {
	case strings.HasPrefix(page, "/w/messages"), strings.HasPrefix(page, "/w/inbox"):
		side, service := messaging.Patient, sqlite.ServiceMaternite
		if strings.HasPrefix(page, "/w/inbox") {
			side, service = messaging.CareTeam, ""
		}
		m := messaging.NewModel(side, "fr", sqlite.DemoEstablishment, service)
		m.Hydrate(stateOf[messaging.Snapshot](t, doc))
		wantHydrationMatches(t, &messaging.Messaging{M: m, Backend: client.New(""), Action: action}, doc)
	default:
		m := documents.NewModel("fr", sqlite.DemoEstablishment)
		m.Hydrate(stateOf[documents.Snapshot](t, doc))
		wantHydrationMatches(t, &documents.Documents{M: m, Backend: client.New(""), Action: action}, doc)
	}
}

// TestInboxWithoutWasm: the care team's inbox works through form posts, as
// on a workstation where WebAssembly is blocked: its tabs (the tab kept
// across posts), a thread assigned to the midwife, then closed; a form
// drawn for another practitioner acts on nothing.
func TestInboxWithoutWasm(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	msgs := store.Messaging()
	cfg.Messaging, cfg.CareTeam, cfg.Audit, cfg.DemoSignIn = msgs, store, store, true
	b := newFormBrowser(t, cfg)
	const sophie = "pr-sophie-lefebvre" // a midwife of the service, the thread not hers
	b.demoSignIn(demoPractitionerSession, `{"practitioner":"`+sophie+`"}`)
	page := "/w/inbox?establishment=" + sqlite.DemoEstablishment + "&lang=fr"
	thread := func() portal.Conversation {
		c, err := msgs.Thread(portal.WithSubject(t.Context(), portal.Subject{Practitioner: sophie}), sqlite.DemoThreadMaternite)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	inbox := b.get(page)
	if strings.Contains(inbox, `value="open:`+sqlite.DemoThreadMaternite+`"`) {
		t.Fatal("the answered thread is among the new ones")
	}
	answered := b.press(inbox, "status:answered")
	if !strings.Contains(answered, `aria-pressed="true" data-status="answered"`) || !strings.Contains(answered, `value="open:`+sqlite.DemoThreadMaternite+`"`) {
		t.Fatalf("the answered tab does not list the thread:\n%s", firstPaint(t, answered))
	}
	hydratesAny(t, page, answered)
	opened := b.read(b.hc.PostForm(b.srv.URL+pcFormAction(t, answered), url.Values{"a": {"open:" + sqlite.DemoThreadMaternite}, "status": {"answered"}}))
	back := b.read(b.hc.PostForm(b.srv.URL+pcFormAction(t, opened), url.Values{"a": {"back"}, "status": {"answered"}}))
	if !strings.Contains(back, `aria-pressed="true" data-status="answered"`) {
		t.Fatalf("back is not the tab the thread was opened from:\n%s", firstPaint(t, back))
	}

	if thread().AssignedTo == sophie {
		t.Fatal("the thread is hers before the test")
	}
	// Claire's form, posted in Sophie's session, assigns nothing.
	b.read(b.hc.PostForm(b.srv.URL+pcFormAction(t, opened), url.Values{"a": {"assign:" + sqlite.DemoThreadMaternite}, "person": {"practitioner:" + sqlite.DemoPractitionerClaireMartin}}))
	if thread().AssignedTo == sophie {
		t.Fatal("a form drawn for another practitioner assigned the thread")
	}
	// A practitioner of another service: nothing assigned, the refusal
	// audited as the API's would be (404), not as a success.
	julien := &formBrowser{t: t, srv: b.srv, hc: newJarClient()}
	julien.demoSignIn(demoPractitionerSession, `{"practitioner":"pr-julien-roux"}`)
	refused := julien.read(julien.hc.PostForm(b.srv.URL+pcFormAction(t, opened), url.Values{"a": {"assign:" + sqlite.DemoThreadMaternite}}))
	if thread().AssignedTo == "pr-julien-roux" || strings.Contains(refused, "Cet échange vous est attribué") {
		t.Fatal("a practitioner of another service assigned the thread")
	}
	events, err := store.AuditEvents(t.Context(), portal.AuditQuery{Newest: true, Limit: 1})
	if err != nil || len(events) != 1 || events[0].Operation != "widget.inbox.assign" || events[0].Outcome == portal.AuditSuccess || events[0].Status != http.StatusNotFound {
		t.Fatalf("the refused assign's audit record: %+v %v", events, err)
	}
	assigned := b.press(opened, "assign:"+sqlite.DemoThreadMaternite)
	if thread().AssignedTo != sophie || !strings.Contains(assigned, "Cet échange vous est attribué.") {
		t.Fatalf("not assigned (%q):\n%s", thread().AssignedTo, firstPaint(t, assigned))
	}
	hydratesAny(t, page, assigned)
	closed := b.press(assigned, "close:"+sqlite.DemoThreadMaternite)
	if thread().Status != portal.ThreadClosed || !strings.Contains(closed, "Échange clos.") {
		t.Fatalf("not closed (%q):\n%s", thread().Status, firstPaint(t, closed))
	}
	hydratesAny(t, page, closed)
}

// downThreads is a messaging store whose threads cannot be listed when down.
type downThreads struct {
	portal.Messaging
	down *bool
}

func (d downThreads) Threads(ctx context.Context, est string) ([]portal.Thread, error) {
	if *d.down {
		return nil, portal.Errorf(portal.ErrBackendUnavailable, "down")
	}
	return d.Messaging.Threads(ctx, est)
}

// TestPostWhoseScreenCannotBeDrawn: a post whose screen the host cannot
// draw (its backend down) is answered 503 with a page saying so, which
// frame.js shows above the widget, the message kept in its form; not the
// loading skeleton, which would drop it. A first screen (GET) still gets
// the skeleton, which the Wasm loads by itself.
func TestPostWhoseScreenCannotBeDrawn(t *testing.T) {
	cfg := demoConfig(t)
	store := cfg.Booking.(*sqlite.Store)
	down := false
	cfg.Messaging, cfg.CareTeam, cfg.DemoSignIn = downThreads{store.Messaging(), &down}, store, true
	b := signedInBrowser(t, cfg, sqlite.DemoPatientCamilleDurand)
	page := "/w/messages?establishment=" + sqlite.DemoEstablishment + "&service=" + sqlite.ServiceMaternite + "&lang=fr"
	open := b.press(b.get(page), "open:"+sqlite.DemoThreadMaternite)
	down = true
	m := composerForm.FindStringSubmatch(open)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range map[string]string{"a": "send:" + sqlite.DemoThreadMaternite, "client": html.UnescapeString(m[2]), "person": html.UnescapeString(m[3]), "body": "Bonjour"} {
		w.WriteField(k, v)
	}
	w.Close()
	req, _ := http.NewRequest("POST", b.srv.URL+html.UnescapeString(m[1]), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(got), `role="alert"`) || strings.Contains(string(got), "pc-skeleton") {
		t.Fatalf("a post whose screen cannot be drawn: %d\n%s", resp.StatusCode, got)
	}
	resp, err = b.hc.Get(b.srv.URL + page)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), "pc-skeleton") {
		t.Fatalf("a first screen whose backend is down: %d, want the skeleton", resp.StatusCode)
	}
}
