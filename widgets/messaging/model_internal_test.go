package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

// These tests drive the machine by hand, action by action, to put answers
// in the orders a slow network can produce; the flows through a real host
// are in messaging_test.go.

// fake answers the calls a tick makes; sends fail for the client ids in fail.
type fake struct {
	Backend
	patient string
	sent    []string
	fail    map[string]error
}

func (f *fake) CurrentPatient(context.Context) (*portal.Patient, error) {
	return &portal.Patient{ID: f.patient}, nil
}
func (f *fake) Threads(context.Context, string) ([]portal.Thread, error) { return nil, nil }
func (f *fake) Thread(_ context.Context, id string) (portal.Conversation, error) {
	return portal.Conversation{Thread: portal.Thread{ID: id}}, nil
}
func (f *fake) MarkRead(context.Context, string) error { return nil }
func (f *fake) Send(_ context.Context, thread string, m portal.NewMessage) (portal.Message, error) {
	if err := f.fail[m.ClientID]; err != nil {
		return portal.Message{}, err
	}
	f.sent = append(f.sent, m.Body)
	return portal.Message{ID: "m-" + m.ClientID, Thread: thread, ClientID: m.ClientID, Body: m.Body,
		Author: portal.Author{Kind: portal.AuthorPatient, ID: f.patient}}, nil
}

// signedInAs returns a patient's model with a conversation open.
func signedInAs(patient, thread string) *Model {
	m := NewModel(Patient, "fr", "est", "")
	m.Loading = false
	m.Patient = &portal.Patient{ID: patient}
	m.Screen = ScreenThread
	m.Conv = &portal.Conversation{Thread: portal.Thread{ID: thread}}
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	m.Now = func() time.Time { return start }
	return m
}

var offlineErr = portal.Errorf(portal.ErrBackendUnavailable, "network is unreachable")

func TestLateAnswersOfAPreviousSessionAreDropped(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Screen, m.Conv = ScreenList, nil
	m.Apply(Action{Kind: Open, ID: "thr-a"}) // A's thread, on a stalled network
	seqA := m.seq
	m.Apply(Action{Kind: Tick})
	m.Apply(Action{Kind: signedOut})
	m.DemoChoice = "pat-b"
	m.Apply(Action{Kind: SignIn})
	m.Apply(Action{Kind: signedIn, seq: m.seq, patient: &portal.Patient{ID: "pat-b"}, threads: []portal.Thread{{ID: "thr-b"}}})
	m.Apply(Action{Kind: Open, ID: "thr-b"})
	if m.seq == seqA {
		t.Fatal("a new session reused a screen number")
	}
	// A's answers arrive now.
	m.Apply(Action{Kind: opened, seq: seqA, conv: &portal.Conversation{Thread: portal.Thread{ID: "thr-a", Subject: "A's secret"}}})
	m.Apply(Action{Kind: refreshed, seq: seqA, threads: []portal.Thread{{ID: "thr-a"}}})
	m.Apply(Action{Kind: loaded, seq: seqA, patient: &portal.Patient{ID: "pat-a"}})
	if m.Conv != nil || len(m.Threads) != 1 || m.Threads[0].ID != "thr-b" || m.Patient.ID != "pat-b" {
		t.Fatalf("B sees %+v, threads %+v, as %+v", m.Conv, m.Threads, m.Patient)
	}
}

