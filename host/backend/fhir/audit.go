package fhir

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file is the audit log (portal.AuditLog) on FHIR R4 AuditEvent
// (https://hl7.org/fhir/R4/auditevent.html), one resource per record:
//
//   - type: DICOM 110110 "Patient Record"; subtype: the API operation, a
//     code of SystemAuditOperation; action, outcome; recorded: Time, UTC;
//   - agent[0]: who asked, typed by SystemAgentKind (patient,
//     practitioner, anonymous), who Patient/id or Practitioner/id (none
//     when anonymous), requestor true, network.address the client's
//     address;
//   - source: observer "Parcours", site the establishment id;
//   - entity: what was accessed (what.reference = Entity), and the patient
//     whose data it is (what Patient/id, role 1 "Patient" of
//     http://terminology.hl7.org/CodeSystem/object-role);
//   - the HTTP status in the extension ExtHTTPStatus.
//
// A FHIR server lets whoever may write delete too: this log is append-only
// by convention (Parcours never updates nor deletes an AuditEvent), not by
// construction, unlike the SQLite store's. An establishment that needs more
// restricts AuditEvent updates and deletes in the server's access policy.

// URLs and systems of the audit log.
const (
	// SystemAuditOperation is the code system of AuditEvent.subtype: the
	// API operation (the OpenAPI operationId, such as
	// "getDocumentContent").
	SystemAuditOperation = "https://parcours-sante.org/fhir/CodeSystem/operation"
	// SystemAgentKind types AuditEvent.agent: "patient",
	// "practitioner" or "anonymous" (portal.AuditEvent.AgentKind).
	SystemAgentKind = "https://parcours-sante.org/fhir/CodeSystem/agent-kind"
	// ExtHTTPStatus carries the HTTP status the host answered
	// (valueInteger) on an AuditEvent.
	ExtHTTPStatus = "https://parcours-sante.org/fhir/StructureDefinition/http-status"

	systemDICOM       = "http://dicom.nema.org/resources/ontology/DCM"
	codePatientRecord = "110110"
	systemObjectRole  = "http://terminology.hl7.org/CodeSystem/object-role"
	systemEntityType  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	systemSourceType  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	auditObserver     = "Parcours"
)

// Audit listing limits (portal.AuditQuery.Limit).
const (
	auditDefaultLimit = 1000
	auditMaxLimit     = 10000
)

var _ portal.AuditLog = (*Backend)(nil)

// validateAudit returns an ErrInvalid error unless e can be recorded:
// portal.AuditEvent.Validate, and FHIR ids for the agent and the patient,
// and no surrounding spaces in the fields a search matches.
func validateAudit(e portal.AuditEvent) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Agent != "" && !validID(e.Agent) {
		return portal.Errorf(portal.ErrInvalid, "audit: a %s agent without a FHIR id", e.AgentKind)
	}
	if e.Patient != "" && !validID(e.Patient) {
		return portal.Errorf(portal.ErrInvalid, "audit: the patient is not a FHIR id")
	}
	for _, f := range []string{e.Operation, e.Entity, e.Establishment, e.Network} {
		if strings.TrimSpace(f) != f {
			return portal.Errorf(portal.ErrInvalid, "audit: a field with surrounding spaces")
		}
	}
	return nil
}

