//go:build !(js && wasm)

package messaging_test

import (
	"context"
	"errors"
	"html"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/testhost"
	"github.com/parcours-sante/parcours/widgets/internal/uitest"
	"github.com/parcours-sante/parcours/widgets/messaging"
)

// world is a real host on the seeded SQLite store.
type world struct {
	url  string
	msgs portal.Messaging
}

func newWorld(t *testing.T) *world {
	t.Helper()
	var msgs portal.Messaging
	url, _ := testhost.Start(t, func(store *sqlite.Store, c *host.Config) {
		msgs = store.Messaging()
		c.Messaging, c.CareTeam = msgs, store
		// The flood limit is tested with the API; here a patient writes freely.
		c.MessagesPerMinute = 1000
	})
	return &world{url: url, msgs: msgs}
}

// harness runs the component as the browser does: handlers under the write
// lock, calls in goroutines, against the real host over HTTP. Ticks are
// given by hand.
type harness struct {
	*uitest.Harness[*messaging.Messaging]
	sent []messaging.Event
}

func (w *world) open(t *testing.T, side messaging.Side, lang, service string) *harness {
	t.Helper()
	hs := &harness{Harness: uitest.NewHarness(t, nil, status)}
	comp := &messaging.Messaging{
		M:         messaging.NewModel(side, lang, sqlite.DemoEstablishment, service),
		Backend:   hs.Client(w.url, lang),
		PollEvery: -1,
		Emit:      func(e messaging.Event) { hs.sent = append(hs.sent, e) },
	}
	start := time.Now()
	comp.M.Now = func() time.Time { return start }
	hs.Start(comp)
	return hs
}

func status(c *messaging.Messaging) uitest.Status {
	return uitest.Status{Loading: c.M.Loading, Err: string(c.M.Err), ErrText: c.M.ErrText}
}

func (hs *harness) attach(files ...messaging.File) {
	hs.T.Helper()
	hs.Comp.Attach(hs.Env.EE, hs.Comp.M.Composer(), 0, files)
	hs.Settle()
}

// later moves the widget's clock on, past the wait before a resend.
func (hs *harness) later(d time.Duration) {
	hs.Env.Locked(func(vugu.EventEnv) {
		now := hs.Comp.M.Now()
		hs.Comp.M.Now = func() time.Time { return now.Add(d) }
	})
}

var pdf = []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")

