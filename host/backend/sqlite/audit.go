package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.AuditLog = (*Store)(nil)

// The audit log (portal.AuditLog) is the table audit_events: append-only
// (triggers refuse UPDATE and DELETE) and chained. Each record stores the
// hash of the record before it (prev_hash, empty for the first) and its own
// hash, the hex SHA-256 of a fixed header, its seq, every field and
// prev_hash, each length-prefixed (fieldsDigest), so that no two records
// share an encoding. An append reads the last record and inserts the next
// one in a single IMMEDIATE transaction, so the chain stays linear however
// many writers there are. Store.VerifyAudit walks it.

// auditTimeLayout is how an audit record's Time is stored: UTC RFC 3339
// with nine digits of fraction, fixed width, so that text order is time
// order ("2026-11-23T07:00:00.000000000Z").
const auditTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// auditHashHeader starts every record's hashed encoding; a change of
// encoding is a new header.
const auditHashHeader = "parcours-audit-v1"

// Audit listing limits (portal.AuditQuery.Limit).
const (
	auditDefaultLimit = 1000
	auditMaxLimit     = 10000
)

// auditTime formats t, in UTC, as stored.
func auditTime(t time.Time) string {
	return t.UTC().Format(auditTimeLayout)
}

// auditFields are the stored text of a record's fields, in the order they
// are hashed.
func auditFields(seq int64, e portal.AuditEvent, tm, prev string) []string {
	return []string{
		strconv.FormatInt(seq, 10), e.ID, tm, string(e.Action), e.Operation, string(e.Outcome),
		e.AgentKind, e.Agent, e.Patient, e.Entity, e.Establishment, e.Network,
		strconv.Itoa(e.Status), prev,
	}
}

// auditHash is the hash of record seq: e as stored, with its time tm as
// stored and the hash of the record before it.
func auditHash(seq int64, e portal.AuditEvent, tm, prev string) string {
	return fieldsDigest(auditHashHeader, auditFields(seq, e, tm, prev))
}

