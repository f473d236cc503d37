package fhir

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file is portal.Notifications over FHIR: the outbox of messaging
// notifications is made of Tasks (https://hl7.org/fhir/R4/task.html), one
// per message, of code SystemMessaging|notification:
//
//   - identifier SystemNotification|n, n the Notification.ID, a number
//     derived from the message's id (so that making it again finds it:
//     a conditional create, If-None-Exist);
//   - focus the message's Communication, for the Patient, owner the
//     establishment's Organization, authoredOn the message's time;
//     the thread, the service and the side to notify in extensions;
//   - status requested (waiting), in-progress (claimed: the lease's end and
//     the attempts in extensions), completed (acknowledged).
//
// A message's Task is made after the message is part of its thread, by
// the call that stored it, and again (finding it) by any retry of that
// call: a retry after a crash makes the notification the crash lost. A
// claim takes each Task by a versioned update (If-Match): of concurrent
// claims, one wins each Task, the others skip it.

// URLs and systems of the outbox. docs/fhir.md documents them.
const (
	// CodeNotification is the Task.code (in SystemMessaging) of a
	// messaging notification.
	CodeNotification = "notification"
	// SystemNotification is the identifier system of a notification's
	// Task; the value is Notification.ID in decimal.
	SystemNotification = "https://parcours-sante.org/fhir/sid/message-notification"
	// ExtNotificationThread is the thread of a notification
	// (valueReference Communication).
	ExtNotificationThread = "https://parcours-sante.org/fhir/StructureDefinition/notification-thread"
	// ExtNotificationService is the service of the thread
	// (valueReference HealthcareService).
	ExtNotificationService = "https://parcours-sante.org/fhir/StructureDefinition/notification-service"
	// ExtNotificationRecipient is the side to notify (valueCode patient or
	// practitioner).
	ExtNotificationRecipient = "https://parcours-sante.org/fhir/StructureDefinition/notification-recipient"
	// ExtNotificationEnqueued orders notifications made within one second:
	// the backend's wall clock when it made the Task (valueInstant).
	ExtNotificationEnqueued = "https://parcours-sante.org/fhir/StructureDefinition/notification-enqueued"
	// ExtNotificationLease is when the running claim's lease ends
	// (valueDateTime).
	ExtNotificationLease = "https://parcours-sante.org/fhir/StructureDefinition/notification-lease"
	// ExtNotificationAttempts counts the claims (valueInteger).
	ExtNotificationAttempts = "https://parcours-sante.org/fhir/StructureDefinition/notification-attempts"
)

var _ portal.Notifications = (*Backend)(nil)

// Outbox is the outbox of some establishments of a Backend, for a sender
// that drains only theirs (a host serving those establishments on a FHIR
// server others share). Get one with Backend.Outbox.
type Outbox struct {
	b    *Backend
	ests []string // none: every establishment
}

var _ portal.Notifications = (*Outbox)(nil)

// Outbox returns the outbox of the notifications of establishments (the
// Organization ids); none means all of them, as the Backend's own
// ClaimNotifications and AckNotification.
func (b *Backend) Outbox(establishments ...string) *Outbox {
	return &Outbox{b: b, ests: slices.Clone(establishments)}
}

// ClaimNotifications claims, for every establishment, as
// Outbox.ClaimNotifications.
func (b *Backend) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]portal.Notification, error) {
	return b.Outbox().ClaimNotifications(ctx, limit, lease)
}

// AckNotification acknowledges a notification of any establishment, as
// Outbox.AckNotification.
func (b *Backend) AckNotification(ctx context.Context, id int64) error {
	return b.Outbox().AckNotification(ctx, id)
}

// notificationID is the Notification.ID of message id's notification: 53
// bits of a digest of the id (exact in JSON numbers), never 0.
func notificationID(message string) int64 {
	sum := sha256.Sum256([]byte("notification/v1\x00" + message))
	n := int64(binary.BigEndian.Uint64(sum[:8]) & (1<<53 - 1))
	return max(n, 1)
}

// notificationTask is a notification's Task as the backend reads it.
type notificationTask struct {
	portal.Notification
	Version, Raw string
	Status       string // requested, in-progress, completed
	Lease        time.Time
	Enqueued     time.Time
}

