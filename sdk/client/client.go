// Package client implements the portal services over the Parcours edge
// host's HTTP API (/api/v1, described by /api/v1/openapi.json).
//
// The transport is pluggable. On ordinary platforms the default is net/http
// with a cookie jar (the host's session is a cookie). In the browser
// (GOOS=js GOARCH=wasm) the default calls the JS fetch API through
// syscall/js, so the widgets' Wasm never links net/http.
package client

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/client/uri"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/wirejson"
)

// Request is one HTTP request as a Transport sees it.
type Request struct {
	Method string
	// URL is absolute, or relative to the page for the browser transport.
	URL    string
	Header map[string]string
	Body   []byte
}

// Response is the part of an HTTP response the client reads.
type Response struct {
	Status int
	Body   []byte
}

// Transport performs one HTTP request. Implementations must honour ctx.
type Transport interface {
	Do(ctx context.Context, r *Request) (*Response, error)
}

// MaxResponseBytes bounds what the client reads of one response: an
// attachment of portal.DefaultMaxAttachmentSize fits.
const MaxResponseBytes = 16 << 20

// Client talks to one edge host. It is safe for concurrent use.
type Client struct {
	base      string
	transport Transport
	lang      string

	mu sync.Mutex
	// person is the id of the patient or practitioner of the last session
	// read (GET /api/v1/session, a sign-in); "" for none. Writes carry it
	// (PersonHeader), so that the host refuses one made for a person whose
	// session another has since replaced (another tab's sign-in).
	person string
}

// PersonHeader carries, on a write, the id of the person the client last
// saw signed in; the host answers ErrSessionChanged when the session is
// now another's, and does nothing.
const PersonHeader = "Parcours-Person"

// Option configures a Client.
type Option func(*Client)

// WithTransport replaces the default transport.
func WithTransport(t Transport) Option { return func(c *Client) { c.transport = t } }

// WithLanguage sets the language of error messages the host returns ("fr",
// the default, or "en").
func WithLanguage(lang string) Option { return func(c *Client) { c.lang = lang } }

// New returns a client of the host at base, for example
// "https://parcours.chu-exemple.fr" or "" for the page's own origin in a browser.
func New(base string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(base, "/"), lang: "fr"}
	for _, o := range opts {
		o(c)
	}
	if c.transport == nil {
		c.transport = defaultTransport()
	}
	return c
}

var _ portal.Booking = (*Client)(nil)
var _ portal.Directory = (*Client)(nil)

// Establishment implements portal.Booking.
func (c *Client) Establishment(ctx context.Context, id string) (portal.Establishment, error) {
	var out portal.Establishment
	err := c.do(ctx, "GET", "/api/v1/establishments/"+uri.PathEscape(id), nil, nil, &out)
	return out, err
}

// partial is the error of a merged answer that lacks the establishments
// unavailable names; nil when it lacks none.
func partial(unavailable []string) error {
	if len(unavailable) == 0 {
		return nil
	}
	return &portal.PartialError{Establishments: unavailable,
		Err: portal.Errorf(portal.ErrBackendUnavailable, "the host had no answer from %v", unavailable)}
}

// EstablishmentList is the JSON of GET /api/v1/establishments.
// Unavailable names the establishments whose backend did not answer.
type EstablishmentList struct {
	Establishments []portal.Establishment `json:"establishments"`
	Unavailable    []string               `json:"unavailable,omitempty"`
}

// Establishments lists the establishments the host serves, in its order;
// with a *portal.PartialError naming those whose backend did not answer.
func (c *Client) Establishments(ctx context.Context) ([]portal.Establishment, error) {
	var out EstablishmentList
	if err := c.do(ctx, "GET", "/api/v1/establishments", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Establishments, partial(out.Unavailable)
}

// Services implements portal.Booking.
func (c *Client) Services(ctx context.Context, establishment string) ([]portal.Service, error) {
	var out struct {
		Services []portal.Service `json:"services"`
	}
	err := c.do(ctx, "GET", "/api/v1/establishments/"+uri.PathEscape(establishment)+"/services", nil, nil, &out)
	return out.Services, err
}

// FreeSlots implements portal.Booking.
func (c *Client) FreeSlots(ctx context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v := uri.Values{}
	v.Set("service", q.Service)
	if q.Practitioner != "" {
		v.Set("practitioner", q.Practitioner)
	}
	v.Set("from", q.From.UTC().Format(time.RFC3339))
	v.Set("to", q.To.UTC().Format(time.RFC3339))
	var out struct {
		Slots []portal.Slot `json:"slots"`
	}
	err := c.do(ctx, "GET", "/api/v1/establishments/"+uri.PathEscape(q.Establishment)+"/slots?"+v.Encode(), nil, nil, &out)
	return out.Slots, err
}

// BookBody is the JSON body of a booking request.
type BookBody struct {
	Service string `json:"service"`
	Slot    string `json:"slot"`
}

// Book implements portal.Booking. The idempotency key travels in the
// Idempotency-Key header; retrying with the same request is safe.
func (c *Client) Book(ctx context.Context, r portal.BookRequest) (portal.Appointment, error) {
	var out portal.Appointment
	if err := r.Validate(); err != nil {
		return out, err
	}
	body := BookBody{Service: r.Service, Slot: r.Slot}
	h := map[string]string{"Idempotency-Key": r.IdempotencyKey}
	err := c.do(ctx, "POST", "/api/v1/establishments/"+uri.PathEscape(r.Establishment)+"/appointments", h, body, &out)
	return out, err
}

// Cancel implements portal.Booking.
func (c *Client) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	var out portal.Appointment
	err := c.do(ctx, "POST", "/api/v1/appointments/"+uri.PathEscape(id)+"/cancel", nil, struct{}{}, &out)
	return out, err
}

