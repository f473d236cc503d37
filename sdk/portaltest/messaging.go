package portaltest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// MessagingFixture is a fresh implementation of portal.Messaging under test.
// RunMessagingTests makes one per test.
//
// Fresh means that Patients and Unlinked have no thread yet and that the
// outbox holds no notification; other threads (a demo seed's) may exist, and
// the suite ignores them. The suite moves the clock forward; it never moves
// it back.
type MessagingFixture struct {
	// AsPatient returns the service acting as the given patient (a backend:
	// AsPatientMessaging; the HTTP client: a client signed in as them).
	AsPatient func(t *testing.T, patient string) portal.Messaging
	// AsPractitioner returns the service acting as the given practitioner
	// (a backend: AsPractitionerMessaging).
	AsPractitioner func(t *testing.T, practitioner string) portal.Messaging
	// Anonymous is the service with no signed-in subject.
	Anonymous portal.Messaging
	// Outbox is the implementation's outbox of notifications. Nil skips
	// the outbox tests, for an implementation without one (the HTTP
	// client).
	Outbox portal.Notifications
	// Establishment has the services Service and OtherService.
	Establishment         string
	Service, OtherService string
	// Patients are at least two distinct patients, each with a link to
	// Service (an appointment, say) and none to OtherService.
	Patients []string
	// Unlinked is a patient with no link to Service.
	Unlinked string
	// Practitioners are at least two distinct practitioners of Service.
	Practitioners []string
	// Outsider is a practitioner of OtherService who is not of Service.
	Outsider string
	// MaxAttachmentSize is the implementation's limit of an attachment's
	// size in bytes; a small one keeps the suite quick.
	MaxAttachmentSize int64
	// SetNow sets the implementation's clock.
	SetNow func(time.Time)
	// Now returns the implementation's clock.
	Now func() time.Time
}

// RunMessagingTests runs the conformance suite of portal.Messaging and, when
// the fixture has one, portal.Notifications, each test on a fixture of its
// own from newFixture. Errors are compared by code (portal.Code) and times
// with time.Time.Equal, so that an implementation reached over JSON passes as
// a backend does.
//
// Beyond the comments of portal.Messaging, the suite requires that Created,
// Updated and LastMessage record the clock (to the second); that a retry
// change nothing, LastMessage included; that a no-op (reading again,
// closing a closed thread, assigning to its assignee) leave Updated as it
// was; and that every refused call store nothing: no thread, no message, no
// notification.
func RunMessagingTests(t *testing.T, newFixture func(t *testing.T) MessagingFixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, fx MessagingFixture)
	}{
		{"StartThreadAndReadBack", testStartThread},
		{"Unauthenticated", testMessagingUnauthenticated},
		{"SidesKeepToTheirMethods", testSides},
		{"StartThreadIdempotentRetry", testStartRetry},
		{"StartThreadConcurrentRetries", testStartConcurrentRetries},
		{"SendIdempotentRetry", testSendRetry},
		{"SendConcurrentRetries", testSendConcurrentRetries},
		{"ClientIDReusedForAnotherMessage", testClientIDReused},
		{"ClientIDPerAuthor", testClientIDPerAuthor},
		{"ThreadOfAnotherPatient", testThreadOfAnotherPatient},
		{"PractitionerOutsideTheService", testPractitionerOutside},
		{"UnknownThread", testUnknownThread},
		{"ThreadsLatestFirst", testThreadsLatestFirst},
		{"InboxFilters", testInboxFilters},
		{"UnreadCounts", testUnreadCounts},
		{"MarkReadAndReceipts", testReadReceipts},
		{"StatusTransitions", testStatusTransitions},
		{"CloseAndReopen", testCloseReopen},
		{"Assign", testAssign},
		{"InvalidMessage", testInvalidMessage},
		{"InvalidThread", testInvalidThread},
		{"TextAtTheLimits", testTextLimits},
		{"Attachments", testAttachments},
		{"AttachmentTooLarge", testAttachmentTooLarge},
		{"AttachmentRejected", testAttachmentRejected},
		{"AttachmentOfAnotherPatient", testAttachmentOfAnotherPatient},
		{"StartThreadWithoutLink", testStartWithoutLink},
		{"StartThreadUnknownService", testStartUnknownService},
		{"OutboxOneNotificationPerMessage", testOutboxOnePerMessage},
		{"OutboxClaimAckLease", testOutboxLease},
		{"OutboxInvalidClaim", testOutboxInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			checkMessagingFixture(t, fx)
			tc.run(t, fx)
		})
	}
}

func checkMessagingFixture(t *testing.T, fx MessagingFixture) {
	t.Helper()
	switch {
	case fx.AsPatient == nil || fx.AsPractitioner == nil || fx.Anonymous == nil || fx.SetNow == nil || fx.Now == nil:
		t.Fatal("fixture: AsPatient, AsPractitioner, Anonymous, SetNow and Now are required")
	case fx.Establishment == "" || fx.Service == "" || fx.OtherService == "" || fx.Service == fx.OtherService:
		t.Fatal("fixture: Establishment and two distinct services are required")
	case len(fx.Patients) < 2 || fx.Patients[0] == fx.Patients[1] || fx.Unlinked == "" || slices.Contains(fx.Patients, fx.Unlinked):
		t.Fatalf("fixture: two distinct linked patients and another, unlinked, are required; got %q and %q", fx.Patients, fx.Unlinked)
	case len(fx.Practitioners) < 2 || fx.Practitioners[0] == fx.Practitioners[1] || fx.Outsider == "" || slices.Contains(fx.Practitioners, fx.Outsider):
		t.Fatalf("fixture: two distinct practitioners of Service and an outsider are required; got %q and %q", fx.Practitioners, fx.Outsider)
	case fx.MaxAttachmentSize < 1024:
		t.Fatalf("fixture: MaxAttachmentSize %d, want at least 1024", fx.MaxAttachmentSize)
	}
}

// AsPatientMessaging returns m acting as patient: every call carries
// portal.Subject{Patient: patient} in its context, as the edge host puts the
// signed-in patient there. Backends use it for MessagingFixture.AsPatient.
func AsPatientMessaging(m portal.Messaging, patient string) portal.Messaging {
	return asSubjectMessaging{m: m, subject: portal.Subject{Patient: patient}}
}

// AsPractitionerMessaging returns m acting as practitioner, as
// AsPatientMessaging does for a patient.
func AsPractitionerMessaging(m portal.Messaging, practitioner string) portal.Messaging {
	return asSubjectMessaging{m: m, subject: portal.Subject{Practitioner: practitioner}}
}

type asSubjectMessaging struct {
	m       portal.Messaging
	subject portal.Subject
}

var _ portal.Messaging = asSubjectMessaging{}

func (a asSubjectMessaging) ctx(ctx context.Context) context.Context {
	return portal.WithSubject(ctx, a.subject)
}

func (a asSubjectMessaging) Threads(ctx context.Context, est string) ([]portal.Thread, error) {
	return a.m.Threads(a.ctx(ctx), est)
}

func (a asSubjectMessaging) Thread(ctx context.Context, id string) (portal.Conversation, error) {
	return a.m.Thread(a.ctx(ctx), id)
}

func (a asSubjectMessaging) StartThread(ctx context.Context, t portal.NewThread) (portal.Conversation, error) {
	return a.m.StartThread(a.ctx(ctx), t)
}

func (a asSubjectMessaging) Send(ctx context.Context, thread string, m portal.NewMessage) (portal.Message, error) {
	return a.m.Send(a.ctx(ctx), thread, m)
}

func (a asSubjectMessaging) MarkRead(ctx context.Context, thread string) error {
	return a.m.MarkRead(a.ctx(ctx), thread)
}

func (a asSubjectMessaging) Attachment(ctx context.Context, message, attachment string) (portal.AttachmentMeta, []byte, error) {
	return a.m.Attachment(a.ctx(ctx), message, attachment)
}

func (a asSubjectMessaging) Inbox(ctx context.Context, est string, f portal.InboxFilter) ([]portal.Thread, error) {
	return a.m.Inbox(a.ctx(ctx), est, f)
}

func (a asSubjectMessaging) Assign(ctx context.Context, thread string) (portal.Thread, error) {
	return a.m.Assign(a.ctx(ctx), thread)
}

func (a asSubjectMessaging) Close(ctx context.Context, thread string) (portal.Thread, error) {
	return a.m.Close(a.ctx(ctx), thread)
}

// Sample files.

