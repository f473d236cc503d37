package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// The access grants of patients (portal.Consents), in the grants table. A
// grant's effect is one condition of the documents' visibility rule
// (scope in documents.go), read at every request: revoking takes effect at
// the next one.

var _ portal.Consents = (*Store)(nil)

const grantColumns = `g.id, g.patient, g.practitioner, pr.name, g.establishment, g.granted_utc, g.revoked_utc, e.time_zone`

const grantFrom = `grants g JOIN practitioners pr ON pr.id = g.practitioner JOIN establishments e ON e.id = g.establishment`

// Grants lists the context's patient's grants, active and revoked, the
// latest granted first. A practitioner is refused (ErrForbidden).
func (s *Store) Grants(ctx context.Context) ([]portal.Grant, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return nil, err
	}
	return readTx(ctx, s, "grants", func(tx *sql.Tx) ([]portal.Grant, error) {
		out := []portal.Grant{}
		err := query(ctx, tx, `SELECT `+grantColumns+` FROM `+grantFrom+`
			WHERE g.patient = @patient ORDER BY g.granted_utc DESC, g.rowid DESC`,
			[]any{sql.Named("patient", patient)}, func(rows *sql.Rows) error {
				g, err := s.scanGrant(rows)
				out = append(out, g)
				return err
			})
		return out, err
	})
}

// GrantAccess grants practitioner access to the context's patient's data
// through establishment, now, and returns the grant; an active grant to the
// same practitioner is returned as it is. An unknown establishment or
// practitioner is ErrNotFound; a practitioner is refused (ErrForbidden).
func (s *Store) GrantAccess(ctx context.Context, est, practitioner string) (portal.Grant, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.Grant{}, err
	}
	return writeTx(ctx, s, "grant access", func(tx *sql.Tx) (portal.Grant, error) {
		if _, err := establishment(ctx, tx, est); err != nil {
			return portal.Grant{}, err
		}
		var known bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM practitioners WHERE id = ?)`, practitioner).Scan(&known); err != nil {
			return portal.Grant{}, err
		}
		if !known {
			return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "practitioner %q not found", practitioner)
		}
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM grants WHERE patient = ? AND practitioner = ? AND revoked_utc IS NULL`,
			patient, practitioner).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			id = newID("grt_")
			_, err = tx.ExecContext(ctx, `INSERT INTO grants (id, patient, practitioner, establishment, granted_utc) VALUES (?, ?, ?, ?, ?)`,
				id, patient, practitioner, est, s.now().Unix())
		}
		if err != nil {
			return portal.Grant{}, err
		}
		return s.grant(ctx, tx, patient, id)
	})
}

// RevokeAccess revokes a grant of the context's patient, now, and returns
// it; a revoked grant is returned unchanged. Another patient's grant is
// ErrNotFound, as an unknown id; a practitioner is refused (ErrForbidden).
func (s *Store) RevokeAccess(ctx context.Context, id string) (portal.Grant, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.Grant{}, err
	}
	return writeTx(ctx, s, "revoke access", func(tx *sql.Tx) (portal.Grant, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE grants SET revoked_utc = ? WHERE id = ? AND patient = ? AND revoked_utc IS NULL`,
			s.now().Unix(), id, patient); err != nil {
			return portal.Grant{}, err
		}
		return s.grant(ctx, tx, patient, id)
	})
}

// grant reads a grant of patient; any other is ErrNotFound.
func (s *Store) grant(ctx context.Context, tx *sql.Tx, patient, id string) (portal.Grant, error) {
	var out []portal.Grant
	err := query(ctx, tx, `SELECT `+grantColumns+` FROM `+grantFrom+` WHERE g.id = @id AND g.patient = @patient`,
		[]any{sql.Named("id", id), sql.Named("patient", patient)}, func(rows *sql.Rows) error {
			g, err := s.scanGrant(rows)
			out = append(out, g)
			return err
		})
	if err != nil {
		return portal.Grant{}, err
	}
	if len(out) == 0 {
		// The same error for another patient's grant and an unknown one.
		return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "grant %q not found", id)
	}
	return out[0], nil
}

func (s *Store) scanGrant(rows *sql.Rows) (portal.Grant, error) {
	var g portal.Grant
	var granted int64
	var revoked sql.NullInt64
	var tz string
	if err := rows.Scan(&g.ID, &g.Patient, &g.Practitioner, &g.PractitionerName, &g.Establishment, &granted, &revoked, &tz); err != nil {
		return g, err
	}
	loc, err := s.location(tz)
	if err != nil {
		return g, err
	}
	g.Granted = fromUnix(granted, loc)
	if revoked.Valid {
		t := fromUnix(revoked.Int64, loc)
		g.Revoked = &t
	}
	return g, nil
}
