package fhir

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// FuzzParseCommunication fuzzes the readers of messaging: whatever the
// server answers, parseCommunication and parseNotification return a value
// or an error, never panic, and what they accept has the shape the backend
// relies on (valid ids, a known side, a thread state only on a thread).
func FuzzParseCommunication(f *testing.F) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	pdf := []byte("%PDF-1.7\n%%EOF\n")
	root := communication{Subject: "Question", Status: portal.ThreadAnswered, AssignedTo: "pr1", Updated: now, LastMessage: now, Activity: now,
		Replies: []threadEntry{{ID: "m1", Side: portal.AuthorPractitioner}},
		Reads:   []readMark{{Reader: portal.Author{Kind: portal.AuthorPractitioner, ID: "pr1", Name: "Dr X"}, Count: 1, At: now}}}
	for _, res := range []map[string]any{
		newMessageJSON(portal.Author{Kind: portal.AuthorPatient, ID: "p1", Name: "A B"}, "p1", "s1", "", &root, "k", "client-id-1", "d", "Bonjour",
			[]portal.NewAttachment{{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: pdf}}, []string{"b1"}, now),
		newMessageJSON(portal.Author{Kind: portal.AuthorPractitioner, ID: "pr1"}, "p1", "s1", "t1", nil, "k2", "client-id-2", "d", "Réponse", nil, nil, now),
	} {
		res["id"] = "c1"
		b, err := json.Marshal(res)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"resourceType":"Communication","id":"c","category":[{"coding":[{"system":"` + SystemMessaging + `","code":"message"}]}],"partOf":[{"reference":"Communication/c"}]}`))
	f.Add([]byte(`{"resourceType":"Communication","id":"c","category":[{"coding":[{"system":"` + SystemMessaging + `","code":"thread"}]}],"subject":{"reference":"Patient/p"},
		"sender":{"reference":"Patient/p"},"sent":"2026-11-24T10:00:00Z","payload":[{"contentString":"x"}],"recipient":[{"reference":"HealthcareService/s"}],"topic":{"text":"t"},
		"extension":[{"url":"` + ExtThreadStatus + `","valueCode":"new"},{"url":"` + ExtThreadRead + `","extension":[{"url":"reader","valueReference":{"reference":"Practitioner/x"}},{"url":"count","valueInteger":1e300},{"url":"at","valueDateTime":"2026"}]}]}`))
	// A SHA-256 that is not hex (here invalid UTF-8) is refused.
	f.Add([]byte(`{"resourceType":"Communication","id":"0","category":[{"coding":[{"code":"thread","system":"` + SystemMessaging + `"}]}],
		"extension":[{"url":"` + ExtThreadStatus + `","valueCode":"answered"}],"payload":[{"contentString":""},{"contentAttachment":{"contentType":"0",
		"extension":[{"url":"` + ExtSHA256 + `","valueString":"0000000000` + "\xff" + `00000000000000000000000000000000000000000000000000000"}],"size":1,"url":"Binary/0"}}],
		"recipient":[{"reference":"HealthcareService/0"}],"sender":{"reference":"Patient/p1"},"sent":"2026-01-01T00:00:00Z","subject":{"reference":"Patient/p1"},"topic":{"text":"0"}}`))
	f.Add([]byte(`{"resourceType":"Task","id":"t","identifier":[{"system":"` + SystemNotification + `","value":"9007199254740991"}],"status":"in-progress",
		"focus":{"reference":"Communication/m"},"for":{"reference":"Patient/p"},"owner":{"reference":"Organization/o"},"authoredOn":"2026-11-24T10:00:00+01:00",
		"extension":[{"url":"` + ExtNotificationThread + `","valueReference":{"reference":"Communication/t"}},{"url":"` + ExtNotificationService + `","valueReference":{"reference":"HealthcareService/s"}},
		{"url":"` + ExtNotificationRecipient + `","valueCode":"patient"},{"url":"` + ExtNotificationLease + `","valueDateTime":"2026-11-24T10:01:00Z"},{"url":"` + ExtNotificationAttempts + `","valueInteger":-3}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) {
			return
		}
		r := gjson.ParseBytes(body)
		if c, err := parseCommunication(r); err == nil {
			side := c.Author.Kind == portal.AuthorPatient || c.Author.Kind == portal.AuthorPractitioner
			if !validID(c.ID) || !validID(c.Thread) || !validID(c.Patient) || !validID(c.Author.ID) || !side || c.Created.IsZero() ||
				c.Root != (c.Thread == c.ID) || c.Author.Kind == portal.AuthorPatient && c.Author.ID != c.Patient {
				t.Fatalf("parseCommunication accepted %+v", c)
			}
			for _, a := range c.Attachments {
				if !validID(a.Binary) || a.Size <= 0 || len(a.SHA256) != 64 || !lowerHex(a.SHA256) {
					t.Fatalf("parseCommunication accepted the attachment %+v", a)
				}
			}
			if c.Root {
				if !validID(c.Service) || c.Subject == "" || !c.Status.Valid() || c.Author.Kind != portal.AuthorPatient ||
					(c.AssignedTo != "" && !validID(c.AssignedTo)) {
					t.Fatalf("parseCommunication accepted the thread %+v", c)
				}
				for _, m := range c.Reads {
					if m.Count < 1 || !validID(m.Reader.ID) {
						t.Fatalf("parseCommunication accepted the read mark %+v", m)
					}
				}
				sides := c.sides()
				if len(sides) != len(c.Replies)+1 || slices.ContainsFunc(c.Replies, func(e threadEntry) bool { return !validID(e.ID) || e.ID == c.ID }) {
					t.Fatalf("parseCommunication accepted the replies %+v", c.Replies)
				}
				for _, kind := range []portal.AuthorKind{portal.AuthorPatient, portal.AuthorPractitioner} {
					if n := c.unread(kind); n < 0 || n > len(sides) {
						t.Fatalf("unread(%s) = %d of %d messages", kind, n, len(sides))
					}
				}
				th := c.toThread(portal.Author{Kind: portal.AuthorPractitioner, ID: "x"}, "o", time.UTC, "")
				msg := c.toMessage(c, 0, time.UTC)
				if th.ID != c.ID || msg.Thread != c.ID || len(msg.ReadBy) > len(c.Reads) {
					t.Fatalf("toThread/toMessage = %+v, %+v", th, msg)
				}
				// The state written back reads the same (encoding/json
				// replaces invalid UTF-8, so only for valid input).
				if !utf8.Valid(body) {
					return
				}
				raw, err := edit(c.Raw, func(res map[string]any) { setThreadState(res, c) })
				if err != nil {
					t.Fatalf("edit: %v", err)
				}
				again, err := parseCommunication(gjson.ParseBytes(raw))
				if err != nil || again.Status != c.Status || again.AssignedTo != c.AssignedTo || len(again.Replies) != len(c.Replies) || len(again.Reads) != len(c.Reads) {
					t.Fatalf("the thread state written back reads %+v, %v; want %+v", again, err, c)
				}
			}
		}
		if n, err := parseNotification(r); err == nil {
			if n.ID <= 0 || !validID(n.Message) || !validID(n.Thread) || !validID(n.Patient) || !validID(n.Establishment) || !validID(n.Service) ||
				(n.Recipient != portal.AuthorPatient && n.Recipient != portal.AuthorPractitioner) || n.Attempts < 0 || n.Created.IsZero() {
				t.Fatalf("parseNotification accepted %+v", n)
			}
		}
	})
}

