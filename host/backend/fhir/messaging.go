package fhir

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/internal/deadline"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// This file is portal.Messaging over FHIR: threads and messages are
// Communications (see messaging_map.go and docs/fhir.md, "Messaging"),
// attachments Binaries.
//
// Who sees what is decided here, never by the FHIR server's security: every
// read starts from the thread's Communication, checked against the
// context's subject (a patient: their own, the thread's subject; a
// practitioner: a thread of one of their services, from their
// PractitionerRoles), and reaches messages and Binaries only through it. A
// thread, message or attachment the subject may not see answers exactly as
// an unknown id.
//
// Writes stay safe without atomic transactions. A thread is one
// Communication made by a conditional create (If-None-Exist) on an
// identifier digesting its author and client id, its Binaries written
// before it under fresh ids. A reply is made the same way, then committed:
// added to its thread's list of messages (and the thread's status moved) by
// a versioned update of the thread (If-Match, again after a 412). Only
// listed replies are part of a thread, so a reply whose commit did not
// happen (the backend stopped) is seen by no one; the author's retry,
// which finds it by its identifier, commits it. Read marks, assignment and
// closing are versioned updates of the thread too.

var _ portal.Messaging = (*Backend)(nil)

// MaxAttachmentSize returns the largest message attachment b accepts, in
// bytes (ErrAttachmentTooLarge beyond): portal.DefaultMaxAttachmentSize,
// lowered to Config.MaxDocumentSize (attachments are Binaries like
// documents, under the same bound of a response).
func (b *Backend) MaxAttachmentSize() int64 {
	return min(portal.DefaultMaxAttachmentSize, b.cfg.MaxDocumentSize)
}

// maxThreadUpdateAttempts bounds the tries of a thread update that lost a
// race (412), and maxThreadUpdateWait the wait before one: a thread has
// few writers at once (its patient and a care team), but a commit should
// outlast a burst of them. One that fails still leaves a reply its retry
// commits.
const (
	maxThreadUpdateAttempts = 20
	maxThreadUpdateWait     = 250 * time.Millisecond
)

// linkingStatuses are the Appointment statuses that link a patient to a
// service: not cancelled, to come or past.
var linkingStatuses = []string{"booked", "arrived", "checked-in", "fulfilled"}

func threadNotFound(id string) error {
	return portal.Errorf(portal.ErrNotFound, "thread %q not found", id)
}

func attachmentNotFound(messageID, attachmentID string) error {
	return portal.Errorf(portal.ErrNotFound, "attachment %q of message %q not found", attachmentID, messageID)
}

// msgPlaces caches, for one call, the services read and their
// establishments' time zones.
type msgPlaces struct {
	b    *Backend
	svcs map[string]serviceRef
}

func (b *Backend) newMsgPlaces() *msgPlaces { return &msgPlaces{b: b, svcs: map[string]serviceRef{}} }

// service reads a HealthcareService, active or not (a thread outlives its
// service's activity), and its Organization's time zone.
func (p *msgPlaces) service(ctx context.Context, id string) (serviceRef, error) {
	if s, ok := p.svcs[id]; ok {
		return s, nil
	}
	r, _, err := p.b.read(ctx, "HealthcareService", id)
	if err != nil {
		return serviceRef{}, err
	}
	s, err := healthcareServiceFrom(r)
	if err != nil {
		return serviceRef{}, p.b.badData("HealthcareService", err)
	}
	tz := ""
	if or, _, err := p.b.read(ctx, "Organization", s.Organization); err == nil {
		if o, err := organizationFrom(or); err == nil {
			tz = o.TimeZone
		}
	} else if !portal.IsCode(err, portal.ErrNotFound) {
		return serviceRef{}, err
	}
	ref := serviceRef{healthcareService: s, loc: p.b.location(tz)}
	p.svcs[id] = ref
	return ref, nil
}

// seesThread reports whether the scope's viewer may read thread root c.
func (s viewerScope) seesThread(c communication) bool {
	switch s.viewer.Kind {
	case portal.AuthorPatient:
		return c.Patient == s.viewer.ID
	case portal.AuthorPractitioner:
		return s.services[c.Service]
	}
	return false
}