// samplePDF returns a PDF of exactly n bytes (n >= 32).
func samplePDF(n int) []byte {
	const head, tail = "%PDF-1.7\n%", "\n%%EOF\n"
	b := make([]byte, 0, n)
	b = append(b, head...)
	b = append(b, bytes.Repeat([]byte("a"), n-len(head)-len(tail))...)
	return append(b, tail...)
}

// sampleJPEG and samplePNG begin as real JFIF and PNG files do.
var (
	sampleJPEG = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00,
		0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9}
	samplePNG = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
		0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE}
)

// attachment returns content as an attachment named name, of the type
// portal.SniffAttachment finds (the host sniffs before calling a backend).
func attachment(t *testing.T, name string, content []byte) portal.NewAttachment {
	t.Helper()
	ct, err := portal.SniffAttachment(name, content)
	if err != nil {
		t.Fatalf("SniffAttachment(%s): %v", name, err)
	}
	return portal.NewAttachment{Name: name, ContentType: ct, Content: content}
}

// Helpers.

// newThread returns a thread to start in fx.Service with a fresh client id.
func newThread(fx MessagingFixture, subject string) portal.NewThread {
	return portal.NewThread{
		Establishment: fx.Establishment, Service: fx.Service, Subject: subject,
		Body: "Bonjour, " + subject + " : pouvez-vous m'aider ?", ClientID: newKey(),
	}
}

// newMessage returns a message with body and a fresh client id.
func newMessage(body string, atts ...portal.NewAttachment) portal.NewMessage {
	return portal.NewMessage{ClientID: newKey(), Body: body, Attachments: atts}
}

func start(t *testing.T, m portal.Messaging, nt portal.NewThread) portal.Conversation {
	t.Helper()
	c, err := m.StartThread(t.Context(), nt)
	if err != nil {
		t.Fatalf("StartThread(%q): %v", nt.Subject, err)
	}
	return c
}

func send(t *testing.T, m portal.Messaging, thread string, nm portal.NewMessage) portal.Message {
	t.Helper()
	msg, err := m.Send(t.Context(), thread, nm)
	if err != nil {
		t.Fatalf("Send(%s): %v", thread, err)
	}
	return msg
}

func conversation(t *testing.T, m portal.Messaging, id string) portal.Conversation {
	t.Helper()
	c, err := m.Thread(t.Context(), id)
	if err != nil {
		t.Fatalf("Thread(%s): %v", id, err)
	}
	return c
}

func markRead(t *testing.T, m portal.Messaging, id string) {
	t.Helper()
	if err := m.MarkRead(t.Context(), id); err != nil {
		t.Fatalf("MarkRead(%s): %v", id, err)
	}
}

func threads(t *testing.T, m portal.Messaging, fx MessagingFixture) []portal.Thread {
	t.Helper()
	ts, err := m.Threads(t.Context(), fx.Establishment)
	if err != nil {
		t.Fatalf("Threads(%s): %v", fx.Establishment, err)
	}
	return ts
}

func inbox(t *testing.T, m portal.Messaging, fx MessagingFixture, f portal.InboxFilter) []portal.Thread {
	t.Helper()
	ts, err := m.Inbox(t.Context(), fx.Establishment, f)
	if err != nil {
		t.Fatalf("Inbox(%s, %+v): %v", fx.Establishment, f, err)
	}
	return ts
}

// find returns the thread id of ts.
func find(ts []portal.Thread, id string) (portal.Thread, bool) {
	for _, t := range ts {
		if t.ID == id {
			return t, true
		}
	}
	return portal.Thread{}, false
}

// only returns the ids of ts that are among ids, in the order of ts.
func only(ts []portal.Thread, ids ...string) []string {
	var out []string
	for _, t := range ts {
		if slices.Contains(ids, t.ID) {
			out = append(out, t.ID)
		}
	}
	return out
}

// at advances the fixture's clock by d and returns the new time.
func at(fx MessagingFixture, d time.Duration) time.Time {
	now := fx.Now().Add(d)
	fx.SetNow(now)
	return now
}

// sameThread fails t unless got and want describe the same thread as the
// same viewer sees it.
func sameThread(t *testing.T, what string, got, want portal.Thread) {
	t.Helper()
	if got.ID != want.ID || got.Establishment != want.Establishment || got.Service != want.Service ||
		got.Subject != want.Subject || got.Patient != want.Patient || got.PatientName != want.PatientName ||
		got.Status != want.Status || got.AssignedTo != want.AssignedTo || got.Unread != want.Unread ||
		!got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) || !got.LastMessage.Equal(want.LastMessage) {
		t.Errorf("%s: thread\n%+v\nwant\n%+v", what, got, want)
	}
}

// sameMessage fails t unless got and want are the same message with the same
// receipts.
func sameMessage(t *testing.T, what string, got, want portal.Message) {
	t.Helper()
	ok := got.ID == want.ID && got.Thread == want.Thread && got.ClientID == want.ClientID &&
		got.Author == want.Author && got.Body == want.Body && got.Created.Equal(want.Created) &&
		slices.Equal(got.Attachments, want.Attachments) && len(got.ReadBy) == len(want.ReadBy)
	for i := range got.ReadBy {
		ok = ok && got.ReadBy[i].Reader == want.ReadBy[i].Reader && got.ReadBy[i].At.Equal(want.ReadBy[i].At)
	}
	if !ok {
		t.Errorf("%s: message\n%+v\nwant\n%+v", what, got, want)
	}
}

// sameConversation fails t unless got and want are the same thread with the
// same messages.
func sameConversation(t *testing.T, what string, got, want portal.Conversation) {
	t.Helper()
	sameThread(t, what, got.Thread, want.Thread)
	if len(got.Messages) != len(want.Messages) {
		t.Errorf("%s: %d messages, want %d", what, len(got.Messages), len(want.Messages))
		return
	}
	for i := range got.Messages {
		sameMessage(t, fmt.Sprintf("%s: message %d", what, i), got.Messages[i], want.Messages[i])
	}
}

// wantMessages fails t unless the thread, as m sees it, has n messages.
func wantMessages(t *testing.T, m portal.Messaging, id string, n int, what string) portal.Conversation {
	t.Helper()
	c := conversation(t, m, id)
	if len(c.Messages) != n {
		t.Errorf("%s: thread %s has %d messages, want %d", what, id, len(c.Messages), n)
	}
	return c
}

// wantNotFoundAsUnknown fails t unless err is ErrNotFound and tells the
// patient exactly what an unknown id's error (errUnknown) does.
func wantNotFoundAsUnknown(t *testing.T, err, errUnknown error, what string) {
	t.Helper()
	wantCode(t, err, portal.ErrNotFound, what)
	wantCode(t, errUnknown, portal.ErrNotFound, what+" (unknown id)")
	for _, lang := range []string{"fr", "en"} {
		if portal.PatientMessage(err, lang) != portal.PatientMessage(errUnknown, lang) {
			t.Errorf("%s: reported as %q, an unknown id as %q: want the same", what, portal.PatientMessage(err, lang), portal.PatientMessage(errUnknown, lang))
		}
	}
}

// wantHidden fails t unless m reports thread c, its first message's first
// attachment, and any write in the thread exactly as unknown ones
// (ErrNotFound, the same patient-facing message). careTeam adds Assign and
// Close.
func wantHidden(t *testing.T, m portal.Messaging, c portal.Conversation, who string, careTeam bool) {
	t.Helper()
	ctx := t.Context()
	msg := c.Messages[0]
	_, err := m.Thread(ctx, c.ID)
	_, errUnknown := m.Thread(ctx, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, who+": Thread")
	_, err = m.Send(ctx, c.ID, newMessage("intrusion"))
	_, errUnknown = m.Send(ctx, unknownID, newMessage("intrusion"))
	wantNotFoundAsUnknown(t, err, errUnknown, who+": Send")
	wantNotFoundAsUnknown(t, m.MarkRead(ctx, c.ID), m.MarkRead(ctx, unknownID), who+": MarkRead")
	_, _, err = m.Attachment(ctx, msg.ID, msg.Attachments[0].ID)
	_, _, errUnknown = m.Attachment(ctx, msg.ID, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, who+": Attachment")
	if !careTeam {
		return
	}
	_, err = m.Assign(ctx, c.ID)
	_, errUnknown = m.Assign(ctx, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, who+": Assign")
	_, err = m.Close(ctx, c.ID)
	_, errUnknown = m.Close(ctx, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, who+": Close")
}