// parseNotification reads a notification's Task.
func parseNotification(r gjson.Result) (notificationTask, error) {
	n := notificationTask{
		Version: r.Get("meta.versionId").String(),
		Raw:     r.Raw,
		Status:  r.Get("status").String(),
	}
	if !validID(r.Get("id").String()) || r.Get("resourceType").String() != "Task" {
		return notificationTask{}, errors.New("Task: no valid id")
	}
	r.Get("identifier").ForEach(func(_, i gjson.Result) bool {
		if i.Get("system").String() == SystemNotification {
			n.ID, _ = strconv.ParseInt(i.Get("value").String(), 10, 64)
			return false
		}
		return true
	})
	var ok bool
	switch {
	case n.ID <= 0:
		return notificationTask{}, errors.New("Task: no notification identifier")
	case n.Status != "requested" && n.Status != "in-progress" && n.Status != "completed":
		return notificationTask{}, fmt.Errorf("Task: status %q", n.Status)
	}
	if n.Message, ok = refID(r.Get("focus.reference").String(), "Communication"); !ok {
		return notificationTask{}, errors.New("Task: no Communication focus")
	}
	if n.Patient, ok = refID(r.Get("for.reference").String(), "Patient"); !ok {
		return notificationTask{}, errors.New("Task: no Patient")
	}
	if n.Establishment, ok = refID(r.Get("owner.reference").String(), "Organization"); !ok {
		return notificationTask{}, errors.New("Task: no Organization owner")
	}
	if n.Thread, ok = refID(extension(r, ExtNotificationThread).Get("valueReference.reference").String(), "Communication"); !ok {
		return notificationTask{}, errors.New("Task: no thread")
	}
	if n.Service, ok = refID(extension(r, ExtNotificationService).Get("valueReference.reference").String(), "HealthcareService"); !ok {
		return notificationTask{}, errors.New("Task: no service")
	}
	n.Recipient = portal.AuthorKind(extension(r, ExtNotificationRecipient).Get("valueCode").String())
	if n.Recipient != portal.AuthorPatient && n.Recipient != portal.AuthorPractitioner {
		return notificationTask{}, errors.New("Task: no recipient side")
	}
	if n.Created, ok = parseDateTime(r.Get("authoredOn").String()); !ok {
		return notificationTask{}, errors.New("Task: no authoredOn")
	}
	n.Enqueued, _ = parseInstant(extension(r, ExtNotificationEnqueued).Get("valueInstant").String())
	if t := extTime(r, ExtNotificationLease); t != nil {
		n.Lease = *t
	}
	if a := extension(r, ExtNotificationAttempts).Get("valueInteger"); a.Type == gjson.Number && a.Int() > 0 && a.Int() < 1<<31 {
		n.Attempts = int(a.Int())
	}
	return n, nil
}

// enqueueNotification makes the notification of message m of thread root, for the
// other side, unless it exists.
func (b *Backend) enqueueNotification(ctx context.Context, p *msgPlaces, root, m communication) error {
	svc, err := p.service(ctx, root.Service)
	if err != nil {
		return err
	}
	recipient := portal.AuthorPractitioner
	if m.Author.Kind == portal.AuthorPractitioner {
		recipient = portal.AuthorPatient
	}
	id := strconv.FormatInt(notificationID(m.ID), 10)
	task := map[string]any{
		"resourceType": "Task",
		"identifier":   []any{identifierJSON{System: SystemNotification, Value: id}},
		"status":       "requested",
		"intent":       "order",
		"code":         map[string]any{"coding": []any{map[string]any{"system": SystemMessaging, "code": CodeNotification}}},
		"focus":        referenceJSON{Reference: ref("Communication", m.ID)},
		"for":          referenceJSON{Reference: ref("Patient", root.Patient)},
		"owner":        referenceJSON{Reference: ref("Organization", svc.Organization)},
		"authoredOn":   formatInstant(m.Created),
		"extension": []any{
			map[string]any{"url": ExtNotificationThread, "valueReference": referenceJSON{Reference: ref("Communication", root.ID)}},
			map[string]any{"url": ExtNotificationService, "valueReference": referenceJSON{Reference: ref("HealthcareService", root.Service)}},
			map[string]any{"url": ExtNotificationRecipient, "valueCode": string(recipient)},
			map[string]any{"url": ExtNotificationEnqueued, "valueInstant": time.Now().UTC().Format(time.RFC3339Nano)},
		},
	}
	body, err := json.Marshal(task)
	if err != nil {
		return err
	}
	_, _, _, err = b.write(ctx, request{
		method: http.MethodPost, path: "Task", body: body,
		ifNoneExist: "identifier=" + SystemNotification + "|" + id, op: opWrite,
	}, "Task")
	return err
}

