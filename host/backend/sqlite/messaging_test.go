package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// conformanceAttachmentLimit is the attachment limit of the conformance
// fixtures: small, so that the suite stays quick.
const conformanceAttachmentLimit = 64 << 10

// Patients of the messaging fixtures: subjects the directory does not list,
// with an appointment in the maternity (see linkPatients).
var conformancePatients = []string{"pat-conformance-a", "pat-conformance-b"}

// messagingFixture returns a MessagingFixture on a fresh store seeded at
// seedTime, on a clock of its own: a copy of the seeded template file, or
// with memory an in-memory database seeded afresh. The service is the
// maternity, whose demo thread belongs to another patient; the outsider is
// the diabetologist. opts configure the Messaging further.
func messagingFixture(t *testing.T, memory bool, opts ...sqlite.MessagingOption) portaltest.MessagingFixture {
	clock := portaltest.NewClock(seedTime)
	var s *sqlite.Store
	if memory {
		s = openSeeded(t, ":memory:", clock)
	} else {
		s, _ = seededCopy(t, clock)
	}
	linkPatients(t, s, sqlite.ServiceMaternite, conformancePatients...)
	m := s.Messaging(append([]sqlite.MessagingOption{sqlite.WithMaxAttachmentSize(conformanceAttachmentLimit)}, opts...)...)
	return portaltest.MessagingFixture{
		AsPatient: func(t *testing.T, patient string) portal.Messaging {
			return portaltest.AsPatientMessaging(m, patient)
		},
		AsPractitioner: func(t *testing.T, practitioner string) portal.Messaging {
			return portaltest.AsPractitionerMessaging(m, practitioner)
		},
		Anonymous:         m,
		Outbox:            m,
		Establishment:     sqlite.DemoEstablishment,
		Service:           sqlite.ServiceMaternite,
		OtherService:      sqlite.ServiceDiabetologie,
		Patients:          conformancePatients,
		Unlinked:          sqlite.DemoPatientInesMoreau,
		Practitioners:     []string{sqlite.DemoPractitionerClaireMartin, "pr-sophie-lefebvre"},
		Outsider:          "pr-julien-roux",
		MaxAttachmentSize: conformanceAttachmentLimit,
		SetNow:            clock.Set,
		Now:               clock.Now,
	}
}

// linkPatients books, for each patient, a free slot of service in the
// seeded week: an appointment links the patient to the service.
func linkPatients(t *testing.T, s *sqlite.Store, service string, patients ...string) []portal.Appointment {
	t.Helper()
	slots, err := s.FreeSlots(context.Background(), portal.SlotQuery{
		Establishment: sqlite.DemoEstablishment, Service: service,
		From: seedTime, To: seedTime.Add(7 * 24 * time.Hour),
	})
	if err != nil || len(slots) < len(patients) {
		t.Fatalf("FreeSlots(%s) = %d slots, %v", service, len(slots), err)
	}
	var out []portal.Appointment
	for i, p := range patients {
		a, err := s.Book(asPatient(context.Background(), p), portal.BookRequest{
			Establishment: sqlite.DemoEstablishment, Service: service, Slot: slots[i].ID,
			IdempotencyKey: fmt.Sprintf("link-%s-%s", p, service),
		})
		if err != nil {
			t.Fatalf("Book for %s: %v", p, err)
		}
		out = append(out, a)
	}
	return out
}

func TestMessagingConformance(t *testing.T) {
	portaltest.RunMessagingTests(t, func(t *testing.T) portaltest.MessagingFixture {
		return messagingFixture(t, false)
	})
}

// TestMessagingConformanceAttachmentDir runs the suite with the attachments'
// bytes in files of a directory (WithAttachmentDir) instead of the database.
func TestMessagingConformanceAttachmentDir(t *testing.T) {
	portaltest.RunMessagingTests(t, func(t *testing.T) portaltest.MessagingFixture {
		return messagingFixture(t, false, sqlite.WithAttachmentDir(filepath.Join(t.TempDir(), "attachments")))
	})
}

