package fhir

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file maps secure messaging between FHIR R4 Communication
// (https://hl7.org/fhir/R4/communication.html) and portal types. docs/fhir.md,
// "Messaging", describes the mapping. Reads use gjson and trust nothing.
//
// A thread is the Communication of its first message (category
// SystemMessaging|thread): topic.text is the subject, subject the Patient,
// recipient the HealthcareService. It also carries the thread's state in
// extensions, changed only by versioned updates (If-Match): status,
// assignee, Updated, LastMessage, the ordered list of the replies it holds
// (ExtThreadMessage: the commit point of a reply) and the read marks
// (ExtThreadRead). Every reply is a Communication of category
// SystemMessaging|message, partOf the thread, never changed once made.

// URLs and systems of messaging. docs/fhir.md documents them.
const (
	// SystemMessaging is the code system of the categories of messaging
	// Communications: CodeThread (a thread and its first message) and
	// CodeMessage (a reply).
	SystemMessaging = "https://parcours-sante.org/fhir/CodeSystem/messaging"
	CodeThread      = "thread"
	CodeMessage     = "message"
	// SystemMessageKey is the identifier system of a message's Communication:
	// a digest of its author (side and id) and client id, the key of its
	// conditional create.
	SystemMessageKey = "https://parcours-sante.org/fhir/sid/message-key"
	// SystemClientID qualifies the identifier holding the client id as the
	// author's device sent it (unique per author only).
	SystemClientID = "https://parcours-sante.org/fhir/sid/client-id"
	// ExtThreadStatus is a thread's status (valueCode: new, waiting,
	// answered, closed).
	ExtThreadStatus = "https://parcours-sante.org/fhir/StructureDefinition/thread-status"
	// ExtThreadAssignedTo is the Practitioner who took a thread
	// (valueReference).
	ExtThreadAssignedTo = "https://parcours-sante.org/fhir/StructureDefinition/thread-assigned-to"
	// ExtThreadUpdated is a thread's last change either side sees
	// (valueDateTime).
	ExtThreadUpdated = "https://parcours-sante.org/fhir/StructureDefinition/thread-updated"
	// ExtThreadLastMessage is the time of a thread's last message
	// (valueDateTime).
	ExtThreadLastMessage = "https://parcours-sante.org/fhir/StructureDefinition/thread-last-message"
	// ExtThreadActivity orders threads whose last messages share a second:
	// the backend's wall clock when the last message was committed
	// (valueInstant, to the nanosecond).
	ExtThreadActivity = "https://parcours-sante.org/fhir/StructureDefinition/thread-activity"
	// ExtThreadMessage lists a thread's replies in order, one extension
	// each, with sub-extensions "message" (valueReference Communication)
	// and "side" (valueCode patient or practitioner). A reply not listed
	// is not part of the thread (yet).
	ExtThreadMessage = "https://parcours-sante.org/fhir/StructureDefinition/thread-message"
	// ExtThreadRead is a read mark: sub-extensions "reader"
	// (valueReference Patient or Practitioner, display their name),
	// "count" (valueInteger: the messages of the thread, first one
	// included, it covers) and "at" (valueDateTime).
	ExtThreadRead = "https://parcours-sante.org/fhir/StructureDefinition/thread-read"
)

// threadEntry is a reply listed by its thread.
type threadEntry struct {
	ID   string
	Side portal.AuthorKind
}

// readMark records that Reader read, At, the first Count messages of a
// thread (those of the other side among them).
type readMark struct {
	Reader portal.Author
	Count  int
	At     time.Time
}

// communication is a messaging Communication as the backend reads it.
type communication struct {
	ID, Version, Raw string
	Root             bool   // a thread (its first message)
	Thread           string // the thread's id: partOf, or its own for a root
	Patient          string // subject
	Service          string // recipient HealthcareService (a root's)
	Author           portal.Author
	ClientID, Key    string
	Digest           string
	Body             string
	Created          time.Time // sent
	Attachments      []attachment

	// A root's thread state.
	Subject              string
	Status               portal.ThreadStatus
	AssignedTo           string
	Updated, LastMessage time.Time
	Activity             time.Time
	Replies              []threadEntry
	Reads                []readMark
}

// errNotMessaging is the error of a Communication that is not of
// messaging (no SystemMessaging category): someone else's, such as a care
// team's note or a questionnaire alert, which the backend ignores without
// a warning.
var errNotMessaging = errors.New("Communication: not of messaging")

// sideOf returns the side of a sender reference, if it is one.
func sideOf(reference string) (portal.AuthorKind, string, bool) {
	if id, ok := refID(reference, "Patient"); ok {
		return portal.AuthorPatient, id, true
	}
	if id, ok := refID(reference, "Practitioner"); ok {
		return portal.AuthorPractitioner, id, true
	}
	return "", "", false
}