// storedBodies lists the bodies of a thread's messages, as stored.
func (w *world) storedBodies(t *testing.T, patient, thread string) []string {
	t.Helper()
	ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: patient})
	c, err := w.msgs.Thread(ctx, thread)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range c.Messages {
		out = append(out, m.Body)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestPatientWritesAndReadsTheReply(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, messaging.Patient, "fr", sqlite.ServiceMaternite)
	pat.WantNoError()
	if html := pat.Render(); !strings.Contains(html, "Connectez-vous") || !strings.Contains(html, "Maternité") {
		t.Fatalf("signed out, the widget does not offer to sign in:\n%s", html)
	}
	pat.SignIn(sqlite.DemoPatientCamilleDurand)
	m := pat.Comp.M
	if len(m.Threads) != 1 || m.Threads[0].ID != sqlite.DemoThreadMaternite {
		t.Fatalf("threads %+v, want the maternity demo thread only", m.Threads)
	}

	// Open the thread: its messages, and the promise and emergency text
	// before writing.
	pat.Do("open", sqlite.DemoThreadMaternite)
	pat.WantNoError()
	if m.Screen != messaging.ScreenThread || m.Conv == nil || len(m.Conv.Messages) == 0 {
		t.Fatalf("thread not open: %s %+v", m.Screen, m.Conv)
	}
	html := pat.Render()
	for _, want := range []string{"Réponse sous 2 jours ouvrés", "appelez le 15", "pas faite pour les urgences", `id="pc-body"`, `type="file"`, "Claire Martin"} {
		if !strings.Contains(html, want) {
			t.Errorf("the conversation lacks %q", want)
		}
	}
	if m.Unread() != 0 {
		t.Errorf("unread %d after opening the only thread", m.Unread())
	}

	// An empty message is refused on the spot; nothing is sent.
	pat.Do("send", "")
	if m.FormErr == "" || len(m.Outbox) != 0 {
		t.Fatalf("an empty message: form error %q, outbox %d", m.FormErr, len(m.Outbox))
	}

	// An HTML page named .pdf is refused before sending; a real PDF is kept.
	pat.attach(messaging.File{Name: "resultats.pdf", Content: []byte("<html><script>alert(1)</script></html>"), Size: 38},
		messaging.File{Name: "ordonnance.pdf", Content: pdf, Size: int64(len(pdf))})
	if !strings.Contains(m.FileErr, "resultats.pdf") || len(m.Files) != 1 || m.Files[0].ContentType != portal.ContentTypePDF {
		t.Fatalf("file error %q, files %+v", m.FileErr, m.Files)
	}
	pat.attach(messaging.File{Name: "scan.png", Size: 11 << 20})
	if !strings.Contains(m.FileErr, "trop volumineux") || len(m.Files) != 1 {
		t.Fatalf("an 11 MB file: error %q, files %d", m.FileErr, len(m.Files))
	}

	pat.Change("type-body", "Bonjour, voici mon ordonnance.")
	pat.Do("send", "")
	pat.WantNoError()
	if len(m.Outbox) != 0 || m.Body != "" || len(m.Files) != 0 {
		t.Fatalf("after sending: outbox %+v, body %q, files %d", m.Outbox, m.Body, len(m.Files))
	}
	last := m.Conv.Messages[len(m.Conv.Messages)-1]
	if last.Body != "Bonjour, voici mon ordonnance." || len(last.Attachments) != 1 || last.Attachments[0].Name != "ordonnance.pdf" {
		t.Fatalf("the sent message is not shown: %+v", last)
	}
	if !strings.Contains(pat.Render(), "Envoyé") {
		t.Error("the sent message does not say it was sent")
	}
	if len(pat.sent) != 1 || pat.sent[0].Name != "parcours:message-sent" || pat.sent[0].Message != last.ID {
		t.Errorf("events %+v", pat.sent)
	}

	// The care team, in its inbox.
	pro := w.open(t, messaging.CareTeam, "fr", "")
	// Another midwife than the one who answered before: she takes the thread.
	const sophie = "pr-sophie-lefebvre"
	pro.SignIn(sophie)
	pm := pro.Comp.M
	for _, th := range pm.Threads {
		if th.Service != sqlite.ServiceMaternite {
			t.Errorf("a midwife sees a thread of %s", th.Service)
		}
	}
	pro.Do("status", string(portal.ThreadWaiting))
	listed := pm.Listed()
	if len(listed) != 1 || listed[0].ID != sqlite.DemoThreadMaternite || listed[0].Unread == 0 {
		t.Fatalf("waiting threads %+v", listed)
	}
	if html := pro.Render(); !strings.Contains(html, "À traiter (1, 1 non lu)") {
		t.Errorf("the waiting tab does not count the thread and its unread message:\n%s", html)
	}
	pro.Do("open", sqlite.DemoThreadMaternite)
	if html := pro.Render(); !strings.Contains(html, "Pris en charge par Claire Martin") || !strings.Contains(html, "Me l’attribuer") {
		t.Fatalf("the thread does not say who has it:\n%s", html)
	}
	pro.Do("assign", "")
	pro.WantNoError()
	if pm.Conv.AssignedTo != sophie || !strings.Contains(pro.Render(), "Pris en charge par vous") || strings.Contains(pro.Render(), "Me l’attribuer") {
		t.Fatalf("not assigned: %+v", pm.Conv.Thread)
	}
	pro.Change("type-body", "Bien reçu, merci. Nous en parlerons jeudi.")
	pro.Do("send", "")
	pro.WantNoError()

	// The patient's next tick shows the reply and her message as read.
	pat.Tick()
	pat.WantNoError()
	got := m.Conv.Messages[len(m.Conv.Messages)-1]
	if got.Body != "Bien reçu, merci. Nous en parlerons jeudi." || got.Author.Name != "Sophie Lefebvre" {
		t.Fatalf("the reply did not appear: %+v", got)
	}
	if !strings.Contains(m.Notice, "Nouveau message de Sophie Lefebvre") {
		t.Errorf("the reply is not announced: %q", m.Notice)
	}
	if html := pat.Render(); !strings.Contains(html, "Lu le") {
		t.Error("the patient's message is not shown as read after the care team opened it")
	}

	pro.Do("close", "")
	pro.WantNoError()
	if pm.Conv.Status != portal.ThreadClosed {
		t.Fatalf("status %s after closing", pm.Conv.Status)
	}
	pro.Do("back", "")
	pro.Do("status", string(portal.ThreadClosed))
	if l := pm.Listed(); len(l) != 1 || l[0].ID != sqlite.DemoThreadMaternite {
		t.Fatalf("closed threads %+v", l)
	}
}