// TestMessagingConformanceMemory runs the suite on in-memory databases.
// -short leaves them to TestMessagingMemory: seeding takes a while under the
// race detector.
func TestMessagingConformanceMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the suite runs on file databases; TestMessagingMemory covers :memory:")
	}
	portaltest.RunMessagingTests(t, func(t *testing.T) portaltest.MessagingFixture {
		return messagingFixture(t, true)
	})
}

// Demo and test files.
var (
	testPDF = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n")
	testPNG = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0}
)

// asPractitioner returns ctx carrying practitioner as its subject.
func asPractitioner(ctx context.Context, practitioner string) context.Context {
	return portal.WithSubject(ctx, portal.Subject{Practitioner: practitioner})
}

// question returns a thread to start in service with a client id of its own.
func question(service, clientID string) portal.NewThread {
	return portal.NewThread{
		Establishment: sqlite.DemoEstablishment, Service: service,
		Subject: "Question", Body: "Bonjour, j'ai une question.", ClientID: clientID,
	}
}

// TestMessagingLinks checks what links a patient to a service, beyond the
// appointments the conformance suite uses: a cancelled appointment does
// not, a past one does, and so do a questionnaire submission for the
// service and a thread there, even closed.
func TestMessagingLinks(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, _ := seededCopy(t, clock)
	m := s.Messaging()
	ctx := context.Background()
	startIn := func(patient, service, key string) error {
		_, err := m.StartThread(asPatient(ctx, patient), question(service, key))
		return err
	}

	// A cancelled appointment is no link; a booked one is, even past.
	cancelled, booked := "pat-links-cancelled", "pat-links-booked"
	as := linkPatients(t, s, sqlite.ServiceDiabetologie, cancelled, booked)
	if _, err := s.Cancel(asPatient(ctx, cancelled), as[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := startIn(cancelled, sqlite.ServiceDiabetologie, "links-key-0001"); portal.Code(err) != portal.ErrServiceNotLinked {
		t.Errorf("StartThread after a cancelled appointment: %v, want %s", err, portal.ErrServiceNotLinked)
	}
	clock.Set(as[1].End.Add(30 * 24 * time.Hour))
	if err := startIn(booked, sqlite.ServiceDiabetologie, "links-key-0002"); err != nil {
		t.Errorf("StartThread a month after an appointment: %v", err)
	}

	// A questionnaire submission links to the questionnaire's service only.
	submitted := "pat-links-submitted"
	if _, err := s.Submit(asPatient(ctx, submitted), testSubmission("qr-links-1", "links-key-0003", false)); err != nil {
		t.Fatal(err)
	}
	if err := startIn(submitted, sqlite.ServiceMaternite, "links-key-0004"); err != nil {
		t.Errorf("StartThread after a submission for the service: %v", err)
	}
	if err := startIn(submitted, sqlite.ServiceConsultations, "links-key-0005"); portal.Code(err) != portal.ErrServiceNotLinked {
		t.Errorf("StartThread in another service than the submission's: %v, want %s", err, portal.ErrServiceNotLinked)
	}

	// A thread is a link, closed too: the demo patient's seeded thread.
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	if _, err := m.Close(asPractitioner(ctx, sqlite.DemoPractitionerClaireMartin), sqlite.DemoThreadMaternite); err != nil {
		t.Fatal(err)
	}
	c, err := m.StartThread(camille, question(sqlite.ServiceMaternite, "links-key-0006"))
	if err != nil {
		t.Fatalf("StartThread with a closed thread in the service: %v", err)
	}
	if c.Status != portal.ThreadNew || c.PatientName != "Camille DURAND" || c.Messages[0].Author.Name != "Camille DURAND" {
		t.Errorf("new thread: status %s, patient %q, author %q; want new, and the directory's name",
			c.Status, c.PatientName, c.Messages[0].Author.Name)
	}
	if _, err := m.StartThread(camille, question(sqlite.ServiceDiabetologie, "links-key-0007")); portal.Code(err) != portal.ErrServiceNotLinked {
		t.Errorf("StartThread in a service of another patient's thread: %v, want %s", err, portal.ErrServiceNotLinked)
	}
}

// TestMessagingRefusesInvalidUTF8 covers what the conformance suite cannot
// send through a JSON client, which replaces invalid UTF-8.
func TestMessagingRefusesInvalidUTF8(t *testing.T) {
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	m := s.Messaging()
	camille := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	for _, tc := range []struct {
		name   string
		change func(*portal.NewThread)
		code   portal.ErrorCode
	}{
		{"Subject", func(nt *portal.NewThread) { nt.Subject = "Question \xff" }, portal.ErrInvalid},
		{"Body", func(nt *portal.NewThread) { nt.Body = "Bonjour \xc3" }, portal.ErrInvalid},
		{"AttachmentName", func(nt *portal.NewThread) {
			nt.Attachments = []portal.NewAttachment{{Name: "\xffa.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}
		}, portal.ErrAttachmentRejected},
	} {
		nt := question(sqlite.ServiceMaternite, "utf8-key-"+tc.name)
		tc.change(&nt)
		if _, err := m.StartThread(camille, nt); portal.Code(err) != tc.code {
			t.Errorf("StartThread with invalid UTF-8 in the %s: %v, want %s", tc.name, err, tc.code)
		}
		if tc.name == "Subject" {
			continue
		}
		msg := portal.NewMessage{ClientID: nt.ClientID, Body: nt.Body, Attachments: nt.Attachments}
		if _, err := m.Send(camille, sqlite.DemoThreadMaternite, msg); portal.Code(err) != tc.code {
			t.Errorf("Send with invalid UTF-8 in the %s: %v, want %s", tc.name, err, tc.code)
		}
	}
	ts, err := m.Threads(camille, sqlite.DemoEstablishment)
	if err != nil || len(ts) != 1 {
		t.Errorf("Threads = %d, %v; want the demo thread only", len(ts), err)
	}
	c, err := m.Thread(camille, sqlite.DemoThreadMaternite)
	if err != nil || len(c.Messages) != 2 {
		t.Errorf("the demo thread has %d messages, %v; want its 2", len(c.Messages), err)
	}
}

// TestMessagingRows checks what messaging writes: one row per message,
// attachment and notification whatever the retries, and messages and
// attachments that cannot be changed.
func TestMessagingRows(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, path := seededCopy(t, clock)
	m := s.Messaging()
	db := rawDB(t, path)
	ctx := context.Background()
	if got := count(t, db, `SELECT COUNT(*) FROM outbox`); got != 0 {
		t.Fatalf("the seed wrote %d notifications, want none", got)
	}
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	nt := question(sqlite.ServiceMaternite, "rows-key-0001")
	nt.Attachments = []portal.NewAttachment{
		{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: testPDF},
		{Name: "b.png", ContentType: portal.ContentTypePNG, Content: testPNG},
	}
	var th portal.Conversation
	for range 3 {
		var err error
		if th, err = m.StartThread(camille, nt); err != nil {
			t.Fatal(err)
		}
	}
	reply := portal.NewMessage{ClientID: "rows-key-0002", Body: "Réponse"}
	claire := asPractitioner(ctx, sqlite.DemoPractitionerClaireMartin)
	for range 3 {
		if _, err := m.Send(claire, th.ID, reply); err != nil {
			t.Fatal(err)
		}
	}
	for query, want := range map[string]int{
		`SELECT COUNT(*) FROM threads WHERE patient = 'pat-camille-durand'`:                                  2,
		`SELECT COUNT(*) FROM messages WHERE thread = '` + th.ID + `'`:                                       2,
		`SELECT COUNT(*) FROM attachments`:                                                                   2,
		`SELECT COUNT(*) FROM attachments WHERE length(content) = size AND size > 0`:                         2,
		`SELECT COUNT(*) FROM outbox`:                                                                        2,
		`SELECT COUNT(*) FROM outbox WHERE recipient = 'practitioner' AND delivered_utc IS NULL`:             1,
		`SELECT COUNT(*) FROM outbox WHERE recipient = 'patient' AND lease_until_utc IS NULL`:                1,
		`SELECT COUNT(*) FROM messages WHERE author_kind = 'practitioner' AND author_name = 'Claire Martin'`: 2, // and the demo reply
	} {
		if got := count(t, db, query); got != want {
			t.Errorf("%s = %d, want %d", query, got, want)
		}
	}
	for _, stmt := range []string{
		`UPDATE messages SET body = 'changed'`, `DELETE FROM messages`,
		`UPDATE attachments SET content = x'00'`, `DELETE FROM attachments`,
	} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused (append-only)", stmt, err)
		}
	}
	got, err := m.Thread(camille, th.ID)
	if err != nil || got.Messages[0].Body != nt.Body {
		t.Errorf("the first message after the refused changes: %+v, %v", got.Messages, err)
	}
}

// TestMessageAndNotificationAtomic makes the notification's insert fail:
// the message goes with it, since both are one transaction.
func TestMessageAndNotificationAtomic(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	m := s.Messaging()
	db := rawDB(t, path)
	if _, err := db.Exec(`CREATE TRIGGER outbox_broken BEFORE INSERT ON outbox
		BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END`); err != nil {
		t.Fatal(err)
	}
	camille := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	msg := portal.NewMessage{ClientID: "atomic-key-0001", Body: "Bonjour", Attachments: []portal.NewAttachment{
		{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}}
	if _, err := m.Send(camille, sqlite.DemoThreadMaternite, msg); portal.Code(err) != portal.ErrInternal {
		t.Errorf("Send with a broken outbox: %v, want %s", err, portal.ErrInternal)
	}
	if _, err := m.StartThread(camille, question(sqlite.ServiceMaternite, "atomic-key-0002")); portal.Code(err) != portal.ErrInternal {
		t.Errorf("StartThread with a broken outbox: %v, want %s", err, portal.ErrInternal)
	}
	for query, want := range map[string]int{
		`SELECT COUNT(*) FROM messages`:                          4, // the two demo threads' messages
		`SELECT COUNT(*) FROM threads`:                           2,
		`SELECT COUNT(*) FROM attachments`:                       0,
		`SELECT COUNT(*) FROM threads WHERE status = 'answered'`: 2,
	} {
		if got := count(t, db, query); got != want {
			t.Errorf("%s = %d, want %d", query, got, want)
		}
	}
	if _, err := db.Exec(`DROP TRIGGER outbox_broken`); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Send(camille, sqlite.DemoThreadMaternite, msg); err != nil {
		t.Errorf("Send once the outbox works: %v", err)
	}
	if got := count(t, db, `SELECT COUNT(*) FROM outbox`); got != 1 {
		t.Errorf("%d notifications, want 1", got)
	}
}

// TestOutboxSurvivesCrash claims notifications and "crashes": the store is
// closed without acknowledging them. Reopened, the claimed notifications
// stay leased until their lease ends, then come back, and an acknowledged
// one never does.
func TestOutboxSurvivesCrash(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, path := seededCopy(t, clock)
	ctx := context.Background()
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	for i := range 3 {
		if _, err := s.Messaging().Send(camille, sqlite.DemoThreadMaternite,
			portal.NewMessage{ClientID: fmt.Sprintf("crash-key-%04d", i), Body: fmt.Sprintf("Message %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := s.Messaging().ClaimNotifications(ctx, 10, 5*time.Minute)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("ClaimNotifications = %d, %v; want 3", len(claimed), err)
	}
	if err := s.Messaging().AckNotification(ctx, claimed[0].ID); err != nil {
		t.Fatal(err)
	}
	// The sender dies here, having delivered the second notification
	// without acknowledging it, and the host restarts.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	reopen := func() *sqlite.Messaging {
		s, err := sqlite.Open(ctx, path, sqlite.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.Messaging()
	}
	m := reopen()
	if got, err := m.ClaimNotifications(ctx, 10, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("claim after the restart, leases running: %+v, %v; want none", got, err)
	}
	clock.Set(seedTime.Add(5 * time.Minute))
	back, err := m.ClaimNotifications(ctx, 10, time.Minute)
	if err != nil || len(back) != 2 || back[0].ID != claimed[1].ID || back[1].ID != claimed[2].ID ||
		back[0].Attempts != 2 || back[1].Attempts != 2 {
		t.Fatalf("claim once the leases ended = %+v, %v; want notifications %d and %d, attempt 2", back, err, claimed[1].ID, claimed[2].ID)
	}
	for _, n := range back {
		if err := m.AckNotification(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(seedTime.Add(time.Hour))
	m = reopen()
	if got, err := m.ClaimNotifications(ctx, 10, time.Minute); err != nil || len(got) != 0 {
		t.Errorf("claim after every notification was acknowledged: %+v, %v; want none", got, err)
	}
}

// TestAttachmentLimit checks the default limit, 10 MiB, and the option.
func TestAttachmentLimit(t *testing.T) {
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	for _, tc := range []struct {
		opts []sqlite.MessagingOption
		want int64
	}{
		{nil, 10 << 20},
		{[]sqlite.MessagingOption{sqlite.WithMaxAttachmentSize(0)}, 10 << 20},
		{[]sqlite.MessagingOption{sqlite.WithMaxAttachmentSize(-5)}, 10 << 20},
		{[]sqlite.MessagingOption{sqlite.WithMaxAttachmentSize(2048)}, 2048},
		{[]sqlite.MessagingOption{sqlite.WithMaxAttachmentSize(1 << 40)}, 512 << 20},
	} {
		if got := s.Messaging(tc.opts...).MaxAttachmentSize(); got != tc.want {
			t.Errorf("MaxAttachmentSize with %d options = %d, want %d", len(tc.opts), got, tc.want)
		}
	}
	m := s.Messaging()
	camille := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	pdf := func(n int) portal.NewAttachment {
		b := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{' '}, n-len("%PDF-1.7\n"))...)
		return portal.NewAttachment{Name: "scan.pdf", ContentType: portal.ContentTypePDF, Content: b}
	}
	_, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "limit-key-0001", Body: "Scan",
		Attachments: []portal.NewAttachment{pdf(portal.DefaultMaxAttachmentSize + 1)}})
	if portal.Code(err) != portal.ErrAttachmentTooLarge {
		t.Errorf("an attachment of 10 MiB + 1: %v, want %s", err, portal.ErrAttachmentTooLarge)
	}
	exact := pdf(portal.DefaultMaxAttachmentSize)
	msg, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "limit-key-0002", Body: "Scan",
		Attachments: []portal.NewAttachment{exact}})
	if err != nil {
		t.Fatalf("an attachment of 10 MiB: %v", err)
	}
	_, content, err := m.Attachment(camille, msg.ID, msg.Attachments[0].ID)
	if err != nil || !bytes.Equal(content, exact.Content) {
		t.Errorf("the 10 MiB attachment read back: %d bytes, %v", len(content), err)
	}
}

// TestDemoThreads checks the seeded threads from both sides, and that
// seeding again keeps them as they have become.
func TestDemoThreads(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, path := seededCopy(t, clock)
	m := s.Messaging()
	ctx := context.Background()
	for _, tc := range []struct {
		thread, service, patient, practitioner string
	}{
		{sqlite.DemoThreadMaternite, sqlite.ServiceMaternite, sqlite.DemoPatientCamilleDurand, sqlite.DemoPractitionerClaireMartin},
		{sqlite.DemoThreadDiabetologie, sqlite.ServiceDiabetologie, sqlite.DemoPatientLucasBernard, sqlite.DemoPractitionerNathalieFournier},
	} {
		t.Run(tc.thread, func(t *testing.T) {
			pat, pra := asPatient(ctx, tc.patient), asPractitioner(ctx, tc.practitioner)
			ts, err := m.Threads(pat, sqlite.DemoEstablishment)
			if err != nil || len(ts) != 1 || ts[0].ID != tc.thread {
				t.Fatalf("Threads = %+v, %v; want the demo thread", ts, err)
			}
			th := ts[0]
			if th.Service != tc.service || th.Status != portal.ThreadAnswered || th.AssignedTo != tc.practitioner ||
				th.Unread != 1 || !th.Created.Equal(seedTime.Add(-48*time.Hour)) || !th.LastMessage.Equal(seedTime.Add(-24*time.Hour)) {
				t.Errorf("demo thread %+v: want answered by %s, one unread answer, asked 2 days and answered 1 day before the seed",
					th, tc.practitioner)
			}
			c, err := m.Thread(pra, tc.thread)
			if err != nil || len(c.Messages) != 2 {
				t.Fatalf("the practitioner's Thread = %d messages, %v", len(c.Messages), err)
			}
			q, a := c.Messages[0], c.Messages[1]
			if q.Author.Kind != portal.AuthorPatient || q.Author.ID != tc.patient || q.Author.Name == "" ||
				len(q.ReadBy) != 1 || q.ReadBy[0].Reader.ID != tc.practitioner || !strings.HasPrefix(q.Body, "Bonjour") {
				t.Errorf("question %+v: want the patient's, read by %s", q, tc.practitioner)
			}
			if a.Author.Kind != portal.AuthorPractitioner || a.Author.ID != tc.practitioner || a.Author.Name == "" ||
				len(a.ReadBy) != 0 || c.Unread != 0 {
				t.Errorf("answer %+v (care-team unread %d): want the practitioner's, not read by the patient", a, c.Unread)
			}
			in, err := m.Inbox(pra, sqlite.DemoEstablishment, portal.InboxFilter{Status: portal.ThreadAnswered})
			if err != nil || len(in) != 1 || in[0].ID != tc.thread || in[0].PatientName == "" {
				t.Errorf("Inbox(answered) = %+v, %v; want the demo thread with the patient's name", in, err)
			}
		})
	}

	// The patient answers; seeding again, a day later, keeps it all.
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	if _, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "demo-key-0001", Body: "Merci !"}); err != nil {
		t.Fatal(err)
	}
	before, err := m.Thread(camille, sqlite.DemoThreadMaternite)
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(seedTime.Add(24 * time.Hour))
	if err := s.Seed(ctx, clock.Now()); err != nil {
		t.Fatal(err)
	}
	after, err := m.Thread(camille, sqlite.DemoThreadMaternite)
	if err != nil || len(after.Messages) != 3 || after.Status != portal.ThreadWaiting || !after.Updated.Equal(before.Updated) {
		t.Errorf("the demo thread after seeding again: %d messages, status %s, updated %s, %v; want it as it was",
			len(after.Messages), after.Status, after.Updated, err)
	}
	db := rawDB(t, path)
	for query, want := range map[string]int{
		`SELECT COUNT(*) FROM threads`:       2,
		`SELECT COUNT(*) FROM messages`:      5,
		`SELECT COUNT(*) FROM message_reads`: 2,
		`SELECT COUNT(*) FROM outbox`:        1, // the patient's message only
	} {
		if got := count(t, db, query); got != want {
			t.Errorf("after seeding again: %s = %d, want %d", query, got, want)
		}
	}
}