// auditJSON returns the AuditEvent resource of e.
func auditJSON(e portal.AuditEvent) map[string]any {
	kind := map[string]any{"coding": []any{map[string]any{"system": SystemAgentKind, "code": e.AgentKind, "display": e.AgentKind}}}
	agent := map[string]any{"type": kind, "requestor": true}
	switch e.AgentKind {
	case "patient":
		agent["who"] = map[string]any{"reference": "Patient/" + e.Agent}
	case "practitioner":
		agent["who"] = map[string]any{"reference": "Practitioner/" + e.Agent}
	}
	if e.Network != "" {
		typ := "1" // machine name
		if net.ParseIP(e.Network) != nil {
			typ = "2" // IP address
		}
		agent["network"] = map[string]any{"address": e.Network, "type": typ}
	}
	source := map[string]any{
		"observer": map[string]any{"display": auditObserver},
		"type":     []any{map[string]any{"system": systemSourceType, "code": "4", "display": "Application Server"}},
	}
	if e.Establishment != "" {
		source["site"] = e.Establishment
	}
	var entities []any
	if e.Entity != "" {
		entities = append(entities, map[string]any{"what": map[string]any{"reference": e.Entity}})
	}
	if e.Patient != "" {
		entities = append(entities, map[string]any{
			"what": map[string]any{"reference": "Patient/" + e.Patient},
			"type": map[string]any{"system": systemEntityType, "code": "1", "display": "Person"},
			"role": map[string]any{"system": systemObjectRole, "code": "1", "display": "Patient"},
		})
	}
	res := map[string]any{
		"resourceType": "AuditEvent",
		"extension":    []any{map[string]any{"url": ExtHTTPStatus, "valueInteger": e.Status}},
		"type":         map[string]any{"system": systemDICOM, "code": codePatientRecord, "display": "Patient Record"},
		"subtype":      []any{map[string]any{"system": SystemAuditOperation, "code": e.Operation}},
		"action":       string(e.Action),
		"recorded":     auditInstant(e.Time),
		"outcome":      string(e.Outcome),
		"agent":        []any{agent},
		"source":       source,
	}
	if len(entities) > 0 {
		res["entity"] = entities
	}
	return res
}

// AuditEventJSON returns e as a FHIR R4 AuditEvent resource
// (https://hl7.org/fhir/R4/auditevent.html), the mapping RecordAudit
// writes, with e.ID as its id when it is a FHIR id: one line of an audit
// export in FHIR NDJSON (application/fhir+ndjson, as FHIR Bulk Data
// writes), whatever store the records come from.
func AuditEventJSON(e portal.AuditEvent) ([]byte, error) {
	res := auditJSON(e)
	if validID(e.ID) {
		res["id"] = e.ID
	}
	return json.Marshal(res)
}

// errNotAudit marks an AuditEvent that Parcours did not write (the
// server's own, another application's): searches leave it out.
var errNotAudit = errors.New("not a Parcours AuditEvent")

// auditFrom reads an AuditEvent that auditJSON wrote.
func auditFrom(r gjson.Result) (portal.AuditEvent, error) {
	var e portal.AuditEvent
	if r.Get("type.system").String() != systemDICOM || r.Get("type.code").String() != codePatientRecord {
		return e, errNotAudit
	}
	var ok bool
	r.Get("subtype").ForEach(func(_, c gjson.Result) bool {
		if c.Get("system").String() == SystemAuditOperation {
			e.Operation, ok = c.Get("code").String(), true
			return false
		}
		return true
	})
	if !ok {
		return e, errNotAudit
	}
	e.ID = r.Get("id").String()
	if !validID(e.ID) {
		return e, fmt.Errorf("AuditEvent id %q", e.ID)
	}
	t, err := time.Parse(time.RFC3339Nano, r.Get("recorded").String())
	if err != nil {
		return e, fmt.Errorf("AuditEvent %s: recorded: %w", e.ID, err)
	}
	e.Time = t.UTC()
	e.Action = portal.AuditAction(r.Get("action").String())
	e.Outcome = portal.AuditOutcome(r.Get("outcome").String())
	agent := r.Get("agent.0")
	agent.Get("type.coding").ForEach(func(_, c gjson.Result) bool {
		if c.Get("system").String() == SystemAgentKind {
			e.AgentKind = c.Get("code").String()
			return false
		}
		return true
	})
	who := agent.Get("who.reference").String()
	switch e.AgentKind {
	case "patient":
		e.Agent, ok = refID(who, "Patient")
	case "practitioner":
		e.Agent, ok = refID(who, "Practitioner")
	case "anonymous":
		ok = who == ""
	default:
		ok = false
	}
	if !ok {
		return e, fmt.Errorf("AuditEvent %s: agent %q of kind %q", e.ID, who, e.AgentKind)
	}
	e.Network = agent.Get("network.address").String()
	e.Establishment = r.Get("source.site").String()
	r.Get("entity").ForEach(func(_, en gjson.Result) bool {
		what := en.Get("what.reference").String()
		if en.Get("role.system").String() == systemObjectRole && en.Get("role.code").String() == "1" {
			if id, ok := refID(what, "Patient"); ok && e.Patient == "" {
				e.Patient = id
				return true
			}
		}
		if e.Entity == "" {
			e.Entity = what
		}
		return true
	})
	status := extension(r, ExtHTTPStatus).Get("valueInteger")
	if !status.Exists() {
		return e, fmt.Errorf("AuditEvent %s: no HTTP status", e.ID)
	}
	e.Status = int(status.Int())
	return e, nil
}