// Appointments implements portal.Booking.
func (c *Client) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	var out AppointmentList
	if err := c.do(ctx, "GET", "/api/v1/appointments", nil, nil, &out); err != nil {
		return nil, err
	}
	// A merged answer with parts missing: the list holds the others'.
	return out.Appointments, partial(out.Unavailable)
}

// AppointmentList is the JSON of GET /api/v1/appointments. Unavailable
// names the establishments whose backend did not answer (a host serving
// several): their appointments are missing from the list.
type AppointmentList struct {
	Appointments []portal.Appointment `json:"appointments"`
	Unavailable  []string             `json:"unavailable,omitempty"`
}

// Appointment implements portal.Booking.
func (c *Client) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	var out portal.Appointment
	err := c.do(ctx, "GET", "/api/v1/appointments/"+uri.PathEscape(id), nil, nil, &out)
	return out, err
}

// CalendarURL returns the address of an appointment's iCalendar (.ics) file.
func (c *Client) CalendarURL(id string) string {
	return c.base + "/api/v1/appointments/" + uri.PathEscape(id) + "/calendar.ics"
}

// SessionBody is the JSON of GET /api/v1/session: the signed-in patient, or
// null; for a practitioner signed in to a care-team view, patient is null
// and practitioner is set.
type SessionBody struct {
	Patient      *portal.Patient      `json:"patient"`
	Practitioner *portal.Practitioner `json:"practitioner,omitempty"`
}

// CurrentPatient returns the signed-in patient, or nil.
func (c *Client) CurrentPatient(ctx context.Context) (*portal.Patient, error) {
	var out SessionBody
	err := c.do(ctx, "GET", "/api/v1/session", nil, nil, &out)
	return out.Patient, err
}

// AccessEntry is one access to a patient's data by someone else, as the
// patient sees it (GET /api/v1/access-log): who, when, what kind of access,
// with what outcome. It comes from the audit (Config.Audit).
type AccessEntry struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// AgentKind is "practitioner" (or "patient", "anonymous" for a
	// refused attempt); Agent their id, AgentName the directory's name
	// of a practitioner, when known.
	AgentKind string `json:"agent_kind"`
	Agent     string `json:"agent,omitempty"`
	AgentName string `json:"agent_name,omitempty"`
	// Operation is the API operation (getDocument, listInbox, …), Action
	// its FHIR code (R read, C create, U update, D delete, E execute).
	Operation     string              `json:"operation"`
	Action        portal.AuditAction  `json:"action"`
	Outcome       portal.AuditOutcome `json:"outcome"`
	Entity        string              `json:"entity,omitempty"`
	Establishment string              `json:"establishment,omitempty"`
}

// AccessLog is the answer of GET /api/v1/access-log: the entries, oldest
// first, and the cursor of the next page ("" on the last).
type AccessLog struct {
	Entries []AccessEntry `json:"entries"`
	Next    string        `json:"next,omitempty"`
}

// AccessLog returns the signed-in patient's access log (who else
// accessed their data), newest first: up to limit entries (0: the host's
// default, 50) after the entry id after ("" from the start).
func (c *Client) AccessLog(ctx context.Context, after string, limit int) (AccessLog, error) {
	q := uri.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/access-log"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out AccessLog
	err := c.do(ctx, "GET", path, nil, nil, &out)
	return out, err
}

// SignOut ends the session on the host.
func (c *Client) SignOut(ctx context.Context) error {
	err := c.do(ctx, "DELETE", "/api/v1/session", nil, nil, nil)
	if err == nil {
		c.setPerson("")
	}
	return err
}

