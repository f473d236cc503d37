package fhir_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// conformanceAttachmentLimit is the attachment size limit of the suite's
// backends (Config.MaxDocumentSize bounds it): small, so that the suite
// stays quick.
const conformanceAttachmentLimit = 64 << 10

// messagingFixture seeds an establishment of its own (seed: two services,
// two practitioners of the first, one of the other, three patients), gives
// the first two patients a booked Appointment with the first service (their
// link to it), and returns the suite's fixture on a backend with its own
// clock, the outbox narrowed to the establishment (the server is shared).
func messagingFixture(t *testing.T, tune ...func(*fhir.Config)) portaltest.MessagingFixture {
	base := serverURL(t)
	var mu sync.Mutex
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	tune = append([]func(*fhir.Config){func(c *fhir.Config) { c.MaxDocumentSize = conformanceAttachmentLimit }}, tune...)
	b := newBackend(t, base, clock, tune...)
	if got := b.MaxAttachmentSize(); got != conformanceAttachmentLimit {
		t.Fatalf("MaxAttachmentSize = %d, want %d", got, conformanceAttachmentLimit)
	}
	s := seed(t, b, clock(), 3)
	linked := s.Patients[:2]
	var bb bundleBuilder
	for i, p := range linked {
		start := clock().Add(time.Duration(24+i) * time.Hour)
		bb.put(map[string]any{
			"resourceType": "Appointment", "id": "apt-" + p, "status": "booked",
			"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339),
			"participant": []any{
				map[string]any{"actor": reference("Patient", p), "status": "accepted"},
				map[string]any{"actor": reference("Practitioner", s.Practitioners[0]), "status": "accepted"},
				map[string]any{"actor": reference("HealthcareService", s.Service), "status": "accepted"},
			},
		})
	}
	// The unlinked patient's cancelled appointment is no link.
	bb.put(map[string]any{
		"resourceType": "Appointment", "id": "apt-" + s.Patients[2], "status": "cancelled",
		"start": clock().Format(time.RFC3339), "end": clock().Add(30 * time.Minute).Format(time.RFC3339),
		"participant": []any{
			map[string]any{"actor": reference("Patient", s.Patients[2]), "status": "accepted"},
			map[string]any{"actor": reference("HealthcareService", s.Service), "status": "accepted"},
		},
	})
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), bundle); err != nil {
			t.Fatalf("seeding appointments: %v", err)
		}
	}
	return portaltest.MessagingFixture{
		AsPatient: func(t *testing.T, p string) portal.Messaging { return portaltest.AsPatientMessaging(b, p) },
		AsPractitioner: func(t *testing.T, p string) portal.Messaging {
			return portaltest.AsPractitionerMessaging(b, p)
		},
		Anonymous:         b,
		Outbox:            b.Outbox(s.Establishment),
		Establishment:     s.Establishment,
		Service:           s.Service,
		OtherService:      s.Other,
		Patients:          linked,
		Unlinked:          s.Patients[2],
		Practitioners:     s.Practitioners[:2],
		Outsider:          s.Practitioners[2],
		MaxAttachmentSize: conformanceAttachmentLimit,
		SetNow: func(t time.Time) {
			mu.Lock()
			defer mu.Unlock()
			now = t
		},
		Now: clock,
	}
}

func TestMessagingConformance(t *testing.T) {
	t.Parallel()
	portaltest.RunMessagingTests(t, func(t *testing.T) portaltest.MessagingFixture { return messagingFixture(t) })
}

// cutTransport refuses, while cut is set, the updates of Communications:
// the commit of a reply into its thread fails as if the backend stopped
// between the reply and its commit.
type cutTransport struct {
	base http.RoundTripper
	cut  *atomic.Bool
}

func (c cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/Communication/") {
		return nil, errors.New("cut")
	}
	return c.base.RoundTrip(r)
}

