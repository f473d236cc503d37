package portal

import "context"

// SystemRPPS is the FHIR identifier system of RPPS numbers, the national
// identifiers of health professionals in France (ANS, Annuaire Santé:
// https://interop.esante.gouv.fr/ig/fhir/annuaire).
const SystemRPPS = "urn:oid:1.2.250.1.71.4.2.1"

// ValidRPPS reports whether v is a well-formed RPPS number: 11 digits whose
// last is the Luhn check digit of the first ten.
func ValidRPPS(v string) bool {
	if len(v) != 11 {
		return false
	}
	sum := 0
	for i := 0; i < 11; i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		// Luhn: from the rightmost digit (the check digit), double every
		// second digit.
		if (10-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// CheckRPPS returns nil for a well-formed RPPS number (ValidRPPS), else
// the ErrInvalid error every PractitionerLookup answers.
func CheckRPPS(v string) error {
	if !ValidRPPS(v) {
		return Errorf(ErrInvalid, "not an RPPS number: 11 digits with a valid check digit")
	}
	return nil
}

// PractitionerLookup finds a health professional by their RPPS number, so
// that a patient can grant access to a professional outside their care
// relationships (a city doctor) from the number printed on a prescription.
//
// It answers patients only (RequirePatient). A malformed number is
// ErrInvalid; a well-formed number the backend does not know is
// ErrNotFound.
type PractitionerLookup interface {
	PractitionerByRPPS(ctx context.Context, rpps string) (Practitioner, error)
}

// PractitionerLookupIn is a PractitionerLookup over several
// establishments' directories, each with practitioner ids of its own (a
// host serving establishments on different backends: its SQLite store,
// each FHIR server). A practitioner's id means something in one directory
// only, and a grant names the practitioner by that id: the id a patient
// grants through an establishment must come from that establishment's
// directory.
//
// PractitionerByRPPSIn answers the professional with RPPS number rpps as
// the directory of establishment est knows them; an establishment it does
// not route is ErrNotFound. Otherwise as PractitionerByRPPS.
type PractitionerLookupIn interface {
	PractitionerLookup
	PractitionerByRPPSIn(ctx context.Context, est, rpps string) (Practitioner, error)
}