func TestMessageTypedOfflineIsSentOnceWhenTheNetworkReturns(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, messaging.Patient, "fr", sqlite.ServiceMaternite)
	pat.SignIn(sqlite.DemoPatientCamilleDurand)
	pat.Do("open", sqlite.DemoThreadMaternite)
	m := pat.Comp.M

	pat.Net.Down.Store(true)
	pat.Change("type-body", "Message écrit dans le train.")
	pat.Do("send", "")
	if len(m.Outbox) != 1 || m.Outbox[0].State != messaging.Waiting || !m.Outbox[0].Offline {
		t.Fatalf("outbox %+v, want one message waiting for want of a network", m.Outbox)
	}
	html := pat.Render()
	if !strings.Contains(html, "pas de connexion") || !strings.Contains(html, `data-state="waiting"`) || !strings.Contains(html, "Renvoyer") || strings.Contains(html, "Modifier") {
		t.Fatalf("the waiting message is not shown with its state and a retry (and only that):\n%s", html)
	}
	pat.later(10 * time.Second)
	pat.Tick() // still down: the refresh fails, the message keeps waiting, untried
	if len(m.Outbox) != 1 || m.Outbox[0].State != messaging.Waiting || !m.Offline || m.Outbox[0].Tries != 1 {
		t.Fatalf("outbox %+v offline %v", m.Outbox, m.Offline)
	}
	pat.Do("retry-send", m.Outbox[0].ClientID) // by hand, still down
	if len(m.Outbox) != 1 || m.Outbox[0].State != messaging.Waiting || m.Outbox[0].Tries != 2 {
		t.Fatalf("after a retry by hand while down: outbox %+v", m.Outbox)
	}

	// The network returns, but the answer to the resend is lost: the host
	// stored the message and the widget does not know, until the next
	// refresh lists it (by its client id).
	pat.Net.Down.Store(false)
	pat.Net.Transport = &answerLost{Transport: pat.Net.Transport}
	pat.later(time.Minute)
	pat.Tick()
	if len(m.Outbox) != 1 || m.Outbox[0].State != messaging.Waiting || m.Offline {
		t.Fatalf("after the lost answer: outbox %+v offline %v", m.Outbox, m.Offline)
	}
	pat.later(5 * time.Minute)
	pat.Tick()
	pat.WantNoError()
	if len(m.Outbox) != 0 || m.Offline {
		t.Fatalf("after the network returned: outbox %+v offline %v", m.Outbox, m.Offline)
	}
	bodies := w.storedBodies(t, sqlite.DemoPatientCamilleDurand, sqlite.DemoThreadMaternite)
	if n := count(bodies, "Message écrit dans le train."); n != 1 {
		t.Fatalf("the message is stored %d times, want exactly once", n)
	}
	shown := 0
	for _, msg := range m.Conv.Messages {
		if msg.Body == "Message écrit dans le train." {
			shown++
		}
	}
	if shown != 1 {
		t.Fatalf("the message is shown %d times", shown)
	}
}

// answerLost delivers the request and loses the response, once.
type answerLost struct {
	client.Transport
	done atomic.Bool
}