// TestMessagingCommitAfterFailure checks that a reply whose commit into
// its thread failed is seen by no one and notifies no one, and that the
// author's retry commits it, once.
func TestMessagingCommitAfterFailure(t *testing.T) {
	t.Parallel()
	var cut atomic.Bool
	fx := messagingFixture(t, func(c *fhir.Config) { c.Transport = cutTransport{base: testTransport, cut: &cut} })
	ctx := t.Context()
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	th, err := pat.StartThread(ctx, portal.NewThread{Establishment: fx.Establishment, Service: fx.Service,
		Subject: "Question", Body: "Bonjour", ClientID: "client-" + rand.Text()})
	if err != nil {
		t.Fatal(err)
	}
	first := claimAll(t, fx)
	if len(first) != 1 || first[0].Message != th.ID {
		t.Fatalf("notifications after StartThread: %+v, want the thread's", first)
	}
	reply := portal.NewMessage{ClientID: "client-" + rand.Text(), Body: "Réponse"}
	cut.Store(true)
	if _, err := pra.Send(ctx, th.ID, reply); !portal.IsCode(err, portal.ErrBackendUnavailable) {
		t.Fatalf("Send with its commit cut: %v, want backend_unavailable", err)
	}
	cut.Store(false)
	c, err := pat.Thread(ctx, th.ID)
	if err != nil || len(c.Messages) != 1 || c.Status != portal.ThreadNew || !c.Updated.Equal(th.Updated) {
		t.Fatalf("the thread after a reply not committed: %+v, %v; want it as it was", c, err)
	}
	if ns := claimAll(t, fx); len(ns) != 0 {
		t.Errorf("notifications of a reply not committed: %+v", ns)
	}
	m, err := pra.Send(ctx, th.ID, reply)
	if err != nil {
		t.Fatalf("the retry: %v", err)
	}
	c, err = pat.Thread(ctx, th.ID)
	if err != nil || len(c.Messages) != 2 || c.Messages[1].ID != m.ID || c.Status != portal.ThreadAnswered || c.Unread != 1 {
		t.Fatalf("the thread after the retry: %+v, %v; want the reply committed", c, err)
	}
	if ns := claimAll(t, fx); len(ns) != 1 || ns[0].Message != m.ID || ns[0].Recipient != portal.AuthorPatient {
		t.Errorf("notifications after the retry: %+v, want the reply's, to the patient", ns)
	}
	if again, err := pra.Send(ctx, th.ID, reply); err != nil || again.ID != m.ID {
		t.Errorf("a further retry: %+v, %v", again, err)
	}
	if c, err := pat.Thread(ctx, th.ID); err != nil || len(c.Messages) != 2 {
		t.Errorf("after a further retry: %d messages, %v", len(c.Messages), err)
	}
	if ns := claimAll(t, fx); len(ns) != 0 {
		t.Errorf("a further retry notified again: %+v", ns)
	}
}

