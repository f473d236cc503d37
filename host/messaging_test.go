package host_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// messagingAttachmentLimit is the attachment limit of the messaging tests:
// small, so that the suite stays quick.
const messagingAttachmentLimit = 64 << 10

// Patients of the messaging tests, with an appointment in the maternity and
// no thread: demo patients of the test's directory only (see
// messagingDirectory).
var messagingPatients = []string{"pat-conformance-a", "pat-conformance-b"}

// Practitioners of the tests besides Claire Martin (every seeded
// practitioner is a demo one): a second midwife of the maternity, and a
// diabetologist (outside the maternity).
const (
	secondMidwife  = "pr-sophie-lefebvre"
	diabetologist  = "pr-julien-roux"
	messagesPerMin = 1 << 20 // the conformance suite sends many messages per minute
)

// messagingDirectory is the store's directory with the test patients listed
// as demo patients, so that the demo sign-in accepts them.
type messagingDirectory struct{ *sqlite.Store }

func (d messagingDirectory) DemoPatients(ctx context.Context) ([]portal.Patient, error) {
	list, err := d.Store.DemoPatients(ctx)
	for _, id := range messagingPatients {
		list = append(list, portal.Patient{ID: id, GivenName: "Test", FamilyName: id})
	}
	return list, err
}

// newMessagingHost is a test host with messaging on the seeded store, the
// test patients linked to the maternity. configure, if any, changes the
// configuration further.
func newMessagingHost(t testing.TB, configure func(*hostConfig)) *testHost {
	t.Helper()
	th := newTestHostWith(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		cfg.Directory = messagingDirectory{store}
		cfg.CareTeam = store
		cfg.Messaging = store.Messaging(sqlite.WithMaxAttachmentSize(messagingAttachmentLimit))
		cfg.MessagesPerMinute = messagesPerMin
		if configure != nil {
			configure(cfg)
		}
	})
	slots, err := th.Store.FreeSlots(context.Background(), portal.SlotQuery{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite,
		From: seedTime, To: seedTime.Add(7 * 24 * time.Hour),
	})
	if err != nil || len(slots) < len(messagingPatients) {
		t.Fatalf("FreeSlots = %d, %v", len(slots), err)
	}
	for i, p := range messagingPatients {
		ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: p})
		if _, err := th.Store.Book(ctx, portal.BookRequest{
			Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slots[i].ID,
			IdempotencyKey: "link-" + p,
		}); err != nil {
			t.Fatal(err)
		}
	}
	return th
}

// practitioner returns a client of th with its own session as practitioner.
func (th *testHost) practitioner(t testing.TB, id string) *client.Client {
	t.Helper()
	c := client.New(th.URL)
	if _, err := c.DemoPractitionerSignIn(context.Background(), id); err != nil {
		t.Fatalf("demo sign-in as %s: %v", id, err)
	}
	return c
}

// TestMessagingClientConformance runs the messaging conformance suite
// through the HTTP client, a real host and the SQLite backend. The outbox is
// the backend's (the host has no route to it): the suite checks it on the
// store, behind the host.
func TestMessagingClientConformance(t *testing.T) {
	portaltest.RunMessagingTests(t, func(t *testing.T) portaltest.MessagingFixture {
		th := newMessagingHost(t, nil)
		return portaltest.MessagingFixture{
			AsPatient:         func(t *testing.T, p string) portal.Messaging { return th.signedIn(t, p) },
			AsPractitioner:    func(t *testing.T, p string) portal.Messaging { return th.practitioner(t, p) },
			Anonymous:         client.New(th.URL),
			Outbox:            th.Store.Messaging(),
			Establishment:     sqlite.DemoEstablishment,
			Service:           sqlite.ServiceMaternite,
			OtherService:      sqlite.ServiceDiabetologie,
			Patients:          messagingPatients,
			Unlinked:          sqlite.DemoPatientInesMoreau,
			Practitioners:     []string{sqlite.DemoPractitionerClaireMartin, secondMidwife},
			Outsider:          diabetologist,
			MaxAttachmentSize: messagingAttachmentLimit,
			SetNow:            th.Clock.Set,
			Now:               th.Clock.Now,
		}
	})
}

