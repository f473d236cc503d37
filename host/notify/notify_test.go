package notify_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/notify"
	"github.com/parcours-sante/parcours/host/notify/smtptest"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

const (
	teamAddr    = "maternite@chu-exemple.example.org"
	patientAddr = "camille.durand@example.test"
	// A thread whose subject and body must never leave the database.
	secretSubject = "Idées noires depuis l'accouchement"
	secretBody    = "Je n'arrive plus à dormir et je pense à me faire du mal."
	secretReply   = "Nous vous rappelons aujourd'hui ; en cas d'urgence appelez le 15."
)

// env is a seeded store on a controllable clock, a loopback SMTP server and
// a Sender between them, logging into logs.
type env struct {
	store  *sqlite.Store
	clock  *portaltest.Clock
	smtp   *smtptest.Server
	logs   *bytes.Buffer
	sender *notify.Sender
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clock := portaltest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	srv := smtptest.NewServer(t)
	logs := &bytes.Buffer{} // written by Drain, or by Run before it returns
	return &env{store: store, clock: clock, smtp: srv, logs: logs, sender: &notify.Sender{
		Store:       store.Messaging(),
		Contacts:    store.Contacts(),
		SMTP:        notify.SMTP{Addr: srv.Addr(), From: "Parcours <ne-pas-repondre@chu-exemple.example.org>", Timeout: 5 * time.Second},
		PatientLink: "https://portail.chu-exemple.example.org/",
		Lease:       time.Minute,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         clock.Now,
	}}
}