// parseCommunication reads a messaging Communication. One that is not
// Parcours's (no SystemMessaging category), or lacks what a thread or
// message needs, is an error.
func parseCommunication(r gjson.Result) (communication, error) {
	c := communication{
		ID:      r.Get("id").String(),
		Version: r.Get("meta.versionId").String(),
		Raw:     r.Raw,
		Digest:  extension(r, ExtRequestDigest).Get("valueString").String(),
	}
	if !validID(c.ID) || r.Get("resourceType").String() != "Communication" {
		return communication{}, errors.New("Communication: no valid id")
	}
	category := ""
	r.Get("category").ForEach(func(_, cc gjson.Result) bool {
		cc.Get("coding").ForEach(func(_, code gjson.Result) bool {
			if code.Get("system").String() == SystemMessaging {
				category = code.Get("code").String()
				return false
			}
			return true
		})
		return category == ""
	})
	switch category {
	case CodeThread:
		c.Root, c.Thread = true, c.ID
	case CodeMessage:
		partOf, ok := refID(r.Get("partOf.0.reference").String(), "Communication")
		if !ok || partOf == c.ID {
			return communication{}, fmt.Errorf("Communication/%s: a message not part of a thread", c.ID)
		}
		c.Thread = partOf
	default:
		return communication{}, errNotMessaging
	}
	var ok bool
	if c.Patient, ok = refID(r.Get("subject.reference").String(), "Patient"); !ok {
		return communication{}, fmt.Errorf("Communication/%s: no Patient subject", c.ID)
	}
	sender := r.Get("sender")
	kind, id, ok := sideOf(sender.Get("reference").String())
	if !ok {
		return communication{}, fmt.Errorf("Communication/%s: no Patient or Practitioner sender", c.ID)
	}
	if kind == portal.AuthorPatient && id != c.Patient {
		return communication{}, fmt.Errorf("Communication/%s: sent by another patient than its subject", c.ID)
	}
	c.Author = portal.Author{Kind: kind, ID: id, Name: sender.Get("display").String()}
	r.Get("identifier").ForEach(func(_, i gjson.Result) bool {
		switch i.Get("system").String() {
		case SystemMessageKey:
			c.Key = i.Get("value").String()
		case SystemClientID:
			c.ClientID = i.Get("value").String()
		}
		return true
	})
	if c.Created, ok = parseInstant(r.Get("sent").String()); !ok {
		return communication{}, fmt.Errorf("Communication/%s: no sent time", c.ID)
	}
	payload := r.Get("payload").Array()
	if len(payload) == 0 || payload[0].Get("contentString").Type != gjson.String {
		return communication{}, fmt.Errorf("Communication/%s: no text", c.ID)
	}
	c.Body = payload[0].Get("contentString").String()
	for _, p := range payload[1:] {
		a, err := attachmentFrom(p.Get("contentAttachment"))
		if err != nil {
			return communication{}, fmt.Errorf("Communication/%s: %w", c.ID, err)
		}
		if !lowerHex(a.SHA256) {
			return communication{}, fmt.Errorf("Communication/%s: an attachment's SHA-256 is not lower-case hex", c.ID)
		}
		if slices.ContainsFunc(c.Attachments, func(x attachment) bool { return x.Binary == a.Binary }) {
			return communication{}, fmt.Errorf("Communication/%s: one Binary attached twice", c.ID)
		}
		c.Attachments = append(c.Attachments, a)
	}
	if !c.Root {
		return c, nil
	}
	return parseThreadState(r, c)
}