func TestTheOutboxIsOnlyEverSentByItsOwner(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Body = "A's words"
	m.Apply(Action{Kind: Send})
	id := m.Outbox[0].ClientID
	// A's session expired: the message waits for A to come back.
	m.Apply(Action{Kind: sendFailed, ID: id, err: portal.Errorf(portal.ErrUnauthenticated, "expired")})
	if len(m.Outbox) != 1 || m.Patient != nil || m.Outbox[0].State != Waiting {
		t.Fatalf("after the session expired: outbox %+v, patient %v", m.Outbox, m.Patient)
	}
	// B signs in on the same device: A's message is dropped, never sent as B's.
	m.Apply(Action{Kind: SignIn})
	m.DemoChoice = "pat-b"
	m.Apply(Action{Kind: SignIn})
	m.Apply(Action{Kind: signedIn, seq: m.seq, patient: &portal.Patient{ID: "pat-b"}})
	if len(m.Outbox) != 0 {
		t.Fatalf("B's widget holds A's message: %+v", m.Outbox)
	}

	// The same person back: the message goes at the next tick.
	m = signedInAs("pat-a", "thr-a")
	m.Body = "A again"
	m.Apply(Action{Kind: Send})
	m.Apply(Action{Kind: sendFailed, ID: m.Outbox[0].ClientID, err: portal.Errorf(portal.ErrUnauthenticated, "expired")})
	m.DemoChoice = "pat-a"
	m.Apply(Action{Kind: SignIn})
	m.Apply(Action{Kind: signedIn, seq: m.seq, patient: &portal.Patient{ID: "pat-a"}})
	m.Now = func() time.Time { return time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC) }
	b := &fake{patient: "pat-a"}
	cmd := m.Apply(Action{Kind: Tick})
	if cmd == nil {
		t.Fatal("no tick")
	}
	m.Apply(cmd(context.Background(), b))
	if len(b.sent) != 1 || b.sent[0] != "A again" || len(m.Outbox) != 0 {
		t.Fatalf("sent %q, outbox %+v", b.sent, m.Outbox)
	}
}

func TestATickSendsNothingInAnotherPersonsSession(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Body = "A's words"
	m.Apply(Action{Kind: Send})
	m.Apply(Action{Kind: sendFailed, ID: m.Outbox[0].ClientID, err: offlineErr})
	m.Now = func() time.Time { return time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC) }
	// Another tab signed B in: the host's session is B's.
	b := &fake{patient: "pat-b"}
	cmd := m.Apply(Action{Kind: Tick})
	m.Apply(cmd(context.Background(), b))
	if len(b.sent) != 0 {
		t.Fatalf("A's message was sent in B's session: %q", b.sent)
	}
	if m.Patient != nil || m.Conv != nil {
		t.Fatalf("the widget still shows A's data under B's session: %+v %+v", m.Patient, m.Conv)
	}
}

func TestMessagesLeaveInTheOrderTheyWereWritten(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Body = "first"
	first := m.Apply(Action{Kind: Send})
	m.Body = "second"
	if cmd := m.Apply(Action{Kind: Send}); cmd != nil || m.Outbox[1].State != Waiting {
		t.Fatalf("the second message did not wait behind the first: %+v", m.Outbox)
	}
	b := &fake{patient: "pat-a", fail: map[string]error{}}
	b.fail[m.Outbox[0].ClientID] = portal.Errorf(portal.ErrInternal, "the host failed")
	m.Apply(first(context.Background(), b)) // the first fails
	if m.Apply(Action{Kind: RetrySend, ID: m.Outbox[1].ClientID}) != nil {
		t.Fatal("the second message can be sent before the first")
	}
	m.Now = func() time.Time { return time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC) }
	cmd := m.Apply(Action{Kind: Tick})
	m.Apply(cmd(context.Background(), b)) // the first fails again: the second is not tried
	if len(b.sent) != 0 || m.Outbox[1].Tries != 0 {
		t.Fatalf("sent %q; second %+v", b.sent, m.Outbox[1])
	}
	delete(b.fail, m.Outbox[0].ClientID)
	m.Now = func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }
	cmd = m.Apply(Action{Kind: Tick})
	m.Apply(cmd(context.Background(), b))
	if len(b.sent) != 2 || b.sent[0] != "first" || b.sent[1] != "second" || len(m.Outbox) != 0 {
		t.Fatalf("sent %q, outbox %+v", b.sent, m.Outbox)
	}
}

func TestACrashedEffectDoesNotFreezeTheWidget(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Body = "words"
	m.Apply(Action{Kind: Send})
	m.Apply(Action{Kind: Tick})
	m.Apply(Action{Kind: Crashed})
	if m.refreshing || m.Loading || m.Outbox[0].State != Waiting {
		t.Fatalf("after a crash: refreshing %v loading %v outbox %+v", m.refreshing, m.Loading, m.Outbox)
	}
	b := &fake{patient: "pat-a"}
	cmd := m.Apply(Action{Kind: Tick})
	if cmd == nil {
		t.Fatal("ticks stopped after a crash")
	}
	if m.Outbox[0].State != Waiting {
		t.Error("the message is resent before its back-off")
	}
	m.Apply(cmd(context.Background(), b))
	m.Now = func() time.Time { return time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC) }
	cmd = m.Apply(Action{Kind: Tick})
	m.Apply(cmd(context.Background(), b))
	if len(b.sent) != 1 || len(m.Outbox) != 0 {
		t.Fatalf("after the back-off: sent %q, outbox %+v", b.sent, m.Outbox)
	}
}