// messagingScope returns the context subject's scope, checking that a
// patient's id can be a FHIR id.
func (b *Backend) messagingScope(ctx context.Context, viewer portal.Author) (viewerScope, error) {
	if !validID(viewer.ID) {
		return viewerScope{}, portal.Errorf(portal.ErrUnauthenticated, "the subject is not a FHIR id")
	}
	return b.scope(ctx, viewer)
}

// skipCommunication logs a Communication left out, unless it is simply not
// of messaging.
func (b *Backend) skipCommunication(err error) {
	if !errors.Is(err, errNotMessaging) {
		b.skip("Communication", err)
	}
}

// threadRoot reads thread id as the scope sees it; any other is ErrNotFound, the
// same as an unknown id.
func (b *Backend) threadRoot(ctx context.Context, s viewerScope, id string) (communication, error) {
	r, v, err := b.read(ctx, "Communication", id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return communication{}, threadNotFound(id)
	}
	if err != nil {
		return communication{}, err
	}
	c, err := parseCommunication(r)
	if err != nil || !c.Root {
		if err != nil {
			b.skipCommunication(err)
		}
		return communication{}, threadNotFound(id)
	}
	c.Version = cmp.Or(v, c.Version)
	if !s.seesThread(c) {
		return communication{}, threadNotFound(id)
	}
	return c, nil
}

// replies reads the listed replies of thread root c, in order.
func (b *Backend) replies(ctx context.Context, c communication) ([]communication, error) {
	if len(c.Replies) == 0 {
		return nil, nil
	}
	found, err := b.search(ctx, "Communication", values("part-of", ref("Communication", c.ID)))
	if err != nil {
		return nil, err
	}
	byID := map[string]communication{}
	for _, r := range found {
		m, err := parseCommunication(r)
		if err != nil {
			b.skipCommunication(err)
			continue
		}
		byID[m.ID] = m
	}
	out := make([]communication, 0, len(c.Replies))
	for _, e := range c.Replies {
		m, ok := byID[e.ID]
		if !ok {
			// Not in the search (a server's index lagging): read it.
			r, _, err := b.read(ctx, "Communication", e.ID)
			if err != nil {
				return nil, err
			}
			if m, err = parseCommunication(r); err != nil {
				return nil, b.badData("Communication", err)
			}
		}
		if m.Root || m.Thread != c.ID || m.Patient != c.Patient || m.Author.Kind != e.Side {
			return nil, b.badData("Communication", errBadReply)
		}
		out = append(out, m)
	}
	return out, nil
}

var errBadReply = errors.New("a listed reply is not of its thread")

// conversation returns thread root c with its messages as the scope's
// viewer sees them.
func (b *Backend) conversation(ctx context.Context, p *msgPlaces, s viewerScope, c communication) (portal.Conversation, error) {
	svc, err := p.service(ctx, c.Service)
	if err != nil {
		return portal.Conversation{}, err
	}
	replies, err := b.replies(ctx, c)
	if err != nil {
		return portal.Conversation{}, err
	}
	conv := portal.Conversation{
		Thread:   c.toThread(s.viewer, svc.Organization, svc.loc, b.threadPatientName(ctx, s.viewer, c.Patient)),
		Messages: []portal.Message{c.toMessage(c, 0, svc.loc)},
	}
	for i, m := range replies {
		conv.Messages = append(conv.Messages, m.toMessage(c, i+1, svc.loc))
	}
	return conv, nil
}

// threadPatientName returns the patient's name for a practitioner, "" for anyone
// else or when it cannot be read.
func (b *Backend) threadPatientName(ctx context.Context, viewer portal.Author, patient string) string {
	return b.patientNames(ctx, viewer, patient)[patient]
}

// Thread returns a thread the context's subject may read, with its
// messages oldest first. Any other thread is reported exactly as an
// unknown one, ErrNotFound.
func (b *Backend) Thread(ctx context.Context, id string) (portal.Conversation, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.Conversation{}, err
	}
	s, err := b.messagingScope(ctx, viewer)
	if err != nil {
		return portal.Conversation{}, err
	}
	c, err := b.threadRoot(ctx, s, id)
	if err != nil {
		return portal.Conversation{}, err
	}
	return b.conversation(ctx, b.newMsgPlaces(), s, c)
}