// Patient implements portal.Directory for the signed-in patient only.
func (c *Client) Patient(ctx context.Context, id string) (portal.Patient, error) {
	p, err := c.CurrentPatient(ctx)
	if err != nil {
		return portal.Patient{}, err
	}
	if p == nil || p.ID != id {
		return portal.Patient{}, portal.Errorf(portal.ErrNotFound, "patient %q", id)
	}
	return *p, nil
}

// DemoPatients lists the demo sign-in's fictional patients; it is empty when
// the host has the demo sign-in off.
func (c *Client) DemoPatients(ctx context.Context) ([]portal.Patient, error) {
	var out struct {
		Patients []portal.Patient `json:"patients"`
	}
	err := c.do(ctx, "GET", "/api/v1/demo/patients", nil, nil, &out)
	if portal.IsCode(err, portal.ErrNotFound) {
		return nil, nil
	}
	return out.Patients, err
}

// DemoSignInBody is the JSON body of POST /api/v1/demo/session.
type DemoSignInBody struct {
	Patient string `json:"patient"`
}

// DemoSignIn opens a demo session as a fictional patient.
func (c *Client) DemoSignIn(ctx context.Context, patient string) (portal.Patient, error) {
	var out SessionBody
	err := c.do(ctx, "POST", "/api/v1/demo/session", nil, DemoSignInBody{Patient: patient}, &out)
	if err != nil {
		return portal.Patient{}, err
	}
	if out.Patient == nil {
		return portal.Patient{}, portal.Errorf(portal.ErrInternal, "sign-in answered without a patient")
	}
	return *out.Patient, nil
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error struct {
		Code    portal.ErrorCode `json:"code"`
		Message string           `json:"message"`
	} `json:"error"`
}

func (c *Client) do(ctx context.Context, method, path string, header map[string]string, in, out any) error {
	resp, err := c.roundTrip(ctx, method, path, header, in)
	if err != nil || out == nil || resp.Status == 204 {
		return err
	}
	if err := wirejson.Unmarshal(resp.Body, out); err != nil {
		return portal.Errorf(portal.ErrInternal, "%s %s: decoding response: %v", method, path, err)
	}
	if sb, ok := out.(*SessionBody); ok {
		switch {
		case sb.Patient != nil:
			c.setPerson(sb.Patient.ID)
		case sb.Practitioner != nil:
			c.setPerson(sb.Practitioner.ID)
		default:
			c.setPerson("")
		}
	}
	return nil
}

// setPerson records the person of the session last read ("" for none).
func (c *Client) setPerson(id string) {
	c.mu.Lock()
	c.person = id
	c.mu.Unlock()
}

// sessionRoute reports the routes that open or close a session: a write
// there is not made for the person of the session it replaces.
func sessionRoute(path string) bool {
	return strings.HasPrefix(path, "/api/v1/session") || strings.HasPrefix(path, "/api/v1/demo/")
}

// roundTrip sends a request and returns a successful response; an error
// response is returned as the portal error it carries.
func (c *Client) roundTrip(ctx context.Context, method, path string, header map[string]string, in any) (*Response, error) {
	req := &Request{Method: method, URL: c.base + path, Header: map[string]string{"Accept": "application/json", "Accept-Language": c.lang}}
	for k, v := range header {
		req.Header[k] = v
	}
	if method != "GET" && !sessionRoute(path) {
		c.mu.Lock()
		if c.person != "" {
			req.Header[PersonHeader] = c.person
		}
		c.mu.Unlock()
	}
	switch in := in.(type) {
	case nil:
	case fhirJSON:
		req.Body = in
		req.Header["Content-Type"] = "application/fhir+json"
	default:
		b, err := wirejson.Marshal(in)
		if err != nil {
			return nil, portal.Errorf(portal.ErrInvalid, "encoding request: %v", err)
		}
		req.Body = b
		req.Header["Content-Type"] = "application/json"
	}
	resp, err := c.transport.Do(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, portal.Errorf(portal.ErrBackendUnavailable, "%s %s: %v", method, path, ctx.Err())
		}
		return nil, portal.Errorf(portal.ErrBackendUnavailable, "%s %s: %v", method, path, err)
	}
	if resp.Status >= 300 {
		var eb ErrorBody
		if wirejson.Unmarshal(resp.Body, &eb) == nil && eb.Error.Code != "" {
			e := &portal.Error{Code: eb.Error.Code, Detail: eb.Error.Message}
			if m := eb.Error.Message; m != "" && m != eb.Error.Code.Message(c.lang) {
				// The host sent an establishment's own reason, already in
				// the client's language.
				e.Reason = &portal.Text{FR: m}
			}
			return nil, e
		}
		return nil, portal.Errorf(portal.CodeForStatus(resp.Status), "%s %s: HTTP %d", method, path, resp.Status)
	}
	return resp, nil
}
