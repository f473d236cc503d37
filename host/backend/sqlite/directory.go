package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Patient returns a patient of the directory by id, or an ErrNotFound error.
func (s *Store) Patient(ctx context.Context, id string) (portal.Patient, error) {
	p := portal.Patient{ID: id}
	err := s.read(ctx, "patient", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT given_name, family_name FROM patients WHERE id = ?`, id).
			Scan(&p.GivenName, &p.FamilyName)
		if errors.Is(err, sql.ErrNoRows) {
			return portal.Errorf(portal.ErrNotFound, "patient %q not found", id)
		}
		return err
	})
	if err != nil {
		return portal.Patient{}, err
	}
	return p, nil
}

// DemoPatients lists the fictional patients flagged for demonstrations,
// ordered by family name then given name. It is empty unless the database
// was seeded (see Seed).
func (s *Store) DemoPatients(ctx context.Context) ([]portal.Patient, error) {
	out := []portal.Patient{}
	err := s.read(ctx, "demo patients", func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `
			SELECT id, given_name, family_name FROM patients
			WHERE demo = 1 ORDER BY family_name, given_name, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p portal.Patient
			if err := rows.Scan(&p.ID, &p.GivenName, &p.FamilyName); err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
