package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Contacts holds the e-mail addresses that messaging notifications go to
// (portal.Contacts): each patient's own address and each service's team
// address. Get it with Store.Contacts; it is safe for concurrent use and lives
// as long as its Store.
type Contacts struct {
	s *Store
}

var _ portal.Contacts = (*Contacts)(nil)

// Contacts returns the notification addresses of the Store.
func (s *Store) Contacts() *Contacts { return &Contacts{s: s} }

// maxEmail bounds an address, in bytes (RFC 5321's limit of a path).
const maxEmail = 254

// checkEmail refuses anything but a bare address (local@domain, no display
// name, no comment), so that an address read back can go into a header as
// is. The detail never quotes the address.
func checkEmail(email string) error {
	if len(email) > maxEmail {
		return portal.Errorf(portal.ErrInvalid, "the e-mail address exceeds %d bytes", maxEmail)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return portal.Errorf(portal.ErrInvalid, "malformed e-mail address")
	}
	return nil
}

// SetPatient sets the address of a patient (an authenticated subject's id);
// an empty email removes it. A malformed address is an ErrInvalid error.
func (c *Contacts) SetPatient(ctx context.Context, patient, email string) error {
	if patient == "" {
		return portal.Errorf(portal.ErrInvalid, "patient is required")
	}
	if email == "" {
		return c.s.write(ctx, "remove patient contact", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM patient_contacts WHERE patient = ?`, patient)
			return err
		})
	}
	if err := checkEmail(email); err != nil {
		return err
	}
	return c.s.write(ctx, "set patient contact", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO patient_contacts (patient, email) VALUES (?, ?)
			ON CONFLICT (patient) DO UPDATE SET email = excluded.email`, patient, email)
		return err
	})
}

// SetService sets the team address of a service; an empty email removes it.
// An unknown service is an ErrNotFound error, a malformed address ErrInvalid.
func (c *Contacts) SetService(ctx context.Context, establishment, service, email string) error {
	if email != "" {
		if err := checkEmail(email); err != nil {
			return err
		}
	}
	return c.s.write(ctx, "set service contact", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM services WHERE establishment = ? AND id = ?`,
			establishment, service).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return portal.Errorf(portal.ErrNotFound, "service %q of %q not found", service, establishment)
		}
		if err != nil {
			return err
		}
		if email == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM service_contacts WHERE establishment = ? AND service = ?`,
				establishment, service)
			return err
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO service_contacts (establishment, service, email) VALUES (?, ?, ?)
			ON CONFLICT (establishment, service) DO UPDATE SET email = excluded.email`,
			establishment, service, email)
		return err
	})
}

// Recipient returns the address of n's recipient, found from n's thread:
// the thread's patient's address for portal.AuthorPatient, the team address
// of the thread's service for portal.AuthorPractitioner. ok is false when
// there is none, or when the thread is unknown. See portal.Contacts.
func (c *Contacts) Recipient(ctx context.Context, n portal.Notification) (string, bool, error) {
	var col string
	switch n.Recipient {
	case portal.AuthorPatient:
		col = "pc.email"
	case portal.AuthorPractitioner:
		col = "sc.email"
	default:
		return "", false, portal.Errorf(portal.ErrInvalid, "unknown recipient side %q", n.Recipient)
	}
	email, err := readTx(ctx, c.s, "notification recipient", func(tx *sql.Tx) (string, error) {
		// The thread, not the notification's copy of its fields, says
		// whose and which service's it is.
		var email sql.NullString
		err := tx.QueryRowContext(ctx, `
			SELECT `+col+` FROM threads t
			LEFT JOIN patient_contacts pc ON pc.patient = t.patient
			LEFT JOIN service_contacts sc ON sc.establishment = t.establishment AND sc.service = t.service
			WHERE t.id = ?`, n.Thread).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return email.String, err
	})
	return email, err == nil && email != "", err
}