// digest returns the hex SHA-256 of b.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Starting and reading threads.

func testStartThread(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	scan := attachment(t, "échographie.pdf", samplePDF(2048))
	nt := newThread(fx, "Résultats de l'échographie")
	nt.Attachments = []portal.NewAttachment{scan}
	c := start(t, pat, nt)
	now := fx.Now()

	th := c.Thread
	if th.ID == "" || th.Establishment != fx.Establishment || th.Service != fx.Service || th.Subject != nt.Subject ||
		th.Patient != fx.Patients[0] || th.Status != portal.ThreadNew || th.AssignedTo != "" || th.Unread != 0 {
		t.Errorf("StartThread: thread %+v, want a new thread of %s in %s/%s, unassigned, nothing unread",
			th, fx.Patients[0], fx.Establishment, fx.Service)
	}
	wantClock(t, "Created", th.Created, now)
	if !th.Updated.Equal(th.Created) || !th.LastMessage.Equal(th.Created) {
		t.Errorf("Updated %s, LastMessage %s; want both the creation's %s", th.Updated, th.LastMessage, th.Created)
	}
	if len(c.Messages) != 1 {
		t.Fatalf("StartThread: %d messages, want the first one", len(c.Messages))
	}
	msg := c.Messages[0]
	wantAtt := portal.AttachmentMeta{Name: scan.Name, ContentType: portal.ContentTypePDF, Size: 2048, SHA256: digest(scan.Content)}
	if msg.ID == "" || msg.Thread != th.ID || msg.ClientID != nt.ClientID || msg.Body != nt.Body ||
		msg.Author.Kind != portal.AuthorPatient || msg.Author.ID != fx.Patients[0] || !msg.Created.Equal(th.Created) ||
		len(msg.ReadBy) != 0 || len(msg.Attachments) != 1 {
		t.Fatalf("first message %+v, want the patient's body and client id, created with the thread, unread", msg)
	}
	if got := msg.Attachments[0]; got.ID == "" || got.Name != wantAtt.Name || got.ContentType != wantAtt.ContentType ||
		got.Size != wantAtt.Size || got.SHA256 != wantAtt.SHA256 {
		t.Errorf("attachment %+v, want %+v and an id", got, wantAtt)
	}

	// Read back, later, by the patient: the same.
	at(fx, time.Hour)
	sameConversation(t, "Thread", conversation(t, pat, th.ID), c)
	listed, ok := find(threads(t, pat, fx), th.ID)
	if !ok {
		t.Fatalf("Threads does not list the new thread %s", th.ID)
	}
	sameThread(t, "Threads", listed, th)

	// The care team sees it too, with the patient's message unread.
	asTeam := conversation(t, pra, th.ID)
	want := c
	want.Unread = 1
	want.PatientName = asTeam.PatientName // the directory's business
	sameConversation(t, "Thread as a practitioner", asTeam, want)
	if in, ok := find(inbox(t, pra, fx, portal.InboxFilter{}), th.ID); !ok {
		t.Errorf("Inbox does not list the new thread")
	} else {
		sameThread(t, "Inbox", in, want.Thread)
	}
	for who, m := range map[string]portal.Messaging{"patient": pat, "practitioner": pra} {
		meta, content, err := m.Attachment(t.Context(), msg.ID, msg.Attachments[0].ID)
		if err != nil || meta != msg.Attachments[0] || !bytes.Equal(content, scan.Content) {
			t.Errorf("Attachment as the %s = %+v, %d bytes, %v; want %+v and the bytes sent", who, meta, len(content), err, msg.Attachments[0])
		}
	}
}

func testMessagingUnauthenticated(t *testing.T, fx MessagingFixture) {
	a, ctx := fx.Anonymous, t.Context()
	th := start(t, fx.AsPatient(t, fx.Patients[0]), newThread(fx, "Question"))
	msg := th.Messages[0]

	_, err := a.Threads(ctx, fx.Establishment)
	wantCode(t, err, portal.ErrUnauthenticated, "Threads")
	_, err = a.Thread(ctx, th.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "Thread")
	_, err = a.StartThread(ctx, newThread(fx, "Anonyme"))
	wantCode(t, err, portal.ErrUnauthenticated, "StartThread")
	_, err = a.Send(ctx, th.ID, newMessage("anonyme"))
	wantCode(t, err, portal.ErrUnauthenticated, "Send")
	wantCode(t, a.MarkRead(ctx, th.ID), portal.ErrUnauthenticated, "MarkRead")
	_, _, err = a.Attachment(ctx, msg.ID, unknownID)
	wantCode(t, err, portal.ErrUnauthenticated, "Attachment")
	_, err = a.Inbox(ctx, fx.Establishment, portal.InboxFilter{})
	wantCode(t, err, portal.ErrUnauthenticated, "Inbox")
	_, err = a.Assign(ctx, th.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "Assign")
	_, err = a.Close(ctx, th.ID)
	wantCode(t, err, portal.ErrUnauthenticated, "Close")

	pra := fx.AsPractitioner(t, fx.Practitioners[0])
	got := wantMessages(t, pra, th.ID, 1, "after the anonymous calls")
	if got.Status != portal.ThreadNew || got.AssignedTo != "" || got.Unread != 1 {
		t.Errorf("after the anonymous calls: thread %+v, want it new, unassigned, unread", got.Thread)
	}
	for _, listed := range inbox(t, pra, fx, portal.InboxFilter{}) {
		if listed.Subject == "Anonyme" {
			t.Errorf("an anonymous StartThread stored thread %s", listed.ID)
		}
	}
}

func testSides(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	th := start(t, pat, newThread(fx, "Question"))
	ctx := t.Context()
	_, err := pat.Inbox(ctx, fx.Establishment, portal.InboxFilter{})
	wantCode(t, err, portal.ErrForbidden, "Inbox as a patient")
	_, err = pat.Assign(ctx, th.ID)
	wantCode(t, err, portal.ErrForbidden, "Assign as a patient")
	_, err = pat.Close(ctx, th.ID)
	wantCode(t, err, portal.ErrForbidden, "Close as a patient")
	_, err = pra.Threads(ctx, fx.Establishment)
	wantCode(t, err, portal.ErrForbidden, "Threads as a practitioner")
	nt := newThread(fx, "Au nom d'un patient")
	_, err = pra.StartThread(ctx, nt)
	wantCode(t, err, portal.ErrForbidden, "StartThread as a practitioner")

	got := conversation(t, pat, th.ID)
	if got.Status != portal.ThreadNew || got.AssignedTo != "" {
		t.Errorf("after the refused calls: thread %+v, want it new and unassigned", got.Thread)
	}
	if ts := threads(t, pat, fx); len(ts) != 1 {
		t.Errorf("the patient has %d threads, want 1", len(ts))
	}
}

// retries is the number of simultaneous calls of the concurrent tests.
const retries = 20

func testStartRetry(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	nt := newThread(fx, "Rendez-vous de suivi")
	nt.Attachments = []portal.NewAttachment{attachment(t, "ordonnance.png", samplePNG)}
	first := start(t, pat, nt)
	for i := range 3 {
		at(fx, time.Minute)
		again := start(t, pat, nt)
		sameConversation(t, fmt.Sprintf("retry %d", i), again, first)
	}
	// A retry after a reply gets the thread as it is now.
	reply := send(t, fx.AsPractitioner(t, fx.Practitioners[0]), first.ID, newMessage("Bonjour, nous regardons."))
	again := start(t, pat, nt)
	if again.ID != first.ID || len(again.Messages) != 2 || again.Messages[1].ID != reply.ID {
		t.Errorf("retry after a reply: thread %s with %d messages, want %s with the reply", again.ID, len(again.Messages), first.ID)
	}
	if ts := threads(t, pat, fx); len(ts) != 1 {
		t.Errorf("Threads = %d after retries, want 1", len(ts))
	}
}

// concurrently calls f retries times at once and returns the ids and errors.
func concurrently(f func() (string, error)) ([]string, []error) {
	ids, errs := make([]string, retries), make([]error, retries)
	var wg sync.WaitGroup
	startAll := make(chan struct{})
	for i := range retries {
		wg.Go(func() {
			<-startAll
			ids[i], errs[i] = f()
		})
	}
	close(startAll)
	wg.Wait()
	return ids, errs
}

// wantOneID fails t unless every call succeeded with the same id.
func wantOneID(t *testing.T, ids []string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v, want the one result", i, err)
		} else if ids[i] != ids[0] {
			t.Errorf("call %d: %s, want %s like the others", i, ids[i], ids[0])
		}
	}
}