func TestOnlyARefusedMessageCanBeEdited(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Body = "maybe stored"
	m.Apply(Action{Kind: Send})
	id := m.Outbox[0].ClientID
	m.Apply(Action{Kind: sendFailed, ID: id, err: offlineErr}) // stored? nobody knows
	m.Apply(Action{Kind: Discard, ID: id})
	if len(m.Outbox) != 1 {
		t.Fatal("a message that may be stored went back to the composer (it could be sent twice)")
	}
	m.Apply(Action{Kind: sendFailed, ID: id, err: portal.Errorf(portal.ErrAttachmentRejected, "no")})
	m.Body = "new draft"
	m.Apply(Action{Kind: Discard, ID: id})
	if len(m.Outbox) != 0 || m.Body != "maybe stored\n\nnew draft" {
		t.Fatalf("outbox %+v, composer %q", m.Outbox, m.Body)
	}
}

// TestDiscardKeepsEveryFile: a refused message's files come back to the
// composer with the ones attached since, all of them: past the limit the
// patient is told and removes some; nothing is dropped unsaid, and nothing
// over the limit is sent.
func TestDiscardKeepsEveryFile(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	file := func(name string) File {
		return File{Name: name, ContentType: "application/pdf", Content: []byte("%PDF-1.7")}
	}
	m.Body = "résultats"
	for i := range 3 {
		m.Files = append(m.Files, file(fmt.Sprintf("refused-%d.pdf", i)))
	}
	m.Apply(Action{Kind: Send})
	id := m.Outbox[0].ClientID
	m.Apply(Action{Kind: sendFailed, ID: id, err: portal.Errorf(portal.ErrAttachmentTooLarge, "no")})
	m.Files = []File{file("new-1.pdf"), file("new-2.pdf"), file("new-3.pdf")}
	m.Apply(Action{Kind: Discard, ID: id})
	if len(m.Files) != 6 || m.FileErr == "" {
		t.Fatalf("%d files in the composer, error %q: want all 6 and a word about the limit", len(m.Files), m.FileErr)
	}
	if cmd := m.Apply(Action{Kind: Send}); cmd != nil || len(m.Outbox) != 0 {
		t.Fatalf("%d files sent, over the limit of %d", len(m.Files), portal.MaxAttachments)
	}
	m.Apply(Action{Kind: RemoveFile, Index: 0})
	if cmd := m.Apply(Action{Kind: Send}); cmd == nil || len(m.Outbox) != 1 || len(m.Outbox[0].Files) != portal.MaxAttachments {
		t.Fatalf("after removing one: outbox %d", len(m.Outbox))
	}
}

func TestFilesReadForAScreenLeftAreDropped(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	seq := m.Composer()
	m.Apply(Action{Kind: ReadingFiles, Seq: seq, Index: 1})
	if m.Apply(Action{Kind: Send}) != nil || m.FileSlots() != portal.MaxAttachments-1 {
		t.Fatal("a message can be sent while its files are read")
	}
	m.Apply(Action{Kind: Back})
	m.Apply(Action{Kind: Open, ID: "thr-other"})
	m.Apply(Action{Kind: AddFiles, Seq: seq, Index: 1, Files: []File{{Name: "a.pdf", Content: []byte("%PDF-1.4\n"), Size: 9}}})
	if len(m.Files) != 0 || m.Reading() != 0 {
		t.Fatalf("files of another thread's composer attached here: %+v (reading %d)", m.Files, m.Reading())
	}
}