// startThread has the demo patient write to the maternity: one notification
// for the care team.
func (e *env) startThread(t *testing.T) portal.Conversation {
	t.Helper()
	m := portaltest.AsPatientMessaging(e.store.Messaging(), sqlite.DemoPatientCamilleDurand)
	c, err := m.StartThread(context.Background(), portal.NewThread{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite,
		Subject: secretSubject, Body: secretBody, ClientID: "client-id-0001",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reply has the midwife answer in thread: one notification for the patient.
func (e *env) reply(t *testing.T, thread string) {
	t.Helper()
	m := portaltest.AsPractitionerMessaging(e.store.Messaging(), sqlite.DemoPractitionerClaireMartin)
	if _, err := m.Send(context.Background(), thread, portal.NewMessage{ClientID: "client-id-0002", Body: secretReply}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) drain(t *testing.T) notify.Report {
	t.Helper()
	r, err := e.sender.Drain(context.Background())
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	return r
}

// pending claims what is left in the outbox once every lease ended.
func (e *env) pending(t *testing.T) []portal.Notification {
	t.Helper()
	e.clock.Advance(time.Hour)
	ns, err := e.store.Messaging().ClaimNotifications(context.Background(), 100, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// body decodes a received message's text.
func body(t *testing.T, r smtptest.Message) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(r.Data))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOneEmailPerMessageWithoutHealthContent(t *testing.T) {
	e := newEnv(t)
	c := e.startThread(t)
	if r := e.drain(t); r != (notify.Report{Claimed: 1, Sent: 1}) {
		t.Fatalf("Drain = %+v, want one sent", r)
	}
	e.reply(t, c.ID)
	if r := e.drain(t); r != (notify.Report{Claimed: 1, Sent: 1}) {
		t.Fatalf("Drain = %+v, want one sent", r)
	}
	if r := e.drain(t); r.Claimed != 0 {
		t.Fatalf("third Drain = %+v, want nothing", r)
	}
	msgs := e.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d e-mails, want 2", len(msgs))
	}
	for i, want := range []struct {
		to, text, link string
	}{
		{teamAddr, "Un patient a envoyé un nouveau message", ""},
		{patientAddr, "Vous avez un nouveau message sur votre espace patient", "https://portail.chu-exemple.example.org/"},
	} {
		m := msgs[i]
		if m.From != "ne-pas-repondre@chu-exemple.example.org" || len(m.To) != 1 || m.To[0] != want.to {
			t.Errorf("e-mail %d: MAIL FROM %q, RCPT TO %q; want %s", i, m.From, m.To, want.to)
		}
		if got := m.Header("To"); got != "<"+want.to+">" {
			t.Errorf("e-mail %d: To = %q", i, got)
		}
		if got := m.Header("Date"); got != "Mon, 02 Mar 2026 09:00:00 +0000" {
			t.Errorf("e-mail %d: Date = %q", i, got)
		}
		if got := m.Header("Auto-Submitted"); got != "auto-generated" {
			t.Errorf("e-mail %d: Auto-Submitted = %q", i, got)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header("Subject"))
		if err != nil || subject != "Nouveau message / New message" {
			t.Errorf("e-mail %d: Subject = %q, %v", i, subject, err)
		}
		text := body(t, m)
		if !strings.Contains(text, want.text) {
			t.Errorf("e-mail %d lacks %q:\n%s", i, want.text, text)
		}
		if want.link != "" && !strings.Contains(text, want.link) {
			t.Errorf("e-mail %d lacks the link:\n%s", i, text)
		}
		// No health content, no service, no name: in the raw e-mail
		// (headers included) nor in its decoded text.
		for _, secret := range []string{secretSubject, secretBody, secretReply, "Idées", "dormir", "Maternité",
			"Camille", "Durand", "Claire", "Martin", c.ID, sqlite.DemoPatientCamilleDurand} {
			if strings.Contains(text, secret) || strings.Contains(m.Data, secret) {
				t.Errorf("e-mail %d contains %q:\n%s", i, secret, m.Data)
			}
		}
		if strings.Contains(text, "maternite") {
			t.Errorf("e-mail %d names the service in its text:\n%s", i, text)
		}
	}
	if a, b := msgs[0].MessageID(), msgs[1].MessageID(); a == b || !strings.HasPrefix(a, "<notif-") ||
		!strings.HasSuffix(a, "@chu-exemple.example.org>") {
		t.Errorf("Message-IDs %q, %q: want distinct <notif-…@chu-exemple.example.org>", a, b)
	}
	if left := e.pending(t); len(left) != 0 {
		t.Errorf("%d notifications left in the outbox, want 0", len(left))
	}
}

func TestSMTPDownThenBack(t *testing.T) {
	e := newEnv(t)
	e.startThread(t)
	e.smtp.Close()
	r, err := e.sender.Drain(context.Background())
	if err == nil || r.Sent != 0 || r.Claimed != 1 {
		t.Fatalf("Drain with the server down = %+v, %v; want a failure", r, err)
	}
	e.smtp.Restart()
	if r := e.drain(t); r.Claimed != 0 {
		t.Fatalf("Drain under the lease = %+v, want nothing claimed", r)
	}
	e.clock.Advance(time.Minute)
	if r := e.drain(t); r != (notify.Report{Claimed: 1, Sent: 1}) {
		t.Fatalf("Drain after the lease = %+v, want one sent", r)
	}
	if n := e.smtp.Len(); n != 1 {
		t.Fatalf("%d e-mails, want 1", n)
	}
	if left := e.pending(t); len(left) != 0 {
		t.Errorf("%d notifications left, want 0", len(left))
	}
}

// crashingOutbox loses every acknowledgement: the host died right after the
// mail server accepted the e-mail.
type crashingOutbox struct{ portal.Notifications }

func (crashingOutbox) AckNotification(context.Context, int64) error {
	return errors.New("host killed")
}

func TestCrashBetweenSendAndAck(t *testing.T) {
	e := newEnv(t)
	e.startThread(t)
	real := e.sender.Store
	e.sender.Store = crashingOutbox{real}
	if r := e.drain(t); r.Claimed != 1 || r.Sent != 0 {
		t.Fatalf("Drain = %+v, want one claimed, none acknowledged", r)
	}
	e.sender.Store = real // restarted
	if r := e.drain(t); r.Claimed != 0 {
		t.Fatalf("Drain under the lease = %+v, want nothing", r)
	}
	e.clock.Advance(time.Minute)
	if r := e.drain(t); r != (notify.Report{Claimed: 1, Sent: 1}) {
		t.Fatalf("Drain after the lease = %+v, want one sent", r)
	}
	e.clock.Advance(time.Hour)
	if r := e.drain(t); r.Claimed != 0 {
		t.Fatalf("Drain after the acknowledgement = %+v, want nothing", r)
	}
	msgs := e.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d e-mails, want 2 (the original and one duplicate)", len(msgs))
	}
	if a, b := msgs[0].MessageID(), msgs[1].MessageID(); a != b || a == "" {
		t.Errorf("Message-IDs %q and %q, want the same", a, b)
	}
	if !strings.Contains(e.logs.String(), "same Message-ID") {
		t.Errorf("the lost acknowledgement is not logged:\n%s", e.logs)
	}
}

func TestNoAddressIsDroppedAndLogged(t *testing.T) {
	e := newEnv(t)
	if err := e.store.Contacts().SetService(context.Background(), sqlite.DemoEstablishment, sqlite.ServiceMaternite, ""); err != nil {
		t.Fatal(err)
	}
	e.startThread(t)
	if r := e.drain(t); r != (notify.Report{Claimed: 1, Dropped: 1}) {
		t.Fatalf("Drain = %+v, want one dropped", r)
	}
	if n := e.smtp.Len(); n != 0 {
		t.Errorf("%d e-mails, want none", n)
	}
	if left := e.pending(t); len(left) != 0 {
		t.Errorf("the notification without address is still pending: %+v", left)
	}
	if !strings.Contains(e.logs.String(), "no address") {
		t.Errorf("no log of the missing address:\n%s", e.logs)
	}
}

func TestRefusedRecipientIsRetriedAndMasked(t *testing.T) {
	e := newEnv(t)
	c := e.startThread(t)
	e.reply(t, c.ID)
	e.smtp.Reject(patientAddr, "550 5.1.1 <"+strings.ToUpper(patientAddr)+">: Recipient address rejected")
	// The care team's e-mail still goes out in the same session.
	if r := e.drain(t); r != (notify.Report{Claimed: 2, Sent: 1}) {
		t.Fatalf("Drain = %+v, want 2 claimed, 1 sent", r)
	}
	if left := e.pending(t); len(left) != 1 || left[0].Recipient != portal.AuthorPatient {
		t.Errorf("pending = %+v, want the patient's notification", left)
	}
	logs := e.logs.String()
	if strings.Contains(strings.ToLower(logs), patientAddr) || strings.Contains(logs, teamAddr) {
		t.Errorf("logs hold a full address:\n%s", logs)
	}
	for _, want := range []string{"c***@example.test", "m***@chu-exemple.example.org", "Recipient address rejected"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{secretSubject, secretBody, secretReply, sqlite.DemoPatientCamilleDurand} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestRunDeliversAndStopsOnCancel(t *testing.T) {
	e := newEnv(t)
	e.sender.Interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.sender.Run(ctx) }()
	e.startThread(t)
	deadline := time.Now().Add(5 * time.Second)
	for e.smtp.Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no e-mail within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil on cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop within 5 s of the cancel")
	}
	if n := e.smtp.Len(); n != 1 {
		t.Errorf("%d e-mails, want 1", n)
	}
}

func TestStartTLSRequired(t *testing.T) {
	e := newEnv(t)
	e.sender.SMTP.StartTLS = true
	e.startThread(t)
	if _, err := e.sender.Drain(context.Background()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Drain = %v, want a refusal for lack of STARTTLS", err)
	}
	if n := e.smtp.Len(); n != 0 {
		t.Errorf("%d e-mails sent in clear, want none", n)
	}
}

func TestConfig(t *testing.T) {
	ok := notify.SMTP{Addr: "smtp.example.org:587", From: "parcours@example.org"}
	for name, tc := range map[string]struct {
		mod func(*notify.Sender)
		ok  bool
	}{
		"valid":               {func(*notify.Sender) {}, true},
		"auth without TLS":    {func(s *notify.Sender) { s.SMTP.Username, s.SMTP.Password = "u", "p" }, false},
		"auth with TLS":       {func(s *notify.Sender) { s.SMTP.Username, s.SMTP.StartTLS = "u", true }, true},
		"no port":             {func(s *notify.Sender) { s.SMTP.Addr = "smtp.example.org" }, false},
		"bad from":            {func(s *notify.Sender) { s.SMTP.From = "not an address" }, false},
		"header injection":    {func(s *notify.Sender) { s.SMTP.From = "a@example.org\r\nBcc: x@example.org" }, false},
		"javascript link":     {func(s *notify.Sender) { s.PatientLink = "javascript:alert(1)" }, false},
		"short lease":         {func(s *notify.Sender) { s.Lease = time.Millisecond }, false},
		"big batch":           {func(s *notify.Sender) { s.Batch = portal.MaxNotificationClaim + 1 }, false},
		"bad Message-ID host": {func(s *notify.Sender) { s.MessageIDHost = "a b" }, false},
	} {
		t.Run(name, func(t *testing.T) {
			s := &notify.Sender{Store: crashingOutbox{}, Contacts: noContacts{}, SMTP: ok}
			tc.mod(s)
			err := s.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if err2 := s.Run(context.Background()); err2 == nil {
					t.Errorf("Run accepts what Validate refuses")
				}
			}
		})
	}
}

type noContacts struct{}

func (noContacts) Recipient(context.Context, portal.Notification) (string, bool, error) {
	return "", false, nil
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"jeanne@example.org": "j***@example.org",
		"é@example.org":      "é***@example.org",
		"nothing":            "***",
		"@example.org":       "***",
	} {
		if got := notify.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMessageIDIsStable(t *testing.T) {
	n := portal.Notification{ID: 42, Message: "msg_abc"}
	a, b := notify.MessageID(n, "example.org"), notify.MessageID(n, "example.org")
	if a != b || !strings.HasPrefix(a, "<notif-42.") || strings.Contains(a, "msg_abc") {
		t.Errorf("MessageID = %q, %q", a, b)
	}
	if c := notify.MessageID(portal.Notification{ID: 42, Message: "msg_other"}, "example.org"); c == a {
		t.Errorf("two messages share the Message-ID %q", a)
	}
}
