package host

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets/access"
	"github.com/parcours-sante/parcours/widgets/booking"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/messaging"
	"github.com/parcours-sante/parcours/widgets/questionnaire"
)

// serverBackend is the widget's Backend on the host's side: the same calls
// the browser makes over HTTP, made directly against the configured backend
// with the request's session. The host uses it to preload a widget's first
// screen (booking.Preload) and to answer the widget's form posts
// (booking.Serve) when its Wasm is not running.
type serverBackend struct {
	h *Host
	w http.ResponseWriter // nil for a preload: no sign-in then
	r *http.Request
	// patient is the session's patient, changed by a sign-in or a sign-out
	// during the post; practitioner the session's practitioner (a care-team
	// view). A session has one or the other.
	patient, practitioner string
	// prepaid: the post's rate-limit token (a message's, an upload's) was
	// spent before its body was read, as the API spends it.
	prepaid bool
}

var _ booking.Backend = (*serverBackend)(nil)

func newServerBackend(h *Host, w http.ResponseWriter, r *http.Request) *serverBackend {
	b := &serverBackend{h: h, w: w, r: r}
	if s, ok := portal.SubjectFrom(r.Context()); ok {
		b.patient = s.Patient
	}
	if id, ok := portal.PractitionerFrom(r.Context()); ok {
		b.practitioner = id
	}
	return b
}

// as gives ctx the current patient or practitioner, or none.
func (b *serverBackend) as(ctx context.Context) context.Context {
	return portal.WithSubject(ctx, portal.Subject{Patient: b.patient, Practitioner: b.practitioner})
}

func (b *serverBackend) Establishment(ctx context.Context, id string) (portal.Establishment, error) {
	if !b.h.serves(id) {
		return portal.Establishment{}, portal.Errorf(portal.ErrNotFound, "establishment %q", id)
	}
	return b.h.cfg.Booking.Establishment(b.as(ctx), id)
}

func (b *serverBackend) Establishments(ctx context.Context) ([]portal.Establishment, error) {
	return b.h.establishments(b.as(ctx))
}

func (b *serverBackend) Services(ctx context.Context, est string) ([]portal.Service, error) {
	return b.h.cfg.Booking.Services(b.as(ctx), est)
}

func (b *serverBackend) FreeSlots(ctx context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return b.h.cfg.Booking.FreeSlots(b.as(ctx), q)
}

// Book books through the same path as the API: the plugins' rules apply.
func (b *serverBackend) Book(ctx context.Context, r portal.BookRequest) (portal.Appointment, error) {
	return b.h.book(b.as(ctx), r)
}

func (b *serverBackend) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	return b.h.cancel(b.as(ctx), id)
}

func (b *serverBackend) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	return b.h.cfg.Booking.Appointments(b.as(ctx))
}

func (b *serverBackend) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	return b.h.cfg.Booking.Appointment(b.as(ctx), id)
}

func (b *serverBackend) CurrentPatient(ctx context.Context) (*portal.Patient, error) {
	return b.h.currentPatient(ctx, b.patient)
}

func (b *serverBackend) DemoPatients(ctx context.Context) ([]portal.Patient, error) {
	if !b.h.cfg.DemoSignIn {
		return nil, nil
	}
	return b.h.cfg.Directory.DemoPatients(ctx)
}

func (b *serverBackend) DemoSignIn(ctx context.Context, patient string) (portal.Patient, error) {
	if b.w == nil {
		return portal.Patient{}, portal.Errorf(portal.ErrMethodNotAllowed, "sign-in is not part of a preload")
	}
	p, err := b.h.demoSignIn(ctx, b.w, b.r, patient)
	if err == nil {
		b.patient, b.practitioner = p.ID, ""
	}
	return p, err
}

func (b *serverBackend) SignOut(context.Context) error {
	if b.w == nil {
		return portal.Errorf(portal.ErrMethodNotAllowed, "sign-out is not part of a preload")
	}
	if err := b.h.signOut(b.w, b.r); err != nil {
		return err
	}
	b.patient, b.practitioner = "", ""
	return nil
}

func (b *serverBackend) CalendarURL(id string) string {
	return "/api/v1/appointments/" + url.PathEscape(id) + "/calendar.ics"
}

var _ questionnaire.Backend = (*serverBackend)(nil)