func testStartConcurrentRetries(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	nt := newThread(fx, "Question urgente")
	ids, errs := concurrently(func() (string, error) {
		c, err := pat.StartThread(t.Context(), nt)
		return c.ID, err
	})
	wantOneID(t, ids, errs)
	if ts := threads(t, pat, fx); len(ts) != 1 {
		t.Errorf("Threads = %d after %d concurrent retries, want 1", len(ts), retries)
	}
	if t.Failed() {
		return
	}
	wantMessages(t, pat, ids[0], 1, "after concurrent retries")
}

func testSendRetry(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	th := start(t, pat, newThread(fx, "Traitement"))
	at(fx, time.Minute)
	nm := newMessage("Réponse", attachment(t, "résultats.jpg", sampleJPEG))
	first := send(t, pra, th.ID, nm)
	sent := conversation(t, pat, th.ID)
	for i := range 3 {
		at(fx, time.Minute)
		sameMessage(t, fmt.Sprintf("retry %d", i), send(t, pra, th.ID, nm), first)
	}
	c := wantMessages(t, pat, th.ID, 2, "after retries")
	// Nothing moved: no new message, no new time.
	sameThread(t, "the thread after retries", c.Thread, sent.Thread)
}

func testSendConcurrentRetries(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	th := start(t, pat, newThread(fx, "Question"))
	nm := newMessage("Un complément, envoyé sur un réseau instable.")
	ids, errs := concurrently(func() (string, error) {
		m, err := pat.Send(t.Context(), th.ID, nm)
		return m.ID, err
	})
	wantOneID(t, ids, errs)
	c := wantMessages(t, pat, th.ID, 2, "after concurrent retries")
	if len(c.Messages) == 2 && c.Messages[1].ID != ids[0] {
		t.Errorf("stored message %s, want %s", c.Messages[1].ID, ids[0])
	}
}

func testClientIDReused(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	nt := newThread(fx, "Première question")
	th := start(t, pat, nt)
	other := start(t, pat, newThread(fx, "Autre question"))
	nm := newMessage("Deuxième message")
	send(t, pat, th.ID, nm)
	ctx := t.Context()

	changed := nm
	changed.Body = "Un autre message"
	_, err := pat.Send(ctx, th.ID, changed)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "Send(same client id, other body)")
	withFile := nm
	withFile.Attachments = []portal.NewAttachment{attachment(t, "x.png", samplePNG)}
	_, err = pat.Send(ctx, th.ID, withFile)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "Send(same client id, an attachment more)")
	_, err = pat.Send(ctx, other.ID, nm)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "Send(same client id, other thread)")
	_, err = pat.Send(ctx, th.ID, portal.NewMessage{ClientID: nt.ClientID, Body: nt.Body})
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "Send(the client id of StartThread)")
	restart := nt
	restart.Subject = "Sujet modifié"
	_, err = pat.StartThread(ctx, restart)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "StartThread(same client id, other subject)")
	reuse := newThread(fx, "Troisième question")
	reuse.ClientID = nm.ClientID
	_, err = pat.StartThread(ctx, reuse)
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "StartThread(the client id of a Send)")

	wantMessages(t, pat, th.ID, 2, "after the refused reuses")
	wantMessages(t, pat, other.ID, 1, "the other thread after the refused reuses")
	if ts := threads(t, pat, fx); len(ts) != 2 {
		t.Errorf("Threads = %d after the refused reuses, want 2", len(ts))
	}
}

func testClientIDPerAuthor(t *testing.T, fx MessagingFixture) {
	a, b := fx.AsPatient(t, fx.Patients[0]), fx.AsPatient(t, fx.Patients[1])
	p1, p2 := fx.AsPractitioner(t, fx.Practitioners[0]), fx.AsPractitioner(t, fx.Practitioners[1])
	ta := newThread(fx, "Question de A")
	tb := newThread(fx, "Question de B")
	tb.ClientID = ta.ClientID
	tha, thb := start(t, a, ta), start(t, b, tb)
	if tha.ID == thb.ID {
		t.Fatalf("two patients with one client id share thread %s", tha.ID)
	}
	// The same client id again, by two practitioners and the patient: three messages.
	nm := newMessage("Réponse")
	nm.ClientID = ta.ClientID
	m1, m2 := send(t, p1, tha.ID, nm), send(t, p2, tha.ID, nm)
	if m1.ID == m2.ID || m1.Author.ID != fx.Practitioners[0] || m2.Author.ID != fx.Practitioners[1] {
		t.Errorf("two practitioners with one client id: messages %s by %s and %s by %s", m1.ID, m1.Author.ID, m2.ID, m2.Author.ID)
	}
	wantMessages(t, a, tha.ID, 3, "A's thread")
	wantMessages(t, b, thb.ID, 1, "B's thread")
}

// Who sees what.

func testThreadOfAnotherPatient(t *testing.T, fx MessagingFixture) {
	owner, other := fx.AsPatient(t, fx.Patients[0]), fx.AsPatient(t, fx.Patients[1])
	nt := newThread(fx, "Question privée")
	nt.Attachments = []portal.NewAttachment{attachment(t, "bilan.pdf", samplePDF(512))}
	th := start(t, owner, nt)
	before := conversation(t, owner, th.ID)
	wantHidden(t, other, th, "another patient", false)
	if _, ok := find(threads(t, other, fx), th.ID); ok {
		t.Errorf("Threads of another patient lists thread %s", th.ID)
	}
	// The other patient's retry of the owner's client id reaches nothing of theirs.
	mine := start(t, other, portal.NewThread{Establishment: fx.Establishment, Service: fx.Service,
		Subject: nt.Subject, Body: nt.Body, ClientID: nt.ClientID})
	if mine.ID == th.ID || mine.Patient != fx.Patients[1] {
		t.Errorf("another patient's StartThread with the owner's client id returned thread %s of %s", mine.ID, mine.Patient)
	}
	sameConversation(t, "the owner's thread after the other patient's calls", conversation(t, owner, th.ID), before)
}

func testPractitionerOutside(t *testing.T, fx MessagingFixture) {
	pat, out := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Outsider)
	nt := newThread(fx, "Question au service")
	nt.Attachments = []portal.NewAttachment{attachment(t, "photo.jpeg", sampleJPEG)}
	th := start(t, pat, nt)
	before := conversation(t, pat, th.ID)
	wantHidden(t, out, th, "a practitioner of another service", true)
	for _, f := range []portal.InboxFilter{{}, {Service: fx.Service}, {Status: portal.ThreadNew}} {
		if _, ok := find(inbox(t, out, fx, f), th.ID); ok {
			t.Errorf("Inbox(%+v) of a practitioner of another service lists thread %s", f, th.ID)
		}
	}
	sameConversation(t, "the thread after the outsider's calls", conversation(t, pat, th.ID), before)
}

func testUnknownThread(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	ctx := t.Context()
	for who, m := range map[string]portal.Messaging{"patient": pat, "practitioner": pra} {
		_, err := m.Thread(ctx, unknownID)
		wantCode(t, err, portal.ErrNotFound, who+": Thread(unknown)")
		_, err = m.Send(ctx, unknownID, newMessage("x"))
		wantCode(t, err, portal.ErrNotFound, who+": Send(unknown)")
		wantCode(t, m.MarkRead(ctx, unknownID), portal.ErrNotFound, who+": MarkRead(unknown)")
		_, _, err = m.Attachment(ctx, unknownID, unknownID)
		wantCode(t, err, portal.ErrNotFound, who+": Attachment(unknown)")
	}
	_, err := pat.Threads(ctx, unknownID)
	wantCode(t, err, portal.ErrNotFound, "Threads(unknown establishment)")
	_, err = pra.Inbox(ctx, unknownID, portal.InboxFilter{})
	wantCode(t, err, portal.ErrNotFound, "Inbox(unknown establishment)")
	_, err = pra.Inbox(ctx, fx.Establishment, portal.InboxFilter{Service: unknownID})
	wantCode(t, err, portal.ErrNotFound, "Inbox(unknown service)")
	if ts := threads(t, pat, fx); len(ts) != 0 {
		t.Errorf("Threads = %+v, want none", ts)
	}
}

// Lists.