// TestFilesReadBeforeASignOut: a read started by one person and finished
// after they signed out and someone else signed in attaches nothing to the
// new person's composer, and does not let the new person send while their
// own file is still being read (a message would leave without it).
func TestFilesReadBeforeASignOut(t *testing.T) {
	pdf := func(name string) File { return File{Name: name, Content: []byte("%PDF-1.4\n"), Size: 9} }
	m := signedInAs("pat-a", "thr-a")
	seqA := m.Composer()
	m.Apply(Action{Kind: ReadingFiles, Seq: seqA, Index: 2})
	m.Apply(Action{Kind: signedOut})
	m.DemoChoice = "pat-b"
	m.Apply(Action{Kind: SignIn})
	m.Apply(Action{Kind: signedIn, seq: m.seq, patient: &portal.Patient{ID: "pat-b"}, threads: []portal.Thread{{ID: "thr-b"}}})
	m.Apply(Action{Kind: Open, ID: "thr-b"})
	m.Apply(Action{Kind: opened, seq: m.seq, conv: &portal.Conversation{Thread: portal.Thread{ID: "thr-b"}}})
	if m.Reading() != 0 || m.FileSlots() != portal.MaxAttachments {
		t.Fatalf("the previous person's read counts in the new composer: reading %d, %d slots", m.Reading(), m.FileSlots())
	}
	m.Apply(Action{Kind: TypeBody, Value: "B's question"})
	seqB := m.Composer()
	m.Apply(Action{Kind: ReadingFiles, Seq: seqB, Index: 1})

	// A's read finishes now.
	m.Apply(Action{Kind: AddFiles, Seq: seqA, Index: 2, Files: []File{pdf("a-1.pdf"), pdf("a-2.pdf")}})
	if len(m.Files) != 0 {
		t.Fatalf("the previous person's files in the new composer: %+v", m.Files)
	}
	if m.Reading() != 1 {
		t.Fatalf("reading %d, want B's one file", m.Reading())
	}
	if cmd := m.Apply(Action{Kind: Send}); cmd != nil || len(m.Outbox) != 0 {
		t.Fatal("B's message sent while B's file is still being read")
	}

	m.Apply(Action{Kind: AddFiles, Seq: seqB, Index: 1, Files: []File{pdf("b.pdf")}})
	if m.Reading() != 0 || len(m.Files) != 1 || m.Files[0].Name != "b.pdf" {
		t.Fatalf("B's file: reading %d, files %+v", m.Reading(), m.Files)
	}
	if cmd := m.Apply(Action{Kind: Send}); cmd == nil || len(m.Outbox) != 1 || len(m.Outbox[0].Files) != 1 || m.Outbox[0].Files[0].Name != "b.pdf" {
		t.Fatalf("B's message with B's file: outbox %+v", m.Outbox)
	}
}

func TestADraftWaitsForTheReturnToItsThread(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Apply(Action{Kind: TypeBody, Value: "half a question"})
	m.Apply(Action{Kind: Back})
	m.Apply(Action{Kind: Open, ID: "thr-b"})
	if m.Body != "" {
		t.Fatalf("thr-a's draft shows in thr-b: %q", m.Body)
	}
	m.Apply(Action{Kind: opened, seq: m.seq, conv: &portal.Conversation{Thread: portal.Thread{ID: "thr-b"}}})
	m.Apply(Action{Kind: Open, ID: "thr-a"})
	if m.Body != "half a question" {
		t.Fatalf("back in thr-a, the composer holds %q", m.Body)
	}
	m.Apply(Action{Kind: signedOut})
	if len(m.drafts) != 0 || m.Body != "" {
		t.Fatal("drafts outlive the session")
	}
}

// twoSites is a host serving two establishments, "ch-sud" down.
type twoSites struct {
	Backend
	started []portal.NewThread
}