func TestDemoPractitioners(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	ctx := context.Background()
	ps, err := s.DemoPractitioners(ctx)
	if err != nil || len(ps) != 8 {
		t.Fatalf("DemoPractitioners = %d, %v; want the 8 seeded practitioners (7 of services, a city doctor)", len(ps), err)
	}
	for i, p := range ps {
		if p.ID == "" || p.Name == "" || p.Role.FR == "" || (i > 0 && ps[i-1].Name > p.Name) {
			t.Errorf("DemoPractitioners[%d] = %+v: want an id, a name and a role, by name", i, p)
		}
	}
	p, err := s.Practitioner(ctx, sqlite.DemoPractitionerClaireMartin)
	if err != nil || p.Name != "Claire Martin" || p.Role.FR != "Sage-femme" || p.Role.EN != "Midwife" {
		t.Errorf("Practitioner = %+v, %v", p, err)
	}
	if _, err := s.Practitioner(ctx, "pr-inconnu"); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("Practitioner(unknown): %v, want %s", err, portal.ErrNotFound)
	}
	empty, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if ps, err := empty.DemoPractitioners(ctx); err != nil || ps == nil || len(ps) != 0 {
		t.Errorf("DemoPractitioners of an unseeded store = %#v, %v; want an empty list", ps, err)
	}
}

