package fhir

import (
	"context"
	"net/mail"

	"github.com/tidwall/gjson"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.Contacts = (*Backend)(nil)

// Recipient implements portal.Contacts: where a messaging notification of
// this server's outbox goes. For the patient side, the Patient's e-mail
// (telecom system "email", the "home" one first); for the care team, the
// e-mail of the thread's HealthcareService (its team address). ok is false
// when the resource gives none, or none that parses as an address
// (https://hl7.org/fhir/R4/datatypes.html#ContactPoint). Addresses never
// reach the logs.
func (b *Backend) Recipient(ctx context.Context, n portal.Notification) (string, bool, error) {
	typ, id := "Patient", n.Patient
	if n.Recipient == portal.AuthorPractitioner {
		typ, id = "HealthcareService", n.Service
	}
	if !validID(id) {
		return "", false, nil
	}
	r, _, err := b.read(ctx, typ, id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	email, ok := emailOf(r)
	return email, ok, nil
}

// emailOf returns the e-mail address of a resource's telecom: the "home"
// one of a Patient first, else the first; one that does not parse is
// skipped.
func emailOf(r gjson.Result) (string, bool) {
	var first, home string
	r.Get("telecom").ForEach(func(_, c gjson.Result) bool {
		if c.Get("system").String() != "email" {
			return true
		}
		a, err := mail.ParseAddress(c.Get("value").String())
		if err != nil || a.Name != "" {
			return true
		}
		if first == "" {
			first = a.Address
		}
		if home == "" && c.Get("use").String() == "home" {
			home = a.Address
		}
		return true
	})
	if home != "" {
		return home, true
	}
	return first, first != ""
}
