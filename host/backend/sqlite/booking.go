package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Establishment returns an establishment by id, with its urgent-help text,
// or an ErrNotFound error.
func (s *Store) Establishment(ctx context.Context, id string) (portal.Establishment, error) {
	var e portal.Establishment
	err := s.read(ctx, "establishment", func(tx *sql.Tx) error {
		var err error
		e, err = establishment(ctx, tx, id)
		return err
	})
	return e, err
}

func establishment(ctx context.Context, tx *sql.Tx, id string) (portal.Establishment, error) {
	e := portal.Establishment{ID: id}
	err := tx.QueryRowContext(ctx, `
		SELECT name, time_zone, urgent_help_fr, urgent_help_en FROM establishments WHERE id = ?`, id).
		Scan(&e.Name, &e.TimeZone, &e.UrgentHelp.FR, &e.UrgentHelp.EN)
	if errors.Is(err, sql.ErrNoRows) {
		return e, portal.Errorf(portal.ErrNotFound, "establishment %q not found", id)
	}
	return e, err
}

// Services lists the services of an establishment by display position, each
// with its practitioners ordered by name. An unknown establishment is an
// ErrNotFound error.
func (s *Store) Services(ctx context.Context, est string) ([]portal.Service, error) {
	var out []portal.Service
	err := s.read(ctx, "services", func(tx *sql.Tx) error {
		if _, err := establishment(ctx, tx, est); err != nil {
			return err
		}
		out = []portal.Service{}
		index := map[string]int{}
		rows, err := tx.QueryContext(ctx, `
			SELECT id, name_fr, name_en, response_time_fr, response_time_en FROM services
			WHERE establishment = ? ORDER BY position, id`, est)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sv := portal.Service{Establishment: est, Practitioners: []portal.Practitioner{}}
			if err := rows.Scan(&sv.ID, &sv.Name.FR, &sv.Name.EN, &sv.ResponseTime.FR, &sv.ResponseTime.EN); err != nil {
				return err
			}
			index[sv.ID] = len(out)
			out = append(out, sv)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		prs, err := tx.QueryContext(ctx, `
			SELECT sp.service, p.id, p.name, p.role_fr, p.role_en
			FROM service_practitioners sp JOIN practitioners p ON p.id = sp.practitioner
			WHERE sp.establishment = ? ORDER BY p.name, p.id`, est)
		if err != nil {
			return err
		}
		defer prs.Close()
		for prs.Next() {
			var service string
			var p portal.Practitioner
			if err := prs.Scan(&service, &p.ID, &p.Name, &p.Role.FR, &p.Role.EN); err != nil {
				return err
			}
			if i, ok := index[service]; ok {
				out[i].Practitioners = append(out[i].Practitioners, p)
			}
		}
		return prs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FreeSlots returns the slots of q's service that start within [q.From,
// q.To), after now, and are not booked, ordered by start then practitioner.
// An invalid query is an ErrInvalid error; an unknown establishment, or a
// service unknown to it, is an ErrNotFound error. An unknown practitioner
// simply has no slots.
func (s *Store) FreeSlots(ctx context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	var out []portal.Slot
	err := s.read(ctx, "free slots", func(tx *sql.Tx) error {
		e, err := establishment(ctx, tx, q.Establishment)
		if err != nil {
			return err
		}
		loc, err := s.location(e.TimeZone)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM services WHERE establishment = ? AND id = ?`,
			q.Establishment, q.Service).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return portal.Errorf(portal.ErrNotFound, "service %q of establishment %q not found", q.Service, q.Establishment)
		}
		// Whole seconds: start >= From and start < To and start > now.
		from := max(unixCeil(q.From), s.now().Unix()+1)
		rows, err := tx.QueryContext(ctx, `
			SELECT s.id, s.practitioner, s.start_utc, s.end_utc FROM slots s
			WHERE s.establishment = ? AND s.service = ?
			  AND s.start_utc >= ? AND s.start_utc < ?
			  AND (? = '' OR s.practitioner = ?)
			  AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot = s.id AND a.status = 'booked')
			ORDER BY s.start_utc, s.practitioner, s.id`,
			q.Establishment, q.Service, from, unixCeil(q.To), q.Practitioner, q.Practitioner)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []portal.Slot{}
		for rows.Next() {
			sl := portal.Slot{Establishment: q.Establishment, Service: q.Service}
			var start, end int64
			if err := rows.Scan(&sl.ID, &sl.Practitioner, &start, &end); err != nil {
				return err
			}
			sl.Start, sl.End = fromUnix(start, loc), fromUnix(end, loc)
			out = append(out, sl)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Book books r.Slot for the context's patient, atomically: one slot is held
// by at most one booked appointment whatever the concurrency.
//
// A request whose IdempotencyKey this patient already used returns the
// appointment made then, in its current state, if the request is the same,
// and an ErrIdempotencyKeyReused error otherwise. Then an unknown slot, or a
// slot of another establishment, is ErrNotFound; a slot of another service
// than r.Service is ErrSlotServiceMismatch; a slot starting at or before now
// is ErrSlotInPast; a booked slot is ErrSlotUnavailable.
func (s *Store) Book(ctx context.Context, r portal.BookRequest) (portal.Appointment, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.Appointment{}, err
	}
	if err := r.Validate(); err != nil {
		return portal.Appointment{}, err
	}
	hash := requestHash(r)
	var a portal.Appointment
	err = s.write(ctx, "book", func(tx *sql.Tx) error {
		// Idempotency first, in the same transaction as the insert: a
		// concurrent retry with the same key waits for the write lock and
		// then finds this appointment.
		var id, prevHash string
		err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM appointments WHERE patient = ? AND idempotency_key = ?`,
			patient, r.IdempotencyKey).Scan(&id, &prevHash)
		switch {
		case err == nil:
			if prevHash != hash {
				return portal.Errorf(portal.ErrIdempotencyKeyReused, "idempotency key already used by appointment %s for another request", id)
			}
			a, err = s.appointment(ctx, tx, patient, id)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		var est, service, practitioner string
		var start, end int64
		err = tx.QueryRowContext(ctx, `SELECT establishment, service, practitioner, start_utc, end_utc FROM slots WHERE id = ?`,
			r.Slot).Scan(&est, &service, &practitioner, &start, &end)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && est != r.Establishment) {
			return portal.Errorf(portal.ErrNotFound, "slot %q of establishment %q not found", r.Slot, r.Establishment)
		}
		if err != nil {
			return err
		}
		if service != r.Service {
			return portal.Errorf(portal.ErrSlotServiceMismatch, "slot %q belongs to service %q, not %q", r.Slot, service, r.Service)
		}
		now := s.now()
		if !time.Unix(start, 0).After(now) {
			return portal.Errorf(portal.ErrSlotInPast, "slot %q started at %s", r.Slot, time.Unix(start, 0).UTC().Format(time.RFC3339))
		}
		var booked int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM appointments WHERE slot = ? AND status = 'booked'`,
			r.Slot).Scan(&booked); err != nil {
			return err
		}
		if booked > 0 {
			return portal.Errorf(portal.ErrSlotUnavailable, "slot %q is already booked", r.Slot)
		}
		id = newID("apt_")
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO appointments (id, patient, establishment, service, practitioner, slot,
				start_utc, end_utc, status, created_utc, idempotency_key, request_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?)`,
			id, patient, est, service, practitioner, r.Slot, start, end, now.Unix(), r.IdempotencyKey, hash); err != nil {
			// A unique violation means another writer got in first
			// despite the write lock; inTx tries again and the checks
			// above then report it.
			return err
		}
		a, err = s.appointment(ctx, tx, patient, id)
		return err
	})
	if err != nil {
		return portal.Appointment{}, err
	}
	return a, nil
}