func testThreadsLatestFirst(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	var ids []string
	for _, s := range []string{"Premier", "Deuxième", "Troisième"} {
		ids = append(ids, start(t, pat, newThread(fx, s)).ID)
		at(fx, time.Minute)
	}
	want := []string{ids[2], ids[1], ids[0]}
	if got := only(threads(t, pat, fx), ids...); !slices.Equal(got, want) {
		t.Errorf("Threads = %q, want latest first %q", got, want)
	}
	// A reply in the oldest brings it first, on both sides.
	send(t, pra, ids[0], newMessage("Réponse"))
	want = []string{ids[0], ids[2], ids[1]}
	if got := only(threads(t, pat, fx), ids...); !slices.Equal(got, want) {
		t.Errorf("Threads after a reply = %q, want %q", got, want)
	}
	if got := only(inbox(t, pra, fx, portal.InboxFilter{}), ids...); !slices.Equal(got, want) {
		t.Errorf("Inbox after a reply = %q, want %q", got, want)
	}
	// Within one second too.
	send(t, pat, ids[1], newMessage("Relance"))
	want = []string{ids[1], ids[0], ids[2]}
	if got := only(threads(t, pat, fx), ids...); !slices.Equal(got, want) {
		t.Errorf("Threads after a message in the same second = %q, want %q", got, want)
	}
	if other := threads(t, fx.AsPatient(t, fx.Patients[1]), fx); len(other) != 0 {
		t.Errorf("another patient's Threads = %d, want none of these", len(other))
	}
}

// statusThreads starts four threads and moves them to new, answered,
// waiting and closed; it returns their ids by status.
func statusThreads(t *testing.T, fx MessagingFixture) map[portal.ThreadStatus]string {
	a, b := fx.AsPatient(t, fx.Patients[0]), fx.AsPatient(t, fx.Patients[1])
	pra := fx.AsPractitioner(t, fx.Practitioners[0])
	out := map[portal.ThreadStatus]string{}
	out[portal.ThreadNew] = start(t, a, newThread(fx, "Nouveau")).ID
	out[portal.ThreadAnswered] = start(t, b, newThread(fx, "Répondu")).ID
	send(t, pra, out[portal.ThreadAnswered], newMessage("Réponse"))
	out[portal.ThreadWaiting] = start(t, a, newThread(fx, "En attente")).ID
	send(t, pra, out[portal.ThreadWaiting], newMessage("Réponse"))
	send(t, a, out[portal.ThreadWaiting], newMessage("Merci, une autre question"))
	out[portal.ThreadClosed] = start(t, b, newThread(fx, "Clos")).ID
	if _, err := pra.Close(t.Context(), out[portal.ThreadClosed]); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out
}

func testInboxFilters(t *testing.T, fx MessagingFixture) {
	byStatus := statusThreads(t, fx)
	var all []string
	for _, id := range byStatus {
		all = append(all, id)
	}
	for _, p := range fx.Practitioners[:2] {
		pra := fx.AsPractitioner(t, p)
		for status, id := range byStatus {
			ts := inbox(t, pra, fx, portal.InboxFilter{Status: status})
			if got := only(ts, all...); !slices.Equal(got, []string{id}) {
				t.Errorf("%s: Inbox(status %s) lists %q of the test's threads, want only %s", p, status, got, id)
			}
			for _, th := range ts {
				if th.Status != status || th.Establishment != fx.Establishment {
					t.Errorf("%s: Inbox(status %s) lists thread %s of status %s in %s", p, status, th.ID, th.Status, th.Establishment)
				}
			}
		}
		for _, f := range []portal.InboxFilter{{}, {Service: fx.Service}} {
			if got := only(inbox(t, pra, fx, f), all...); len(got) != len(all) {
				t.Errorf("%s: Inbox(%+v) lists %d of the test's %d threads", p, f, len(got), len(all))
			}
		}
		ts := inbox(t, pra, fx, portal.InboxFilter{Service: fx.OtherService})
		if got := only(ts, all...); len(got) != 0 {
			t.Errorf("%s: Inbox(OtherService) lists %q", p, got)
		}
		_, err := pra.Inbox(t.Context(), fx.Establishment, portal.InboxFilter{Status: "archived"})
		wantCode(t, err, portal.ErrInvalid, "Inbox(unknown status)")
	}
	// The outsider's inbox, filtered by its own service, has none of them either.
	out := fx.AsPractitioner(t, fx.Outsider)
	if got := only(inbox(t, out, fx, portal.InboxFilter{Service: fx.OtherService}), all...); len(got) != 0 {
		t.Errorf("the outsider's Inbox lists %q", got)
	}
}

func testUnreadCounts(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	p1, p2 := fx.AsPractitioner(t, fx.Practitioners[0]), fx.AsPractitioner(t, fx.Practitioners[1])
	id := start(t, pat, newThread(fx, "Question")).ID
	send(t, pat, id, newMessage("Précision"))

	unread := func(what string, patient, team int) {
		t.Helper()
		if got := conversation(t, pat, id).Unread; got != patient {
			t.Errorf("%s: the patient's Thread.Unread = %d, want %d", what, got, patient)
		}
		if th, _ := find(threads(t, pat, fx), id); th.Unread != patient {
			t.Errorf("%s: the patient's Threads Unread = %d, want %d", what, th.Unread, patient)
		}
		for i, p := range []portal.Messaging{p1, p2} {
			if got := conversation(t, p, id).Unread; got != team {
				t.Errorf("%s: practitioner %d's Thread.Unread = %d, want %d", what, i+1, got, team)
			}
			if th, _ := find(inbox(t, p, fx, portal.InboxFilter{}), id); th.Unread != team {
				t.Errorf("%s: practitioner %d's Inbox Unread = %d, want %d", what, i+1, th.Unread, team)
			}
		}
	}
	unread("after two patient messages", 0, 2)
	markRead(t, p1, id)
	unread("after one practitioner read them (the care team has)", 0, 0)
	send(t, p2, id, newMessage("Réponse"))
	send(t, p1, id, newMessage("Complément"))
	unread("after two care-team messages", 2, 0)
	markRead(t, pat, id)
	unread("after the patient read them", 0, 0)
	send(t, pat, id, newMessage("Merci"))
	unread("after the patient's thanks", 0, 1)
}

func testReadReceipts(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	p1, p2 := fx.AsPractitioner(t, fx.Practitioners[0]), fx.AsPractitioner(t, fx.Practitioners[1])
	th := start(t, pat, newThread(fx, "Question"))
	id := th.ID

	t1 := at(fx, time.Minute)
	markRead(t, p1, id)
	afterFirst := conversation(t, pat, id)
	wantClock(t, "Updated after a first read", afterFirst.Updated, t1)
	t2 := at(fx, time.Minute)
	markRead(t, p2, id)
	at(fx, time.Minute)
	markRead(t, p1, id) // read again: the first read stays
	c := conversation(t, pat, id)
	wantClock(t, "Updated after the second practitioner's read", c.Updated, t2)
	rb := c.Messages[0].ReadBy
	if len(rb) != 2 || rb[0].Reader.Kind != portal.AuthorPractitioner || rb[0].Reader.ID != fx.Practitioners[0] ||
		rb[1].Reader.ID != fx.Practitioners[1] || rb[1].Reader.Kind != portal.AuthorPractitioner {
		t.Fatalf("ReadBy = %+v, want the two practitioners, first read first", rb)
	}
	wantClock(t, "first practitioner's read", rb[0].At, t1)
	wantClock(t, "second practitioner's read", rb[1].At, t2)
	if rb[0].Reader.Name == "" {
		t.Errorf("ReadBy[0] has no name: the patient sees who read")
	}
	sameConversation(t, "the thread as two practitioners see it", conversation(t, p2, id), conversation(t, p1, id))

	at(fx, time.Minute)
	reply := send(t, p1, id, newMessage("Réponse"))
	if len(reply.ReadBy) != 0 {
		t.Errorf("a new reply is read by %+v, want nobody", reply.ReadBy)
	}
	markRead(t, p2, id) // the care team's own messages get no receipt from it
	t4 := at(fx, time.Minute)
	markRead(t, pat, id)
	c = conversation(t, p1, id)
	if got := c.Messages[1].ReadBy; len(got) != 1 || got[0].Reader.Kind != portal.AuthorPatient || got[0].Reader.ID != fx.Patients[0] {
		t.Errorf("the reply's ReadBy = %+v, want the patient only", got)
	} else {
		wantClock(t, "the patient's read", got[0].At, t4)
	}
	if got := c.Messages[0].ReadBy; len(got) != 2 {
		t.Errorf("the patient's own message is read by %+v after the patient read the thread, want the two practitioners", got)
	}
	// Reading again changes nothing, Updated included.
	before := conversation(t, pat, id)
	at(fx, time.Minute)
	markRead(t, pat, id)
	sameConversation(t, "after reading again", conversation(t, pat, id), before)
}

