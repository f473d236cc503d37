package client

import (
	"context"
	"github.com/parcours-sante/parcours/sdk/client/uri"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.Messaging = (*Client)(nil)

// AttachmentBody is an attachment in a message request. Data holds the
// file's bytes, in standard base64 in the JSON; ContentType is what
// portal.SniffAttachment finds in them.
type AttachmentBody struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// StartThreadBody is the JSON body of
// POST /api/v1/establishments/{establishment}/threads.
type StartThreadBody struct {
	Service     string           `json:"service"`
	Subject     string           `json:"subject"`
	Body        string           `json:"body"`
	ClientID    string           `json:"client_id"`
	Attachments []AttachmentBody `json:"attachments,omitempty"`
}

// SendBody is the JSON body of POST /api/v1/threads/{id}/messages.
type SendBody struct {
	ClientID    string           `json:"client_id"`
	Body        string           `json:"body"`
	Attachments []AttachmentBody `json:"attachments,omitempty"`
}

// DemoPractitionerSignInBody is the JSON body of
// POST /api/v1/demo/practitioner-session.
type DemoPractitionerSignInBody struct {
	Practitioner string `json:"practitioner"`
}

func attachmentBodies(in []portal.NewAttachment) []AttachmentBody {
	if len(in) == 0 {
		return nil
	}
	out := make([]AttachmentBody, len(in))
	for i, a := range in {
		out[i] = AttachmentBody{Name: a.Name, ContentType: a.ContentType, Data: a.Content}
	}
	return out
}

// establishmentPath is the path of an establishment; "" is refused here, an
// empty path segment being another route.
func establishmentPath(est string) (string, error) {
	if est == "" {
		return "", portal.Errorf(portal.ErrInvalid, "establishment is required")
	}
	return "/api/v1/establishments/" + uri.PathEscape(est), nil
}

func threadPath(id string) string { return "/api/v1/threads/" + uri.PathEscape(id) }

type threadList struct {
	Threads []portal.Thread `json:"threads"`
}

// Threads implements portal.Messaging: the signed-in patient's threads.
func (c *Client) Threads(ctx context.Context, establishment string) ([]portal.Thread, error) {
	path, err := establishmentPath(establishment)
	if err != nil {
		return nil, err
	}
	var out threadList
	err = c.do(ctx, "GET", path+"/threads", nil, nil, &out)
	return out.Threads, err
}

// Thread implements portal.Messaging.
func (c *Client) Thread(ctx context.Context, id string) (portal.Conversation, error) {
	var out portal.Conversation
	err := c.do(ctx, "GET", threadPath(id), nil, nil, &out)
	return out, err
}

// StartThread implements portal.Messaging. Retrying with the same
// t.ClientID is safe: the host answers the thread already started.
func (c *Client) StartThread(ctx context.Context, t portal.NewThread) (portal.Conversation, error) {
	var out portal.Conversation
	path, err := establishmentPath(t.Establishment)
	if err != nil {
		return out, err
	}
	body := StartThreadBody{
		Service: t.Service, Subject: t.Subject, Body: t.Body, ClientID: t.ClientID,
		Attachments: attachmentBodies(t.Attachments),
	}
	err = c.do(ctx, "POST", path+"/threads", nil, body, &out)
	return out, err
}

// Send implements portal.Messaging. Retrying with the same m.ClientID is
// safe: the host answers the message already stored.
func (c *Client) Send(ctx context.Context, threadID string, m portal.NewMessage) (portal.Message, error) {
	var out portal.Message
	body := SendBody{ClientID: m.ClientID, Body: m.Body, Attachments: attachmentBodies(m.Attachments)}
	err := c.do(ctx, "POST", threadPath(threadID)+"/messages", nil, body, &out)
	return out, err
}

// MarkRead implements portal.Messaging.
func (c *Client) MarkRead(ctx context.Context, threadID string) error {
	return c.do(ctx, "POST", threadPath(threadID)+"/read", nil, struct{}{}, nil)
}

// AttachmentURL returns the address that downloads an attachment, for a
// link the browser follows (with the session cookie).
func (c *Client) AttachmentURL(messageID, attachmentID string) string {
	return c.base + attachmentPath(messageID, attachmentID)
}

func attachmentPath(messageID, attachmentID string) string {
	return "/api/v1/messages/" + uri.PathEscape(messageID) + "/attachments/" + uri.PathEscape(attachmentID)
}

// Attachment implements portal.Messaging: the attachment's description,
// then its bytes, checked against the description's size and SHA-256. The
// bytes must fit in MaxResponseBytes.
func (c *Client) Attachment(ctx context.Context, messageID, attachmentID string) (portal.AttachmentMeta, []byte, error) {
	var meta portal.AttachmentMeta
	path := attachmentPath(messageID, attachmentID)
	if err := c.do(ctx, "GET", path+"/metadata", nil, nil, &meta); err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	resp, err := c.roundTrip(ctx, "GET", path, nil, nil)
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	if int64(len(resp.Body)) != meta.Size || !digestMatches(resp.Body, meta.SHA256) {
		return portal.AttachmentMeta{}, nil, portal.Errorf(portal.ErrInternal, "attachment %s: the bytes received do not match its size and digest", attachmentID)
	}
	return meta, resp.Body, nil
}

// Inbox implements portal.Messaging: the threads of the signed-in
// practitioner's services.
func (c *Client) Inbox(ctx context.Context, establishment string, f portal.InboxFilter) ([]portal.Thread, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	path, err := establishmentPath(establishment)
	if err != nil {
		return nil, err
	}
	v := uri.Values{}
	if f.Status != "" {
		v.Set("status", string(f.Status))
	}
	if f.Service != "" {
		v.Set("service", f.Service)
	}
	path += "/inbox"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out threadList
	err = c.do(ctx, "GET", path, nil, nil, &out)
	return out.Threads, err
}

// Assign implements portal.Messaging.
func (c *Client) Assign(ctx context.Context, threadID string) (portal.Thread, error) {
	var out portal.Thread
	err := c.do(ctx, "POST", threadPath(threadID)+"/assign", nil, struct{}{}, &out)
	return out, err
}

// Close implements portal.Messaging.
func (c *Client) Close(ctx context.Context, threadID string) (portal.Thread, error) {
	var out portal.Thread
	err := c.do(ctx, "POST", threadPath(threadID)+"/close", nil, struct{}{}, &out)
	return out, err
}

// CurrentPractitioner returns the practitioner signed in to a care-team
// view, or nil.
func (c *Client) CurrentPractitioner(ctx context.Context) (*portal.Practitioner, error) {
	var out SessionBody
	err := c.do(ctx, "GET", "/api/v1/session", nil, nil, &out)
	return out.Practitioner, err
}

// DemoPractitioners lists the practitioners of the demo sign-in; it is empty
// when the host has the demo sign-in off.
func (c *Client) DemoPractitioners(ctx context.Context) ([]portal.Practitioner, error) {
	var out struct {
		Practitioners []portal.Practitioner `json:"practitioners"`
	}
	err := c.do(ctx, "GET", "/api/v1/demo/practitioners", nil, nil, &out)
	if portal.IsCode(err, portal.ErrNotFound) {
		return nil, nil
	}
	return out.Practitioners, err
}

// DemoPractitionerSignIn opens a demo session as a fictional practitioner,
// for the care-team inbox.
func (c *Client) DemoPractitionerSignIn(ctx context.Context, practitioner string) (portal.Practitioner, error) {
	var out SessionBody
	err := c.do(ctx, "POST", "/api/v1/demo/practitioner-session", nil, DemoPractitionerSignInBody{Practitioner: practitioner}, &out)
	if err != nil {
		return portal.Practitioner{}, err
	}
	if out.Practitioner == nil {
		return portal.Practitioner{}, portal.Errorf(portal.ErrInternal, "sign-in answered without a practitioner")
	}
	return *out.Practitioner, nil
}