func (*twoSites) Establishments(context.Context) ([]portal.Establishment, error) {
	return []portal.Establishment{
		{ID: "chu", Name: "CHU", UrgentHelp: portal.Text{FR: "Appelez le 15 (CHU)."}},
		{ID: "ch-nord", Name: "CH Nord", UrgentHelp: portal.Text{FR: "Appelez le 15 (Nord)."}},
		{ID: "ch-sud", Name: "CH Sud"},
	}, nil
}
func (*twoSites) Services(_ context.Context, est string) ([]portal.Service, error) {
	return []portal.Service{{ID: "maternite", Establishment: est, Name: portal.Text{FR: "Maternité"}}}, nil
}
func (*twoSites) CurrentPatient(context.Context) (*portal.Patient, error) {
	return &portal.Patient{ID: "pat-a"}, nil
}
func (*twoSites) Threads(_ context.Context, est string) ([]portal.Thread, error) {
	switch est {
	case "ch-sud":
		return nil, portal.Errorf(portal.ErrBackendUnavailable, "down")
	case "chu":
		return []portal.Thread{{ID: "chu~t1", Establishment: est, Service: "maternite", LastMessage: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}}, nil
	}
	return []portal.Thread{{ID: "ch-nord~t2", Establishment: est, Service: "maternite", LastMessage: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}}, nil
}
func (s *twoSites) StartThread(_ context.Context, t portal.NewThread) (portal.Conversation, error) {
	s.started = append(s.started, t)
	return portal.Conversation{Thread: portal.Thread{ID: t.Establishment + "~new", Establishment: t.Establishment, Service: t.Service}}, nil
}

func TestMergedWidgetListsEveryEstablishment(t *testing.T) {
	b := &twoSites{}
	m := NewModel(Patient, "fr", "", "")
	if !m.Merged {
		t.Fatal("no establishment, not merged")
	}
	run(m, b, Action{Kind: Start})
	if m.Err != "" || len(m.Threads) != 2 || m.Threads[0].ID != "ch-nord~t2" {
		t.Fatalf("merged threads: err %q, %+v", m.Err, m.Threads)
	}
	if len(m.Missing) != 1 || m.Missing[0] != "ch-sud" {
		t.Errorf("missing %v", m.Missing)
	}
	c := &Messaging{M: m}
	if got := c.ThreadMeta(m.Threads[0]); !strings.Contains(got, "Maternité — CH Nord") {
		t.Errorf("thread meta %q", got)
	}
	if got := c.MissingText(); !strings.Contains(got, "CH Sud") {
		t.Errorf("notice %q", got)
	}
	// A new thread goes to the chosen service's establishment, with its
	// urgent-help text before writing.
	m.Apply(Action{Kind: Compose})
	m.Apply(Action{Kind: ChooseService, Value: "ch-nord/maternite"})
	if got := c.UrgentHelp(); got != "Appelez le 15 (Nord)." {
		t.Errorf("urgent help %q", got)
	}
	m.Apply(Action{Kind: TypeSubject, Value: "Question"})
	m.Apply(Action{Kind: TypeBody, Value: "Bonjour"})
	run(m, b, Action{Kind: Send})
	if len(b.started) != 1 || b.started[0].Establishment != "ch-nord" || b.started[0].Service != "maternite" {
		t.Fatalf("started %+v", b.started)
	}
}

// oneSite has cardiologie at CH Nord only.
type oneSite struct{ twoSites }

func (*oneSite) Services(_ context.Context, est string) ([]portal.Service, error) {
	if est == "ch-nord" {
		return []portal.Service{{ID: "cardiologie", Establishment: est, Name: portal.Text{FR: "Cardiologie"}}}, nil
	}
	return nil, nil
}

// TestMergedWidgetWithAServiceId: <parcours-messages service="…"> without
// an establishment names the service by its id. A new thread went to an
// establishment of that name, with no service; it now goes to the one
// establishment that has the service, or, when several do, to the one the
// patient chooses.
func TestMergedWidgetWithAServiceId(t *testing.T) {
	send := func(m *Model, b Backend) {
		t.Helper()
		m.Apply(Action{Kind: Compose})
		m.Apply(Action{Kind: TypeSubject, Value: "Question"})
		m.Apply(Action{Kind: TypeBody, Value: "Bonjour"})
		run(m, b, Action{Kind: Send})
	}
	one := &oneSite{}
	m := NewModel(Patient, "fr", "", "cardiologie")
	run(m, one, Action{Kind: Start})
	if m.Service != "ch-nord/cardiologie" {
		t.Fatalf("service %q, want CH Nord's cardiologie", m.Service)
	}
	if got := (&Messaging{M: m}).Title(); !strings.Contains(got, "Cardiologie") {
		t.Errorf("title %q", got)
	}
	send(m, one)
	if len(one.started) != 1 || one.started[0].Establishment != "ch-nord" || one.started[0].Service != "cardiologie" {
		t.Fatalf("started %+v", one.started)
	}
	// Three establishments have a maternity: the patient chooses.
	three := &twoSites{}
	m = NewModel(Patient, "fr", "", "maternite")
	run(m, three, Action{Kind: Start})
	if m.Service != "" || !strings.HasSuffix(m.NewService, "/maternite") {
		t.Fatalf("service %q, new %q: want a choice, a maternity preselected", m.Service, m.NewService)
	}
	send(m, three)
	if len(three.started) != 1 || three.started[0].Establishment == "" || three.started[0].Service != "maternite" {
		t.Fatalf("started %+v", three.started)
	}
}