// RecordAudit creates an AuditEvent for e (portal.AuditLog); its ID is the
// one the server gives it. Time is converted to UTC, and a zero Time is
// Config.Now. An invalid event (see validateAudit: also an agent or
// patient that is not a FHIR id) is ErrInvalid and sends nothing. The
// create is sent once, never retried: a lost answer may mean a lost record
// or a recorded one.
func (b *Backend) RecordAudit(ctx context.Context, e portal.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = b.now()
	}
	e.Time = e.Time.UTC()
	if err := validateAudit(e); err != nil {
		return err
	}
	body, err := json.Marshal(auditJSON(e))
	if err != nil {
		return portal.Errorf(portal.ErrInternal, "audit: %v", err)
	}
	_, err = b.do(ctx, request{method: http.MethodPost, path: "AuditEvent", body: body, op: opWrite})
	return err
}

// auditInstant formats t as AuditEvent.recorded and for a date search
// parameter: UTC, with nine digits of fraction, fixed width, so that a
// server that sorts dates as text sorts them in time order.
func auditInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

// AuditEvents lists the records q selects (portal.AuditLog), oldest first:
// by Time, records of equal Time by ID (the reverse with q.Newest, searched
// with _sort=-date). It searches
// AuditEvent?entity=Patient/<id>&date=ge<Since>&date=lt<Until>&_sort=date
// and keeps Parcours's records. The server's answer is only a first
// selection: servers compare dates by ranges of their precision, so every
// record is checked again here, and sorted here by (Time, ID), since
// servers differ in how they sort equal dates and in a second sort key.
//
// The cursor: After names a record, which is read for its Time t; the
// search starts at date=ge<t> (or Since if later), and of the records at
// exactly t only those whose ID sorts after After's are kept. Pages (of
// Config.PageSize, following the Bundle's next links) are read until the
// records past the Limit-th one's Time show, so that records of equal Time
// are never split between two listings. A server that gives no next link
// (Medplum's in-memory one) lists at most one page of matches per call.
// An After the server does not hold is ErrInvalid, and so is a negative
// Limit.
func (b *Backend) AuditEvents(ctx context.Context, q portal.AuditQuery) ([]portal.AuditEvent, error) {
	limit := q.Limit
	switch {
	case limit < 0:
		return nil, portal.Errorf(portal.ErrInvalid, "audit: negative limit")
	case limit == 0:
		limit = auditDefaultLimit
	case limit > auditMaxLimit:
		limit = auditMaxLimit
	}
	if q.Patient != "" && !validID(q.Patient) {
		return []portal.AuditEvent{}, nil
	}
	since, until := q.Since, q.Until
	var after *portal.AuditEvent
	if q.After != "" {
		r, _, err := b.read(ctx, "AuditEvent", q.After)
		if portal.IsCode(err, portal.ErrNotFound) {
			return nil, portal.Errorf(portal.ErrInvalid, "audit: unknown cursor")
		}
		if err != nil {
			return nil, err
		}
		a, err := auditFrom(r)
		if err != nil {
			return nil, portal.Errorf(portal.ErrInvalid, "audit: the cursor is not a Parcours audit record")
		}
		after = &a
		if q.Newest {
			// Continue towards older records: up to a's Time, included.
			// The server's bound is a second later, since servers compare
			// dates at their own precision; keep applies the exact one.
			if next := a.Time.Add(time.Second); until.IsZero() || next.Before(until) {
				until = next
			}
		} else if since.IsZero() || a.Time.After(since) {
			since = a.Time
		}
	}
	keep := func(e portal.AuditEvent) bool {
		switch {
		case q.Patient != "" && e.Patient != q.Patient,
			!since.IsZero() && e.Time.Before(since),
			!q.Until.IsZero() && !e.Time.Before(q.Until),
			after != nil && q.Newest && e.Time.After(after.Time):
			return false
		case after != nil && e.Time.Equal(after.Time):
			return e.ID != after.ID && (e.ID > after.ID) != q.Newest
		}
		return true
	}
	// order is the listing's order: (Time, ID), reversed with Newest.
	order := func(x, y portal.AuditEvent) int {
		c := cmp.Or(x.Time.Compare(y.Time), strings.Compare(x.ID, y.ID))
		if q.Newest {
			return -c
		}
		return c
	}

	sort := "date"
	if q.Newest {
		sort = "-date"
	}
	query := values("_sort", sort, "_count", strconv.Itoa(b.cfg.PageSize))
	if q.Patient != "" {
		query.Set("entity", "Patient/"+q.Patient)
	}
	if !since.IsZero() {
		query.Add("date", "ge"+auditInstant(since))
	}
	if !until.IsZero() {
		query.Add("date", "lt"+auditInstant(until))
	}
	var out []portal.AuditEvent
	r := request{method: http.MethodGet, path: "AuditEvent", query: query, op: opRead}
	for page := 0; ; page++ {
		resp, err := b.do(ctx, r)
		if err != nil {
			return nil, err
		}
		bnd, err := parseBundle(resp.body)
		if err != nil {
			b.log.Warn("fhir: unexpected search answer", "path", "AuditEvent", "error", err)
			return nil, portal.Errorf(portal.ErrBackendUnavailable, "FHIR search AuditEvent: unexpected answer")
		}
		var last time.Time
		for _, res := range bnd.resources {
			if res.Get("resourceType").String() != "AuditEvent" {
				continue
			}
			e, err := auditFrom(res)
			if err != nil {
				if !errors.Is(err, errNotAudit) {
					b.skip("AuditEvent", err)
				}
				continue
			}
			last = e.Time
			if keep(e) {
				out = append(out, e)
			}
		}
		if auditComplete(out, limit, last, order) || bnd.next == "" {
			break
		}
		if page+1 >= maxPages || !b.sameServer(bnd.next) {
			b.log.Warn("fhir: audit listing cut short", "pages", page+1, "next_on_server", b.sameServer(bnd.next))
			break
		}
		r = request{method: http.MethodGet, path: "AuditEvent", next: bnd.next, op: opRead}
	}
	slices.SortFunc(out, order)
	if len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []portal.AuditEvent{}
	}
	return out, nil
}

// auditComplete reports whether out, records read in the server's date
// order up to one of Time last, holds the first limit records in the
// listing's order: at least limit records, and the server went past the
// Time of the limit-th, so that no record of that Time is still to come.
func auditComplete(out []portal.AuditEvent, limit int, last time.Time, order func(x, y portal.AuditEvent) int) bool {
	if len(out) < limit {
		return false
	}
	sorted := slices.SortedFunc(slices.Values(out), order)
	// Past it: later in time, or earlier when listing the newest first.
	return order(portal.AuditEvent{Time: last}, portal.AuditEvent{Time: sorted[limit-1].Time}) > 0
}