// Threads lists the context patient's threads in an establishment, latest
// message first (search Communication?subject=&category=thread). An
// unknown establishment is ErrNotFound; a practitioner is refused.
func (b *Backend) Threads(ctx context.Context, est string) ([]portal.Thread, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return nil, err
	}
	if !validID(viewer.ID) {
		return nil, portal.Errorf(portal.ErrUnauthenticated, "the subject is not a FHIR Patient id")
	}
	if _, err := b.organization(ctx, est); err != nil {
		return nil, err
	}
	out, activity, err := b.threadList(ctx, b.newMsgPlaces(), viewerScope{viewer: viewer}, est, portal.InboxFilter{},
		values("subject", ref("Patient", viewer.ID), "category", SystemMessaging+"|"+CodeThread))
	if err != nil {
		return nil, err
	}
	sortThreads(out, activity)
	return out, nil
}

// Inbox lists the threads of an establishment in the services the
// context's practitioner belongs to, selected by f, latest message first
// (search Communication?recipient=HealthcareService/…&category=thread,
// with the Patients included for their names). An unknown establishment,
// or an unknown service in f, is ErrNotFound; a service the practitioner
// does not belong to has no thread for them. A patient is refused.
func (b *Backend) Inbox(ctx context.Context, est string, f portal.InboxFilter) ([]portal.Thread, error) {
	viewer, err := requireSide(ctx, portal.AuthorPractitioner)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if _, err := b.organization(ctx, est); err != nil {
		return nil, err
	}
	p := b.newMsgPlaces()
	if f.Service != "" {
		if !validID(f.Service) {
			return nil, portal.Errorf(portal.ErrNotFound, "service %q not found", f.Service)
		}
		svc, err := p.service(ctx, f.Service)
		if err != nil {
			return nil, err
		}
		if svc.Organization != est {
			return nil, portal.Errorf(portal.ErrNotFound, "service %q not found", f.Service)
		}
	}
	s, err := b.messagingScope(ctx, viewer)
	if err != nil {
		return nil, err
	}
	// The practitioner's services of this establishment: an inactive or
	// unreadable one still shows its threads if it is of est.
	var services []string
	for id := range s.services {
		if f.Service != "" && id != f.Service || !validID(id) {
			continue
		}
		svc, err := p.service(ctx, id)
		if portal.IsCode(err, portal.ErrNotFound) || portal.IsCode(err, portal.ErrInternal) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if svc.Organization == est {
			services = append(services, id)
		}
	}
	slices.Sort(services)
	out := []portal.Thread{}
	activity := map[string]time.Time{}
	for chunk := range slices.Chunk(services, searchChunk) {
		refs := make([]string, len(chunk))
		for i, id := range chunk {
			refs[i] = ref("HealthcareService", id)
		}
		ts, act, err := b.threadList(ctx, p, s, est, f, url.Values{
			"recipient": {strings.Join(refs, ",")},
			"category":  {SystemMessaging + "|" + CodeThread},
			"_include":  {"Communication:subject"},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
		maps.Copy(activity, act)
	}
	sortThreads(out, activity)
	return out, nil
}

// threadList returns the threads of search q that the scope sees in
// establishment est, selected by f, with the time of each one's last
// commit (ExtThreadActivity), to order them.
func (b *Backend) threadList(ctx context.Context, p *msgPlaces, s viewerScope, est string, f portal.InboxFilter, q url.Values) ([]portal.Thread, map[string]time.Time, error) {
	found, err := b.search(ctx, "Communication", q)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	var roots []communication
	for _, r := range found {
		switch r.Get("resourceType").String() {
		case "Communication":
			c, err := parseCommunication(r)
			if err != nil {
				b.skipCommunication(err)
				continue
			}
			if c.Root && s.seesThread(c) && (f.Status == "" || c.Status == f.Status) && (f.Service == "" || c.Service == f.Service) &&
				!slices.ContainsFunc(roots, func(x communication) bool { return x.ID == c.ID }) {
				roots = append(roots, c)
			}
		case "Patient":
			if pt, err := patientFrom(r); err == nil {
				names[pt.ID] = pt.DisplayName()
			}
		}
	}
	out := []portal.Thread{}
	activity := map[string]time.Time{}
	for _, c := range roots {
		svc, err := p.service(ctx, c.Service)
		if portal.IsCode(err, portal.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if svc.Organization != est {
			continue
		}
		name := names[c.Patient]
		if _, ok := names[c.Patient]; !ok && s.viewer.Kind == portal.AuthorPractitioner {
			name = b.threadPatientName(ctx, s.viewer, c.Patient)
			names[c.Patient] = name
		}
		out = append(out, c.toThread(s.viewer, est, svc.loc, name))
		activity[c.ID] = c.Activity
	}
	return out, activity, nil
}

// sortThreads orders threads latest message first; within a second, the
// latest committed first (activity), then by id.
func sortThreads(ts []portal.Thread, activity map[string]time.Time) {
	slices.SortStableFunc(ts, func(x, y portal.Thread) int {
		return cmp.Or(y.LastMessage.Compare(x.LastMessage), activity[y.ID].Compare(activity[x.ID]), strings.Compare(x.ID, y.ID))
	})
}

// StartThread starts a thread for the context's patient in t.Service: its
// Binaries, then its Communication by a conditional create on
// SystemMessageKey|digest(patient, client id), then its notification to the
// care team. The thread is portal.ThreadNew.
//
// An invalid t is refused first (portal.NewThread.Validate, with
// MaxAttachmentSize). A client id this patient already used returns the
// thread it started, as it is now, if the request is the same, and is
// ErrIdempotencyKeyReused otherwise. Then an unknown establishment or
// service is ErrNotFound, and a service the patient has no link with
// ErrServiceNotLinked: a link is an Appointment with the service that is
// not cancelled (booked, arrived, checked-in, fulfilled), or a thread of
// theirs in it.
func (b *Backend) StartThread(ctx context.Context, t portal.NewThread) (portal.Conversation, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return portal.Conversation{}, err
	}
	if !validID(viewer.ID) {
		return portal.Conversation{}, portal.Errorf(portal.ErrUnauthenticated, "the subject is not a FHIR Patient id")
	}
	if err := t.Validate(b.MaxAttachmentSize()); err != nil {
		return portal.Conversation{}, err
	}
	s := viewerScope{viewer: viewer}
	key := messageKey(viewer, t.ClientID)
	digest := messageDigest("start", []string{t.Establishment, t.Service, t.Subject, t.Body}, t.Attachments)
	p := b.newMsgPlaces()
	replay := func(c communication) (portal.Conversation, error) {
		if c.Digest != digest || !c.Root {
			return portal.Conversation{}, portal.Errorf(portal.ErrIdempotencyKeyReused, "client id already used by message %s for another message", c.ID)
		}
		if err := b.enqueueNotification(ctx, p, c, c); err != nil {
			return portal.Conversation{}, err
		}
		root, err := b.threadRoot(ctx, s, c.ID)
		if err != nil {
			return portal.Conversation{}, err
		}
		return b.conversation(ctx, p, s, root)
	}
	if c, ok, err := b.findMessage(ctx, viewer, key); err != nil {
		return portal.Conversation{}, err
	} else if ok {
		return replay(c)
	}
	if _, err := b.checkPlace(ctx, t.Establishment, t.Service); err != nil {
		return portal.Conversation{}, err
	}
	if err := b.messagingLink(ctx, viewer.ID, t.Service); err != nil {
		return portal.Conversation{}, err
	}
	author := viewer
	author.Name = b.authorName(ctx, viewer)
	bins, err := b.putAttachments(ctx, t.Attachments)
	if err != nil {
		return portal.Conversation{}, err
	}
	now := b.now().Truncate(time.Second)
	root := communication{Subject: t.Subject, Status: portal.ThreadNew, Updated: now, LastMessage: now, Activity: time.Now()}
	res := newMessageJSON(author, viewer.ID, t.Service, "", &root, key, t.ClientID, digest, t.Body, t.Attachments, bins, now)
	c, err := b.createMessage(ctx, res, key)
	if err != nil {
		return portal.Conversation{}, err
	}
	if c.Author.Kind != author.Kind || c.Author.ID != author.ID || c.Patient != viewer.ID {
		return portal.Conversation{}, portal.Errorf(portal.ErrInternal, "fhir: message key of another author")
	}
	return replay(c)
}

// messagingLink reports ErrServiceNotLinked unless the patient has an
// Appointment with service that is not cancelled, or a thread in it.
func (b *Backend) messagingLink(ctx context.Context, patient, service string) error {
	found, err := b.search(ctx, "Appointment", values(
		"patient", ref("Patient", patient), "actor", ref("HealthcareService", service), "status", strings.Join(linkingStatuses, ",")))
	if err != nil {
		return err
	}
	for _, r := range found {
		if a, err := appointmentFrom(r); err == nil && slices.Contains(linkingStatuses, a.Status) && a.Patient == patient && a.Service == service {
			return nil
		}
	}
	found, err = b.search(ctx, "Communication", values(
		"subject", ref("Patient", patient), "recipient", ref("HealthcareService", service), "category", SystemMessaging+"|"+CodeThread))
	if err != nil {
		return err
	}
	for _, r := range found {
		if c, err := parseCommunication(r); err == nil && c.Root && c.Patient == patient && c.Service == service {
			return nil
		}
	}
	return portal.Errorf(portal.ErrServiceNotLinked, "patient has no link with service %q", service)
}

// authorName returns a's name as the directory knows it, "" if it cannot
// be read.
func (b *Backend) authorName(ctx context.Context, a portal.Author) string {
	if a.Kind == portal.AuthorPatient {
		if p, err := b.Patient(ctx, a.ID); err == nil {
			return p.DisplayName()
		}
		return ""
	}
	if r, _, err := b.read(ctx, "Practitioner", a.ID); err == nil {
		if p, err := practitionerFrom(r); err == nil {
			return p.Name
		}
	}
	return ""
}

// putAttachments writes each attachment as a Binary under a fresh id, and
// returns the ids.
func (b *Backend) putAttachments(ctx context.Context, atts []portal.NewAttachment) ([]string, error) {
	if len(atts) == 0 {
		return nil, nil
	}
	bins := make([]string, len(atts))
	resources := make([]map[string]any, len(atts))
	for i, a := range atts {
		bins[i] = newResourceID()
		resources[i] = binaryJSON(bins[i], a.ContentType, a.Content, nil)
	}
	return bins, b.putAll(ctx, resources)
}

// createMessage makes a message's Communication by a conditional create on
// its key and returns it as stored: the new one, or the one an earlier or
// concurrent request made.
func (b *Backend) createMessage(ctx context.Context, res map[string]any, key string) (communication, error) {
	body, err := json.Marshal(res)
	if err != nil {
		return communication{}, err
	}
	r, _, _, err := b.write(ctx, request{
		method: http.MethodPost, path: "Communication", body: body,
		ifNoneExist: "identifier=" + SystemMessageKey + "|" + key, op: opWrite,
	}, "Communication")
	if err != nil {
		return communication{}, err
	}
	c, err := parseCommunication(r)
	if err != nil || c.Key != key {
		if err == nil {
			err = errors.New("the stored message has another key")
		}
		return communication{}, b.badData("Communication", err)
	}
	return c, nil
}

// findMessage returns the message author stored under key, if any.
func (b *Backend) findMessage(ctx context.Context, author portal.Author, key string) (communication, bool, error) {
	found, err := b.search(ctx, "Communication", values("identifier", SystemMessageKey+"|"+key))
	if err != nil {
		return communication{}, false, err
	}
	for _, r := range found {
		c, err := parseCommunication(r)
		if err != nil {
			b.skipCommunication(err)
			continue
		}
		if c.Key != key {
			continue
		}
		if c.Author.Kind != author.Kind || c.Author.ID != author.ID {
			return communication{}, false, portal.Errorf(portal.ErrInternal, "fhir: message key of another author")
		}
		return c, true, nil
	}
	return communication{}, false, nil
}

// Send stores a message of the context's subject in a thread they may
// read: its Binaries, its Communication by a conditional create on
// SystemMessageKey|digest(author, client id), then its commit into the
// thread (which moves the thread's status, see portal.Messaging), then its
// notification to the other side.
//
// An invalid message is refused first (portal.NewMessage.Validate). A
// client id this author already used returns the message stored then if
// the request is the same (same thread, body and attachments), committing
// it if an earlier call could not, and is ErrIdempotencyKeyReused
// otherwise. A thread the subject may not read is ErrNotFound, as an
// unknown one.
func (b *Backend) Send(ctx context.Context, threadID string, nm portal.NewMessage) (portal.Message, error) {
	author, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.Message{}, err
	}
	if err := nm.Validate(b.MaxAttachmentSize()); err != nil {
		return portal.Message{}, err
	}
	s, err := b.messagingScope(ctx, author)
	if err != nil {
		return portal.Message{}, err
	}
	key := messageKey(author, nm.ClientID)
	digest := messageDigest("send", []string{threadID, nm.Body}, nm.Attachments)
	p := b.newMsgPlaces()
	m, found, err := b.findMessage(ctx, author, key)
	if err != nil {
		return portal.Message{}, err
	}
	if !found {
		root, err := b.threadRoot(ctx, s, threadID)
		if err != nil {
			return portal.Message{}, err
		}
		author.Name = b.authorName(ctx, author)
		bins, err := b.putAttachments(ctx, nm.Attachments)
		if err != nil {
			return portal.Message{}, err
		}
		now := b.now().Truncate(time.Second)
		res := newMessageJSON(author, root.Patient, root.Service, root.ID, nil, key, nm.ClientID, digest, nm.Body, nm.Attachments, bins, now)
		if m, err = b.createMessage(ctx, res, key); err != nil {
			return portal.Message{}, err
		}
	}
	if m.Digest != digest || m.Root || m.Thread != threadID {
		return portal.Message{}, portal.Errorf(portal.ErrIdempotencyKeyReused, "client id already used by message %s for another message", m.ID)
	}
	if m.Author.Kind != author.Kind || m.Author.ID != author.ID {
		return portal.Message{}, portal.Errorf(portal.ErrInternal, "fhir: message key of another author")
	}
	root, err := b.commitReply(ctx, s, m)
	if err != nil {
		return portal.Message{}, err
	}
	if err := b.enqueueNotification(ctx, p, root, m); err != nil {
		return portal.Message{}, err
	}
	svc, err := p.service(ctx, root.Service)
	if err != nil {
		return portal.Message{}, err
	}
	i := slices.IndexFunc(root.Replies, func(e threadEntry) bool { return e.ID == m.ID })
	return m.toMessage(root, i+1, svc.loc), nil
}

// commitReply lists reply m in its thread, unless it is already, moving the
// thread's status, LastMessage and Updated; it returns the thread as it
// then stands.
func (b *Backend) commitReply(ctx context.Context, s viewerScope, m communication) (communication, error) {
	return b.updateThread(ctx, s, m.Thread, func(c *communication) bool {
		if c.lists(m.ID) {
			return false
		}
		c.Replies = append(c.Replies, threadEntry{ID: m.ID, Side: m.Author.Kind})
		switch {
		case m.Author.Kind == portal.AuthorPractitioner:
			c.Status = portal.ThreadAnswered
		case c.Status != portal.ThreadNew:
			c.Status = portal.ThreadWaiting
		}
		c.LastMessage = laterTime(c.LastMessage, m.Created)
		c.Updated = laterTime(c.Updated, m.Created)
		c.Activity = time.Now()
		return true
	})
}

func laterTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// updateThread reads thread id as s sees it and, if change changes it,
// writes it back with If-Match on the version read, reading it again after
// a 412. It returns the thread as it then stands.
func (b *Backend) updateThread(ctx context.Context, s viewerScope, id string, change func(*communication) bool) (communication, error) {
	for attempt := 1; ; attempt++ {
		c, err := b.threadRoot(ctx, s, id)
		if err != nil {
			return communication{}, err
		}
		next := c
		next.Replies, next.Reads = slices.Clone(c.Replies), slices.Clone(c.Reads)
		if !change(&next) {
			return c, nil
		}
		body, err := edit(c.Raw, func(res map[string]any) { setThreadState(res, next) })
		if err != nil {
			return communication{}, err
		}
		r, v, _, err := b.write(ctx, request{
			method: http.MethodPut, path: ref("Communication", id), body: body, ifMatch: c.Version, op: opWrite,
		}, "Communication")
		if statusOf(err) == http.StatusPreconditionFailed && attempt < maxThreadUpdateAttempts {
			// Another writer was first: wait a little, jittered, so
			// that concurrent writers do not meet again at once.
			// The waits grow (exponential, full jitter) up to
			// maxThreadUpdateWait.
			wait := time.Millisecond + rand.N(min(2*time.Millisecond<<attempt, maxThreadUpdateWait))
			if err := deadline.Sleep(ctx, b.cfg.AfterFunc, wait); err != nil {
				return communication{}, err
			}
			continue
		}
		if err != nil {
			return communication{}, err
		}
		out, err := parseCommunication(r)
		if err != nil {
			return communication{}, b.badData("Communication", err)
		}
		out.Version = cmp.Or(v, out.Version)
		return out, nil
	}
}

// MarkRead records, in a read mark of the thread, that the context's
// subject read every message of the other side in a thread they may read
// (ErrNotFound otherwise), now. A message they read before keeps its first
// read time; Updated moves only when the mark covers a message they had
// not read.
func (b *Backend) MarkRead(ctx context.Context, threadID string) error {
	reader, err := portal.RequireAuthor(ctx)
	if err != nil {
		return err
	}
	s, err := b.messagingScope(ctx, reader)
	if err != nil {
		return err
	}
	c, err := b.threadRoot(ctx, s, threadID)
	if err != nil {
		return err
	}
	if !unreadBy(c, reader) {
		return nil
	}
	reader.Name = b.authorName(ctx, reader)
	_, err = b.updateThread(ctx, s, threadID, func(c *communication) bool {
		if !unreadBy(*c, reader) {
			return false
		}
		now := b.now().Truncate(time.Second)
		c.Reads = append(c.Reads, readMark{Reader: reader, Count: len(c.sides()), At: now})
		c.Updated = laterTime(c.Updated, now)
		return true
	})
	return err
}

// unreadBy reports whether thread root c has a message of the other side
// that reader has not read.
func unreadBy(c communication, reader portal.Author) bool {
	upTo := c.readUpTo(reader.Kind, reader.ID)
	for i, side := range c.sides() {
		if i >= upTo && side != reader.Kind {
			return true
		}
	}
	return false
}

// Attachment returns an attachment of a message of a thread the context's
// subject may read, with its bytes (its Binary, checked against the size
// and SHA-256 the message records: a mismatch is ErrInternal). Any other
// attachment, and an attachment asked for with another message's id, is
// reported exactly as an unknown one, ErrNotFound.
func (b *Backend) Attachment(ctx context.Context, messageID, attachmentID string) (portal.AttachmentMeta, []byte, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	s, err := b.messagingScope(ctx, viewer)
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	notFound := attachmentNotFound(messageID, attachmentID)
	m, _, err := b.listedMessage(ctx, s, messageID, notFound)
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	i := slices.IndexFunc(m.Attachments, func(a attachment) bool { return a.Binary == attachmentID })
	if i < 0 {
		return portal.AttachmentMeta{}, nil, notFound
	}
	a := m.Attachments[i]
	content, err := b.binary(ctx, a)
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	return a.meta(), content, nil
}

// MessageEstablishment returns the establishment (the Organization
// providing the thread's HealthcareService) of a message of a thread the
// context's subject may read; any other message is reported exactly as an
// unknown one, ErrNotFound. The host asks it before serving an attachment,
// to serve only those of the establishments it serves.
func (b *Backend) MessageEstablishment(ctx context.Context, messageID string) (string, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return "", err
	}
	s, err := b.messagingScope(ctx, viewer)
	if err != nil {
		return "", err
	}
	_, root, err := b.listedMessage(ctx, s, messageID, portal.Errorf(portal.ErrNotFound, "message %q not found", messageID))
	if err != nil {
		return "", err
	}
	svc, err := b.newMsgPlaces().service(ctx, root.Service)
	if err != nil {
		return "", err
	}
	return svc.Organization, nil
}