// questionnaires is the configured store, or an error when there is none.
func (b *serverBackend) questionnaires() (portal.Questionnaires, error) {
	if b.h.cfg.Questionnaires == nil {
		return nil, portal.Errorf(portal.ErrNotFound, "no questionnaires configured")
	}
	return b.h.cfg.Questionnaires, nil
}

func (b *serverBackend) Questionnaire(ctx context.Context, est, id string) (portal.QuestionnaireDef, error) {
	def, _, err := b.h.questionnaireDef(b.as(ctx), est, id)
	return def, err
}

func (b *serverBackend) Draft(ctx context.Context, est, id string) (portal.QuestionnaireDraft, error) {
	s, err := b.questionnaires()
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	return s.Draft(b.as(ctx), est, id)
}

// SaveDraft saves through the same path as the API (normalised by the engine).
func (b *serverBackend) SaveDraft(ctx context.Context, est, id string, response []byte) (portal.QuestionnaireDraft, error) {
	return b.h.saveDraft(b.as(ctx), est, id, response)
}

func (b *serverBackend) DeleteDraft(ctx context.Context, est, id string) error {
	s, err := b.questionnaires()
	if err != nil {
		return err
	}
	return s.DeleteDraft(b.as(ctx), est, id)
}

// SubmitResponse submits through the same path as the API: the host scores.
func (b *serverBackend) SubmitResponse(ctx context.Context, est, id string, response []byte, key string) (portal.QuestionnaireSubmission, error) {
	sub, _, err := b.h.submitResponse(b.as(ctx), est, id, response, key)
	return sub, err
}

func (b *serverBackend) Submission(ctx context.Context, id string) (portal.QuestionnaireSubmission, error) {
	s, err := b.questionnaires()
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	return s.Submission(b.as(ctx), id)
}

var _ messaging.Backend = (*serverBackend)(nil)

// The messaging widgets' first screen is preloaded (reads); their actions
// run in the browser, through the API with its rate limits.

// preloadOnly answers the calls a preload never makes.
func preloadOnly() error {
	return portal.Errorf(portal.ErrMethodNotAllowed, "widget actions go through the API")
}

// messaging is the configured store, or an error when there is none.
func (b *serverBackend) messaging() (portal.Messaging, error) {
	if b.h.cfg.Messaging == nil {
		return nil, portal.Errorf(portal.ErrNotFound, "no messaging configured")
	}
	return b.h.cfg.Messaging, nil
}

func (b *serverBackend) CurrentPractitioner(ctx context.Context) (*portal.Practitioner, error) {
	if b.practitioner == "" {
		return nil, nil
	}
	return b.h.currentPractitioner(ctx, b.practitioner)
}

// DemoPractitioners are the practitioners one may sign in as on a demo
// host; none (and no error) where the demo sign-in is off, as the API's
// client reads the API's not_found.
func (b *serverBackend) DemoPractitioners(ctx context.Context) ([]portal.Practitioner, error) {
	if !b.h.cfg.DemoSignIn || b.h.cfg.CareTeam == nil {
		return nil, nil
	}
	return b.h.demoPractitioners(ctx)
}

// DemoPractitionerSignIn signs a demo practitioner in by a form post (the
// messaging and documents widgets' sign-in before the Wasm runs), as POST
// /api/v1/demo/practitioner-session does.
func (b *serverBackend) DemoPractitionerSignIn(ctx context.Context, id string) (portal.Practitioner, error) {
	if b.w == nil {
		return portal.Practitioner{}, portal.Errorf(portal.ErrMethodNotAllowed, "sign-in is not part of a preload")
	}
	list, err := b.h.demoPractitioners(ctx)
	if err != nil {
		return portal.Practitioner{}, err
	}
	p, err := b.h.demoPractitionerSignIn(b.w, b.r, list, id)
	if err == nil {
		b.patient, b.practitioner = "", p.ID
	}
	return p, err
}

func (b *serverBackend) Threads(ctx context.Context, est string) ([]portal.Thread, error) {
	m, err := b.messaging()
	if err != nil {
		return nil, err
	}
	return m.Threads(b.as(ctx), est)
}

func (b *serverBackend) Inbox(ctx context.Context, est string, f portal.InboxFilter) ([]portal.Thread, error) {
	m, err := b.messaging()
	if err != nil {
		return nil, err
	}
	return m.Inbox(b.as(ctx), est, f)
}