// Status, closing, assignment.

func testStatusTransitions(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	id := start(t, pat, newThread(fx, "Question")).ID
	status := func(what string, want portal.ThreadStatus) {
		t.Helper()
		for who, m := range map[string]portal.Messaging{"patient": pat, "practitioner": pra} {
			if got := conversation(t, m, id).Status; got != want {
				t.Errorf("%s: status as the %s %s, want %s", what, who, got, want)
			}
		}
	}
	status("started", portal.ThreadNew)
	send(t, pat, id, newMessage("Précision"))
	status("a second patient message before any answer", portal.ThreadNew)
	now := at(fx, time.Minute)
	send(t, pra, id, newMessage("Réponse"))
	status("answered", portal.ThreadAnswered)
	c := conversation(t, pat, id)
	wantClock(t, "LastMessage after the answer", c.LastMessage, now)
	wantClock(t, "Updated after the answer", c.Updated, now)
	send(t, pat, id, newMessage("Merci, et aussi…"))
	status("a patient message after the answer", portal.ThreadWaiting)
	send(t, pat, id, newMessage("… encore une chose"))
	status("another patient message", portal.ThreadWaiting)
	send(t, fx.AsPractitioner(t, fx.Practitioners[1]), id, newMessage("Réponse d'une collègue"))
	status("answered by another practitioner", portal.ThreadAnswered)
	send(t, pra, id, newMessage("Et un complément"))
	status("a second care-team message", portal.ThreadAnswered)
}

func testCloseReopen(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	id := start(t, pat, newThread(fx, "Question")).ID
	send(t, pra, id, newMessage("Réponse"))
	now := at(fx, time.Minute)
	closed, err := pra.Close(t.Context(), id)
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if closed.Status != portal.ThreadClosed || closed.ID != id {
		t.Errorf("Close = %+v, want thread %s closed", closed, id)
	}
	wantClock(t, "Updated after Close", closed.Updated, now)
	listed, _ := find(inbox(t, pra, fx, portal.InboxFilter{}), id)
	sameThread(t, "the closed thread as listed", listed, closed)
	if got := conversation(t, pat, id).Status; got != portal.ThreadClosed {
		t.Errorf("the patient sees status %s, want closed", got)
	}
	at(fx, time.Minute)
	again, err := fx.AsPractitioner(t, fx.Practitioners[1]).Close(t.Context(), id)
	if err != nil {
		t.Fatalf("Close again: %v", err)
	}
	sameThread(t, "Close of a closed thread", again, closed)

	// A patient message reopens the thread, waiting for the care team.
	send(t, pat, id, newMessage("Je n'ai pas tout compris"))
	if got := conversation(t, pra, id).Status; got != portal.ThreadWaiting {
		t.Errorf("after a patient message on a closed thread: status %s, want %s", got, portal.ThreadWaiting)
	}
	// A care-team message on a closed thread reopens it as answered.
	if _, err := pra.Close(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	send(t, pra, id, newMessage("Un dernier mot"))
	if got := conversation(t, pat, id).Status; got != portal.ThreadAnswered {
		t.Errorf("after a care-team message on a closed thread: status %s, want %s", got, portal.ThreadAnswered)
	}
}

func testAssign(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	p1, p2 := fx.AsPractitioner(t, fx.Practitioners[0]), fx.AsPractitioner(t, fx.Practitioners[1])
	id := start(t, pat, newThread(fx, "Question")).ID
	now := at(fx, time.Minute)
	got, err := p1.Assign(t.Context(), id)
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if got.AssignedTo != fx.Practitioners[0] || got.Status != portal.ThreadNew {
		t.Errorf("Assign = assigned to %q, status %s; want %s and the status unchanged", got.AssignedTo, got.Status, fx.Practitioners[0])
	}
	wantClock(t, "Updated after Assign", got.Updated, now)
	at(fx, time.Minute)
	again, err := p1.Assign(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	sameThread(t, "Assign to the assignee", again, got)
	for who, m := range map[string]portal.Messaging{"patient": pat, "other practitioner": p2} {
		if a := conversation(t, m, id).AssignedTo; a != fx.Practitioners[0] {
			t.Errorf("the %s sees it assigned to %q, want %s", who, a, fx.Practitioners[0])
		}
	}
	taken, err := p2.Assign(t.Context(), id)
	if err != nil || taken.AssignedTo != fx.Practitioners[1] {
		t.Errorf("Assign by a colleague = %q, %v; want %s", taken.AssignedTo, err, fx.Practitioners[1])
	}
	if th, _ := find(inbox(t, p1, fx, portal.InboxFilter{}), id); th.AssignedTo != fx.Practitioners[1] {
		t.Errorf("Inbox shows it assigned to %q, want %s", th.AssignedTo, fx.Practitioners[1])
	}
}

// Bad input.

func testInvalidMessage(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	th := start(t, pat, newThread(fx, "Question"))
	before := conversation(t, pat, th.ID)
	pdf := attachment(t, "a.pdf", samplePDF(64))
	tests := []struct {
		name string
		msg  portal.NewMessage
		code portal.ErrorCode
	}{
		{"Empty", newMessage(""), portal.ErrInvalid},
		{"Spaces", newMessage(" \n\t "), portal.ErrInvalid},
		{"TooLong", newMessage(strings.Repeat("é", portal.MaxMessageBody+1)), portal.ErrTooLarge},
		{"NUL", newMessage("bonjour\x00"), portal.ErrInvalid},
		{"ControlCharacter", newMessage("bon\x1bjour"), portal.ErrInvalid},
		{"NoClientID", portal.NewMessage{Body: "bonjour"}, portal.ErrIdempotencyKeyMissing},
		{"ShortClientID", portal.NewMessage{ClientID: "short", Body: "bonjour"}, portal.ErrInvalid},
		{"TooManyAttachments", newMessage("bonjour", slices.Repeat([]portal.NewAttachment{pdf}, portal.MaxAttachments+1)...), portal.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for who, m := range map[string]portal.Messaging{"patient": pat, "practitioner": fx.AsPractitioner(t, fx.Practitioners[0])} {
				_, err := m.Send(t.Context(), th.ID, tc.msg)
				wantCode(t, err, tc.code, who+": Send")
			}
			sameConversation(t, "after the refused message", conversation(t, pat, th.ID), before)
		})
	}
}

func testInvalidThread(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	tests := []struct {
		name   string
		change func(*portal.NewThread)
		code   portal.ErrorCode
	}{
		{"NoEstablishment", func(nt *portal.NewThread) { nt.Establishment = "" }, portal.ErrInvalid},
		{"NoService", func(nt *portal.NewThread) { nt.Service = "" }, portal.ErrInvalid},
		{"NoSubject", func(nt *portal.NewThread) { nt.Subject = "" }, portal.ErrInvalid},
		{"SubjectOfSpaces", func(nt *portal.NewThread) { nt.Subject = "   " }, portal.ErrInvalid},
		{"SubjectOnTwoLines", func(nt *portal.NewThread) { nt.Subject = "Question\nurgente" }, portal.ErrInvalid},
		{"SubjectTooLong", func(nt *portal.NewThread) { nt.Subject = strings.Repeat("é", portal.MaxThreadSubject+1) }, portal.ErrTooLarge},
		{"NoBody", func(nt *portal.NewThread) { nt.Body = "" }, portal.ErrInvalid},
		{"BodyWithNUL", func(nt *portal.NewThread) { nt.Body = "\x00" }, portal.ErrInvalid},
		{"BodyTooLong", func(nt *portal.NewThread) { nt.Body = strings.Repeat("a", portal.MaxMessageBody+1) }, portal.ErrTooLarge},
		{"NoClientID", func(nt *portal.NewThread) { nt.ClientID = "" }, portal.ErrIdempotencyKeyMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nt := newThread(fx, "Question")
			tc.change(&nt)
			_, err := pat.StartThread(t.Context(), nt)
			wantCode(t, err, tc.code, "StartThread")
			if ts := threads(t, pat, fx); len(ts) != 0 {
				t.Errorf("Threads = %d after a refused StartThread, want none", len(ts))
			}
		})
	}
}

