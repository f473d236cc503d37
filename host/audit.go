package host

import (
	"cmp"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/internal/deadline"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// auditedRoutes maps every API operation that reads or writes health data
// (or a session) to its audit action. The other operations are public
// (establishments, services, free slots, the OpenAPI document) or the demo
// sign-in's lists; TestEveryRouteAudited keeps this table and the routes in
// step.
var auditedRoutes = map[string]portal.AuditAction{
	"bookAppointment":               portal.AuditCreate,
	"listAppointments":              portal.AuditRead,
	"getAppointment":                portal.AuditRead,
	"cancelAppointment":             portal.AuditUpdate,
	"getAppointmentCalendar":        portal.AuditRead,
	"getQuestionnaireDraft":         portal.AuditRead,
	"saveQuestionnaireDraft":        portal.AuditUpdate,
	"deleteQuestionnaireDraft":      portal.AuditDelete,
	"submitQuestionnaireResponse":   portal.AuditCreate,
	"getQuestionnaireResponse":      portal.AuditRead,
	"getSession":                    portal.AuditRead,
	"deleteSession":                 portal.AuditExecute,
	"createDemoSession":             portal.AuditExecute,
	"createDemoPractitionerSession": portal.AuditExecute,
	"listThreads":                   portal.AuditRead,
	"startThread":                   portal.AuditCreate,
	"listInbox":                     portal.AuditRead,
	"getThread":                     portal.AuditRead,
	"sendMessage":                   portal.AuditCreate,
	"markThreadRead":                portal.AuditUpdate,
	"assignThread":                  portal.AuditUpdate,
	"closeThread":                   portal.AuditUpdate,
	"getAttachment":                 portal.AuditRead,
	"getAttachmentMetadata":         portal.AuditRead,
	"listDocuments":                 portal.AuditRead,
	"uploadDocument":                portal.AuditCreate,
	"countDocuments":                portal.AuditRead,
	"listAnalytes":                  portal.AuditRead,
	"getTrend":                      portal.AuditRead,
	"getDocument":                   portal.AuditRead,
	"getDocumentContent":            portal.AuditRead,
	"getDocumentImage":              portal.AuditRead,
	"markDocumentSeen":              portal.AuditUpdate,
	"releaseDocument":               portal.AuditUpdate,
	"getAccessLog":                  portal.AuditRead,
	"listGrants":                    portal.AuditRead,
	"grantAccess":                   portal.AuditCreate,
	"revokeAccess":                  portal.AuditUpdate,
	"getPractitionerByRPPS":         portal.AuditRead,
}

// widgetPostActions are the audit actions of the widgets' form posts that
// write, by widget and button ("<widget>.<action>"), as the API operation
// they make is recorded; any other post is E (execute: a screen drawn).
var widgetPostActions = map[string]portal.AuditAction{
	"booking.confirm":           portal.AuditCreate,
	"booking.cancel":            portal.AuditUpdate,
	"questionnaire.next":        portal.AuditUpdate, // the page into the draft
	"questionnaire.prev":        portal.AuditUpdate,
	"questionnaire.review":      portal.AuditUpdate,
	"questionnaire.save":        portal.AuditUpdate,
	"questionnaire.start-over":  portal.AuditDelete,
	"questionnaire.submit":      portal.AuditCreate,
	"messages.send":             portal.AuditCreate,
	"inbox.send":                portal.AuditCreate,
	"inbox.assign":              portal.AuditUpdate,
	"inbox.close":               portal.AuditUpdate,
	"documents.upload":          portal.AuditCreate,
	"documents.confirm-release": portal.AuditUpdate,
	"access.grant":              portal.AuditCreate,
	"access.confirm-revoke":     portal.AuditUpdate,
}

// selfAuditedRoutes record their own audit events: the frame's sign-in
// handoff is polled until the popup completes, and only its success is
// worth a record (the sign-in itself is recorded at the callback).
var selfAuditedRoutes = map[string]bool{
	"redeemSignIn": true,
}

// publicRoutes are the operations that never touch health data.
var publicRoutes = map[string]bool{
	"getOpenAPI":            true,
	"listEstablishments":    true,
	"getEstablishment":      true,
	"listServices":          true,
	"listFreeSlots":         true,
	"getQuestionnaire":      true,
	"listDemoPatients":      true,
	"listDemoPractitioners": true,
}

// auditRecord is what a request adds to its audit record: the operation,
// the patient whose data it touched and the entity, when the handler
// knows them.
type auditRecord struct {
	op      string
	action  portal.AuditAction
	status  int
	patient string
	entity  string
	est     string // the establishment, when not in the path
	// agent, when set, is who the request signed in (the agent of a
	// sign-in is the person it opened a session for).
	agent *portal.Subject
	// refused, when set, is the status of a write a widget's form post
	// asked for and the host refused or failed: the page answered 200,
	// the record says what the API would have.
	refused int
}

type auditKey struct{}

// auditNote lets a handler name the patient and the entity of its request's
// audit record (a practitioner's read of a patient's document, say). It
// does nothing outside an audited request.
func auditNote(ctx context.Context, patient, entity string) {
	if a, ok := ctx.Value(auditKey{}).(*auditRecord); ok {
		if patient != "" {
			a.patient = patient
		}
		if entity != "" {
			a.entity = entity
		}
	}
}

// auditAgent names the person a sign-in request opened a session for.
func auditAgent(ctx context.Context, s portal.Subject) {
	if a, ok := ctx.Value(auditKey{}).(*auditRecord); ok {
		a.agent = &s
	}
}

// entityOf names what a request's path designates, FHIR-style.
func entityOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v1/appointments/"):
		return "Appointment/" + r.PathValue("id")
	case strings.HasPrefix(p, "/api/v1/threads/"):
		return "Communication/" + r.PathValue("id")
	case strings.HasPrefix(p, "/api/v1/messages/"):
		return "Communication/" + r.PathValue("message")
	case strings.HasPrefix(p, "/api/v1/documents/"):
		return "DocumentReference/" + r.PathValue("id")
	case strings.HasPrefix(p, "/api/v1/questionnaire-responses/"):
		return "QuestionnaireResponse/" + r.PathValue("id")
	case strings.Contains(p, "/questionnaires/"):
		return "Questionnaire/" + r.PathValue("questionnaire")
	}
	return ""
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// audited runs an API operation and records its audit event: who (the
// session's subject, taken before the handler, so that a sign-out is
// recorded as its person's), what, the outcome from the answered status.
func (h *Host) audited(op string, action portal.AuditAction, w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request)) {
	rec := &auditRecord{op: op, action: action, entity: entityOf(r)}
	w, done := h.auditing(w, r, rec)
	serve(w, r.WithContext(context.WithValue(r.Context(), auditKey{}, rec)))
	done()
}

