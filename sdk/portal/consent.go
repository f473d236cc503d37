package portal

import (
	"context"
	"strings"
	"time"
)

// Grant is a patient's consent that a practitioner see their data outside
// any care relationship: a city doctor, say, reading the documents of the
// patient's hospital care (FHIR R4 Consent, https://hl7.org/fhir/R4/consent.html:
// provision.actor the Practitioner, provision.period from Granted to
// Revoked).
//
// An active grant (Revoked nil) lets its practitioner see the patient's
// documents as the care team of each document's service does, except that
// documents still held stay absent to them and that releasing stays with
// the service's practitioners. Revoking it ends that at the next request.
type Grant struct {
	ID      string `json:"id"`
	Patient string `json:"patient"`
	// Practitioner is the practitioner granted access, and PractitionerName
	// their name.
	Practitioner     string `json:"practitioner"`
	PractitionerName string `json:"practitioner_name"`
	// Establishment is the establishment through which the patient granted
	// access.
	Establishment string `json:"establishment"`
	// Granted is when the patient granted access; Revoked, when they
	// revoked it (nil while the grant is active).
	Granted time.Time  `json:"granted"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// Active reports whether g still gives access.
func (g Grant) Active() bool { return g.Revoked == nil }

// LatestGrantFirst orders grants as Consents.Grants lists them: the latest
// granted first, then by ID, descending; for slices.SortFunc.
func LatestGrantFirst(x, y Grant) int {
	if c := y.Granted.Compare(x.Granted); c != 0 {
		return c
	}
	return strings.Compare(y.ID, x.ID)
}

// Consents is the access grants of patients.
//
// Every method acts for the context's patient only (RequirePatient): without
// a subject it is an ErrUnauthenticated error, and a practitioner is refused
// with ErrForbidden: only a patient grants, lists and revokes access to their
// own data.
type Consents interface {
	// Grants lists the context's patient's grants, active and revoked, the
	// latest granted first.
	Grants(ctx context.Context) ([]Grant, error)
	// GrantAccess grants practitioner access to the context's patient's
	// data, through establishment, and returns the grant. An active grant to
	// the same practitioner is returned as it is (granting is idempotent).
	// An unknown establishment or practitioner is ErrNotFound. A
	// practitioner the patient already sees through a care relationship may
	// be granted access too: the grant is recorded all the same.
	GrantAccess(ctx context.Context, establishment, practitioner string) (Grant, error)
	// RevokeAccess revokes a grant of the context's patient, now, and
	// returns it; revoking a revoked grant returns it unchanged. Another
	// patient's grant is reported exactly as an unknown id, ErrNotFound.
	RevokeAccess(ctx context.Context, id string) (Grant, error)
}
