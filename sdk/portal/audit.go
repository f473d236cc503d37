package portal

import (
	"context"
	"strings"
	"time"
)

// AuditAction is what an audited request did, with FHIR AuditEvent.action's
// codes.
type AuditAction string

const (
	AuditCreate  AuditAction = "C"
	AuditRead    AuditAction = "R"
	AuditUpdate  AuditAction = "U"
	AuditDelete  AuditAction = "D"
	AuditExecute AuditAction = "E" // sign-in, sign-out, search
)

// AuditOutcome is how it ended, with FHIR AuditEvent.outcome's codes.
type AuditOutcome string

const (
	AuditSuccess AuditOutcome = "0"
	// AuditDenied is a refusal: not signed in, not allowed, an unknown id
	// (which the API answers exactly as a forbidden one), a rate limit.
	AuditDenied AuditOutcome = "4"
	// AuditFailed is the backend's or the host's failure.
	AuditFailed AuditOutcome = "8"
)

// AuditEvent is one audit record, in the shape of FHIR R4 AuditEvent: who
// (Agent), did what (Action, Operation) on what (Entity, of Patient), when
// (Time, UTC), with what outcome. It never holds health data itself, a
// token or an INS: ids and codes only.
type AuditEvent struct {
	// ID is assigned by the log when recorded.
	ID string `json:"id"`
	// Time is when the request was answered, in UTC.
	Time time.Time `json:"time"`
	// Action and Operation: the kind of access and the API operation
	// (the OpenAPI operationId, such as "getDocumentContent").
	Action    AuditAction  `json:"action"`
	Operation string       `json:"operation"`
	Outcome   AuditOutcome `json:"outcome"`
	// AgentKind and Agent: who asked: "patient" or "practitioner" with
	// their id, or "anonymous" with an empty Agent.
	AgentKind string `json:"agent_kind"`
	Agent     string `json:"agent,omitempty"`
	// Patient is the patient whose data was accessed, when known.
	Patient string `json:"patient,omitempty"`
	// Entity is what was accessed, as a FHIR-style reference
	// ("DocumentReference/doc-1"), when the request named one.
	Entity string `json:"entity,omitempty"`
	// Establishment is the establishment the request was for, when one.
	Establishment string `json:"establishment,omitempty"`
	// Network is the client's address as the host saw it.
	Network string `json:"network,omitempty"`
	// Status is the HTTP status the host answered.
	Status int `json:"status"`
}

// AuditQuery selects audit records, oldest first.
type AuditQuery struct {
	// Patient keeps the records about that patient; empty keeps all.
	Patient string
	// Since and Until bound Time (Since included, Until excluded); zero
	// values leave that side open.
	Since, Until time.Time
	// After continues a listing after the record of that ID, in the
	// listing's order.
	After string
	// Newest lists the newest records first (the exact reverse of the
	// oldest-first order); After then continues towards older records.
	Newest bool
	// Limit caps the records returned; 0 means 1,000, and more than
	// 10,000 is cut to 10,000.
	Limit int
}

// AuditLog is an append-only store of audit records. Implementations
// refuse to change or delete a record (the SQLite store enforces it with
// triggers and chains every record to the previous one by SHA-256, so that
// an edit made behind its back is detected by its VerifyAudit method).
type AuditLog interface {
	// RecordAudit appends e, assigning its ID. Time is converted to UTC.
	RecordAudit(ctx context.Context, e AuditEvent) error
	// AuditEvents lists the records q selects, oldest first (newest first
	// with q.Newest).
	AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}

// AuditMaxField bounds the length in bytes of an audit record's text
// fields.
const AuditMaxField = 1024

// Validate returns an ErrInvalid error unless e can be recorded: a known
// action, outcome and agent kind ("patient", "practitioner", "anonymous"),
// an agent exactly when not anonymous, an operation without spaces or
// control characters, an HTTP status (100–599), a time between years 1 and
// 9999, and text fields of at most AuditMaxField bytes. Backends add their
// own rules (a FHIR id, say).
func (e AuditEvent) Validate() error {
	switch e.Action {
	case AuditCreate, AuditRead, AuditUpdate, AuditDelete, AuditExecute:
	default:
		return Errorf(ErrInvalid, "audit: unknown action %q", e.Action)
	}
	switch e.Outcome {
	case AuditSuccess, AuditDenied, AuditFailed:
	default:
		return Errorf(ErrInvalid, "audit: unknown outcome %q", e.Outcome)
	}
	switch e.AgentKind {
	case "patient", "practitioner":
		if e.Agent == "" {
			return Errorf(ErrInvalid, "audit: a %s agent without an id", e.AgentKind)
		}
	case "anonymous":
		if e.Agent != "" {
			return Errorf(ErrInvalid, "audit: an anonymous agent with an id")
		}
	default:
		return Errorf(ErrInvalid, "audit: unknown agent kind %q", e.AgentKind)
	}
	if e.Operation == "" || strings.ContainsFunc(e.Operation, func(r rune) bool { return r <= ' ' }) {
		return Errorf(ErrInvalid, "audit: no operation, or not a code")
	}
	if e.Status < 100 || e.Status > 599 {
		return Errorf(ErrInvalid, "audit: HTTP status %d", e.Status)
	}
	if y := e.Time.UTC().Year(); y < 1 || y > 9999 {
		return Errorf(ErrInvalid, "audit: time out of range")
	}
	for _, f := range []string{e.Operation, e.Agent, e.Patient, e.Entity, e.Establishment, e.Network} {
		if len(f) > AuditMaxField {
			return Errorf(ErrInvalid, "audit: a field longer than %d bytes", AuditMaxField)
		}
	}
	return nil
}
