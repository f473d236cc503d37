package sqlite_test

import (
	"context"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// TestLookupConformance finds the demo city doctor by his RPPS number.
func TestLookupConformance(t *testing.T) {
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	doctor, err := s.Practitioner(context.Background(), sqlite.DemoPractitionerPaulMercier)
	if err != nil {
		t.Fatal(err)
	}
	if doctor.RPPS != sqlite.DemoRPPSPaulMercier {
		t.Fatalf("Practitioner(%s).RPPS = %q, want %s", doctor.ID, doctor.RPPS, sqlite.DemoRPPSPaulMercier)
	}
	portaltest.RunLookupTests(t, func(t *testing.T) portaltest.LookupFixture {
		return portaltest.LookupFixture{
			AsPatient:      func(t *testing.T, p string) portal.PractitionerLookup { return portaltest.AsPatientLookup(s, p) },
			AsPractitioner: func(t *testing.T, p string) portal.PractitionerLookup { return portaltest.AsPractitionerLookup(s, p) },
			Anonymous:      s,
			Patient:        sqlite.DemoPatientLucasBernard,
			Practitioner:   doctor,
		}
	})
}

// TestDemoRPPSWellFormed: every seeded practitioner has a distinct, valid
// RPPS number.
func TestDemoRPPSWellFormed(t *testing.T) {
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	ps, err := s.DemoPractitioners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, p := range ps {
		if !portal.ValidRPPS(p.RPPS) {
			t.Errorf("%s: RPPS %q is not valid", p.ID, p.RPPS)
		}
		if other, dup := seen[p.RPPS]; dup {
			t.Errorf("%s and %s share RPPS %s", p.ID, other, p.RPPS)
		}
		seen[p.RPPS] = p.ID
	}
}