func testTextLimits(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	nt := newThread(fx, strings.Repeat("é", portal.MaxThreadSubject))
	nt.Body = strings.Repeat("€", portal.MaxMessageBody)
	th := start(t, pat, nt)
	c := conversation(t, pat, th.ID)
	if c.Subject != nt.Subject || c.Messages[0].Body != nt.Body {
		t.Errorf("a subject of %d and a body of %d characters were not kept as sent", portal.MaxThreadSubject, portal.MaxMessageBody)
	}
	body := "Ligne 1\r\nLigne 2\n\tindentée — « guillemets » 😀"
	if got := send(t, pat, th.ID, newMessage(body)); got.Body != body {
		t.Errorf("Send kept %q, want %q as sent", got.Body, body)
	}
}

// Attachments.

func testAttachments(t *testing.T, fx MessagingFixture) {
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	th := start(t, pat, newThread(fx, "Documents"))
	files := []portal.NewAttachment{
		attachment(t, "Compte-rendu.PDF", samplePDF(4096)),
		attachment(t, "photo.jpg", sampleJPEG),
		attachment(t, "capture.png", samplePNG),
	}
	msg := send(t, pra, th.ID, newMessage("Voici vos documents.", files...))
	if len(msg.Attachments) != len(files) {
		t.Fatalf("%d attachments stored, want %d", len(msg.Attachments), len(files))
	}
	ids := map[string]bool{}
	for i, f := range files {
		meta := msg.Attachments[i]
		want := portal.AttachmentMeta{ID: meta.ID, Name: f.Name, ContentType: f.ContentType, Size: int64(len(f.Content)), SHA256: digest(f.Content)}
		if meta != want || meta.ID == "" || ids[meta.ID] {
			t.Errorf("attachment %d = %+v, want %+v with an id of its own", i, meta, want)
		}
		ids[meta.ID] = true
		for who, m := range map[string]portal.Messaging{"patient": pat, "practitioner": pra} {
			got, content, err := m.Attachment(t.Context(), msg.ID, meta.ID)
			if err != nil || got != meta || !bytes.Equal(content, f.Content) {
				t.Errorf("Attachment %d as the %s = %+v, %d bytes, %v; want %+v and the bytes sent", i, who, got, len(content), err, meta)
			}
		}
	}
	// Asked with another message's id, an attachment is unknown.
	first := th.Messages[0]
	_, _, err := pat.Attachment(t.Context(), first.ID, msg.Attachments[0].ID)
	wantCode(t, err, portal.ErrNotFound, "Attachment with another message's id")
	sameMessage(t, "Thread's copy of the message", conversation(t, pat, th.ID).Messages[1], msg)
}

func testAttachmentTooLarge(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	limit := int(fx.MaxAttachmentSize)
	th := start(t, pat, newThread(fx, "Gros fichier"))
	before := conversation(t, pat, th.ID)

	wantAttachmentRefused(t, fx, pat, before, attachment(t, "gros.pdf", samplePDF(limit+1)), portal.ErrAttachmentTooLarge)

	exact := attachment(t, "juste.pdf", samplePDF(limit))
	msg := send(t, pat, th.ID, newMessage("Fichier joint", exact))
	_, content, err := pat.Attachment(t.Context(), msg.ID, msg.Attachments[0].ID)
	if err != nil || !bytes.Equal(content, exact.Content) {
		t.Errorf("an attachment of exactly the limit, %d bytes: %d bytes back, %v", limit, len(content), err)
	}
}

// wantAttachmentRefused fails t unless a is refused with code, in a message
// of before's thread and in a new thread, and nothing is stored: before is
// the patient's only thread, and stays as it was.
func wantAttachmentRefused(t *testing.T, fx MessagingFixture, pat portal.Messaging, before portal.Conversation, a portal.NewAttachment, code portal.ErrorCode) {
	t.Helper()
	_, err := pat.Send(t.Context(), before.ID, newMessage("Voici le fichier", a))
	wantCode(t, err, code, "Send("+a.Name+")")
	nt := newThread(fx, "Fichier refusé")
	nt.Attachments = []portal.NewAttachment{a}
	_, err = pat.StartThread(t.Context(), nt)
	wantCode(t, err, code, "StartThread("+a.Name+")")
	sameConversation(t, "after the refused attachment", conversation(t, pat, before.ID), before)
	if ts := threads(t, pat, fx); len(ts) != 1 {
		t.Errorf("Threads = %d after a refused StartThread, want 1", len(ts))
	}
}

func testAttachmentRejected(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	th := start(t, pat, newThread(fx, "Pièce jointe"))
	before := conversation(t, pat, th.ID)
	pdf := samplePDF(256)
	tests := []struct {
		name, file, contentType string
		content                 []byte
	}{
		{"HTMLAsPDF", "resultats.pdf", portal.ContentTypePDF, []byte("<!DOCTYPE html><script>alert(1)</script>%PDF-1.7")},
		{"HTMLAfterSpaces", "resultats.pdf", portal.ContentTypePDF, []byte("  <html><body>%PDF-1.7</body></html>")},
		{"PDFHeaderNotAtStart", "resultats.pdf", portal.ContentTypePDF, append([]byte("\n"), pdf...)},
		{"WindowsExecutableAsPDF", "ordonnance.pdf", portal.ContentTypePDF, append([]byte("MZ\x90\x00\x03\x00\x00\x00"), pdf...)},
		{"ELFAsPDF", "ordonnance.pdf", portal.ContentTypePDF, append([]byte("\x7fELF\x02\x01\x01"), pdf...)},
		{"SVG", "image.png", portal.ContentTypePNG, []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)},
		{"PlainText", "note.pdf", portal.ContentTypePDF, []byte("bonjour")},
		{"Empty", "vide.pdf", portal.ContentTypePDF, nil},
		{"PDFNamedExe", "ordonnance.exe", portal.ContentTypePDF, pdf},
		{"PDFNamedHTML", "ordonnance.pdf.html", portal.ContentTypePDF, pdf},
		{"PDFWithoutExtension", "ordonnance", portal.ContentTypePDF, pdf},
		{"ImageNamedPDF", "photo.pdf", portal.ContentTypeJPEG, sampleJPEG},
		{"DeclaredAsAnotherType", "ordonnance.pdf", portal.ContentTypePNG, pdf},
		{"NotDeclared", "ordonnance.pdf", "", pdf},
		{"NameWithDirectory", "../../ordonnance.pdf", portal.ContentTypePDF, pdf},
		{"NameWithBidiOverride", "ordonnance\u202efdp.exe", portal.ContentTypePDF, pdf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := portal.NewAttachment{Name: tc.file, ContentType: tc.contentType, Content: tc.content}
			wantAttachmentRefused(t, fx, pat, before, a, portal.ErrAttachmentRejected)
		})
	}
}

func testAttachmentOfAnotherPatient(t *testing.T, fx MessagingFixture) {
	owner, other := fx.AsPatient(t, fx.Patients[0]), fx.AsPatient(t, fx.Patients[1])
	th := start(t, owner, newThread(fx, "Mes résultats"))
	msg := send(t, owner, th.ID, newMessage("Le PDF", attachment(t, "bilan.pdf", samplePDF(300))))
	att := msg.Attachments[0].ID
	// The other patient has an attachment of their own, to ask with its message id.
	mine := start(t, other, newThread(fx, "Les miens"))
	mineMsg := send(t, other, mine.ID, newMessage("Le mien", attachment(t, "moi.png", samplePNG)))
	ctx := t.Context()

	_, _, err := other.Attachment(ctx, msg.ID, att)
	_, _, errUnknown := other.Attachment(ctx, unknownID, unknownID)
	wantNotFoundAsUnknown(t, err, errUnknown, "Attachment of another patient")
	_, _, err = other.Attachment(ctx, mineMsg.ID, att)
	wantNotFoundAsUnknown(t, err, errUnknown, "another patient's attachment asked with one's own message id")
	if _, content, err := owner.Attachment(ctx, msg.ID, att); err != nil || len(content) != 300 {
		t.Errorf("the owner's Attachment = %d bytes, %v", len(content), err)
	}
}

// Links.