// run applies a and follows its effects against b until none is left.
func run(m *Model, b Backend, a Action) {
	for cmd := m.Apply(a); cmd != nil; {
		cmd = m.Apply(cmd(context.Background(), b))
	}
}

// sessionFake has a session opened outside the widget ("" for nobody).
type sessionFake struct {
	Backend
	patient, pract string
}

func (f sessionFake) CurrentPatient(context.Context) (*portal.Patient, error) {
	if f.patient == "" {
		return nil, nil
	}
	return &portal.Patient{ID: f.patient}, nil
}
func (f sessionFake) CurrentPractitioner(context.Context) (*portal.Practitioner, error) {
	if f.pract == "" {
		return nil, nil
	}
	return &portal.Practitioner{ID: f.pract}, nil
}
func (sessionFake) Establishment(_ context.Context, id string) (portal.Establishment, error) {
	return portal.Establishment{ID: id}, nil
}
func (sessionFake) Services(context.Context, string) ([]portal.Service, error) { return nil, nil }
func (sessionFake) DemoPractitioners(context.Context) ([]portal.Practitioner, error) {
	return nil, nil
}
func (f sessionFake) Threads(context.Context, string) ([]portal.Thread, error) {
	return []portal.Thread{{ID: "thr-" + f.patient}}, nil
}
func (f sessionFake) Inbox(context.Context, string, portal.InboxFilter) ([]portal.Thread, error) {
	return []portal.Thread{{ID: "thr-" + f.pract}}, nil
}

func TestSessionChanged(t *testing.T) {
	signedOut := func(side Side) *Model {
		m := NewModel(side, "fr", "est", "")
		m.Loading = false
		m.DemoPatients = []portal.Patient{{ID: "demo"}}
		return m
	}
	m := signedOut(Patient)
	run(m, sessionFake{}, Action{Kind: SessionChanged})
	if m.Loading || m.Patient != nil || m.Err != "" || len(m.DemoPatients) != 1 || m.Notice != "" {
		t.Fatalf("nobody: loading %v patient %v err %q notice %q", m.Loading, m.Patient, m.Err, m.Notice)
	}
	run(m, sessionFake{patient: "pat-a"}, Action{Kind: SessionChanged})
	if m.Loading || m.Patient == nil || m.Patient.ID != "pat-a" || len(m.Threads) != 1 || m.Threads[0].ID != "thr-pat-a" || m.Notice == "" {
		t.Fatalf("patient: loading %v patient %v threads %v notice %q", m.Loading, m.Patient, m.Threads, m.Notice)
	}

	// The inbox takes a practitioner's session only.
	m = signedOut(CareTeam)
	run(m, sessionFake{patient: "pat-a"}, Action{Kind: SessionChanged})
	if m.Loading || m.Patient != nil || m.Practitioner != nil {
		t.Fatalf("inbox with a patient's session: patient %v practitioner %v", m.Patient, m.Practitioner)
	}
	run(m, sessionFake{pract: "pr-a"}, Action{Kind: SessionChanged})
	if m.Practitioner == nil || m.Practitioner.ID != "pr-a" || len(m.Threads) != 1 {
		t.Fatalf("inbox: practitioner %v threads %v", m.Practitioner, m.Threads)
	}

	// An answer for a screen since left is dropped.
	m = signedOut(Patient)
	cmd := m.Apply(Action{Kind: SessionChanged})
	late := cmd(context.Background(), sessionFake{patient: "pat-a"})
	m.Apply(Action{Kind: Start})
	m.Apply(late)
	if m.Patient != nil {
		t.Fatal("a late session answer was taken")
	}
}

