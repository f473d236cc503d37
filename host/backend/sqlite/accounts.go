package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.Accounts = (*Store)(nil)

// Account returns the patient or practitioner linked to subject at the
// identity provider named provider (portal.Accounts): a Subject with exactly
// one of Patient and Practitioner set. An account linked to no one is an
// ErrNotFound error.
func (s *Store) Account(ctx context.Context, provider, subject string) (portal.Subject, error) {
	var who portal.Subject
	err := s.read(ctx, "account", func(tx *sql.Tx) error {
		var patient, practitioner sql.NullString
		err := tx.QueryRowContext(ctx, `
			SELECT patient, practitioner FROM accounts WHERE provider = ? AND subject = ?`,
			provider, subject).Scan(&patient, &practitioner)
		if errors.Is(err, sql.ErrNoRows) {
			return portal.Errorf(portal.ErrNotFound, "no account %q linked at provider %q", subject, provider)
		}
		if err != nil {
			return err
		}
		who = portal.Subject{Patient: patient.String, Practitioner: practitioner.String}
		return nil
	})
	return who, err
}

// LinkAccount links subject at provider to who, a Subject with exactly one
// of Patient and Practitioner set, naming a patient or practitioner of the
// store: what an operator does once the establishment verified the
// person's identity, and what Seed does for the demo accounts.
//
// Linking again to the same person changes nothing. An account already
// linked to someone else is refused (ErrInvalid): UnlinkAccount it first, so
// that moving an account to another record is a deliberate act. An empty
// provider or subject, or a Subject without exactly one id, is ErrInvalid;
// a person the store does not know is ErrNotFound.
func (s *Store) LinkAccount(ctx context.Context, provider, subject string, who portal.Subject) error {
	if provider == "" || subject == "" {
		return portal.Errorf(portal.ErrInvalid, "link account: empty provider or subject")
	}
	if (who.Patient == "") == (who.Practitioner == "") {
		return portal.Errorf(portal.ErrInvalid, "link account: want exactly one of patient and practitioner")
	}
	return s.write(ctx, "link account", func(tx *sql.Tx) error {
		if err := personExists(ctx, tx, who); err != nil {
			return err
		}
		return linkAccount(ctx, tx, provider, subject, who)
	})
}

// linkAccount links subject at provider to who in tx, unless it is already
// linked to someone else.
func linkAccount(ctx context.Context, tx *sql.Tx, provider, subject string, who portal.Subject) error {
	var patient, practitioner sql.NullString
	err := tx.QueryRowContext(ctx, `
		SELECT patient, practitioner FROM accounts WHERE provider = ? AND subject = ?`,
		provider, subject).Scan(&patient, &practitioner)
	switch {
	case err == nil:
		if patient.String == who.Patient && practitioner.String == who.Practitioner {
			return nil
		}
		return portal.Errorf(portal.ErrInvalid, "link account: %q at %q is linked to someone else", subject, provider)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO accounts (provider, subject, patient, practitioner) VALUES (?, ?, ?, ?)`,
		provider, subject, nullString(who.Patient), nullString(who.Practitioner))
	return err
}

// UnlinkAccount removes the link of subject at provider, so that signing in
// with it finds no one. An account linked to no one is ErrNotFound.
func (s *Store) UnlinkAccount(ctx context.Context, provider, subject string) error {
	return s.write(ctx, "unlink account", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE provider = ? AND subject = ?`, provider, subject)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return portal.Errorf(portal.ErrNotFound, "no account %q linked at provider %q", subject, provider)
		}
		return nil
	})
}

// personExists returns ErrNotFound unless the patient or practitioner who
// names is in the store.
func personExists(ctx context.Context, tx *sql.Tx, who portal.Subject) error {
	table, id := "patients", who.Patient
	if who.Practitioner != "" {
		table, id = "practitioners", who.Practitioner
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return portal.Errorf(portal.ErrNotFound, "%s %q not found", table[:len(table)-1], id)
	}
	return nil
}