// Cancel cancels one of the context's patient's appointments and frees its
// slot. An appointment of another patient is reported exactly as an unknown
// one, ErrNotFound. A cancelled appointment is returned unchanged; one that
// starts at or before now is ErrAppointmentInPast.
func (s *Store) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.Appointment{}, err
	}
	var a portal.Appointment
	err = s.write(ctx, "cancel", func(tx *sql.Tx) error {
		var err error
		a, err = s.appointment(ctx, tx, patient, id)
		if err != nil || a.Status == portal.StatusCancelled {
			return err
		}
		now := s.now()
		if !a.Start.After(now) {
			return portal.Errorf(portal.ErrAppointmentInPast, "appointment %s started at %s", id, a.Start.UTC().Format(time.RFC3339))
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE appointments SET status = 'cancelled', cancelled_utc = ?
			WHERE id = ? AND patient = ? AND status = 'booked'`, now.Unix(), id, patient)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("cancel %s: %d rows updated, want 1", id, n)
		}
		a, err = s.appointment(ctx, tx, patient, id)
		return err
	})
	if err != nil {
		return portal.Appointment{}, err
	}
	return a, nil
}

// Appointments lists the context's patient's appointments, booked and
// cancelled, ordered by start.
func (s *Store) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return nil, err
	}
	var out []portal.Appointment
	err = s.read(ctx, "appointments", func(tx *sql.Tx) error {
		var err error
		out, err = s.appointments(ctx, tx, `a.patient = ? ORDER BY a.start_utc, a.created_utc, a.id`, patient)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Appointment returns one of the context's patient's appointments. An
// appointment of another patient is reported exactly as an unknown one,
// ErrNotFound.
func (s *Store) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.Appointment{}, err
	}
	var a portal.Appointment
	err = s.read(ctx, "appointment", func(tx *sql.Tx) error {
		var err error
		a, err = s.appointment(ctx, tx, patient, id)
		return err
	})
	if err != nil {
		return portal.Appointment{}, err
	}
	return a, nil
}

// appointment reads one appointment of patient.
func (s *Store) appointment(ctx context.Context, tx *sql.Tx, patient, id string) (portal.Appointment, error) {
	as, err := s.appointments(ctx, tx, `a.patient = ? AND a.id = ?`, patient, id)
	if err != nil {
		return portal.Appointment{}, err
	}
	if len(as) == 0 {
		// The same error for another patient's appointment and an
		// unknown one: nothing tells them apart.
		return portal.Appointment{}, portal.Errorf(portal.ErrNotFound, "appointment %q not found", id)
	}
	return as[0], nil
}

// appointments reads the appointments selected by where, with their
// practitioner, service name and establishment time zone.
func (s *Store) appointments(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]portal.Appointment, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT a.id, a.establishment, a.service, s.name_fr, s.name_en,
			p.id, p.name, p.role_fr, p.role_en,
			a.slot, a.start_utc, a.end_utc, a.status, a.created_utc, a.cancelled_utc, e.time_zone
		FROM appointments a
		JOIN services s ON s.establishment = a.establishment AND s.id = a.service
		JOIN practitioners p ON p.id = a.practitioner
		JOIN establishments e ON e.id = a.establishment
		WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []portal.Appointment{}
	for rows.Next() {
		var a portal.Appointment
		var start, end, created int64
		var cancelled sql.NullInt64
		var status, tz string
		if err := rows.Scan(&a.ID, &a.Establishment, &a.Service, &a.ServiceName.FR, &a.ServiceName.EN,
			&a.Practitioner.ID, &a.Practitioner.Name, &a.Practitioner.Role.FR, &a.Practitioner.Role.EN,
			&a.Slot, &start, &end, &status, &created, &cancelled, &tz); err != nil {
			return nil, err
		}
		loc, err := s.location(tz)
		if err != nil {
			return nil, err
		}
		a.Status = portal.AppointmentStatus(status)
		a.Start, a.End, a.Created = fromUnix(start, loc), fromUnix(end, loc), fromUnix(created, loc)
		if cancelled.Valid {
			c := fromUnix(cancelled.Int64, loc)
			a.Cancelled = &c
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// requestHash is the digest of what a booking request asks for, stored with
// its idempotency key to recognise a retry of the same request. Each field is
// length-prefixed, so that no two requests share an encoding.
func requestHash(r portal.BookRequest) string {
	return fieldsDigest("book/v1", []string{r.Establishment, r.Service, r.Slot})
}