// TestMessageJSONRoundTrip checks that what the backend writes reads back
// as written: a thread with its state, a reply.
func TestMessageJSONRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	pdf := []byte("%PDF-1.7\n%%EOF\n")
	author := portal.Author{Kind: portal.AuthorPatient, ID: "p1", Name: "Anne B"}
	state := communication{Subject: "Question", Status: portal.ThreadNew, Updated: now, LastMessage: now}
	atts := []portal.NewAttachment{{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: pdf}}
	res := newMessageJSON(author, "p1", "s1", "", &state, "key", "client-id-1", "digest", "Bonjour\n", atts, []string{"b1"}, now)
	res["id"] = "t1"
	raw, _ := json.Marshal(res)
	c, err := parseCommunication(gjson.ParseBytes(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Root || c.Thread != "t1" || c.Service != "s1" || c.Patient != "p1" || c.Author != author || c.Key != "key" ||
		c.ClientID != "client-id-1" || c.Digest != "digest" || c.Body != "Bonjour\n" || !c.Created.Equal(now) ||
		c.Subject != "Question" || c.Status != portal.ThreadNew || len(c.Attachments) != 1 || c.Attachments[0].Binary != "b1" ||
		c.Attachments[0].SHA256 != sha256Hex(pdf) || c.Attachments[0].Size != int64(len(pdf)) {
		t.Errorf("thread read back as %+v", c)
	}
	pr := portal.Author{Kind: portal.AuthorPractitioner, ID: "pr1", Name: "Dr X"}
	res = newMessageJSON(pr, "p1", "s1", "t1", nil, "key2", "client-id-2", "digest2", "Réponse", nil, nil, now.Add(time.Minute))
	res["id"] = "m1"
	raw, _ = json.Marshal(res)
	m, err := parseCommunication(gjson.ParseBytes(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.Root || m.Thread != "t1" || m.Author != pr || m.Patient != "p1" || len(m.Attachments) != 0 {
		t.Errorf("reply read back as %+v", m)
	}
	// Unread and receipts follow the read marks.
	c.Replies = []threadEntry{{ID: "m1", Side: portal.AuthorPractitioner}, {ID: "m2", Side: portal.AuthorPatient}}
	c.Reads = []readMark{{Reader: pr, Count: 1, At: now}, {Reader: author, Count: 3, At: now.Add(time.Hour)}}
	if got := c.unread(portal.AuthorPractitioner); got != 1 {
		t.Errorf("the care team's unread = %d, want 1 (the patient's second message)", got)
	}
	if got := c.unread(portal.AuthorPatient); got != 0 {
		t.Errorf("the patient's unread = %d, want 0", got)
	}
	if rb := c.receipts(0, portal.AuthorPatient, time.UTC); len(rb) != 1 || rb[0].Reader != pr {
		t.Errorf("receipts of the first message = %+v, want the practitioner's", rb)
	}
	if rb := c.receipts(1, portal.AuthorPractitioner, time.UTC); len(rb) != 1 || rb[0].Reader != author {
		t.Errorf("receipts of the reply = %+v, want the patient's", rb)
	}
	if rb := c.receipts(2, portal.AuthorPatient, time.UTC); len(rb) != 0 {
		t.Errorf("receipts of the unread message = %+v, want none", rb)
	}
}
