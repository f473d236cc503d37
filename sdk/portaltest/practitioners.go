package portaltest

import (
	"context"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// LookupFixture is an implementation of portal.PractitionerLookup under
// test. RunLookupTests makes one per test.
type LookupFixture struct {
	// AsPatient returns the service acting as the given patient (a backend:
	// a context with the patient's subject; the HTTP client: a client signed
	// in as them).
	AsPatient func(t *testing.T, patient string) portal.PractitionerLookup
	// AsPractitioner returns the service acting as the given practitioner.
	AsPractitioner func(t *testing.T, practitioner string) portal.PractitionerLookup
	// Anonymous is the service with no signed-in subject.
	Anonymous portal.PractitionerLookup
	// Patient is a patient; Practitioner, a practitioner whose RPPS number
	// the backend knows (Practitioner.RPPS set).
	Patient      string
	Practitioner portal.Practitioner
}

// RunLookupTests runs the conformance suite of portal.PractitionerLookup.
// Errors are compared by code (portal.Code).
func RunLookupTests(t *testing.T, newFixture func(t *testing.T) LookupFixture) {
	t.Run("Found", func(t *testing.T) {
		fx := newFixture(t)
		if !portal.ValidRPPS(fx.Practitioner.RPPS) {
			t.Fatalf("fixture: practitioner %s has no valid RPPS number (%q)", fx.Practitioner.ID, fx.Practitioner.RPPS)
		}
		got, err := fx.AsPatient(t, fx.Patient).PractitionerByRPPS(context.Background(), fx.Practitioner.RPPS)
		if err != nil {
			t.Fatalf("PractitionerByRPPS(%s): %v", fx.Practitioner.RPPS, err)
		}
		if got.ID != fx.Practitioner.ID || got.Name != fx.Practitioner.Name || got.RPPS != fx.Practitioner.RPPS {
			t.Errorf("PractitionerByRPPS(%s) = %+v, want %+v", fx.Practitioner.RPPS, got, fx.Practitioner)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		fx := newFixture(t)
		unknown := "10000000009" // well formed
		if unknown == fx.Practitioner.RPPS {
			unknown = "12345678903"
		}
		_, err := fx.AsPatient(t, fx.Patient).PractitionerByRPPS(context.Background(), unknown)
		wantGrantCode(t, "unknown RPPS", err, portal.ErrNotFound)
	})
	t.Run("Malformed", func(t *testing.T) {
		fx := newFixture(t)
		for _, v := range []string{"", "1000000000", "10000000008", "1000000000A", "10000000009 ", "10000000009|x"} {
			_, err := fx.AsPatient(t, fx.Patient).PractitionerByRPPS(context.Background(), v)
			wantGrantCode(t, "RPPS "+v, err, portal.ErrInvalid)
		}
	})
	t.Run("OnlyPatients", func(t *testing.T) {
		fx := newFixture(t)
		_, err := fx.Anonymous.PractitionerByRPPS(context.Background(), fx.Practitioner.RPPS)
		wantGrantCode(t, "anonymous", err, portal.ErrUnauthenticated)
		_, err = fx.AsPractitioner(t, fx.Practitioner.ID).PractitionerByRPPS(context.Background(), fx.Practitioner.RPPS)
		wantGrantCode(t, "practitioner", err, portal.ErrForbidden)
	})
}

// AsPatientLookup returns l acting as patient: every call carries
// portal.Subject{Patient: patient} in its context. Backends use it for
// LookupFixture.AsPatient.
func AsPatientLookup(l portal.PractitionerLookup, patient string) portal.PractitionerLookup {
	return asSubjectLookup{l: l, subject: portal.Subject{Patient: patient}}
}

// AsPractitionerLookup returns l acting as practitioner.
func AsPractitionerLookup(l portal.PractitionerLookup, practitioner string) portal.PractitionerLookup {
	return asSubjectLookup{l: l, subject: portal.Subject{Practitioner: practitioner}}
}

type asSubjectLookup struct {
	l       portal.PractitionerLookup
	subject portal.Subject
}

func (a asSubjectLookup) PractitionerByRPPS(ctx context.Context, rpps string) (portal.Practitioner, error) {
	return a.l.PractitionerByRPPS(portal.WithSubject(ctx, a.subject), rpps)
}