// TestMessagingMemory goes through every method on ":memory:", with
// concurrent calls contending for its single connection: a call that used
// the database outside its transaction would deadlock.
func TestMessagingMemory(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s := openSeeded(t, ":memory:", clock)
	m := s.Messaging()
	ctx := context.Background()
	const n = 8
	patients := make([]string, n)
	for i := range patients {
		patients[i] = fmt.Sprintf("pat-memory-%02d", i)
	}
	linkPatients(t, s, sqlite.ServiceMaternite, patients...)
	claire := asPractitioner(ctx, sqlite.DemoPractitionerClaireMartin)
	var wg sync.WaitGroup
	for i, p := range patients {
		wg.Go(func() {
			pat := asPatient(ctx, p)
			nt := question(sqlite.ServiceMaternite, fmt.Sprintf("memory-key-%02d", i))
			nt.Attachments = []portal.NewAttachment{{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}
			c, err := m.StartThread(pat, nt)
			if err != nil {
				t.Errorf("StartThread: %v", err)
				return
			}
			steps := []func() error{
				func() error { _, err := m.StartThread(pat, nt); return err },
				func() error { _, err := m.Threads(pat, sqlite.DemoEstablishment); return err },
				func() error {
					_, err := m.Send(claire, c.ID, portal.NewMessage{ClientID: fmt.Sprintf("memory-reply-%02d", i), Body: "Réponse"})
					return err
				},
				func() error { return m.MarkRead(pat, c.ID) },
				func() error {
					_, _, err := m.Attachment(pat, c.Messages[0].ID, c.Messages[0].Attachments[0].ID)
					return err
				},
				func() error { _, err := m.Inbox(claire, sqlite.DemoEstablishment, portal.InboxFilter{}); return err },
				func() error { _, err := m.Assign(claire, c.ID); return err },
				func() error { _, err := m.Close(claire, c.ID); return err },
				func() error { _, err := m.Thread(claire, c.ID); return err },
				func() error { _, err := m.ClaimNotifications(ctx, 5, time.Minute); return err },
			}
			for j, step := range steps {
				if err := step(); err != nil {
					t.Errorf("patient %d, step %d: %v", i, j, err)
				}
			}
		})
	}
	wg.Wait()
	in, err := m.Inbox(claire, sqlite.DemoEstablishment, portal.InboxFilter{Status: portal.ThreadClosed})
	if err != nil || len(in) != n {
		t.Errorf("Inbox(closed) = %d threads, %v; want %d", len(in), err, n)
	}
	clock.Set(seedTime.Add(time.Hour))
	ns, err := m.ClaimNotifications(ctx, 100, time.Minute)
	if err != nil || len(ns) != 2*n {
		t.Errorf("ClaimNotifications = %d, %v; want %d: one per message", len(ns), err, 2*n)
	}
}

// TestSendBusyDatabase holds the write lock from another connection: a
// message whose context ends first reports the backend unavailable and
// stores nothing; sent again once the lock is released, it is stored once.
func TestSendBusyDatabase(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	m := s.Messaging()
	release := holdWriteLock(t, path)
	camille := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	msg := portal.NewMessage{ClientID: "busy-key-0001", Body: "Bonjour"}
	ctx, cancel := context.WithTimeout(camille, 200*time.Millisecond)
	defer cancel()
	if _, err := m.Send(ctx, sqlite.DemoThreadMaternite, msg); portal.Code(err) != portal.ErrBackendUnavailable {
		t.Errorf("Send while the database is locked: %v, want %s", err, portal.ErrBackendUnavailable)
	}
	release()
	for range 2 {
		if _, err := m.Send(camille, sqlite.DemoThreadMaternite, msg); err != nil {
			t.Errorf("Send after the lock was released: %v", err)
		}
	}
	if got := count(t, rawDB(t, path), `SELECT COUNT(*) FROM messages WHERE client_id = 'busy-key-0001'`); got != 1 {
		t.Errorf("%d messages stored, want 1", got)
	}
}

// Example_messaging shows a patient writing to the maternity with an
// attachment, the care team answering, and the notifications the outbox
// then holds for a sender.
func Example_messaging() {
	ctx := context.Background()
	paris, err := time.LoadLocation(sqlite.DemoTimeZone)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, paris)
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Seed(ctx, now); err != nil {
		log.Fatal(err)
	}
	messaging := store.Messaging(sqlite.WithMaxAttachmentSize(5 << 20))

	// The host sniffs every attachment before it reaches the store.
	scan := []byte("%PDF-1.7\n%%EOF\n")
	contentType, err := portal.SniffAttachment("analyse.pdf", scan)
	if err != nil {
		log.Fatal(err)
	}
	// Camille has a thread with the maternity already: a link to it.
	asCamille := portal.WithSubject(ctx, portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	c, err := messaging.StartThread(asCamille, portal.NewThread{
		Establishment: sqlite.DemoEstablishment,
		Service:       sqlite.ServiceMaternite,
		Subject:       "Résultats de prise de sang",
		Body:          "Bonjour, voici mes résultats. Sont-ils normaux ?",
		ClientID:      "exemple-message-1",
		Attachments:   []portal.NewAttachment{{Name: "analyse.pdf", ContentType: contentType, Content: scan}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s, %d attachment\n", c.Subject, c.Status, len(c.Messages[0].Attachments))

	asClaire := portal.WithSubject(ctx, portal.Subject{Practitioner: sqlite.DemoPractitionerClaireMartin})
	inbox, err := messaging.Inbox(asClaire, sqlite.DemoEstablishment, portal.InboxFilter{Status: portal.ThreadNew})
	if err != nil {
		log.Fatal(err)
	}
	for _, th := range inbox {
		fmt.Printf("inbox: %s from %s, %d unread\n", th.Subject, th.PatientName, th.Unread)
	}
	if err := messaging.MarkRead(asClaire, c.ID); err != nil {
		log.Fatal(err)
	}
	reply, err := messaging.Send(asClaire, c.ID, portal.NewMessage{ClientID: "exemple-reponse-1", Body: "Bonjour, ils sont normaux."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s answered at %s\n", reply.Author.Name, reply.Created.Format("15:04"))

	notifications, err := messaging.ClaimNotifications(ctx, 10, time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range notifications {
		fmt.Printf("notify the %s side of %s\n", n.Recipient, n.Service)
		if err := messaging.AckNotification(ctx, n.ID); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// Résultats de prise de sang: new, 1 attachment
	// inbox: Résultats de prise de sang from Camille DURAND, 1 unread
	// Claire Martin answered at 08:00
	// notify the practitioner side of maternite
	// notify the patient side of maternite
}