// Thread and MarkRead answer the messaging widgets' form posts
// (messaging.Serve): a thread opened, as the API's getThread and markRead
// answer them, of an establishment the host serves.
func (b *serverBackend) Thread(ctx context.Context, id string) (portal.Conversation, error) {
	m, err := b.messaging()
	if err != nil {
		return portal.Conversation{}, err
	}
	return b.h.servedThread(b.as(ctx), m, id)
}

// writer is the session's person making a form post's write, as the
// API's routes require them: unauthenticated without one, forbidden when
// not of kind ("" for either), to do what; refused in a preload.
func (b *serverBackend) writer(ctx context.Context, kind portal.AuthorKind, what string) (portal.Author, error) {
	if b.w == nil {
		return portal.Author{}, preloadOnly()
	}
	a, err := portal.RequireAuthor(b.as(ctx))
	if err == nil && kind != "" && a.Kind != kind {
		err = portal.Errorf(portal.ErrForbidden, "a %s may not %s", a.Kind, what)
	}
	return a, err
}

// spend takes the post's rate-limit token with spend (a message's, an
// upload's), as the API does before it writes, unless the post spent it
// before its body was read (prepaid).
func (b *serverBackend) spend(ctx context.Context, a portal.Author, spend func(context.Context, portal.Author) error) error {
	if b.prepaid {
		return nil
	}
	return spend(ctx, a)
}

// StartThread starts a patient's thread by a form post, as POST
// /api/v1/establishments/{e}/threads does: an establishment this host
// serves, a patient's session, the message rate limits; a retry of the
// same client id answers the thread it started.
func (b *serverBackend) StartThread(ctx context.Context, t portal.NewThread) (_ portal.Conversation, err error) {
	defer func() { auditRefused(ctx, err) }()
	m, err := b.messaging()
	if err != nil {
		return portal.Conversation{}, err
	}
	a, err := b.writer(ctx, portal.AuthorPatient, "start a thread")
	if err == nil && !b.h.serves(t.Establishment) {
		err = portal.Errorf(portal.ErrNotFound, "establishment %q", t.Establishment)
	}
	if err != nil {
		return portal.Conversation{}, err
	}
	ctx = b.as(ctx)
	if err := b.spend(ctx, a, b.h.spendMessage); err != nil {
		return portal.Conversation{}, err
	}
	before, err := m.Threads(ctx, t.Establishment)
	if err != nil {
		return portal.Conversation{}, err
	}
	c, err := m.StartThread(ctx, t)
	if err != nil {
		return portal.Conversation{}, err
	}
	auditNote(ctx, c.Patient, "Communication/"+c.ID)
	replay := slices.ContainsFunc(before, func(x portal.Thread) bool { return x.ID == c.ID })
	b.h.stored(ctx, a, replay, "thread started", "thread", c.ID, "establishment", c.Establishment, "service", c.Service)
	return c, nil
}

// Send sends a message in a thread by a form post, as POST
// /api/v1/threads/{id}/messages does: a thread the session's person may
// read, of an establishment this host serves, within the message rate
// limits; a retry of the same client id answers the message it stored.
func (b *serverBackend) Send(ctx context.Context, thread string, msg portal.NewMessage) (_ portal.Message, err error) {
	defer func() { auditRefused(ctx, err) }()
	m, err := b.messaging()
	if err != nil {
		return portal.Message{}, err
	}
	a, err := b.writer(ctx, "", "send a message")
	if err != nil {
		return portal.Message{}, err
	}
	ctx = b.as(ctx)
	before, err := b.h.servedThread(ctx, m, thread)
	if err != nil {
		return portal.Message{}, err
	}
	auditNote(ctx, before.Patient, "Communication/"+before.ID)
	if err := b.spend(ctx, a, b.h.spendMessage); err != nil {
		return portal.Message{}, err
	}
	stored, err := m.Send(ctx, thread, msg)
	if err != nil {
		return portal.Message{}, err
	}
	replay := slices.ContainsFunc(before.Messages, func(x portal.Message) bool { return x.ID == stored.ID })
	b.h.stored(ctx, a, replay, "message stored", "message", stored.ID, "thread", thread,
		"establishment", before.Establishment, "service", before.Service, "author", string(a.Kind))
	return stored, nil
}

func (b *serverBackend) MarkRead(ctx context.Context, id string) error {
	m, err := b.messaging()
	if err != nil {
		return err
	}
	if _, err := b.h.servedThread(b.as(ctx), m, id); err != nil {
		return err
	}
	return m.MarkRead(b.as(ctx), id)
}