// lowerHex reports whether s is lower-case hex.
func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseThreadState reads a root's thread state.
func parseThreadState(r gjson.Result, c communication) (communication, error) {
	if c.Author.Kind != portal.AuthorPatient {
		return communication{}, fmt.Errorf("Communication/%s: a thread not started by its patient", c.ID)
	}
	var ok bool
	r.Get("recipient").ForEach(func(_, x gjson.Result) bool {
		c.Service, ok = refID(x.Get("reference").String(), "HealthcareService")
		return !ok
	})
	if !ok {
		return communication{}, fmt.Errorf("Communication/%s: a thread without a HealthcareService recipient", c.ID)
	}
	c.Subject = r.Get("topic.text").String()
	if c.Subject == "" {
		return communication{}, fmt.Errorf("Communication/%s: a thread without a subject", c.ID)
	}
	c.Status = portal.ThreadStatus(extension(r, ExtThreadStatus).Get("valueCode").String())
	if !c.Status.Valid() {
		return communication{}, fmt.Errorf("Communication/%s: no valid thread status", c.ID)
	}
	if a := extension(r, ExtThreadAssignedTo); a.Exists() {
		if c.AssignedTo, ok = refID(a.Get("valueReference.reference").String(), "Practitioner"); !ok {
			return communication{}, fmt.Errorf("Communication/%s: assigned to no Practitioner", c.ID)
		}
	}
	c.Updated, c.LastMessage = c.Created, c.Created
	if t := extTime(r, ExtThreadUpdated); t != nil {
		c.Updated = *t
	}
	if t := extTime(r, ExtThreadLastMessage); t != nil {
		c.LastMessage = *t
	}
	c.Activity, _ = parseInstant(extension(r, ExtThreadActivity).Get("valueInstant").String())
	seen := map[string]bool{c.ID: true}
	var err error
	r.Get("extension").ForEach(func(_, e gjson.Result) bool {
		switch e.Get("url").String() {
		case ExtThreadMessage:
			id, ok := refID(extension(e, "message").Get("valueReference.reference").String(), "Communication")
			side := portal.AuthorKind(extension(e, "side").Get("valueCode").String())
			if !ok || seen[id] || (side != portal.AuthorPatient && side != portal.AuthorPractitioner) {
				err = fmt.Errorf("Communication/%s: a malformed or repeated thread message", c.ID)
				return false
			}
			seen[id] = true
			c.Replies = append(c.Replies, threadEntry{ID: id, Side: side})
		case ExtThreadRead:
			reader := extension(e, "reader").Get("valueReference")
			kind, id, ok := sideOf(reader.Get("reference").String())
			count := extension(e, "count").Get("valueInteger")
			at, okAt := parseDateTime(extension(e, "at").Get("valueDateTime").String())
			if !ok || !okAt || count.Type != gjson.Number || count.Int() < 1 || count.Int() > 1<<30 {
				err = fmt.Errorf("Communication/%s: a malformed read mark", c.ID)
				return false
			}
			c.Reads = append(c.Reads, readMark{
				Reader: portal.Author{Kind: kind, ID: id, Name: reader.Get("display").String()},
				Count:  int(count.Int()), At: at,
			})
		}
		return true
	})
	if err != nil {
		return communication{}, err
	}
	return c, nil
}

// sides returns the side of each message of thread root c, the first one
// included, in order.
func (c communication) sides() []portal.AuthorKind {
	out := []portal.AuthorKind{portal.AuthorPatient}
	for _, r := range c.Replies {
		out = append(out, r.Side)
	}
	return out
}

// lists reports whether thread root c holds message id.
func (c communication) lists(id string) bool {
	return id == c.ID || slices.ContainsFunc(c.Replies, func(e threadEntry) bool { return e.ID == id })
}

// readUpTo returns how many of the first messages someone of side kind
// (or, with id, that reader only) has read.
func (c communication) readUpTo(kind portal.AuthorKind, id string) int {
	n := 0
	for _, m := range c.Reads {
		if m.Reader.Kind == kind && (id == "" || m.Reader.ID == id) {
			n = max(n, m.Count)
		}
	}
	return n
}

// unread returns the messages of the other side that nobody of side kind
// has read.
func (c communication) unread(kind portal.AuthorKind) int {
	upTo, n := c.readUpTo(kind, ""), 0
	for i, s := range c.sides() {
		if i >= upTo && s != kind {
			n++
		}
	}
	return n
}

// receipts returns who of the other side read message i of side kind,
// first read first.
func (c communication) receipts(i int, kind portal.AuthorKind, loc *time.Location) []portal.ReadReceipt {
	out := []portal.ReadReceipt{}
	for _, m := range c.Reads {
		if m.Reader.Kind == kind || m.Count <= i ||
			slices.ContainsFunc(out, func(r portal.ReadReceipt) bool { return r.Reader.ID == m.Reader.ID && r.Reader.Kind == m.Reader.Kind }) {
			continue
		}
		out = append(out, portal.ReadReceipt{Reader: m.Reader, At: m.At.In(loc)})
	}
	slices.SortStableFunc(out, func(x, y portal.ReadReceipt) int { return x.At.Compare(y.At) })
	return out
}

// toThread returns thread root c as viewer sees it.
func (c communication) toThread(viewer portal.Author, est string, loc *time.Location, patientName string) portal.Thread {
	t := portal.Thread{
		ID: c.ID, Establishment: est, Service: c.Service, Subject: c.Subject, Patient: c.Patient,
		Status: c.Status, AssignedTo: c.AssignedTo,
		Created: c.Created.In(loc), Updated: c.Updated.In(loc), LastMessage: c.LastMessage.In(loc),
		Unread: c.unread(viewer.Kind),
	}
	if viewer.Kind == portal.AuthorPractitioner {
		t.PatientName = patientName
	}
	return t
}

