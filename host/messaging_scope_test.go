package host_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// plainMessaging hides every method of a store beyond portal.Messaging's
// (MessageEstablishment among them), as a store without them would.
type plainMessaging struct{ portal.Messaging }

// servingHost is another host over th's store and clock that serves the
// demo establishment, with m as its messaging store.
func servingHost(t *testing.T, th *testHost, m portal.Messaging) *testHost {
	t.Helper()
	h, err := host.New(hostConfig{
		Booking:           th.Store,
		Directory:         messagingDirectory{th.Store},
		CareTeam:          th.Store,
		Messaging:         m,
		MessagesPerMinute: messagesPerMin,
		Establishments:    []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: []string{pageOrigin}}},
		DemoSignIn:        true,
		Now:               th.Clock.Now,
		SessionIdle:       365 * 24 * time.Hour,
		SessionMax:        365 * 24 * time.Hour,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testHost{URL: srv.URL, Store: th.Store, Clock: th.Clock}
}

// TestMessagingUnservedEstablishment: on a host that does not serve a
// thread's establishment, every route of the thread, its messages and its
// attachments answers the thread's own patient and a practitioner of its
// service exactly as for random unknown ids (status, type and body, byte for
// byte), and changes nothing; a host that serves it answers them. Both with
// the SQLite store and with a store the host must search (no
// MessageEstablishment).
func TestMessagingUnservedEstablishment(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(portal.Messaging) portal.Messaging
	}{
		{"SQLite store", func(m portal.Messaging) portal.Messaging { return m }},
		{"store without MessageEstablishment", func(m portal.Messaging) portal.Messaging { return plainMessaging{m} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := newMessagingHost(t, func(cfg *hostConfig) {
				cfg.Establishments = []host.Establishment{{ID: "chu-autre", Origins: []string{pageOrigin}}}
				cfg.Messaging = tc.wrap(cfg.Messaging)
			})
			owner := portal.WithSubject(context.Background(), portal.Subject{Patient: messagingPatients[0]})
			c, err := th.Store.Messaging().StartThread(owner, portal.NewThread{
				Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Subject: "Question",
				Body: "Bonjour", ClientID: "unserved-thread-1",
				Attachments: []portal.NewAttachment{{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}},
			})
			if err != nil {
				t.Fatal(err)
			}
			thr, msg, att := c.ID, c.Messages[0].ID, c.Messages[0].Attachments[0].ID
			unknownThr, unknownMsg, unknownAtt := "thr_"+rand.Text(), "msg_"+rand.Text(), "att_"+rand.Text()
			type request struct{ method, known, unknown, body string }
			both := []request{
				{"GET", "/api/v1/threads/" + thr, "/api/v1/threads/" + unknownThr, ""},
				{"POST", "/api/v1/threads/" + thr + "/messages", "/api/v1/threads/" + unknownThr + "/messages", `{"client_id":"unserved-msg-1","body":"Coucou"}`},
				{"POST", "/api/v1/threads/" + thr + "/read", "/api/v1/threads/" + unknownThr + "/read", `{}`},
				{"GET", "/api/v1/messages/" + msg + "/attachments/" + att, "/api/v1/messages/" + unknownMsg + "/attachments/" + unknownAtt, ""},
				{"GET", "/api/v1/messages/" + msg + "/attachments/" + att + "/metadata", "/api/v1/messages/" + unknownMsg + "/attachments/" + unknownAtt + "/metadata", ""},
				// The known message with an unknown attachment, and the reverse.
				{"GET", "/api/v1/messages/" + msg + "/attachments/" + att, "/api/v1/messages/" + msg + "/attachments/" + unknownAtt, ""},
				{"GET", "/api/v1/messages/" + msg + "/attachments/" + att, "/api/v1/messages/" + unknownMsg + "/attachments/" + att, ""},
			}
			careTeam := append(both,
				request{"POST", "/api/v1/threads/" + thr + "/assign", "/api/v1/threads/" + unknownThr + "/assign", `{}`},
				request{"POST", "/api/v1/threads/" + thr + "/close", "/api/v1/threads/" + unknownThr + "/close", `{}`},
			)
			sessions := []struct {
				who      *session
				requests []request
			}{
				{patientSession(t, th, messagingPatients[0]), both},
				{practitionerSession(t, th, sqlite.DemoPractitionerClaireMartin), careTeam},
			}
			before := messageCount(t, th)
			for _, s := range sessions {
				for _, p := range s.requests {
					for _, lang := range []string{"", "?lang=en"} {
						ct := ""
						if p.body != "" {
							ct = "application/json"
						}
						known, unknown := s.who.do(p.method, p.known+lang, ct, p.body), s.who.do(p.method, p.unknown+lang, ct, p.body)
						if known.status != 404 || unknown.status != 404 || !bytes.Equal(known.body, unknown.body) ||
							known.header.Get("Content-Type") != unknown.header.Get("Content-Type") {
							t.Errorf("%s %s %s%s: %d %q %s; unknown ids: %d %q %s", s.who.who, p.method, p.known, lang,
								known.status, known.header.Get("Content-Type"), known.body,
								unknown.status, unknown.header.Get("Content-Type"), unknown.body)
						}
					}
				}
			}
			if after := messageCount(t, th); after != before {
				t.Errorf("%d messages stored through a host that does not serve the thread", after-before)
			}
			got, err := th.Store.Messaging().Thread(owner, thr)
			if err != nil || got.Status != portal.ThreadNew || got.AssignedTo != "" || len(got.Messages[0].ReadBy) != 0 {
				t.Errorf("the thread after the refusals: %+v, %v", got, err)
			}

			// A host that serves the establishment answers the same requests.
			served := servingHost(t, th, tc.wrap(th.Store.Messaging()))
			pat := patientSession(t, served, messagingPatients[0])
			pra := practitionerSession(t, served, sqlite.DemoPractitionerClaireMartin)
			for _, s := range []*session{pat, pra} {
				s.mustStatus(s.do("GET", "/api/v1/threads/"+thr, "", ""), 200)
				r := s.mustStatus(s.do("GET", "/api/v1/messages/"+msg+"/attachments/"+att, "", ""), 200)
				if !bytes.Equal(r.body, testPDF) {
					t.Errorf("%s downloaded %q", s.who, r.body)
				}
				s.mustStatus(s.do("GET", "/api/v1/messages/"+msg+"/attachments/"+att+"/metadata", "", ""), 200)
				// Still not found with ids that do not go together.
				s.mustStatus(s.do("GET", "/api/v1/messages/"+msg+"/attachments/"+unknownAtt, "", ""), 404)
				s.mustStatus(s.do("GET", "/api/v1/messages/"+unknownMsg+"/attachments/"+att, "", ""), 404)
			}
			pra.mustStatus(pra.do("POST", "/api/v1/threads/"+thr+"/read", "application/json", `{}`), 204)
			pra.mustStatus(pra.do("POST", "/api/v1/threads/"+thr+"/assign", "application/json", `{}`), 200)
			pra.mustStatus(pra.post("/api/v1/threads/"+thr+"/messages", map[string]string{"client_id": "served-msg-1", "body": "Réponse"}), 201)
			pra.mustStatus(pra.do("POST", "/api/v1/threads/"+thr+"/close", "application/json", `{}`), 200)
		})
	}
}