// Assign and Close act on a thread by the inbox's form post, as POST
// /api/v1/threads/{id}/assign and /close do: a practitioner's session, a
// thread they may read, of an establishment this host serves.
func (b *serverBackend) Assign(ctx context.Context, id string) (portal.Thread, error) {
	return b.careTeamAction(ctx, id, portal.Messaging.Assign)
}

func (b *serverBackend) Close(ctx context.Context, id string) (portal.Thread, error) {
	return b.careTeamAction(ctx, id, portal.Messaging.Close)
}

func (b *serverBackend) careTeamAction(ctx context.Context, id string, action func(portal.Messaging, context.Context, string) (portal.Thread, error)) (_ portal.Thread, err error) {
	defer func() { auditRefused(ctx, err) }()
	m, err := b.messaging()
	if err != nil {
		return portal.Thread{}, err
	}
	if _, err := b.writer(ctx, portal.AuthorPractitioner, "act on a thread"); err != nil {
		return portal.Thread{}, err
	}
	ctx = b.as(ctx)
	c, err := b.h.servedThread(ctx, m, id)
	if err != nil {
		return portal.Thread{}, err
	}
	auditNote(ctx, c.Patient, "Communication/"+c.ID)
	return action(m, ctx, c.ID)
}

func (b *serverBackend) AttachmentURL(message, attachment string) string {
	return "/api/v1/messages/" + url.PathEscape(message) + "/attachments/" + url.PathEscape(attachment)
}

var _ documents.Backend = (*serverBackend)(nil)

// The documents widget's first screen is preloaded; before its Wasm runs,
// reading, a patient's upload and a practitioner's release are form posts
// (documents.Serve), made through the same paths as the API.

// documents is the configured store for an establishment the host serves,
// or the error the API would answer.
func (b *serverBackend) documents(est string) (portal.Documents, error) {
	if b.h.cfg.Documents == nil {
		return nil, portal.Errorf(portal.ErrNotFound, "no documents configured")
	}
	if !b.h.serves(est) {
		return nil, portal.Errorf(portal.ErrNotFound, "establishment %q", est)
	}
	return b.h.cfg.Documents, nil
}

func (b *serverBackend) Documents(ctx context.Context, est string, f portal.DocumentFilter) ([]portal.Document, error) {
	d, err := b.documents(est)
	if err != nil {
		return nil, err
	}
	return d.Documents(b.as(ctx), est, f)
}

func (b *serverBackend) Analytes(ctx context.Context, est string) ([]portal.Analyte, error) {
	d, err := b.documents(est)
	if err != nil {
		return nil, err
	}
	return d.Analytes(b.as(ctx), est)
}

// Trend and MarkDocumentSeen answer the documents widget's form posts
// (documents.Serve): an analyte's trend opened, a document opened.
func (b *serverBackend) Trend(ctx context.Context, est, code string) (portal.Trend, error) {
	d, err := b.documents(est)
	if err != nil {
		return portal.Trend{}, err
	}
	return d.Trend(b.as(ctx), est, code)
}

func (b *serverBackend) MarkDocumentSeen(ctx context.Context, id string) error {
	if b.h.cfg.Documents == nil {
		return portal.Errorf(portal.ErrNotFound, "no documents configured")
	}
	return b.h.cfg.Documents.MarkDocumentSeen(b.as(ctx), id)
}

// UploadDocument stores a patient's document by a form post, as POST
// /api/v1/establishments/{e}/documents does: an establishment this host
// serves, a patient's session, the upload rate limits; a retry of the
// same client id answers the document it stored.
func (b *serverBackend) UploadDocument(ctx context.Context, u portal.NewUpload) (_ portal.Document, err error) {
	defer func() { auditRefused(ctx, err) }()
	d, err := b.documents(u.Establishment)
	if err != nil {
		return portal.Document{}, err
	}
	a, err := b.writer(ctx, portal.AuthorPatient, "upload a document")
	if err != nil {
		return portal.Document{}, err
	}
	ctx = b.as(ctx)
	if err := b.spend(ctx, a, b.h.spendUpload); err != nil {
		return portal.Document{}, err
	}
	doc, _, err := b.h.upload(ctx, d, a, u)
	if err == nil {
		auditNote(ctx, doc.Patient, "DocumentReference/"+doc.ID)
	}
	return doc, err
}