func TestSignInLinksSurviveTheSnapshot(t *testing.T) {
	m := NewModel(CareTeam, "fr", "est", "")
	links := []widgets.SignInLink{{Kind: "practitioner", Label: [2]string{"Connexion", "Sign in"}, URL: "/auth/signin?provider=pro"}}
	m.SignIn = links
	s := Preload(context.Background(), m, sessionFake{})
	if s == nil {
		t.Fatal("no snapshot")
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	h := NewModel(CareTeam, "fr", "est", "")
	h.Hydrate(&back)
	if len(h.SignIn) != 1 || h.SignIn[0] != links[0] {
		t.Fatalf("hydrated links %v", h.SignIn)
	}
}

// TestARefusedNewThreadComesBackOnce: a new thread the host refused goes
// back to the composer as it was written, once: its text and files are not
// doubled with what the composer kept of it.
func TestARefusedNewThreadComesBackOnce(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Screen, m.Conv = ScreenList, nil
	m.Services = []portal.Service{{ID: "maternite"}}
	m.NewService = "maternite"
	m.Apply(Action{Kind: Compose})
	m.Apply(Action{Kind: TypeSubject, Value: "Résultats"})
	m.Apply(Action{Kind: TypeBody, Value: "Voici mon bilan."})
	m.Apply(Action{Kind: AddFiles, Seq: m.Composer(), Files: []File{{Name: "bilan.pdf", Content: []byte("%PDF-1.4\n"), Size: 9}}})
	if len(m.Files) != 1 {
		t.Fatalf("files %+v, err %q", m.Files, m.FileErr)
	}
	if m.Apply(Action{Kind: Send}) == nil {
		t.Fatal("not sent")
	}
	id := m.Outbox[0].ClientID
	m.Apply(Action{Kind: sendFailed, ID: id, err: portal.Errorf(portal.ErrAttachmentRejected, "no")})
	m.Apply(Action{Kind: Discard, ID: id})
	if len(m.Outbox) != 0 || m.Screen != ScreenNew {
		t.Fatalf("outbox %+v, screen %s", m.Outbox, m.Screen)
	}
	if m.Body != "Voici mon bilan." || len(m.Files) != 1 || m.Subject != "Résultats" {
		t.Fatalf("back in the composer: subject %q, body %q, %d files", m.Subject, m.Body, len(m.Files))
	}
}

// closer closes threads, or fails to with err.
type closer struct {
	Backend
	err error
}

func (c closer) Close(_ context.Context, id string) (portal.Thread, error) {
	if c.err != nil {
		return portal.Thread{}, c.err
	}
	return portal.Thread{ID: id, Status: portal.ThreadClosed}, nil
}

// TestAClosingAnsweredAfterTheThreadWasLeftIsShown: the care team closes a
// thread and goes back to the list before the host answered. A failure is
// said (the thread is not closed), with no retry that would act on whatever
// is open then; a success shows in the list.
func TestAClosingAnsweredAfterTheThreadWasLeftIsShown(t *testing.T) {
	inbox := func() *Model {
		m := NewModel(CareTeam, "fr", "est", "")
		m.Loading = false
		m.Practitioner = &portal.Practitioner{ID: "pr-a"}
		m.Threads = []portal.Thread{{ID: "thr-1", Status: portal.ThreadNew}, {ID: "thr-2", Status: portal.ThreadNew}}
		m.Screen, m.Conv = ScreenThread, &portal.Conversation{Thread: m.Threads[0]}
		return m
	}
	m := inbox()
	closing := m.Apply(Action{Kind: CloseThread})
	m.Apply(Action{Kind: Back})
	m.Apply(Action{Kind: Open, ID: "thr-2"})
	m.Apply(closing(context.Background(), closer{err: portal.Errorf(portal.ErrBackendUnavailable, "down")}))
	if m.Err == "" {
		t.Fatal("the failed closing was not said")
	}
	if m.retry != nil || m.Screen != ScreenThread {
		t.Fatalf("retry %+v (would close thr-2), screen %s", m.retry, m.Screen)
	}

	m = inbox()
	closing = m.Apply(Action{Kind: CloseThread})
	m.Apply(Action{Kind: Back})
	m.Apply(closing(context.Background(), closer{}))
	if m.Err != "" || m.Threads[0].Status != portal.ThreadClosed {
		t.Fatalf("after the closing: err %q, threads %+v", m.Err, m.Threads)
	}

	// Another person's answer touches nothing.
	m = inbox()
	closing = m.Apply(Action{Kind: CloseThread})
	m.Apply(Action{Kind: signedOut})
	m.Apply(closing(context.Background(), closer{err: portal.Errorf(portal.ErrBackendUnavailable, "down")}))
	if m.Err != "" {
		t.Fatalf("the previous person's failure shows: %q", m.Err)
	}
}

// mergedFake serves a merged widget: the host's establishments.
type mergedFake struct{ sessionFake }

func (mergedFake) Establishments(context.Context) ([]portal.Establishment, error) {
	return []portal.Establishment{{ID: "est-a"}, {ID: "est-b"}}, nil
}

// TestAnEffectReadsNoStateTheNextActionWrites: effects run outside the
// renderer's lock (ui.Driver), so what they need of the model is taken when
// the action is applied. A refresh still in flight when the person signs
// out, and the reload after it, wrote the establishments a merged widget's
// listing read: a data race under -race.
func TestAnEffectReadsNoStateTheNextActionWrites(t *testing.T) {
	b := mergedFake{sessionFake{patient: "pat-a"}}
	m := NewModel(Patient, "fr", "", "")
	m.Loading = false
	m.Patient = &portal.Patient{ID: "pat-a"}
	m.Establishments = []portal.Establishment{{ID: "est-a"}}
	tick := m.Apply(Action{Kind: Tick})
	if tick == nil {
		t.Fatal("no refresh")
	}
	ticked := make(chan Action)
	go func() { ticked <- tick(context.Background(), b) }()
	start := m.Apply(Action{Kind: signedOut})
	m.Apply(start(context.Background(), b))
	late := <-ticked
	if len(late.threads) != 1 || late.threads[0].ID != "thr-pat-a" {
		t.Fatalf("the refresh listed %v", late.threads)
	}
	m.Apply(late)
	if len(m.Establishments) != 2 || !m.signedIn() {
		t.Fatalf("establishments %v, signed in %v", m.Establishments, m.signedIn())
	}
}

// TestAFileReadDuringARetryIsKept: the conversation failed to reload, the
// patient chose a file while the error showed, and pressed Retry before the
// browser had read it. The retry reloads the same thread, whose composer
// stays: the file is attached when read (before, it was dropped as if the
// patient had left, and the message could leave without it).
func TestAFileReadDuringARetryIsKept(t *testing.T) {
	m := signedInAs("pat-a", "thr-a")
	m.Apply(Action{Kind: TypeBody, Value: "Voici mon ordonnance."})
	m.Apply(Action{Kind: Open, ID: "thr-a"})
	m.Apply(Action{Kind: opened, seq: m.seq, err: offlineErr, cause: &Action{Kind: Open, ID: "thr-a"}})
	if m.Err == "" || m.retry == nil {
		t.Fatalf("no error to retry: %q", m.Err)
	}
	composer := m.Composer()
	m.Apply(Action{Kind: ReadingFiles, Seq: composer, Index: 1})
	m.Apply(Action{Kind: Retry})
	if m.Body != "Voici mon ordonnance." || m.Reading() != 1 {
		t.Fatalf("after the retry: body %q, reading %d, want the composer as it was", m.Body, m.Reading())
	}
	m.Apply(Action{Kind: AddFiles, Seq: composer, Index: 1, Files: []File{{Name: "ordonnance.pdf", Content: []byte("%PDF-1.4\n"), Size: 9}}})
	if len(m.Files) != 1 || m.Reading() != 0 {
		t.Fatalf("the file read during the retry: files %+v, reading %d", m.Files, m.Reading())
	}
	if cmd := m.Apply(Action{Kind: Send}); cmd == nil || len(m.Outbox) != 1 || len(m.Outbox[0].Files) != 1 {
		t.Fatalf("the message leaves without its file: outbox %+v", m.Outbox)
	}
}