// SetPatientINS records patient's INS (portal.INS), replacing the one it
// had. An INS that is not well formed (portal.ValidINS), of another system
// than INSSystemNIR, INSSystemNIA and INSSystemNIRTest, or with a status that is not one of
// the four RNIV statuses is ErrInvalid, and so is an INS another patient
// already has (a duplicate record, for identity vigilance); an unknown
// patient is ErrNotFound. The INS is never part of an error's detail.
func (s *Store) SetPatientINS(ctx context.Context, patient string, ins portal.INS) error {
	switch {
	case !portal.ValidINS(ins.Value):
		return portal.Errorf(portal.ErrInvalid, "patient INS: not a well-formed INS")
	case ins.System != portal.INSSystemNIR && ins.System != portal.INSSystemNIA && ins.System != portal.INSSystemNIRTest:
		return portal.Errorf(portal.ErrInvalid, "patient INS: unknown system %q", ins.System)
	case !ins.Status.Valid():
		return portal.Errorf(portal.ErrInvalid, "patient INS: unknown status %q", ins.Status)
	}
	return s.write(ctx, "set patient INS", func(tx *sql.Tx) error {
		if err := personExists(ctx, tx, portal.Subject{Patient: patient}); err != nil {
			return err
		}
		return setPatientINS(ctx, tx, patient, ins)
	})
}

// setPatientINS records patient's INS in tx, unless another patient has it.
func setPatientINS(ctx context.Context, tx *sql.Tx, patient string, ins portal.INS) error {
	var other string
	err := tx.QueryRowContext(ctx, `
		SELECT patient FROM patient_ins WHERE system = ? AND value = ? AND patient <> ?`,
		ins.System, ins.Value, patient).Scan(&other)
	switch {
	case err == nil:
		return portal.Errorf(portal.ErrInvalid, "patient INS of %q: another patient, %q, has the same INS", patient, other)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO patient_ins (patient, value, system, status) VALUES (?, ?, ?, ?)
		ON CONFLICT (patient) DO UPDATE SET value = excluded.value, system = excluded.system, status = excluded.status`,
		patient, ins.Value, ins.System, string(ins.Status))
	return err
}

// PatientINS returns patient's INS. A patient without one, or unknown, is
// ErrNotFound.
func (s *Store) PatientINS(ctx context.Context, patient string) (portal.INS, error) {
	var ins portal.INS
	err := s.read(ctx, "patient INS", func(tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT value, system, status FROM patient_ins WHERE patient = ?`, patient).
			Scan(&ins.Value, &ins.System, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return portal.Errorf(portal.ErrNotFound, "no INS for patient %q", patient)
		}
		ins.Status = portal.INSStatus(status)
		return err
	})
	return ins, err
}

// seedAccounts links every demo account (demoid.Accounts, at provider
// demoid.Provider) to its patient or practitioner, and gives each demo
// patient its INS, qualified, of system NIR. Seeding again puts the links
// and the INS back as shipped.
func seedAccounts(ctx context.Context, tx *sql.Tx) error {
	for _, a := range demoid.Accounts {
		who := portal.Subject{Patient: a.Person}
		if a.Kind == demoid.Practitioner {
			who = portal.Subject{Practitioner: a.Person}
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO accounts (provider, subject, patient, practitioner) VALUES (?, ?, ?, ?)
			ON CONFLICT (provider, subject) DO UPDATE SET patient = excluded.patient, practitioner = excluded.practitioner`,
			demoid.Provider, a.Subject, nullString(who.Patient), nullString(who.Practitioner)); err != nil {
			return err
		}
		if a.INS == "" {
			continue
		}
		// Fictional patients: a test NIR, never to be taken for a real one.
		ins := portal.INS{Value: a.INS, System: portal.INSSystemNIRTest, Status: portal.INSQualified}
		if !portal.ValidINS(ins.Value) {
			return fmt.Errorf("demo account %s: the INS is not well formed", a.Subject)
		}
		if err := setPatientINS(ctx, tx, a.Person, ins); err != nil {
			return err
		}
	}
	return nil
}