// RecordAudit appends e to the audit log (portal.AuditLog), with a new
// random ID ("aud-" and 128 bits) and its Time in UTC; a zero Time is the
// store's clock. An event with an unknown action, outcome or agent kind, an
// agent id that does not fit its kind, no operation, or a Status outside
// 100–599 is ErrInvalid and stores nothing.
func (s *Store) RecordAudit(ctx context.Context, e portal.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.UTC()
	if err := e.Validate(); err != nil {
		return err
	}
	tm := auditTime(e.Time)
	return s.write(ctx, "record audit", func(tx *sql.Tx) error {
		e.ID = newID("aud-")
		var last int64
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		seq := last + 1
		_, err = tx.ExecContext(ctx, `
			INSERT INTO audit_events (seq, id, time, action, operation, outcome, agent_kind, agent, patient,
				entity, establishment, network, status, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			seq, e.ID, tm, string(e.Action), e.Operation, string(e.Outcome), e.AgentKind, e.Agent, e.Patient,
			e.Entity, e.Establishment, e.Network, e.Status, prev, auditHash(seq, e, tm, prev))
		return err
	})
}

// AuditEvents lists the audit records q selects (portal.AuditLog), oldest
// first: by Time, then in the order they were recorded (the reverse with
// q.Newest). After continues
// after the record of that ID in this order; an ID the log does not hold is
// ErrInvalid, and so is a negative Limit.
func (s *Store) AuditEvents(ctx context.Context, q portal.AuditQuery) ([]portal.AuditEvent, error) {
	limit := q.Limit
	switch {
	case limit < 0:
		return nil, portal.Errorf(portal.ErrInvalid, "audit: negative limit")
	case limit == 0:
		limit = auditDefaultLimit
	case limit > auditMaxLimit:
		limit = auditMaxLimit
	}
	var out []portal.AuditEvent
	err := s.read(ctx, "audit events", func(tx *sql.Tx) error {
		out = out[:0]
		var where []string
		var args []any
		if q.After != "" {
			var tm string
			var seq int64
			err := tx.QueryRowContext(ctx, `SELECT time, seq FROM audit_events WHERE id = ?`, q.After).Scan(&tm, &seq)
			if errors.Is(err, sql.ErrNoRows) {
				return portal.Errorf(portal.ErrInvalid, "audit: unknown cursor %q", q.After)
			}
			if err != nil {
				return err
			}
			if q.Newest {
				where = append(where, "(time < ? OR (time = ? AND seq < ?))")
			} else {
				where = append(where, "(time > ? OR (time = ? AND seq > ?))")
			}
			args = append(args, tm, tm, seq)
		}
		if q.Patient != "" {
			where = append(where, "patient = ?")
			args = append(args, q.Patient)
		}
		if !q.Since.IsZero() {
			where = append(where, "time >= ?")
			args = append(args, auditBound(q.Since))
		}
		if !q.Until.IsZero() {
			where = append(where, "time < ?")
			args = append(args, auditBound(q.Until))
		}
		query := `SELECT id, time, action, operation, outcome, agent_kind, agent, patient, entity,
			establishment, network, status FROM audit_events`
		if len(where) > 0 {
			query += " WHERE " + strings.Join(where, " AND ")
		}
		if q.Newest {
			query += " ORDER BY time DESC, seq DESC LIMIT ?"
		} else {
			query += " ORDER BY time, seq LIMIT ?"
		}
		args = append(args, limit)
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e portal.AuditEvent
			var tm, action, outcome string
			if err := rows.Scan(&e.ID, &tm, &action, &e.Operation, &outcome, &e.AgentKind, &e.Agent, &e.Patient,
				&e.Entity, &e.Establishment, &e.Network, &e.Status); err != nil {
				return err
			}
			if e.Time, err = time.Parse(auditTimeLayout, tm); err != nil {
				return fmt.Errorf("audit record %s: time %q: %w", e.ID, tm, err)
			}
			e.Time = e.Time.UTC()
			e.Action, e.Outcome = portal.AuditAction(action), portal.AuditOutcome(outcome)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// auditBound is t as stored, clamped to the years a record may have, for
// comparing with stored times.
func auditBound(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Year() < 1:
		return "0001-01-01T00:00:00.000000000Z"
	case t.Year() > 9999:
		return "9999-12-31T23:59:59.999999999Z~" // after every stored time
	}
	return auditTime(t)
}

// AuditHead returns the seq and hash of the last audit record (0 and ""
// for an empty log). Kept elsewhere from time to time (logged, sent to
// another system), it anchors the chain: VerifyAudit then shows whether the
// log still leads to it, which detects a rewrite of the whole chain and
// records removed from its end.
func (s *Store) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	err = s.read(ctx, "audit head", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			seq, hash = 0, ""
			return nil
		}
		return err
	})
	return seq, hash, err
}

// AuditChainError is the first audit record that breaks the chain, as
// Store.VerifyAudit found it.
type AuditChainError struct {
	// Seq and ID name the record (ID may be what an edit made of it).
	Seq int64
	ID  string
	// Reason says what does not match.
	Reason string
}

func (e *AuditChainError) Error() string {
	return fmt.Sprintf("sqlite: audit record %d (%s) breaks the chain: %s", e.Seq, e.ID, e.Reason)
}

// VerifyAudit walks the audit log in the order it was recorded and checks
// every record: its seq follows the one before (a gap is a deleted record),
// its prev_hash is that record's hash, and its hash is the digest of its
// fields. It returns the number of records that passed and, at the first
// that does not, an *AuditChainError naming it. A database error is a
// *portal.Error as elsewhere.
//
// The chain holds no secret: it detects an edit, insertion or deletion made
// behind the store's back (the triggers refuse them through SQL, but not
// someone who drops the triggers or edits the file) unless whoever made it
// also recomputed every later hash. Comparing the last hash (AuditHead)
// with a copy kept elsewhere (a log line, a backup) detects that too, and
// the removal of records at the end.
func (s *Store) VerifyAudit(ctx context.Context) (checked int, err error) {
	var broken *AuditChainError
	err = s.read(ctx, "verify audit", func(tx *sql.Tx) error {
		checked, broken = 0, nil
		rows, err := tx.QueryContext(ctx, `
			SELECT seq, id, time, action, operation, outcome, agent_kind, agent, patient, entity,
				establishment, network, status, prev_hash, hash
			FROM audit_events ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		prev := ""
		var want int64 = 1
		for rows.Next() {
			var seq int64
			var e portal.AuditEvent
			var tm, action, outcome, prevHash, hash string
			if err := rows.Scan(&seq, &e.ID, &tm, &action, &e.Operation, &outcome, &e.AgentKind, &e.Agent,
				&e.Patient, &e.Entity, &e.Establishment, &e.Network, &e.Status, &prevHash, &hash); err != nil {
				return err
			}
			e.Action, e.Outcome = portal.AuditAction(action), portal.AuditOutcome(outcome)
			switch {
			case seq != want:
				broken = &AuditChainError{Seq: seq, ID: e.ID, Reason: fmt.Sprintf("records %d to %d are missing", want, seq-1)}
			case prevHash != prev:
				broken = &AuditChainError{Seq: seq, ID: e.ID, Reason: "its prev_hash is not the hash of the record before it"}
			case auditHash(seq, e, tm, prevHash) != hash:
				broken = &AuditChainError{Seq: seq, ID: e.ID, Reason: "its hash does not match its fields"}
			}
			if broken != nil {
				return nil
			}
			checked++
			prev, want = hash, seq+1
		}
		return rows.Err()
	})
	if err != nil {
		return checked, err
	}
	if broken != nil {
		return checked, broken
	}
	return checked, nil
}