func (a *answerLost) Do(ctx context.Context, r *client.Request) (*client.Response, error) {
	resp, err := a.Transport.Do(ctx, r)
	if r.Method == "POST" && a.done.CompareAndSwap(false, true) {
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

func TestRefusedMessageStaysEditable(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, messaging.Patient, "fr", sqlite.ServiceConsultations)
	pat.SignIn(sqlite.DemoPatientCamilleDurand)
	m := pat.Comp.M
	if len(m.Threads) != 0 {
		t.Fatalf("threads %+v in consultations", m.Threads)
	}
	pat.Do("compose", "")
	html := pat.Render()
	if strings.Contains(html, "Réponse sous") {
		t.Error("a service without a promise shows one")
	}
	if !strings.Contains(html, "appelez le 15") {
		t.Error("the emergency text is not shown before writing")
	}
	pat.Do("send", "")
	if m.SubjectErr == "" || m.FormErr == "" || len(m.Outbox) != 0 {
		t.Fatalf("a new thread without subject nor text: subject error %q, text error %q", m.SubjectErr, m.FormErr)
	}
	html = pat.Render()
	subject := html[strings.Index(html, `<input type="text" id="pc-subject"`):]
	subject = subject[:strings.Index(subject, ">")]
	if !strings.Contains(html, `id="pc-subject-err" role="alert">Indiquez`) || !strings.Contains(subject, `aria-invalid="true"`) || !strings.Contains(subject, `aria-describedby="pc-subject-err"`) {
		t.Errorf("the subject's error is not tied to the subject:\n%s", html)
	}
	pat.Change("type-subject", "Question")
	pat.Change("type-body", "Puis-je venir sans rendez-vous ?")
	pat.Do("send", "")
	// Camille has no link with the outpatient service: the host refuses.
	if len(m.Outbox) != 1 || m.Outbox[0].State != messaging.Refused || m.Outbox[0].Err != portal.ErrServiceNotLinked {
		t.Fatalf("outbox %+v, want a refusal service_not_linked", m.Outbox)
	}
	pat.later(time.Hour)
	pat.Tick()
	if m.Outbox[0].Tries != 1 {
		t.Fatalf("a refused message was sent again by the tick: %d tries", m.Outbox[0].Tries)
	}
	if !strings.Contains(pat.Render(), "ne pouvez écrire qu") {
		t.Errorf("the refusal is not explained")
	}
	pat.Change("type-body", "Et le samedi ?") // typing meanwhile
	pat.Do("discard", m.Outbox[0].ClientID)
	if len(m.Outbox) != 0 || m.Body != "Puis-je venir sans rendez-vous ?\n\nEt le samedi ?" || m.Subject != "Question" || m.Screen != messaging.ScreenNew {
		t.Fatalf("discarding did not give the text back: %+v %q %q", m.Outbox, m.Subject, m.Body)
	}
}

func TestPatientStartsAThread(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, messaging.Patient, "en", "")
	pat.SignIn(sqlite.DemoPatientLucasBernard)
	m := pat.Comp.M
	before := len(m.Threads)
	pat.Do("compose", "")
	pat.Change("choose-service", sqlite.ServiceDiabetologie)
	if !strings.Contains(pat.Render(), "Answer within 3 working days") {
		t.Error("the diabetology promise is not shown")
	}
	pat.Change("type-subject", "Glucose meter")
	pat.Change("type-body", "My meter shows an error E-3.")
	pat.Do("send", "")
	pat.WantNoError()
	if m.Screen != messaging.ScreenThread || m.Conv == nil || m.Conv.Subject != "Glucose meter" || len(m.Threads) != before+1 {
		t.Fatalf("the new thread is not open: %s %+v (%d threads)", m.Screen, m.Conv, len(m.Threads))
	}
	pat.DoIndex("remove-file", 3) // out of range: nothing
	pat.Do("back", "")
	if m.Screen != messaging.ScreenList || len(m.Threads) != before+1 {
		t.Fatalf("back: %s, %d threads", m.Screen, len(m.Threads))
	}
}

func TestSignOutForgetsTheOutbox(t *testing.T) {
	w := newWorld(t)
	pat := w.open(t, messaging.Patient, "fr", sqlite.ServiceMaternite)
	pat.SignIn(sqlite.DemoPatientCamilleDurand)
	pat.Do("open", sqlite.DemoThreadMaternite)
	pat.Net.Down.Store(true)
	pat.Change("type-body", "Brouillon sensible")
	pat.Do("send", "")
	pat.Net.Down.Store(false)
	pat.Do("sign-out", "")
	m := pat.Comp.M
	if m.Patient != nil || len(m.Outbox) != 0 || m.Conv != nil || len(m.Threads) != 0 {
		t.Fatalf("after sign-out: patient %v outbox %d conv %v threads %d", m.Patient, len(m.Outbox), m.Conv, len(m.Threads))
	}
	if strings.Contains(pat.Render(), "Brouillon sensible") {
		t.Fatal("the signed-out widget still shows the message")
	}
}

func TestPreloadHydratesTheFirstScreen(t *testing.T) {
	w := newWorld(t)
	pro := w.open(t, messaging.CareTeam, "fr", "")
	if !pro.Comp.ShowSignIn() || len(pro.Comp.M.DemoPractitioners) == 0 {
		t.Fatalf("the inbox signed out does not offer the demo practitioners")
	}
	// A snapshot of the other side is ignored.
	m := messaging.NewModel(messaging.Patient, "fr", sqlite.DemoEstablishment, "")
	m.Hydrate(&messaging.Snapshot{Side: messaging.CareTeam, Practitioner: &portal.Practitioner{ID: "x"}})
	if !m.Loading || m.Practitioner != nil {
		t.Fatal("a care-team snapshot hydrated a patient widget")
	}
}