// toMessage returns message m, number i of thread root, in portal terms.
func (m communication) toMessage(root communication, i int, loc *time.Location) portal.Message {
	msg := portal.Message{
		ID: m.ID, Thread: root.ID, ClientID: m.ClientID, Author: m.Author, Body: m.Body,
		Attachments: []portal.AttachmentMeta{}, Created: m.Created.In(loc),
		ReadBy: root.receipts(i, m.Author.Kind, loc),
	}
	for _, a := range m.Attachments {
		msg.Attachments = append(msg.Attachments, a.meta())
	}
	return msg
}

// meta returns a as a message's attachment: its id is its Binary's.
func (a attachment) meta() portal.AttachmentMeta {
	return portal.AttachmentMeta{ID: a.Binary, Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256}
}

// Writing.

// threadStateURLs are the extensions of a root that setThreadState owns.
var threadStateURLs = []string{ExtThreadStatus, ExtThreadAssignedTo, ExtThreadUpdated, ExtThreadLastMessage,
	ExtThreadActivity, ExtThreadMessage, ExtThreadRead}

// setThreadState writes c's thread state into res, the root's JSON,
// keeping every other extension as it was.
func setThreadState(res map[string]any, c communication) {
	for _, u := range threadStateURLs {
		removeExtension(res, u)
	}
	exts, _ := res["extension"].([]any)
	add := func(url, key string, v any) { exts = append(exts, map[string]any{"url": url, key: v}) }
	add(ExtThreadStatus, "valueCode", string(c.Status))
	if c.AssignedTo != "" {
		add(ExtThreadAssignedTo, "valueReference", referenceJSON{Reference: ref("Practitioner", c.AssignedTo)})
	}
	add(ExtThreadUpdated, "valueDateTime", formatInstant(c.Updated))
	add(ExtThreadLastMessage, "valueDateTime", formatInstant(c.LastMessage))
	if !c.Activity.IsZero() {
		add(ExtThreadActivity, "valueInstant", c.Activity.UTC().Format(time.RFC3339Nano))
	}
	for _, e := range c.Replies {
		exts = append(exts, map[string]any{"url": ExtThreadMessage, "extension": []any{
			map[string]any{"url": "message", "valueReference": referenceJSON{Reference: ref("Communication", e.ID)}},
			map[string]any{"url": "side", "valueCode": string(e.Side)},
		}})
	}
	for _, m := range c.Reads {
		exts = append(exts, map[string]any{"url": ExtThreadRead, "extension": []any{
			map[string]any{"url": "reader", "valueReference": authorRef(m.Reader)},
			map[string]any{"url": "count", "valueInteger": m.Count},
			map[string]any{"url": "at", "valueDateTime": formatInstant(m.At)},
		}})
	}
	res["extension"] = exts
}

// authorRef is a reference to a person of either side, with their name.
func authorRef(a portal.Author) referenceJSON {
	typ := "Patient"
	if a.Kind == portal.AuthorPractitioner {
		typ = "Practitioner"
	}
	return referenceJSON{Reference: ref(typ, a.ID), Display: a.Name}
}

// newMessageJSON is a new message's Communication: a thread's first (with
// root) or a reply in thread.
func newMessageJSON(author portal.Author, patient, service, thread string, root *communication, key, clientID, digest, body string,
	atts []portal.NewAttachment, bins []string, now time.Time) map[string]any {
	payload := []any{map[string]any{"contentString": body}}
	for i, a := range atts {
		payload = append(payload, map[string]any{"contentAttachment": attachmentJSON(a.Name, a.ContentType, a.Content, bins[i])})
	}
	code := CodeMessage
	if root != nil {
		code = CodeThread
	}
	recipient := referenceJSON{Reference: ref("HealthcareService", service)}
	if author.Kind == portal.AuthorPractitioner {
		recipient = referenceJSON{Reference: ref("Patient", patient)}
	}
	res := map[string]any{
		"resourceType": "Communication",
		"identifier": []any{
			identifierJSON{System: SystemMessageKey, Value: key},
			identifierJSON{System: SystemClientID, Value: clientID},
		},
		"status":    "completed",
		"category":  []any{map[string]any{"coding": []any{map[string]any{"system": SystemMessaging, "code": code}}}},
		"subject":   referenceJSON{Reference: ref("Patient", patient)},
		"sent":      formatInstant(now),
		"sender":    authorRef(author),
		"recipient": []any{recipient},
		"payload":   payload,
		"extension": []any{map[string]any{"url": ExtRequestDigest, "valueString": digest}},
	}
	if root != nil {
		res["topic"] = map[string]any{"text": root.Subject}
		setThreadState(res, *root)
	} else {
		res["partOf"] = []any{referenceJSON{Reference: ref("Communication", thread)}}
	}
	return res
}