// claimAll claims and acknowledges the fixture's waiting notifications.
func claimAll(t *testing.T, fx portaltest.MessagingFixture) []portal.Notification {
	t.Helper()
	ns, err := fx.Outbox.ClaimNotifications(t.Context(), portal.MaxNotificationClaim, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if err := fx.Outbox.AckNotification(t.Context(), n.ID); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// TestMessagingForeignData checks the mapping against what others write on
// the server: a Binary replaced under an attachment is refused
// (ErrInternal), never served; a Communication partOf a thread that the
// thread does not list, Parcours's shape or not, is not part of it.
func TestMessagingForeignData(t *testing.T) {
	t.Parallel()
	fx := messagingFixture(t)
	ctx := t.Context()
	pat, pra := fx.AsPatient(t, fx.Patients[0]), fx.AsPractitioner(t, fx.Practitioners[0])
	pdf := []byte("%PDF-1.7\n% attached\n%%EOF\n")
	th, err := pat.StartThread(ctx, portal.NewThread{Establishment: fx.Establishment, Service: fx.Service,
		Subject: "Question", Body: "Bonjour", ClientID: "client-" + rand.Text(),
		Attachments: []portal.NewAttachment{{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: pdf}}})
	if err != nil {
		t.Fatal(err)
	}
	att := th.Messages[0].Attachments[0]
	b, err := fhir.New(fhir.Config{BaseURL: serverURL(t), Transport: testTransport})
	if err != nil {
		t.Fatal(err)
	}
	sfx := strings.ToLower(rand.Text()[:10])
	var bb bundleBuilder
	bb.put(map[string]any{"resourceType": "Binary", "id": att.ID, "contentType": portal.ContentTypePDF,
		"data": base64.StdEncoding.EncodeToString([]byte("%PDF-1.7\n% replaced\n%%EOF\n"))})
	// Someone else's note on the thread, and a forged reply in Parcours's
	// shape that the thread does not list.
	bb.put(map[string]any{"resourceType": "Communication", "id": "note-" + sfx, "status": "completed",
		"partOf": []any{reference("Communication", th.ID)}, "subject": reference("Patient", fx.Patients[0]),
		"payload": []any{map[string]any{"contentString": "note interne"}}})
	bb.put(map[string]any{"resourceType": "Communication", "id": "forged-" + sfx, "status": "completed",
		"category": []any{map[string]any{"coding": []any{map[string]any{"system": fhir.SystemMessaging, "code": fhir.CodeMessage}}}},
		"partOf":   []any{reference("Communication", th.ID)}, "subject": reference("Patient", fx.Patients[0]),
		"sender": reference("Practitioner", fx.Practitioners[0]), "sent": fx.Now().Format(time.RFC3339),
		"payload": []any{map[string]any{"contentString": "faux"}, map[string]any{"contentAttachment": map[string]any{
			"contentType": portal.ContentTypePDF, "size": len(pdf), "title": "a.pdf", "url": "Binary/" + att.ID,
			"extension": []any{map[string]any{"url": fhir.ExtSHA256, "valueString": att.SHA256}}}}}})
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(ctx, bundle); err != nil {
			t.Fatal(err)
		}
	}
	for who, m := range map[string]portal.Messaging{"patient": pat, "practitioner": pra} {
		if _, content, err := m.Attachment(ctx, th.Messages[0].ID, att.ID); !portal.IsCode(err, portal.ErrInternal) || content != nil {
			t.Errorf("%s: a replaced Binary: %d bytes, %v; want internal", who, len(content), err)
		}
		c, err := m.Thread(ctx, th.ID)
		if err != nil || len(c.Messages) != 1 {
			t.Errorf("%s: the thread with a note and a forged reply: %+v, %v; want its one message", who, c.Messages, err)
		}
		if _, _, err := m.Attachment(ctx, "forged-"+sfx, att.ID); !portal.IsCode(err, portal.ErrNotFound) {
			t.Errorf("%s: an attachment of the forged reply: %v, want not_found", who, err)
		}
		if _, err := m.Thread(ctx, "note-"+sfx); !portal.IsCode(err, portal.ErrNotFound) {
			t.Errorf("%s: the note as a thread: %v, want not_found", who, err)
		}
	}

	// The establishment of a message, for the host: its thread's readers
	// only, listed messages only.
	be := fx.Anonymous.(*fhir.Backend)
	as := func(s portal.Subject) context.Context { return portal.WithSubject(ctx, s) }
	for _, s := range []portal.Subject{{Patient: fx.Patients[0]}, {Practitioner: fx.Practitioners[1]}} {
		if est, err := be.MessageEstablishment(as(s), th.Messages[0].ID); err != nil || est != fx.Establishment {
			t.Errorf("MessageEstablishment as %+v = %q, %v; want %s", s, est, err, fx.Establishment)
		}
	}
	for _, tc := range []struct {
		s  portal.Subject
		id string
	}{{portal.Subject{Patient: fx.Patients[1]}, th.Messages[0].ID}, {portal.Subject{Practitioner: fx.Outsider}, th.Messages[0].ID},
		{portal.Subject{Patient: fx.Patients[0]}, "forged-" + sfx}, {portal.Subject{Patient: fx.Patients[0]}, "note-" + sfx}} {
		if est, err := be.MessageEstablishment(as(tc.s), tc.id); !portal.IsCode(err, portal.ErrNotFound) {
			t.Errorf("MessageEstablishment(%s) as %+v = %q, %v; want not_found", tc.id, tc.s, est, err)
		}
	}
	if _, err := be.MessageEstablishment(ctx, th.Messages[0].ID); !portal.IsCode(err, portal.ErrUnauthenticated) {
		t.Errorf("MessageEstablishment without a subject: %v, want unauthenticated", err)
	}
}

// TestMessagingConcurrentMessages checks that messages sent at once in one
// thread, by both sides, are all committed (the thread's versioned updates
// lose none), each with its notification.
func TestMessagingConcurrentMessages(t *testing.T) {
	t.Parallel()
	fx := messagingFixture(t)
	ctx := t.Context()
	pat := fx.AsPatient(t, fx.Patients[0])
	th, err := pat.StartThread(ctx, portal.NewThread{Establishment: fx.Establishment, Service: fx.Service,
		Subject: "Question", Body: "Bonjour", ClientID: "client-" + rand.Text()})
	if err != nil {
		t.Fatal(err)
	}
	writers := []portal.Messaging{pat, fx.AsPractitioner(t, fx.Practitioners[0]), fx.AsPractitioner(t, fx.Practitioners[1])}
	const n = 12
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := writers[i%len(writers)].Send(ctx, th.ID, portal.NewMessage{ClientID: "client-" + rand.Text(), Body: "Message"})
			if err != nil {
				t.Errorf("Send %d: %v", i, err)
			}
			ids[i] = m.ID
		})
	}
	wg.Wait()
	c, err := pat.Thread(ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) != n+1 {
		t.Fatalf("%d messages, want %d", len(c.Messages), n+1)
	}
	for _, id := range ids {
		if !slices.ContainsFunc(c.Messages, func(m portal.Message) bool { return m.ID == id }) {
			t.Errorf("message %s is not in the thread", id)
		}
	}
	if ns := claimAll(t, fx); len(ns) != n+1 {
		t.Errorf("%d notifications, want %d", len(ns), n+1)
	}
}