func testStartWithoutLink(t *testing.T, fx MessagingFixture) {
	unlinked := fx.AsPatient(t, fx.Unlinked)
	pra := fx.AsPractitioner(t, fx.Practitioners[0])
	nt := newThread(fx, "Sans lien")
	_, err := unlinked.StartThread(t.Context(), nt)
	wantCode(t, err, portal.ErrServiceNotLinked, "StartThread by a patient without a link to the service")
	_, err = unlinked.StartThread(t.Context(), nt) // a retry: still refused
	wantCode(t, err, portal.ErrServiceNotLinked, "StartThread retried")
	if ts := threads(t, unlinked, fx); len(ts) != 0 {
		t.Errorf("Threads of the unlinked patient = %d, want none", len(ts))
	}
	for _, th := range inbox(t, pra, fx, portal.InboxFilter{}) {
		if th.Patient == fx.Unlinked {
			t.Errorf("the refused thread is in the inbox: %+v", th)
		}
	}
	// A patient linked to Service is not linked to OtherService by it.
	pat := fx.AsPatient(t, fx.Patients[0])
	start(t, pat, newThread(fx, "Avec lien"))
	other := newThread(fx, "Autre service")
	other.Service = fx.OtherService
	_, err = pat.StartThread(t.Context(), other)
	wantCode(t, err, portal.ErrServiceNotLinked, "StartThread in a service without a link")
	if ts := threads(t, pat, fx); len(ts) != 1 {
		t.Errorf("Threads = %d, want the one of Service", len(ts))
	}
}

func testStartUnknownService(t *testing.T, fx MessagingFixture) {
	pat := fx.AsPatient(t, fx.Patients[0])
	nt := newThread(fx, "Service inconnu")
	nt.Service = unknownID
	_, err := pat.StartThread(t.Context(), nt)
	wantCode(t, err, portal.ErrNotFound, "StartThread(unknown service)")
	nt = newThread(fx, "Établissement inconnu")
	nt.Establishment = unknownID
	_, err = pat.StartThread(t.Context(), nt)
	wantCode(t, err, portal.ErrNotFound, "StartThread(unknown establishment)")
	if ts := threads(t, pat, fx); len(ts) != 0 {
		t.Errorf("Threads = %d, want none", len(ts))
	}
}

// Outbox.

// outbox returns the fixture's outbox, or skips t.
func outbox(t *testing.T, fx MessagingFixture) portal.Notifications {
	t.Helper()
	if fx.Outbox == nil {
		t.Skip("the fixture has no outbox (Outbox is nil)")
	}
	return fx.Outbox
}

func claim(t *testing.T, o portal.Notifications, limit int, lease time.Duration) []portal.Notification {
	t.Helper()
	ns, err := o.ClaimNotifications(t.Context(), limit, lease)
	if err != nil {
		t.Fatalf("ClaimNotifications(%d, %s): %v", limit, lease, err)
	}
	return ns
}

func messageIDs(ns []portal.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Message)
	}
	return out
}

func testOutboxOnePerMessage(t *testing.T, fx MessagingFixture) {
	o := outbox(t, fx)
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	nt := newThread(fx, "Notifications")
	th := start(t, pat, nt)
	start(t, pat, nt) // a retry
	reply := newMessage("Réponse")
	ids, errs := concurrently(func() (string, error) {
		m, err := pra.Send(t.Context(), th.ID, reply)
		return m.ID, err
	})
	wantOneID(t, ids, errs)
	thanks := newMessage("Merci")
	send(t, pat, th.ID, thanks)
	send(t, pat, th.ID, thanks)
	// Refused calls raise nothing.
	_, err := pat.Send(t.Context(), th.ID, portal.NewMessage{ClientID: thanks.ClientID, Body: "autre chose"})
	wantCode(t, err, portal.ErrIdempotencyKeyReused, "Send(reused client id)")
	_, err = pat.Send(t.Context(), th.ID, newMessage(""))
	wantCode(t, err, portal.ErrInvalid, "Send(empty)")
	_, err = fx.AsPatient(t, fx.Unlinked).StartThread(t.Context(), newThread(fx, "Sans lien"))
	wantCode(t, err, portal.ErrServiceNotLinked, "StartThread(unlinked)")
	_, err = fx.AsPatient(t, fx.Patients[1]).Send(t.Context(), th.ID, newMessage("intrusion"))
	wantCode(t, err, portal.ErrNotFound, "Send(another patient's thread)")

	c := conversation(t, pat, th.ID)
	if len(c.Messages) != 3 {
		t.Fatalf("%d messages, want 3", len(c.Messages))
	}
	ns := claim(t, o, portal.MaxNotificationClaim, time.Minute)
	var want []string
	for _, m := range c.Messages {
		want = append(want, m.ID)
	}
	if got := messageIDs(ns); !slices.Equal(got, want) {
		t.Fatalf("notifications for messages %q, want one per message, oldest first: %q", got, want)
	}
	for i, n := range ns {
		recipient := portal.AuthorPractitioner
		if c.Messages[i].Author.Kind == portal.AuthorPractitioner {
			recipient = portal.AuthorPatient
		}
		if n.ID == 0 || n.Thread != th.ID || n.Establishment != fx.Establishment || n.Service != fx.Service ||
			n.Patient != fx.Patients[0] || n.Recipient != recipient || n.Attempts != 1 || !n.Created.Equal(c.Messages[i].Created) {
			t.Errorf("notification %d = %+v, want one for the %s side of thread %s, created with its message at %s, first attempt",
				i, n, recipient, th.ID, c.Messages[i].Created)
		}
	}
}

func testOutboxLease(t *testing.T, fx MessagingFixture) {
	o := outbox(t, fx)
	pat := fx.AsPatient(t, fx.Patients[0])
	th := start(t, pat, newThread(fx, "Notifications"))
	at(fx, time.Second)
	send(t, pat, th.ID, newMessage("Deux"))
	at(fx, time.Second)
	send(t, pat, th.ID, newMessage("Trois"))
	msgs := conversation(t, pat, th.ID).Messages
	ctx := t.Context()

	first := claim(t, o, 2, time.Minute)
	if got := messageIDs(first); !slices.Equal(got, []string{msgs[0].ID, msgs[1].ID}) {
		t.Fatalf("first claim = %q, want the two oldest", got)
	}
	second := claim(t, o, 10, time.Minute)
	if got := messageIDs(second); !slices.Equal(got, []string{msgs[2].ID}) {
		t.Fatalf("second claim = %q, want the one not claimed", got)
	}
	if got := claim(t, o, 10, time.Minute); len(got) != 0 {
		t.Fatalf("a claim while every lease runs = %q, want none", messageIDs(got))
	}
	if err := o.AckNotification(ctx, first[0].ID); err != nil {
		t.Fatalf("AckNotification: %v", err)
	}
	if err := o.AckNotification(ctx, first[0].ID); err != nil {
		t.Errorf("AckNotification again: %v, want nil", err)
	}
	if err := o.AckNotification(ctx, second[0].ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, o.AckNotification(ctx, -1), portal.ErrNotFound, "AckNotification(unknown)")

	// Just before the lease ends, nothing; once it ended, the claimed
	// notification nobody acknowledged comes back, a second attempt.
	at(fx, time.Minute-time.Second)
	if got := claim(t, o, 10, time.Minute); len(got) != 0 {
		t.Fatalf("a claim before the lease ended = %q, want none", messageIDs(got))
	}
	at(fx, time.Second)
	back := claim(t, o, 10, time.Minute)
	if len(back) != 1 || back[0].ID != first[1].ID || back[0].Message != msgs[1].ID || back[0].Attempts != 2 {
		t.Fatalf("the claim after the lease = %+v, want notification %d again, attempt 2", back, first[1].ID)
	}
	if err := o.AckNotification(ctx, back[0].ID); err != nil {
		t.Fatal(err)
	}
	at(fx, time.Hour)
	if got := claim(t, o, 10, time.Minute); len(got) != 0 {
		t.Errorf("a claim once all were acknowledged = %q, want none", messageIDs(got))
	}
	// An acknowledged notification stays acknowledged after a new message.
	send(t, pat, th.ID, newMessage("Quatre"))
	if got := claim(t, o, 10, time.Minute); len(got) != 1 || got[0].Attempts != 1 {
		t.Errorf("claim after a fourth message = %+v, want its notification only", got)
	}
}

func testOutboxInvalid(t *testing.T, fx MessagingFixture) {
	o := outbox(t, fx)
	for _, tc := range []struct {
		limit int
		lease time.Duration
	}{{0, time.Minute}, {-1, time.Minute}, {portal.MaxNotificationClaim + 1, time.Minute}, {1, 0}, {1, -time.Minute}} {
		_, err := o.ClaimNotifications(t.Context(), tc.limit, tc.lease)
		wantCode(t, err, portal.ErrInvalid, fmt.Sprintf("ClaimNotifications(%d, %s)", tc.limit, tc.lease))
	}
}