// listedMessage reads message id and its thread, if the scope sees the
// thread and the thread lists the message; otherwise notFound.
func (b *Backend) listedMessage(ctx context.Context, s viewerScope, id string, notFound error) (communication, communication, error) {
	r, _, err := b.read(ctx, "Communication", id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return communication{}, communication{}, notFound
	}
	if err != nil {
		return communication{}, communication{}, err
	}
	m, err := parseCommunication(r)
	if err != nil {
		b.skipCommunication(err)
		return communication{}, communication{}, notFound
	}
	// The thread says who may read the message, and whether the message
	// is part of it.
	root, err := b.threadRoot(ctx, s, m.Thread)
	if portal.IsCode(err, portal.ErrNotFound) || err == nil && (!root.lists(m.ID) || root.Patient != m.Patient) {
		return communication{}, communication{}, notFound
	}
	if err != nil {
		return communication{}, communication{}, err
	}
	return m, root, nil
}

// Assign gives a thread of the practitioner's services to the context's
// practitioner, whoever had it, and moves its Updated unless it was theirs
// already. The status does not change.
func (b *Backend) Assign(ctx context.Context, threadID string) (portal.Thread, error) {
	return b.careTeamUpdate(ctx, threadID, func(p portal.Author, c *communication) bool {
		if c.AssignedTo == p.ID {
			return false
		}
		c.AssignedTo = p.ID
		return true
	})
}

