package multi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// MessagingEstablishment is one establishment's messaging backend.
type MessagingEstablishment struct {
	ID        string
	Messaging portal.Messaging
}

// Messaging routes portal.Messaging by establishment. Thread and message
// ids carry their establishment ("ch-nord~thr-1"), as appointment ids do,
// so that a conversation, a reply or an attachment reaches its own backend
// only.
type Messaging struct {
	byID    map[string]portal.Messaging
	order   []string
	calls   bounds
	uploads bounds
}

var _ portal.Messaging = (*Messaging)(nil)

// NewMessaging returns the router over ests (ids as New requires), each
// call bounded by callTimeout (0: DefaultCallTimeout), a message with its
// attachments by four times that.
func NewMessaging(ests []MessagingEstablishment, callTimeout time.Duration) (*Messaging, error) {
	calls := newBounds(callTimeout)
	m := &Messaging{byID: map[string]portal.Messaging{}, calls: calls, uploads: newBounds(4 * calls.timeout)}
	for _, e := range ests {
		if err := checkEntry(e.ID, m.byID[e.ID] != nil, e.Messaging != nil, "messaging "); err != nil {
			return nil, err
		}
		m.byID[e.ID] = e.Messaging
		m.order = append(m.order, e.ID)
	}
	if len(m.order) == 0 {
		return nil, fmt.Errorf("multi: no establishment")
	}
	return m, nil
}

// MaxAttachmentSize is the smallest limit of the backends.
func (m *Messaging) MaxAttachmentSize() int64 {
	limit := int64(0)
	for _, id := range m.order {
		n := int64(portal.DefaultMaxAttachmentSize)
		if s, ok := m.byID[id].(interface{ MaxAttachmentSize() int64 }); ok && s.MaxAttachmentSize() > 0 {
			n = s.MaxAttachmentSize()
		}
		if limit == 0 || n < limit {
			limit = n
		}
	}
	return limit
}

// route returns est's backend; a request without an establishment goes to
// the first one, which refuses it as the backends do.
func (m *Messaging) route(est string) (portal.Messaging, error) {
	if est == "" {
		return m.byID[m.order[0]], nil
	}
	if b := m.byID[est]; b != nil {
		return b, nil
	}
	return nil, portal.Errorf(portal.ErrNotFound, "establishment %q", est)
}

// byID checks the subject (signed in, of side when set: as the backends
// do, before the id is looked up), then splits an id of this router; an id
// of another shape is unknown.
func (m *Messaging) byPrefixed(ctx context.Context, id, what string, side portal.AuthorKind) (string, portal.Messaging, string, error) {
	a, err := portal.RequireAuthor(ctx)
	if err != nil {
		return "", nil, "", err
	}
	if side != "" && a.Kind != side {
		return "", nil, "", portal.Errorf(portal.ErrForbidden, "only a %s may do this", side)
	}
	est, inner, ok := strings.Cut(id, Separator)
	if ok && inner != "" {
		if b := m.byID[est]; b != nil {
			return est, b, inner, nil
		}
	}
	return "", nil, "", portal.Errorf(portal.ErrNotFound, "%s %q", what, id)
}

func prefixed(est, id string) string {
	if id == "" {
		return ""
	}
	return est + Separator + id
}

func outwardThread(est string, t portal.Thread) portal.Thread {
	t.ID = prefixed(est, t.ID)
	return t
}

func outwardMessage(est string, msg portal.Message) portal.Message {
	msg.ID, msg.Thread = prefixed(est, msg.ID), prefixed(est, msg.Thread)
	return msg
}

func outwardConversation(est string, c portal.Conversation) portal.Conversation {
	c.Thread = outwardThread(est, c.Thread)
	msgs := make([]portal.Message, len(c.Messages))
	for i, msg := range c.Messages {
		msgs[i] = outwardMessage(est, msg)
	}
	if c.Messages != nil {
		c.Messages = msgs
	}
	return c
}

func outwardThreads(est string, ts []portal.Thread) []portal.Thread {
	for i := range ts {
		ts[i] = outwardThread(est, ts[i])
	}
	return ts
}

// Threads implements portal.Messaging.
func (m *Messaging) Threads(ctx context.Context, est string) ([]portal.Thread, error) {
	b, err := m.route(est)
	if err != nil {
		return nil, err
	}
	ctx, done := m.calls.start(ctx)
	ts, err := b.Threads(ctx, est)
	return outwardThreads(est, ts), done(est, err)
}