// Raw HTTP.

// session is a cookie jar signed in to th, for raw requests.
type session struct {
	t   *testing.T
	th  *testHost
	hc  *http.Client
	who string
}

func newSession(t *testing.T, th *testHost) *session {
	jar, _ := cookiejar.New(nil)
	return &session{t: t, th: th, hc: &http.Client{Jar: jar}}
}

func patientSession(t *testing.T, th *testHost, patient string) *session {
	s := newSession(t, th)
	s.mustStatus(s.do("POST", "/api/v1/demo/session", "application/json", `{"patient":"`+patient+`"}`), 200)
	s.who = patient
	return s
}

func practitionerSession(t *testing.T, th *testHost, practitioner string) *session {
	s := newSession(t, th)
	s.mustStatus(s.do("POST", "/api/v1/demo/practitioner-session", "application/json", `{"practitioner":"`+practitioner+`"}`), 200)
	s.who = practitioner
	return s
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (s *session) do(method, path, contentType, body string) reply {
	s.t.Helper()
	req, err := http.NewRequest(method, s.th.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (s *session) post(path string, v any) reply {
	s.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do("POST", path, "application/json", string(b))
}

func (s *session) mustStatus(r reply, want int) reply {
	s.t.Helper()
	if r.status != want {
		s.t.Fatalf("%s: status %d, want %d: %s", s.who, r.status, want, r.body)
	}
	return r
}

var (
	threadsPath = "/api/v1/establishments/" + sqlite.DemoEstablishment + "/threads"
	inboxPath   = "/api/v1/establishments/" + sqlite.DemoEstablishment + "/inbox"
	testPDF     = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n")
)

func question(clientID string, atts ...client.AttachmentBody) client.StartThreadBody {
	return client.StartThreadBody{Service: sqlite.ServiceMaternite, Subject: "Question", Body: "Bonjour, une question.", ClientID: clientID, Attachments: atts}
}

// startThread starts a thread as s and returns it.
func (s *session) startThread(clientID string, atts ...client.AttachmentBody) portal.Conversation {
	s.t.Helper()
	var c portal.Conversation
	if err := json.Unmarshal(s.mustStatus(s.post(threadsPath, question(clientID, atts...)), 201).body, &c); err != nil {
		s.t.Fatal(err)
	}
	return c
}

// messageCount returns the number of messages stored in the demo
// establishment's maternity, as a practitioner of it sees them.
func messageCount(t *testing.T, th *testHost) int {
	t.Helper()
	ctx := portal.WithSubject(context.Background(), portal.Subject{Practitioner: sqlite.DemoPractitionerClaireMartin})
	m := th.Store.Messaging()
	ts, err := m.Inbox(ctx, sqlite.DemoEstablishment, portal.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, thr := range ts {
		c, err := m.Thread(ctx, thr.ID)
		if err != nil {
			t.Fatal(err)
		}
		n += len(c.Messages)
	}
	return n
}

func TestMessagingBadInput(t *testing.T) {
	th := newMessagingHost(t, nil)
	pat := patientSession(t, th, messagingPatients[0])
	thr := pat.startThread("thread-client-id")
	sendPath := "/api/v1/threads/" + thr.ID + "/messages"
	pdf := base64.StdEncoding.EncodeToString(testPDF)
	html := base64.StdEncoding.EncodeToString([]byte("<html><script>alert(1)</script></html>"))
	big := base64.StdEncoding.EncodeToString(append(slices.Clone(testPDF), bytes.Repeat([]byte("a"), messagingAttachmentLimit)...))
	msg := func(extra string) string {
		return `{"client_id":"client-id-1","body":"Bonjour"` + extra + `}`
	}
	tests := []struct {
		name, path, contentType, body string
		who                           *session
		status                        int
		code                          portal.ErrorCode
	}{
		{"empty body", sendPath, "application/json", ``, pat, 400, portal.ErrInvalid},
		{"empty message", sendPath, "application/json", `{"client_id":"client-id-1","body":"  "}`, pat, 400, portal.ErrInvalid},
		{"message too long", sendPath, "application/json", `{"client_id":"client-id-1","body":"` + strings.Repeat("é", portal.MaxMessageBody+1) + `"}`, pat, 413, portal.ErrTooLarge},
		{"body over the limit", sendPath, "application/json", msg(`,"pad":"` + strings.Repeat("a", 8*messagingAttachmentLimit+64<<10) + `"`), pat, 413, portal.ErrTooLarge},
		{"no content type", sendPath, "", msg(""), pat, 415, portal.ErrUnsupportedMediaType},
		{"wrong content type", sendPath, "text/plain", msg(""), pat, 415, portal.ErrUnsupportedMediaType},
		{"unknown field", sendPath, "application/json", msg(`,"patient":"pat-other"`), pat, 400, portal.ErrInvalid},
		{"data after the object", sendPath, "application/json", msg("") + `{}`, pat, 400, portal.ErrInvalid},
		{"malformed client id", sendPath, "application/json", `{"client_id":"x","body":"Bonjour"}`, pat, 400, portal.ErrInvalid},
		{"bad base64", sendPath, "application/json", msg(`,"attachments":[{"name":"a.pdf","content_type":"application/pdf","data":"!!!not base64"}]`), pat, 400, portal.ErrInvalid},
		{"HTML disguised as PDF", sendPath, "application/json", msg(`,"attachments":[{"name":"a.pdf","content_type":"application/pdf","data":"` + html + `"}]`), pat, 415, portal.ErrAttachmentRejected},
		{"declared type is not the content's", sendPath, "application/json", msg(`,"attachments":[{"name":"a.pdf","content_type":"image/png","data":"` + pdf + `"}]`), pat, 415, portal.ErrAttachmentRejected},
		{"attachment too large", sendPath, "application/json", msg(`,"attachments":[{"name":"a.pdf","content_type":"application/pdf","data":"` + big + `"}]`), pat, 413, portal.ErrAttachmentTooLarge},
		{"no session", sendPath, "application/json", msg(""), newSession(t, th), 401, portal.ErrUnauthenticated},
		{"unknown thread", "/api/v1/threads/thr-unknown/messages", "application/json", msg(""), pat, 404, portal.ErrNotFound},
		{"start: no session", threadsPath, "application/json", `{}`, newSession(t, th), 401, portal.ErrUnauthenticated},
		{"start: unknown establishment", "/api/v1/establishments/chu-autre/threads", "application/json", `{}`, pat, 404, portal.ErrNotFound},
		{"start: unlinked service", threadsPath, "application/json", `{"service":"diabetologie","subject":"Q","body":"Bonjour","client_id":"client-id-2"}`, pat, 403, portal.ErrServiceNotLinked},
		{"start: as a practitioner", threadsPath, "application/json", `{}`, practitionerSession(t, th, sqlite.DemoPractitionerClaireMartin), 403, portal.ErrForbidden},
		{"inbox: as a patient", inboxPath, "", "", pat, 403, portal.ErrForbidden},
		{"assign: as a patient", "/api/v1/threads/" + thr.ID + "/assign", "application/json", `{}`, pat, 403, portal.ErrForbidden},
		{"close: as a patient", "/api/v1/threads/" + thr.ID + "/close", "application/json", `{}`, pat, 403, portal.ErrForbidden},
		{"read: body not empty", "/api/v1/threads/" + thr.ID + "/read", "application/json", `{"all":true}`, pat, 400, portal.ErrInvalid},
	}
	before := messageCount(t, th)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.path == inboxPath {
				method = "GET"
			}
			r := tt.who.do(method, tt.path, tt.contentType, tt.body)
			if r.status != tt.status || errorCode(t, r.body) != tt.code {
				t.Errorf("status %d %s, want %d %s: %s", r.status, errorCode(t, r.body), tt.status, tt.code, r.body)
			}
		})
	}
	if after := messageCount(t, th); after != before {
		t.Errorf("%d messages stored by refused requests", after-before)
	}
	c := conversationOf(t, pat, thr.ID)
	if c.Status != portal.ThreadNew || c.AssignedTo != "" || len(c.Messages) != 1 {
		t.Errorf("after the refusals: %+v", c)
	}
}

func conversationOf(t *testing.T, s *session, id string) portal.Conversation {
	t.Helper()
	var c portal.Conversation
	if err := json.Unmarshal(s.mustStatus(s.do("GET", "/api/v1/threads/"+id, "", ""), 200).body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMessagingInboxQuery(t *testing.T) {
	th := newMessagingHost(t, nil)
	pra := practitionerSession(t, th, sqlite.DemoPractitionerClaireMartin)
	for _, q := range []string{"?status=lost", "?status=new&status=closed", "?color=red"} {
		r := pra.do("GET", inboxPath+q, "", "")
		if r.status != 400 || errorCode(t, r.body) != portal.ErrInvalid {
			t.Errorf("inbox%s: %d %s, want 400 invalid_request", q, r.status, r.body)
		}
	}
	pra.mustStatus(pra.do("GET", inboxPath+"?status=new&service=maternite&lang=en", "", ""), 200)
}

// TestMessagingOtherPatient: another patient's thread, message and
// attachment answer exactly as unknown ones; so do they for a practitioner
// outside the thread's service.
func TestMessagingOtherPatient(t *testing.T) {
	th := newMessagingHost(t, nil)
	owner := patientSession(t, th, messagingPatients[0])
	other := patientSession(t, th, messagingPatients[1])
	outsider := practitionerSession(t, th, diabetologist)
	thr := owner.startThread("owner-thread-1", client.AttachmentBody{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Data: testPDF})
	msg := thr.Messages[0]
	att := msg.Attachments[0]
	before := messageCount(t, th)
	for _, who := range []*session{other, outsider} {
		for _, p := range []struct{ method, known, unknown, body string }{
			{"GET", "/api/v1/threads/" + thr.ID, "/api/v1/threads/thr-unknown", ""},
			{"POST", "/api/v1/threads/" + thr.ID + "/messages", "/api/v1/threads/thr-unknown/messages", `{"client_id":"intruder-1","body":"Coucou"}`},
			{"POST", "/api/v1/threads/" + thr.ID + "/read", "/api/v1/threads/thr-unknown/read", `{}`},
			{"GET", "/api/v1/messages/" + msg.ID + "/attachments/" + att.ID, "/api/v1/messages/msg-unknown/attachments/att-unknown", ""},
			{"GET", "/api/v1/messages/" + msg.ID + "/attachments/" + att.ID + "/metadata", "/api/v1/messages/msg-unknown/attachments/att-unknown/metadata", ""},
		} {
			ct := ""
			if p.body != "" {
				ct = "application/json"
			}
			known, unknown := who.do(p.method, p.known, ct, p.body), who.do(p.method, p.unknown, ct, p.body)
			if known.status != 404 || !bytes.Equal(known.body, unknown.body) {
				t.Errorf("%s %s %s: %d %s; unknown: %d %s", who.who, p.method, p.known, known.status, known.body, unknown.status, unknown.body)
			}
		}
	}
	if outsider.do("POST", "/api/v1/threads/"+thr.ID+"/assign", "application/json", `{}`).status != 404 {
		t.Error("an outsider assigned the thread")
	}
	if after := messageCount(t, th); after != before {
		t.Errorf("%d messages stored by refused requests", after-before)
	}
	c := conversationOf(t, owner, thr.ID)
	if c.Unread != 0 || len(c.Messages[0].ReadBy) != 0 || c.AssignedTo != "" {
		t.Errorf("after the refusals: %+v", c)
	}
}

func TestMessagingAttachmentDownload(t *testing.T) {
	th := newMessagingHost(t, nil)
	pat := patientSession(t, th, messagingPatients[0])
	name := "Compte rendu «été» \"n°1\".pdf"
	thr := pat.startThread("download-1", client.AttachmentBody{Name: name, ContentType: portal.ContentTypePDF, Data: testPDF})
	att := thr.Messages[0].Attachments[0]
	path := "/api/v1/messages/" + thr.Messages[0].ID + "/attachments/" + att.ID
	for _, who := range []*session{pat, practitionerSession(t, th, secondMidwife)} {
		r := who.mustStatus(who.do("GET", path, "", ""), 200)
		if !bytes.Equal(r.body, testPDF) {
			t.Errorf("%s downloaded %q", who.who, r.body)
		}
		want := map[string]string{
			"Content-Type":            "application/pdf",
			"Content-Disposition":     `attachment; filename="Compte rendu __t__ _n_1_.pdf"; filename*=UTF-8''Compte%20rendu%20%C2%AB%C3%A9t%C3%A9%C2%BB%20%22n%C2%B01%22.pdf`,
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "sandbox; default-src 'none'",
			"Cache-Control":           "no-store",
			"Content-Length":          strconv.Itoa(len(testPDF)),
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", who.who, k, got, v)
			}
		}
	}
	var meta portal.AttachmentMeta
	json.Unmarshal(pat.mustStatus(pat.do("GET", path+"/metadata", "", ""), 200).body, &meta)
	if meta != att {
		t.Errorf("metadata %+v, want %+v", meta, att)
	}
	// Without a session: 401.
	if r := newSession(t, th).do("GET", path, "", ""); r.status != 401 {
		t.Errorf("anonymous download: %d", r.status)
	}
}

// TestMessagingReplayStatus: a retry answers 200 and the same message.
func TestMessagingReplayStatus(t *testing.T) {
	th := newMessagingHost(t, nil)
	pat := patientSession(t, th, messagingPatients[0])
	first := pat.mustStatus(pat.post(threadsPath, question("replay-thread")), 201)
	again := pat.mustStatus(pat.post(threadsPath, question("replay-thread")), 200)
	var a, b portal.Conversation
	json.Unmarshal(first.body, &a)
	json.Unmarshal(again.body, &b)
	if a.ID != b.ID || first.header.Get("Location") != "/api/v1/threads/"+a.ID {
		t.Errorf("retry answered thread %s (Location %q), want %s", b.ID, first.header.Get("Location"), a.ID)
	}
	body := client.SendBody{ClientID: "replay-message", Body: "Encore moi"}
	path := "/api/v1/threads/" + a.ID + "/messages"
	pat.mustStatus(pat.post(path, body), 201)
	pat.mustStatus(pat.post(path, body), 200)
	body.Body = "Autre chose"
	if r := pat.post(path, body); r.status != 422 || errorCode(t, r.body) != portal.ErrIdempotencyKeyReused {
		t.Errorf("client_id reused: %d %s", r.status, r.body)
	}
}

func TestMessagingRateLimit(t *testing.T) {
	th := newMessagingHost(t, func(cfg *hostConfig) { cfg.MessagesPerMinute = 3 })
	pat := patientSession(t, th, messagingPatients[0])
	other := patientSession(t, th, messagingPatients[1])
	thr := pat.startThread("rate-thread") // the first of 3
	path := "/api/v1/threads/" + thr.ID + "/messages"
	send := func(s *session, id string) reply {
		return s.post(path, client.SendBody{ClientID: id, Body: "Message " + id})
	}
	pat.mustStatus(send(pat, "rate-msg-1"), 201)
	pat.mustStatus(send(pat, "rate-msg-2"), 201)
	before := messageCount(t, th)
	r := send(pat, "rate-msg-3")
	if r.status != 429 || errorCode(t, r.body) != portal.ErrRateLimited || r.header.Get("Retry-After") != "20" {
		t.Fatalf("4th message in a minute: %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// A thread is a message too; nothing was stored.
	if r := pat.post(threadsPath, question("rate-thread-2")); r.status != 429 {
		t.Errorf("a thread over the limit: %d", r.status)
	}
	if after := messageCount(t, th); after != before {
		t.Errorf("%d messages stored over the limit", after-before)
	}
	// Others are counted apart: the other patient's own thread goes through.
	other.startThread("rate-other")
	// One token is back after 20 s, not before.
	th.Clock.Set(th.Clock.Now().Add(19 * time.Second))
	if r := send(pat, "rate-msg-3"); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("after 19 s: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	th.Clock.Set(th.Clock.Now().Add(time.Second))
	pat.mustStatus(send(pat, "rate-msg-3"), 201)
	// A minute later the burst is back, and a retry of a stored message
	// spends nothing.
	th.Clock.Set(th.Clock.Now().Add(time.Minute))
	for i := range 5 {
		pat.mustStatus(send(pat, "rate-msg-3"), 200)
		_ = i
	}
	for i := 4; i < 7; i++ {
		pat.mustStatus(send(pat, fmt.Sprintf("rate-msg-%d", i)), 201)
	}
	if r := send(pat, "rate-msg-7"); r.status != 429 {
		t.Errorf("after the burst: %d", r.status)
	}
}

func TestMessagingSessions(t *testing.T) {
	th := newMessagingHost(t, nil)
	pra := practitionerSession(t, th, sqlite.DemoPractitionerClaireMartin)
	var sb map[string]json.RawMessage
	json.Unmarshal(pra.mustStatus(pra.do("GET", "/api/v1/session", "", ""), 200).body, &sb)
	if string(sb["patient"]) != "null" || !strings.Contains(string(sb["practitioner"]), `"id":"pr-claire-martin"`) {
		t.Errorf("practitioner session: %s", sb)
	}
	// A practitioner is nobody's patient: the patient routes refuse them.
	if r := pra.do("GET", "/api/v1/appointments", "", ""); r.status != 403 {
		t.Errorf("appointments as a practitioner: %d", r.status)
	}
	if r := pra.do("GET", threadsPath, "", ""); r.status != 403 {
		t.Errorf("threads as a practitioner: %d", r.status)
	}
	// Signing in as a patient rotates the session.
	pra.mustStatus(pra.do("POST", "/api/v1/demo/session", "application/json", `{"patient":"`+messagingPatients[0]+`"}`), 200)
	if r := pra.do("GET", inboxPath, "", ""); r.status != 403 {
		t.Errorf("inbox after signing in as a patient: %d", r.status)
	}
	// Only demo practitioners, and only with the demo sign-in on.
	s := newSession(t, th)
	if r := s.do("POST", "/api/v1/demo/practitioner-session", "application/json", `{"practitioner":"pr-unknown"}`); r.status != 400 {
		t.Errorf("a practitioner not listed for the demo: %d", r.status)
	}
	off := newMessagingHost(t, func(cfg *hostConfig) { cfg.DemoSignIn = false })
	s = newSession(t, off)
	for _, p := range []string{"/api/v1/demo/practitioner-session", "/api/v1/demo/practitioners"} {
		method := "POST"
		if strings.HasSuffix(p, "s") {
			method = "GET"
		}
		if r := s.do(method, p, "application/json", `{"practitioner":"pr-claire-martin"}`); r.status != 404 {
			t.Errorf("%s with the demo sign-in off: %d", p, r.status)
		}
	}
}

// TestMessagingOff: without a store, every messaging route is not_found.
func TestMessagingOff(t *testing.T) {
	th := newTestHost(t)
	s := patientSession(t, th, sqlite.DemoPatientCamilleDurand)
	for _, p := range []string{threadsPath, "/api/v1/threads/" + sqlite.DemoThreadMaternite, "/api/v1/messages/m/attachments/a"} {
		if r := s.do("GET", p, "", ""); r.status != 404 || errorCode(t, r.body) != portal.ErrNotFound {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
}