// ReleaseDocument releases a held document by a form post, as POST
// /api/v1/documents/{id}/release does: a practitioner's session, a
// document they may see, of an establishment this host serves.
func (b *serverBackend) ReleaseDocument(ctx context.Context, id string) (_ portal.Document, err error) {
	defer func() { auditRefused(ctx, err) }()
	if b.h.cfg.Documents == nil {
		return portal.Document{}, portal.Errorf(portal.ErrNotFound, "no documents configured")
	}
	if _, err := b.writer(ctx, portal.AuthorPractitioner, "release a document"); err != nil {
		return portal.Document{}, err
	}
	ctx = b.as(ctx)
	doc, err := b.h.servedDocument(ctx, b.h.cfg.Documents, id)
	if err != nil {
		return portal.Document{}, err
	}
	auditNote(ctx, doc.Patient, "DocumentReference/"+doc.ID)
	return b.h.release(ctx, b.h.cfg.Documents, doc)
}

func (b *serverBackend) DocumentContentURL(id string, inline bool) string {
	return client.DocumentContentPath(id, inline)
}

func (b *serverBackend) DocumentImageURL(document, image string, inline bool) string {
	return client.DocumentImagePath(document, image, inline)
}

var _ access.Backend = (*serverBackend)(nil)

// The access widget's first screen is preloaded (the patient's own log and
// grants); before its Wasm runs, its look-ups, grants and revocations are
// form posts (access.Serve), made through the same paths as the API.

func (b *serverBackend) AccessLog(ctx context.Context, after string, limit int) (client.AccessLog, error) {
	if b.h.cfg.Audit == nil {
		return client.AccessLog{}, portal.Errorf(portal.ErrNotFound, "no audit log")
	}
	patient, err := portal.RequirePatient(b.as(ctx))
	if err != nil {
		return client.AccessLog{}, err
	}
	return b.h.accessLog(b.as(ctx), patient, after, limit)
}

// consents is Config.Consents and the session's patient, as the grants API
// requires them.
func (b *serverBackend) consents(ctx context.Context) (portal.Consents, string, error) {
	if b.h.cfg.Consents == nil {
		return nil, "", portal.Errorf(portal.ErrNotFound, "no consents store is configured")
	}
	patient, err := portal.RequirePatient(b.as(ctx))
	return b.h.cfg.Consents, patient, err
}

// Grants lists the session's patient's grants given through the
// establishments this host serves, as GET /api/v1/grants does.
func (b *serverBackend) Grants(ctx context.Context) ([]portal.Grant, error) {
	c, _, err := b.consents(ctx)
	if err != nil {
		return nil, err
	}
	return b.h.servedGrants(b.as(ctx), c)
}

// GrantAccessByRPPS grants as POST /api/v1/establishments/{est}/grants
// does: est served, the number checked against the id in est's directory.
func (b *serverBackend) GrantAccessByRPPS(ctx context.Context, est, practitioner, rpps string) (_ portal.Grant, err error) {
	defer func() { auditRefused(ctx, err) }()
	if b.w == nil {
		return portal.Grant{}, preloadOnly()
	}
	c, patient, err := b.consents(ctx)
	if err != nil {
		return portal.Grant{}, err
	}
	if !b.h.serves(est) {
		return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "establishment %q", est)
	}
	g, _, err := b.h.grant(b.as(ctx), c, patient, est, practitioner, rpps)
	return g, err
}

// RevokeAccess revokes as DELETE /api/v1/grants/{id} does.
func (b *serverBackend) RevokeAccess(ctx context.Context, id string) (_ portal.Grant, err error) {
	defer func() { auditRefused(ctx, err) }()
	if b.w == nil {
		return portal.Grant{}, preloadOnly()
	}
	c, patient, err := b.consents(ctx)
	if err != nil {
		return portal.Grant{}, err
	}
	return b.h.revoke(b.as(ctx), c, patient, id)
}

// PractitionerByRPPSIn looks a professional up by RPPS number in est's
// directory with the session's subject, as GET
// /api/v1/practitioners/rpps/{rpps}?establishment= does (rate limits
// included; not_found without Config.Practitioners).
func (b *serverBackend) PractitionerByRPPSIn(ctx context.Context, est, rpps string) (portal.Practitioner, error) {
	return b.h.practitionerByRPPS(b.as(ctx), est, rpps)
}