// auditing wraps w to see the status answered, and returns the function
// that records rec with it, once the answer is written.
func (h *Host) auditing(w http.ResponseWriter, r *http.Request, rec *auditRecord) (http.ResponseWriter, func()) {
	sw := &statusWriter{ResponseWriter: w}
	return sw, func() {
		rec.status = cmp.Or(rec.refused, sw.status, http.StatusOK)
		h.audit(r, *rec)
	}
}

// auditRefused records, for a widget's form post, that the write it asked
// for was refused or failed with err (nil: nothing). The page still
// answers 200 (it shows why); the audit record carries err's status.
func auditRefused(ctx context.Context, err error) {
	if err == nil {
		return
	}
	if a, ok := ctx.Value(auditKey{}).(*auditRecord); ok && a.refused == 0 {
		a.refused = portal.Code(err).Status()
	}
}

// audit writes one audit record for the request r (whose context holds the
// session's subject). A failure to record is logged as an error: the
// answer has been sent by then (see docs/security.md, "Audit").
func (h *Host) audit(r *http.Request, a auditRecord) {
	if h.cfg.Audit == nil {
		return
	}
	e := portal.AuditEvent{
		Time:          h.cfg.Now().UTC(),
		Action:        a.action,
		Operation:     a.op,
		Outcome:       outcomeOf(a.status),
		AgentKind:     "anonymous",
		Entity:        a.entity,
		Establishment: cmp.Or(a.est, r.PathValue("establishment")),
		Network:       h.clientAddress(r),
		Status:        a.status,
		Patient:       a.patient,
	}
	s, ok := sessionSubject(r.Context())
	if a.agent != nil {
		s, ok = *a.agent, true
	}
	if ok {
		switch {
		case s.Practitioner != "":
			e.AgentKind, e.Agent = string(portal.AuthorPractitioner), s.Practitioner
		case s.Patient != "":
			e.AgentKind, e.Agent = string(portal.AuthorPatient), s.Patient
			if e.Patient == "" {
				e.Patient = s.Patient
			}
		}
	}
	// The record outlives a client that hung up.
	ctx, cancel := deadline.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.AfterFunc, 5*time.Second)
	defer cancel()
	if err := h.cfg.Audit.RecordAudit(ctx, e); err != nil {
		h.log.Error("audit record lost", "operation", a.op, "status", a.status, "err", err)
	}
}

// sessionSubject returns the person of the request's session, a patient or
// a practitioner.
func sessionSubject(ctx context.Context) (portal.Subject, bool) {
	if s, ok := portal.SubjectFrom(ctx); ok {
		return s, true
	}
	if id, ok := portal.PractitionerFrom(ctx); ok {
		return portal.Subject{Practitioner: id}, true
	}
	return portal.Subject{}, false
}

func outcomeOf(status int) portal.AuditOutcome {
	switch {
	case status < 400:
		return portal.AuditSuccess
	case status < 500:
		return portal.AuditDenied
	}
	return portal.AuditFailed
}