// Thread implements portal.Messaging.
func (m *Messaging) Thread(ctx context.Context, id string) (portal.Conversation, error) {
	est, b, inner, err := m.byPrefixed(ctx, id, "thread", "")
	if err != nil {
		return portal.Conversation{}, err
	}
	ctx, done := m.calls.start(ctx)
	c, err := b.Thread(ctx, inner)
	return outwardConversation(est, c), done(est, err)
}

// StartThread implements portal.Messaging.
func (m *Messaging) StartThread(ctx context.Context, t portal.NewThread) (portal.Conversation, error) {
	b, err := m.route(t.Establishment)
	if err != nil {
		return portal.Conversation{}, err
	}
	ctx, done := m.uploads.start(ctx)
	c, err := b.StartThread(ctx, t)
	return outwardConversation(t.Establishment, c), done(t.Establishment, err)
}

// Send implements portal.Messaging.
func (m *Messaging) Send(ctx context.Context, threadID string, msg portal.NewMessage) (portal.Message, error) {
	est, b, inner, err := m.byPrefixed(ctx, threadID, "thread", "")
	if err != nil {
		return portal.Message{}, err
	}
	ctx, done := m.uploads.start(ctx)
	out, err := b.Send(ctx, inner, msg)
	return outwardMessage(est, out), done(est, err)
}

// MarkRead implements portal.Messaging.
func (m *Messaging) MarkRead(ctx context.Context, threadID string) error {
	est, b, inner, err := m.byPrefixed(ctx, threadID, "thread", "")
	if err != nil {
		return err
	}
	ctx, done := m.calls.start(ctx)
	return done(est, b.MarkRead(ctx, inner))
}

// Attachment implements portal.Messaging.
func (m *Messaging) Attachment(ctx context.Context, messageID, attachmentID string) (portal.AttachmentMeta, []byte, error) {
	est, b, inner, err := m.byPrefixed(ctx, messageID, "message", "")
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	ctx, done := m.uploads.start(ctx)
	meta, data, err := b.Attachment(ctx, inner, attachmentID)
	return meta, data, done(est, err)
}

// Inbox implements portal.Messaging.
func (m *Messaging) Inbox(ctx context.Context, est string, f portal.InboxFilter) ([]portal.Thread, error) {
	b, err := m.route(est)
	if err != nil {
		return nil, err
	}
	ctx, done := m.calls.start(ctx)
	ts, err := b.Inbox(ctx, est, f)
	return outwardThreads(est, ts), done(est, err)
}

// Assign implements portal.Messaging.
func (m *Messaging) Assign(ctx context.Context, threadID string) (portal.Thread, error) {
	est, b, inner, err := m.byPrefixed(ctx, threadID, "thread", portal.AuthorPractitioner)
	if err != nil {
		return portal.Thread{}, err
	}
	ctx, done := m.calls.start(ctx)
	t, err := b.Assign(ctx, inner)
	return outwardThread(est, t), done(est, err)
}

// Close implements portal.Messaging.
func (m *Messaging) Close(ctx context.Context, threadID string) (portal.Thread, error) {
	est, b, inner, err := m.byPrefixed(ctx, threadID, "thread", "")
	if err != nil {
		return portal.Thread{}, err
	}
	ctx, done := m.calls.start(ctx)
	t, err := b.Close(ctx, inner)
	return outwardThread(est, t), done(est, err)
}

// MessageEstablishment tells the establishment of a message the subject
// may read (ErrNotFound otherwise), as the host asks before an attachment:
// its backend's answer when it tells, else the id's own establishment
// (the attachment's read then checks the subject).
func (m *Messaging) MessageEstablishment(ctx context.Context, messageID string) (string, error) {
	est, b, inner, err := m.byPrefixed(ctx, messageID, "message", "")
	if err != nil {
		return "", err
	}
	me, ok := b.(interface {
		MessageEstablishment(context.Context, string) (string, error)
	})
	if !ok {
		return est, nil
	}
	ctx, done := m.calls.start(ctx)
	got, err := me.MessageEstablishment(ctx, inner)
	if err = done(est, err); err == nil && got != est {
		err = portal.Errorf(portal.ErrNotFound, "message %q", messageID)
	}
	return est, err
}