// query returns the search of o's notifications, narrowed by kv.
func (o *Outbox) query(kv ...string) url.Values {
	q := values(append([]string{"code", SystemMessaging + "|" + CodeNotification}, kv...)...)
	if len(o.ests) > 0 {
		refs := make([]string, len(o.ests))
		for i, e := range o.ests {
			refs[i] = ref("Organization", e)
		}
		q.Set("owner", strings.Join(refs, ","))
	}
	return q
}

// mine reports whether n is of o's establishments.
func (o *Outbox) mine(n notificationTask) bool {
	return len(o.ests) == 0 || slices.Contains(o.ests, n.Establishment)
}

// ClaimNotifications claims at most limit notifications of o's
// establishments, oldest first, that are not acknowledged and whose lease,
// if any, has ended by the Backend's clock, for lease (rounded up to the
// second). Each is taken by a versioned update of its Task; one another
// claim took first is left to it.
func (o *Outbox) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]portal.Notification, error) {
	if err := portal.ValidateClaim(limit, lease); err != nil {
		return nil, err
	}
	b := o.b
	found, err := b.search(ctx, "Task", o.query("status", "requested,in-progress"))
	if err != nil {
		return nil, err
	}
	now := b.now()
	var due []notificationTask
	for _, r := range found {
		n, err := parseNotification(r)
		if err != nil {
			b.skip("Task", err)
			continue
		}
		if !o.mine(n) || n.Status == "completed" || n.Status == "in-progress" && n.Lease.After(now) {
			continue
		}
		due = append(due, n)
	}
	slices.SortFunc(due, func(x, y notificationTask) int {
		return cmp.Or(x.Created.Compare(y.Created), x.Enqueued.Compare(y.Enqueued), cmp.Compare(x.ID, y.ID))
	})
	until := now.Add(lease)
	if t := until.Truncate(time.Second); !t.Equal(until) {
		until = t.Add(time.Second)
	}
	out := []portal.Notification{}
	for _, n := range due {
		if len(out) == limit {
			break
		}
		attempts := n.Attempts + 1
		body, err := edit(n.Raw, func(res map[string]any) {
			res["status"] = "in-progress"
			setExtension(res, ExtNotificationLease, "valueDateTime", formatInstant(until))
			setExtension(res, ExtNotificationAttempts, "valueInteger", attempts)
		})
		if err != nil {
			return nil, err
		}
		id := gjson.Get(n.Raw, "id").String()
		_, _, _, err = b.write(ctx, request{method: http.MethodPut, path: ref("Task", id), body: body, ifMatch: n.Version, op: opWrite}, "Task")
		if s := statusOf(err); s == http.StatusPreconditionFailed || s == http.StatusConflict {
			continue // another claim took it
		}
		if err != nil {
			if len(out) > 0 {
				// What was claimed is returned; the rest waits
				// for the next claim.
				b.log.Warn("fhir: claim of notifications cut short", "error", err)
				break
			}
			return nil, err
		}
		n.Attempts = attempts
		n.Created = n.Created.In(b.location(""))
		out = append(out, n.Notification)
	}
	return out, nil
}

// AckNotification records a notification of o's establishments delivered
// (Task status completed): it is never claimed again. Acknowledging it
// again is not an error; an unknown id is ErrNotFound.
func (o *Outbox) AckNotification(ctx context.Context, id int64) error {
	notFound := portal.Errorf(portal.ErrNotFound, "notification %d not found", id)
	if id <= 0 {
		return notFound
	}
	b := o.b
	for attempt := 1; ; attempt++ {
		found, err := b.search(ctx, "Task", o.query("identifier", SystemNotification+"|"+strconv.FormatInt(id, 10)))
		if err != nil {
			return err
		}
		var n notificationTask
		ok := false
		for _, r := range found {
			if t, err := parseNotification(r); err == nil && t.ID == id && o.mine(t) {
				n, ok = t, true
				break
			}
		}
		if !ok {
			return notFound
		}
		if n.Status == "completed" {
			return nil
		}
		body, err := edit(n.Raw, func(res map[string]any) {
			res["status"] = "completed"
			removeExtension(res, ExtNotificationLease)
			res["executionPeriod"] = map[string]any{"end": formatInstant(b.now())}
		})
		if err != nil {
			return err
		}
		_, _, _, err = b.write(ctx, request{method: http.MethodPut, path: ref("Task", gjson.Get(n.Raw, "id").String()),
			body: body, ifMatch: n.Version, op: opWrite}, "Task")
		if statusOf(err) == http.StatusPreconditionFailed && attempt < maxUpdateAttempts {
			continue
		}
		return err
	}
}