// Close closes a thread of the practitioner's services. Closing a closed
// thread returns it unchanged.
func (b *Backend) Close(ctx context.Context, threadID string) (portal.Thread, error) {
	return b.careTeamUpdate(ctx, threadID, func(_ portal.Author, c *communication) bool {
		if c.Status == portal.ThreadClosed {
			return false
		}
		c.Status = portal.ThreadClosed
		return true
	})
}

// careTeamUpdate runs a practitioner's change of a thread they may read,
// moving its Updated when change changes it.
func (b *Backend) careTeamUpdate(ctx context.Context, threadID string, change func(portal.Author, *communication) bool) (portal.Thread, error) {
	viewer, err := requireSide(ctx, portal.AuthorPractitioner)
	if err != nil {
		return portal.Thread{}, err
	}
	s, err := b.messagingScope(ctx, viewer)
	if err != nil {
		return portal.Thread{}, err
	}
	c, err := b.updateThread(ctx, s, threadID, func(c *communication) bool {
		if !change(viewer, c) {
			return false
		}
		c.Updated = laterTime(c.Updated, b.now().Truncate(time.Second))
		return true
	})
	if err != nil {
		return portal.Thread{}, err
	}
	svc, err := b.newMsgPlaces().service(ctx, c.Service)
	if err != nil {
		return portal.Thread{}, err
	}
	return c.toThread(viewer, svc.Organization, svc.loc, b.threadPatientName(ctx, viewer, c.Patient)), nil
}

// messageKey is the identifier value (SystemMessageKey) of author's
// message with clientID.
func messageKey(author portal.Author, clientID string) string {
	return requestDigest("message-key/v1", string(author.Kind), author.ID, clientID)
}

// messageDigest is the digest of what a message request asks for, to tell
// a retry from another request reusing its client id: the kind of request,
// its fields, and each attachment's name, type and SHA-256.
func messageDigest(kind string, fields []string, atts []portal.NewAttachment) string {
	parts := append([]string{kind}, fields...)
	for _, a := range atts {
		parts = append(parts, a.Name, a.ContentType, sha256Hex(a.Content))
	}
	return requestDigest("message/v1", parts...)
}
