package sqlite_test

import (
	"context"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// TestConsentConformance runs the suite on copies of the demo database:
// Lucas Bernard (diabetology, with the held biopsy report) grants Claire
// Martin, a midwife of maternity, access.
func TestConsentConformance(t *testing.T) {
	portaltest.RunConsentTests(t, func(t *testing.T) portaltest.ConsentFixture {
		s, _ := seededCopy(t, portaltest.NewClock(seedTime))
		return consentFixture(t, s)
	})
}

func consentFixture(t *testing.T, s *sqlite.Store) portaltest.ConsentFixture {
	lucas := portal.WithSubject(context.Background(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
	list, err := s.Documents().Documents(lucas, sqlite.DemoEstablishment, portal.DocumentFilter{})
	if err != nil || len(list) == 0 {
		t.Fatalf("Lucas Bernard's documents: %d, %v", len(list), err)
	}
	return portaltest.ConsentFixture{
		AsPatient:      func(t *testing.T, p string) portal.Consents { return portaltest.AsPatientConsents(s, p) },
		AsPractitioner: func(t *testing.T, p string) portal.Consents { return portaltest.AsPractitionerConsents(s, p) },
		Anonymous:      s,
		Documents: func(t *testing.T, p string) portal.Documents {
			return portaltest.AsPractitionerDocuments(s.Documents(), p)
		},
		Establishment: sqlite.DemoEstablishment,
		Patient:       sqlite.DemoPatientLucasBernard,
		OtherPatient:  sqlite.DemoPatientCamilleDurand,
		Practitioner:  sqlite.DemoPractitionerClaireMartin,
		Released:      list[0].ID,
		Held:          sqlite.DemoDocumentBiopsy,
	}
}
