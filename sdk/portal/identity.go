package portal

import (
	"context"
	"fmt"
	"strings"
)

// Accounts links the people an identity provider signs in to the backend's
// records. An establishment's identity providers (FranceConnect for
// patients, Pro Santé Connect for professionals, or the demo provider) each
// have a name in the host's configuration; a signed-in person is the pair
// (that name, the ID token's "sub"), which the establishment linked to a
// patient or a practitioner when it verified the person's identity (at the
// admissions desk, or from the INS teleservice). The host never links on
// names or e-mail addresses.
type Accounts interface {
	// Account returns the person linked to subject at provider: a Subject
	// with exactly one of Patient and Practitioner set. ErrNotFound when
	// no one is linked.
	Account(ctx context.Context, provider, subject string) (Subject, error)
}

// INSStatus is the identity status of an INS under the French national
// identity reference (RNIV): only a qualified identity may carry the INS
// in exchanges.
type INSStatus string

const (
	INSProvisional INSStatus = "provisoire"
	INSRetrieved   INSStatus = "recuperee"
	INSValidated   INSStatus = "validee"
	INSQualified   INSStatus = "qualifiee"
)

// Valid reports whether s is one of the four RNIV statuses.
func (s INSStatus) Valid() bool {
	switch s {
	case INSProvisional, INSRetrieved, INSValidated, INSQualified:
		return true
	}
	return false
}

// The OIDs of the INS's kinds of identifier.
const (
	INSSystemNIR = "urn:oid:1.2.250.1.213.1.4.8" // NIR, the social security number
	INSSystemNIA = "urn:oid:1.2.250.1.213.1.4.9" // NIA, a number awaiting a NIR
	// INSSystemNIRTest marks the test NIRs of fictional patients (demos,
	// tests), which must never be taken for real ones.
	INSSystemNIRTest = "urn:oid:1.2.250.1.213.1.4.10"
)

// INS is a patient's national health identifier (identifiant national de
// santé) with its qualification status. It is personal data of the
// highest sensitivity: its String, GoString, Format and LogValue all mask
// it, so that printing or logging one never shows it whole; code that must
// send it (to a backend) reads Value explicitly.
type INS struct {
	Value  string    // 15 digits (13 + key)
	System string    // INSSystemNIR, INSSystemNIA or INSSystemNIRTest
	Status INSStatus // the RNIV status
}

// Masked returns the INS with all but its first digit and its two-digit
// key hidden: "2 ** ** ** *** *** 42". It is what a screen may show.
func (i INS) Masked() string {
	v := strings.TrimSpace(i.Value)
	if len(v) != 15 {
		if v == "" {
			return ""
		}
		return "***"
	}
	return v[:1] + " ** ** ** *** *** " + v[13:]
}

// String returns Masked.
func (i INS) String() string { return i.Masked() }

// GoString masks too, so that %#v does not reveal the value.
func (i INS) GoString() string {
	return fmt.Sprintf("portal.INS{Value:%q, System:%q, Status:%q}", i.Masked(), i.System, i.Status)
}

// Format masks every verb.
func (i INS) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, i.GoString())
		return
	}
	fmt.Fprint(f, i.Masked())
}

// ValidINS reports whether v is a well-formed INS: 15 digits whose last two
// are the NIR key, 97 minus the first 13 digits modulo 97 (Corsica's 2A and
// 2B departments count as 19 and 18).
func ValidINS(v string) bool {
	if len(v) != 15 {
		return false
	}
	body := v[:13]
	switch body[5:7] {
	case "2A", "2a":
		body = body[:5] + "19" + body[7:]
	case "2B", "2b":
		body = body[:5] + "18" + body[7:]
	}
	var n, key uint64
	for i := 0; i < 13; i++ {
		c := body[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	for i := 13; i < 15; i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return false
		}
		key = key*10 + uint64(c-'0')
	}
	return key == 97-n%97
}