var signInLinks = []widgets.SignInLink{
	{Kind: "patient", Label: [2]string{"Connexion patient", "Patient sign-in"}, URL: "http://127.0.0.1/auth/signin?provider=idp&return=%2Fw%2Fmessages"},
	{Kind: "practitioner", Label: [2]string{"Connexion professionnelle", "Practitioner sign-in"}, URL: "http://127.0.0.1/auth/signin?provider=pro&return=%2Fw%2Finbox"},
}

// TestSignInLinks: each side's sign-in panel shows its own sign-in buttons
// (patients', or the care team's in the inbox) for the frame's popup, and
// the hidden button the frame presses once the popup signed in.
func TestSignInLinks(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		side        messaging.Side
		want, other int
	}{{messaging.Patient, 0, 1}, {messaging.CareTeam, 1, 0}} {
		t.Run(string(tc.side), func(t *testing.T) {
			hs := w.open(t, tc.side, "fr", "")
			h := hs.WantHTML("sign-in", `<button type="button" class="pc-session-changed" hidden="" data-parcours-session-changed="">Actualiser la session</button>`, "Connexion de démonstration")
			if strings.Contains(h, "data-parcours-signin") {
				t.Error("a sign-in link without any")
			}
			hs.Comp.M.SignIn = signInLinks
			l := signInLinks[tc.want]
			h = hs.WantHTML("sign-in", `target="_blank" rel="opener" data-parcours-signin="" data-kind="`+l.Kind+`" href="`+html.EscapeString(l.URL)+`">`+l.Label[0]+`</a>`, "Connexion de démonstration")
			if strings.Contains(h, signInLinks[tc.other].Label[0]) {
				t.Error("the other side's sign-in is shown")
			}
		})
	}
}

// TestSessionChanged: a session opened outside the widget (the frame's
// sign-in popup, on the same cookie jar) is taken when the frame presses
// "session-changed": the threads are listed; with nobody signed in,
// nothing changes.
func TestSessionChanged(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	t.Run("patient", func(t *testing.T) {
		hs := w.open(t, messaging.Patient, "fr", "")
		m := hs.Comp.M
		hs.Do(string(messaging.SessionChanged), "")
		hs.WantNoError()
		if m.Patient != nil || m.Loading || !hs.Comp.ShowSignIn() || len(m.DemoPatients) == 0 {
			t.Fatalf("nobody signed in: patient %v loading %v", m.Patient, m.Loading)
		}
		if _, err := hs.Client(w.url, "fr").DemoSignIn(ctx, sqlite.DemoPatientCamilleDurand); err != nil {
			t.Fatal(err)
		}
		hs.Do(string(messaging.SessionChanged), "")
		hs.WantNoError()
		if m.Patient == nil || m.Patient.ID != sqlite.DemoPatientCamilleDurand || m.Screen != messaging.ScreenList || m.Loading {
			t.Fatalf("patient %v screen %s loading %v", m.Patient, m.Screen, m.Loading)
		}
		if !slices.ContainsFunc(m.Threads, func(th portal.Thread) bool { return th.ID == sqlite.DemoThreadMaternite }) {
			t.Fatalf("threads %v, want the patient's", m.Threads)
		}
		if h := hs.Render(); strings.Contains(h, "data-parcours-session-changed") {
			t.Error("the sign-in panel stays once signed in")
		}
	})
	t.Run("inbox", func(t *testing.T) {
		hs := w.open(t, messaging.CareTeam, "fr", "")
		m := hs.Comp.M
		hs.Do(string(messaging.SessionChanged), "")
		hs.WantNoError()
		if m.Practitioner != nil || m.Loading || !hs.Comp.ShowSignIn() {
			t.Fatalf("nobody signed in: practitioner %v loading %v", m.Practitioner, m.Loading)
		}
		if _, err := hs.Client(w.url, "fr").DemoPractitionerSignIn(ctx, sqlite.DemoPractitionerClaireMartin); err != nil {
			t.Fatal(err)
		}
		hs.Do(string(messaging.SessionChanged), "")
		hs.WantNoError()
		if m.Practitioner == nil || m.Practitioner.ID != sqlite.DemoPractitionerClaireMartin || m.Patient != nil || len(m.Threads) == 0 {
			t.Fatalf("practitioner %v patient %v threads %d", m.Practitioner, m.Patient, len(m.Threads))
		}
	})
}