// TestMessagingAttachmentFilesHost: a host whose store keeps attachments in
// a directory serves them as the database would, and answers a file that no
// longer matches its row with 500 internal, never with its bytes.
func TestMessagingAttachmentFilesHost(t *testing.T) {
	dir := t.TempDir()
	th := newMessagingHost(t, func(cfg *hostConfig) {
		cfg.Messaging = cfg.Booking.(*sqlite.Store).Messaging(
			sqlite.WithMaxAttachmentSize(messagingAttachmentLimit), sqlite.WithAttachmentDir(dir))
	})
	pat := patientSession(t, th, messagingPatients[0])
	thr := pat.startThread("files-host-1", client.AttachmentBody{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Data: testPDF})
	msg, att := thr.Messages[0], thr.Messages[0].Attachments[0]
	path := "/api/v1/messages/" + msg.ID + "/attachments/" + att.ID
	if r := pat.mustStatus(pat.do("GET", path, "", ""), 200); !bytes.Equal(r.body, testPDF) {
		t.Errorf("downloaded %q", r.body)
	}
	file := filepath.Join(dir, att.SHA256)
	if b, err := os.ReadFile(file); err != nil || !bytes.Equal(b, testPDF) {
		t.Fatalf("the file: %q, %v", b, err)
	}
	tampered := bytes.Replace(testPDF, []byte("obj"), []byte("OBJ"), 1)
	if err := os.WriteFile(file, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "/metadata"} {
		r := pat.do("GET", p, "", "")
		if r.status != 500 || errorCode(t, r.body) != portal.ErrInternal || bytes.Contains(r.body, []byte("OBJ")) {
			t.Errorf("GET %s of a tampered file: %d %s", p, r.status, r.body)
		}
	}
}
