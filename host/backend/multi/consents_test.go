package multi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// TestConsentsConformance: behind the routers, the SQLite grants pass the
// consents suite, grant and document ids prefixed by their establishment.
func TestConsentsConformance(t *testing.T) {
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	portaltest.RunConsentTests(t, func(t *testing.T) portaltest.ConsentFixture {
		s := seeded(t, portaltest.NewClock(start))
		c, d := consentRouters(t, s)
		list, err := portaltest.AsPatientDocuments(d, sqlite.DemoPatientLucasBernard).Documents(context.Background(), sqlite.DemoEstablishment, portal.DocumentFilter{})
		if err != nil || len(list) == 0 {
			t.Fatalf("Lucas Bernard's documents: %d, %v", len(list), err)
		}
		return portaltest.ConsentFixture{
			AsPatient:      func(t *testing.T, p string) portal.Consents { return portaltest.AsPatientConsents(c, p) },
			AsPractitioner: func(t *testing.T, p string) portal.Consents { return portaltest.AsPractitionerConsents(c, p) },
			Anonymous:      c,
			Documents: func(t *testing.T, p string) portal.Documents {
				return portaltest.AsPractitionerDocuments(d, p)
			},
			Establishment: sqlite.DemoEstablishment,
			Patient:       sqlite.DemoPatientLucasBernard,
			OtherPatient:  sqlite.DemoPatientCamilleDurand,
			Practitioner:  sqlite.DemoPractitionerClaireMartin,
			Released:      list[0].ID,
			Held:          sqlite.DemoEstablishment + multi.Separator + sqlite.DemoDocumentBiopsy,
		}
	})
}

func TestLookupConformance(t *testing.T) {
	s := seeded(t, portaltest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)))
	c, _ := consentRouters(t, s)
	doctor, err := s.Practitioner(context.Background(), sqlite.DemoPractitionerPaulMercier)
	if err != nil {
		t.Fatal(err)
	}
	portaltest.RunLookupTests(t, func(t *testing.T) portaltest.LookupFixture {
		return portaltest.LookupFixture{
			AsPatient:      func(t *testing.T, p string) portal.PractitionerLookup { return portaltest.AsPatientLookup(c, p) },
			AsPractitioner: func(t *testing.T, p string) portal.PractitionerLookup { return portaltest.AsPractitionerLookup(c, p) },
			Anonymous:      c,
			Patient:        sqlite.DemoPatientLucasBernard,
			Practitioner:   doctor,
		}
	})
}

// TestGrantIDsCarryTheirEstablishment: a grant's id names its
// establishment; an id without one, or of an establishment not routed, is
// unknown.
func TestGrantIDsCarryTheirEstablishment(t *testing.T) {
	s := seeded(t, portaltest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)))
	c, _ := consentRouters(t, s)
	lucas := portaltest.AsPatientConsents(c, sqlite.DemoPatientLucasBernard)
	ctx := context.Background()
	g, err := lucas.GrantAccess(ctx, sqlite.DemoEstablishment, sqlite.DemoPractitionerPaulMercier)
	if err != nil {
		t.Fatal(err)
	}
	inner, ok := strings.CutPrefix(g.ID, sqlite.DemoEstablishment+multi.Separator)
	if !ok || inner == "" {
		t.Fatalf("grant id %q does not carry its establishment", g.ID)
	}
	list, err := lucas.Grants(ctx)
	if err != nil || len(list) != 1 || list[0].ID != g.ID {
		t.Fatalf("Grants = %+v, %v; want the one grant %s", list, err, g.ID)
	}
	for _, id := range []string{inner, "ch-ailleurs" + multi.Separator + inner, sqlite.DemoEstablishment + multi.Separator} {
		if _, err := lucas.RevokeAccess(ctx, id); !portal.IsCode(err, portal.ErrNotFound) {
			t.Errorf("RevokeAccess(%q): %v, want not_found", id, err)
		}
	}
	if _, err := lucas.GrantAccess(ctx, "ch-ailleurs", sqlite.DemoPractitionerPaulMercier); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("GrantAccess through an establishment not routed: %v, want not_found", err)
	}
	r, err := lucas.RevokeAccess(ctx, g.ID)
	if err != nil || r.ID != g.ID || r.Active() {
		t.Errorf("RevokeAccess(%s) = %+v, %v", g.ID, r, err)
	}
}

func consentRouters(t *testing.T, s *sqlite.Store) (*multi.Consents, *multi.Documents) {
	t.Helper()
	c, err := multi.NewConsents([]multi.ConsentsEstablishment{{ID: sqlite.DemoEstablishment, Consents: s, Lookup: s}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := multi.NewDocuments([]multi.DocumentsEstablishment{{ID: sqlite.DemoEstablishment, Documents: s.Documents()}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c, d
}
