package host

import (
	"context"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// The messaging API: threads between a patient and the care team of a
// service, their messages and attachments (portal.Messaging), for patients
// and for practitioners signed in to the care-team inbox.
//
// The store enforces who sees what (a patient their own threads, a
// practitioner the threads of their services; anything else is not_found,
// as an unknown id) and stores each message once per client_id. The host
// adds the session, the body limits, the rate limit, replay detection for
// the status code (201 new, 200 retry) and the download headers, and
// keeps to the establishments it serves: a thread, message or attachment of
// another establishment of the store answers not_found too, as an unknown
// id, on every route.

// DefaultMessagesPerMinute is Config.MessagesPerMinute's default.
const DefaultMessagesPerMinute = 10

// messageBodyOverhead is what a message request holds besides its
// attachments' bytes: a body of portal.MaxMessageBody characters (at most 4
// bytes each, 6 once escaped in JSON), a subject, names and field names.
const messageBodyOverhead = 64 << 10

// maxAttachmentSize is the largest attachment m accepts: its
// MaxAttachmentSize() when it has that method, else
// portal.DefaultMaxAttachmentSize.
func maxAttachmentSize(m portal.Messaging) int64 {
	if s, ok := m.(interface{ MaxAttachmentSize() int64 }); ok && s.MaxAttachmentSize() > 0 {
		return s.MaxAttachmentSize()
	}
	return portal.DefaultMaxAttachmentSize
}

// messageBodyLimit bounds the JSON body of a message request whose
// attachments are at most maxAttachment bytes each: portal.MaxAttachments of
// them in base64 (4 bytes for every 3), and messageBodyOverhead. With the
// default 10 MiB attachments, about 70 MB.
func messageBodyLimit(maxAttachment int64) int64 {
	return (maxAttachment+2)/3*4*portal.MaxAttachments + messageBodyOverhead
}

// messagingAs returns Config.Messaging (not_found when the host has none) and
// the session's person (unauthenticated without one).
func (h *Host) messagingAs(r *http.Request) (portal.Messaging, portal.Author, error) {
	if h.cfg.Messaging == nil {
		return nil, portal.Author{}, portal.Errorf(portal.ErrNotFound, "no messaging store is configured")
	}
	a, err := portal.RequireAuthor(r.Context())
	return h.cfg.Messaging, a, err
}

// messagingSide is messagingAs for a route of one side only (kind; "" for
// both): the other side is forbidden.
func (h *Host) messagingSide(r *http.Request, kind portal.AuthorKind) (portal.Messaging, portal.Author, error) {
	m, a, err := h.messagingAs(r)
	if err == nil && kind != "" && a.Kind != kind {
		err = portal.Errorf(portal.ErrForbidden, "a %s may not %s %s", a.Kind, r.Method, r.Pattern)
	}
	return m, a, err
}

// servedThread returns a thread the subject may read, of an establishment
// this host serves; any other answers as an unknown thread.
func (h *Host) servedThread(ctx context.Context, m portal.Messaging, id string) (portal.Conversation, error) {
	c, err := m.Thread(ctx, id)
	if err == nil && !h.serves(c.Establishment) {
		err = portal.Errorf(portal.ErrNotFound, "thread %q of an establishment this host does not serve", id)
	}
	return c, err
}

// threadRoute returns the store, the session's person (of side, "" for
// both) and the path's thread, which they may read; with action, the body
// must be empty (the path says everything).
func (h *Host) threadRoute(r *http.Request, side portal.AuthorKind, action bool) (portal.Messaging, portal.Author, portal.Conversation, error) {
	m, a, err := h.messagingSide(r, side)
	if err != nil {
		return nil, a, portal.Conversation{}, err
	}
	c, err := h.servedThread(r.Context(), m, r.PathValue("id"))
	if err == nil {
		auditNote(r.Context(), c.Patient, "")
	}
	if err == nil && action {
		err = h.readEmptyBody(r)
	}
	return m, a, c, err
}

// spendMessage takes one of the author's message tokens and one of their
// address's write tokens, or returns a rate_limited error (answered with
// Retry-After).
func (h *Host) spendMessage(ctx context.Context, a portal.Author) error {
	if err := h.messageRate.spend(ctx, rateKey(a), "%s %s wrote %d messages in the last minute", a.Kind, a.ID, h.cfg.MessagesPerMinute); err != nil {
		return err
	}
	return h.spendAddress(ctx)
}

// rateKey is the rate limiter's key of a person.
func rateKey(a portal.Author) string { return string(a.Kind) + ":" + a.ID }

// retryAfterSeconds rounds a wait up to whole seconds, at least 1.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// attachments converts the attachments of a request body.
func attachments(in []client.AttachmentBody) []portal.NewAttachment {
	if len(in) == 0 {
		return nil
	}
	out := make([]portal.NewAttachment, len(in))
	for i, a := range in {
		out[i] = portal.NewAttachment{Name: a.Name, ContentType: a.ContentType, Content: a.Data}
	}
	return out
}

// readMessageBody spends one of the author's message tokens, then reads the
// body of a message request.
func readMessageBody[T any](h *Host, w http.ResponseWriter, r *http.Request, a portal.Author) (T, error) {
	if err := h.spendMessage(r.Context(), a); err != nil {
		var zero T
		return zero, err
	}
	allowSlowBody(w, h.messageLimit)
	return decodeJSON[T](r, h.messageLimit)
}

// answerStored answers a thread or message stored in thread: 201 when this
// request stored it (logged as event, with args: never content), 200 for a
// retry of one stored before, whose token goes back to the author.
func (h *Host) answerStored(w http.ResponseWriter, r *http.Request, a portal.Author, replay bool, thread string, v any, event string, args ...any) {
	w.Header().Set("Location", "/api/v1/threads/"+url.PathEscape(thread))
	h.stored(r.Context(), a, replay, event, args...)
	if replay {
		writeJSON(w, http.StatusOK, v)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// stored ends the storing of a thread or a message, by the API or a
// widget's form post: a retry of one stored before gives the author's
// token back; a new one is logged as event, with args (never content).
func (h *Host) stored(ctx context.Context, a portal.Author, replay bool, event string, args ...any) {
	if replay {
		if err := h.messageRate.refund(ctx, rateKey(a)); err != nil {
			h.log.WarnContext(ctx, "message token not given back", "err", err)
		}
		return
	}
	h.log.InfoContext(ctx, event, args...)
}

// readEmptyBody accepts no body or an empty JSON object, for the actions
// whose path says everything.
func (h *Host) readEmptyBody(r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	_, err := decodeJSON[struct{}](r, h.cfg.MaxBodyBytes)
	return err
}

func (h *Host) listThreads(w http.ResponseWriter, r *http.Request) error {
	m, _, err := h.messagingSide(r, portal.AuthorPatient)
	if err != nil {
		return err
	}
	est, err := h.establishment(r)
	if err != nil {
		return err
	}
	list, err := m.Threads(r.Context(), est)
	if err != nil {
		return err
	}
	writeThreads(w, list)
	return nil
}

func writeThreads(w http.ResponseWriter, list []portal.Thread) {
	if list == nil {
		list = []portal.Thread{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"threads": list})
}

func (h *Host) startThread(w http.ResponseWriter, r *http.Request) error {
	m, author, err := h.messagingSide(r, portal.AuthorPatient)
	if err != nil {
		return err
	}
	est, err := h.establishment(r)
	if err != nil {
		return err
	}
	body, err := readMessageBody[client.StartThreadBody](h, w, r, author)
	if err != nil {
		return err
	}
	ctx := r.Context()
	// A retry answers the thread it started: known before, it is a replay.
	before, err := m.Threads(ctx, est)
	if err != nil {
		return err
	}
	c, err := m.StartThread(ctx, portal.NewThread{
		Establishment: est, Service: body.Service, Subject: body.Subject, Body: body.Body,
		ClientID: body.ClientID, Attachments: attachments(body.Attachments),
	})
	if err != nil {
		return err
	}
	replay := slices.ContainsFunc(before, func(t portal.Thread) bool { return t.ID == c.ID })
	h.answerStored(w, r, author, replay, c.ID, c, "thread started", "thread", c.ID, "establishment", c.Establishment, "service", c.Service)
	return nil
}

func (h *Host) getThread(w http.ResponseWriter, r *http.Request) error {
	_, _, c, err := h.threadRoute(r, "", false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (h *Host) sendMessage(w http.ResponseWriter, r *http.Request) error {
	m, author, before, err := h.threadRoute(r, "", false)
	if err != nil {
		return err
	}
	ctx, id := r.Context(), before.ID
	body, err := readMessageBody[client.SendBody](h, w, r, author)
	if err != nil {
		return err
	}
	msg, err := m.Send(ctx, id, portal.NewMessage{ClientID: body.ClientID, Body: body.Body, Attachments: attachments(body.Attachments)})
	if err != nil {
		return err
	}
	replay := slices.ContainsFunc(before.Messages, func(x portal.Message) bool { return x.ID == msg.ID })
	h.answerStored(w, r, author, replay, id, msg, "message stored",
		"message", msg.ID, "thread", id, "establishment", before.Establishment, "service", before.Service, "author", string(author.Kind))
	return nil
}

func (h *Host) markThreadRead(w http.ResponseWriter, r *http.Request) error {
	m, _, c, err := h.threadRoute(r, "", true)
	if err != nil {
		return err
	}
	if err := m.MarkRead(r.Context(), c.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Host) assignThread(w http.ResponseWriter, r *http.Request) error {
	return h.careTeamAction(w, r, portal.Messaging.Assign)
}

func (h *Host) closeThread(w http.ResponseWriter, r *http.Request) error {
	return h.careTeamAction(w, r, portal.Messaging.Close)
}

// careTeamAction runs a practitioner's action on the path's thread and
// answers the thread.
func (h *Host) careTeamAction(w http.ResponseWriter, r *http.Request, action func(portal.Messaging, context.Context, string) (portal.Thread, error)) error {
	m, _, c, err := h.threadRoute(r, portal.AuthorPractitioner, true)
	if err != nil {
		return err
	}
	t, err := action(m, r.Context(), c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// parseInboxFilter reads an inbox filter from a query string.
func parseInboxFilter(v url.Values) (portal.InboxFilter, error) {
	for k, vs := range v {
		switch k {
		case "status", "service", "lang":
			if len(vs) > 1 {
				return portal.InboxFilter{}, portal.Errorf(portal.ErrInvalid, "%s is given more than once", k)
			}
		default:
			return portal.InboxFilter{}, portal.Errorf(portal.ErrInvalid, "unknown parameter %q", k)
		}
	}
	f := portal.InboxFilter{Status: portal.ThreadStatus(v.Get("status")), Service: v.Get("service")}
	return f, f.Validate()
}

func (h *Host) listInbox(w http.ResponseWriter, r *http.Request) error {
	m, _, err := h.messagingSide(r, portal.AuthorPractitioner)
	if err != nil {
		return err
	}
	est, err := h.establishment(r)
	if err != nil {
		return err
	}
	f, err := parseInboxFilter(r.URL.Query())
	if err != nil {
		return err
	}
	list, err := m.Inbox(r.Context(), est, f)
	if err != nil {
		return err
	}
	writeThreads(w, list)
	return nil
}

// attachment returns the path's attachment with its bytes, if its message
// is of a thread of an establishment this host serves; any other answers
// as an unknown attachment.
func (h *Host) attachment(r *http.Request) (portal.AttachmentMeta, []byte, error) {
	m, a, err := h.messagingSide(r, "")
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	ctx, msg := r.Context(), r.PathValue("message")
	if err := h.servedMessage(ctx, m, a, msg); err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	return m.Attachment(ctx, msg, r.PathValue("attachment"))
}

// messageEstablisher is a messaging store that tells the establishment of a
// message's thread, for a subject who may read it (ErrNotFound otherwise),
// as the SQLite backend does.
type messageEstablisher interface {
	MessageEstablishment(ctx context.Context, messageID string) (string, error)
}

// servedMessage checks that a message is of a thread the subject a may read,
// in an establishment this host serves; any other message answers as an
// unknown one. A store that is not a messageEstablisher is searched: the
// threads a sees in each served establishment, one by one.
func (h *Host) servedMessage(ctx context.Context, m portal.Messaging, a portal.Author, id string) error {
	if me, ok := m.(messageEstablisher); ok {
		est, err := me.MessageEstablishment(ctx, id)
		if err == nil && !h.serves(est) {
			err = portal.Errorf(portal.ErrNotFound, "message %q of an establishment this host does not serve", id)
		}
		return err
	}
	for _, est := range slices.Sorted(maps.Keys(h.origins)) {
		var list []portal.Thread
		var err error
		if a.Kind == portal.AuthorPatient {
			list, err = m.Threads(ctx, est)
		} else {
			list, err = m.Inbox(ctx, est, portal.InboxFilter{})
		}
		if portal.IsCode(err, portal.ErrNotFound) {
			continue // an establishment the store does not know
		}
		if err != nil {
			return err
		}
		for _, t := range list {
			c, err := m.Thread(ctx, t.ID)
			if portal.IsCode(err, portal.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if slices.ContainsFunc(c.Messages, func(x portal.Message) bool { return x.ID == id }) {
				return nil
			}
		}
	}
	return portal.Errorf(portal.ErrNotFound, "message %q not found in the establishments this host serves", id)
}

// getAttachment downloads an attachment: its bytes with the content type
// found from them, always as a download (never rendered in the host's
// origin: nosniff, and a sandboxing CSP for a browser that would).
func (h *Host) getAttachment(w http.ResponseWriter, r *http.Request) error {
	meta, data, err := h.attachment(r)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", meta.ContentType)
	hd.Set("Content-Disposition", contentDisposition(meta.Name))
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	return nil
}

func (h *Host) getAttachmentMetadata(w http.ResponseWriter, r *http.Request) error {
	meta, _, err := h.attachment(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meta)
	return nil
}

// contentDisposition is an attachment's Content-Disposition (RFC 6266): the
// name in UTF-8 in filename* (RFC 5987 percent-encoding), and an ASCII
// fallback in filename for the clients that ignore filename*.
func contentDisposition(name string) string {
	const hex = "0123456789ABCDEF"
	var ascii, ext strings.Builder
	for _, r := range name {
		if r >= 0x20 && r < 0x7F && r != '"' && r != '\\' && r != '%' {
			ascii.WriteRune(r)
		} else {
			ascii.WriteByte('_')
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			ext.WriteByte(c)
		} else {
			ext.WriteByte('%')
			ext.WriteByte(hex[c>>4])
			ext.WriteByte(hex[c&15])
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// Care-team sessions.

// currentPractitioner returns the session's practitioner, or nil when the
// care-team directory no longer knows them (or the host has none).
func (h *Host) currentPractitioner(ctx context.Context, id string) (*portal.Practitioner, error) {
	if h.cfg.CareTeam == nil {
		return nil, nil
	}
	p, err := h.cfg.CareTeam.Practitioner(ctx, id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// demoPractitioners lists the care-team directory's demo practitioners; the
// demo sign-in must be on and the host have a directory (not_found
// otherwise).
func (h *Host) demoPractitioners(ctx context.Context) ([]portal.Practitioner, error) {
	if !h.cfg.DemoSignIn || h.cfg.CareTeam == nil {
		return nil, portal.Errorf(portal.ErrNotFound, "the practitioners' demo sign-in is off")
	}
	list, err := h.cfg.CareTeam.DemoPractitioners(ctx)
	if list == nil {
		list = []portal.Practitioner{}
	}
	return list, err
}

func (h *Host) listDemoPractitioners(w http.ResponseWriter, r *http.Request) error {
	list, err := h.demoPractitioners(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"practitioners": list})
	return nil
}

// createDemoPractitionerSession signs in as a fictional demo practitioner,
// for the care-team inbox. Only practitioners the directory lists as demo
// practitioners are accepted; the request's previous session ends.
func (h *Host) createDemoPractitionerSession(w http.ResponseWriter, r *http.Request) error {
	list, err := h.demoPractitioners(r.Context())
	if err != nil {
		return err
	}
	body, err := decodeJSON[client.DemoPractitionerSignInBody](r, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	p, err := h.demoPractitionerSignIn(w, r, list, body.Practitioner)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.SessionBody{Practitioner: &p})
	return nil
}

// demoPractitionerSignIn opens a session for the demo practitioner id of
// list (Host.demoPractitioners), the API's and the widgets' form posts
// alike.
func (h *Host) demoPractitionerSignIn(w http.ResponseWriter, r *http.Request, list []portal.Practitioner, id string) (portal.Practitioner, error) {
	i := slices.IndexFunc(list, func(p portal.Practitioner) bool { return p.ID == id })
	if i < 0 {
		return portal.Practitioner{}, portal.Errorf(portal.ErrInvalid, "%q is not a demo practitioner", id)
	}
	p := list[i]
	if err := h.startSession(w, r, portal.AuthorPractitioner, p.ID); err != nil {
		return portal.Practitioner{}, err
	}
	h.log.Info("demo sign-in", "practitioner", p.ID)
	return p, nil
}
