package multi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// documentsPatients are fictional patients the fixture links with the
// maternity by an appointment each.
var documentsPatients = []string{"pat-multi-a", "pat-multi-b"}

// TestDocumentsConformance: behind the router, the SQLite documents pass
// the documents suite, ids prefixed by their establishment.
func TestDocumentsConformance(t *testing.T) {
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture {
		clock := portaltest.NewClock(start)
		s := seeded(t, clock)
		link(t, s, clock, documentsPatients...)
		d, err := multi.NewDocuments([]multi.DocumentsEstablishment{
			{ID: sqlite.DemoEstablishment, Documents: s.Documents(sqlite.WithMaxDocumentSize(64 << 10))},
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return portaltest.DocumentsFixture{
			AsPatient:       func(t *testing.T, p string) portal.Documents { return portaltest.AsPatientDocuments(d, p) },
			AsPractitioner:  func(t *testing.T, p string) portal.Documents { return portaltest.AsPractitionerDocuments(d, p) },
			Anonymous:       d,
			Filing:          d,
			Establishment:   sqlite.DemoEstablishment,
			Service:         sqlite.ServiceMaternite,
			OtherService:    sqlite.ServiceDiabetologie,
			Patients:        documentsPatients,
			Practitioners:   []string{sqlite.DemoPractitionerClaireMartin, "pr-sophie-lefebvre"},
			Outsider:        "pr-julien-roux",
			MaxDocumentSize: 64 << 10,
			SetNow:          clock.Set,
			Now:             clock.Now,
		}
	})
}

// link books a maternity appointment for each patient: their link with
// the service.
func link(t *testing.T, s *sqlite.Store, clock *portaltest.Clock, patients ...string) {
	t.Helper()
	ctx := context.Background()
	slots, err := s.FreeSlots(ctx, portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, From: clock.Now(), To: clock.Now().AddDate(0, 0, 7)})
	if err != nil || len(slots) < len(patients) {
		t.Fatalf("free slots: %d, %v", len(slots), err)
	}
	for i, p := range patients {
		_, err := portaltest.AsPatient(s, p).Book(ctx, portal.BookRequest{Establishment: sqlite.DemoEstablishment,
			Service: sqlite.ServiceMaternite, Slot: slots[i].ID, IdempotencyKey: fmt.Sprintf("link-%s", p)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDocumentIDsCarryTheirEstablishment(t *testing.T) {
	clock := portaltest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	s := seeded(t, clock)
	d, err := multi.NewDocuments([]multi.DocumentsEstablishment{{ID: sqlite.DemoEstablishment, Documents: s.Documents()}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pat := portaltest.AsPatientDocuments(d, sqlite.DemoPatientLucasBernard)
	ctx := context.Background()
	docs, err := pat.Documents(ctx, sqlite.DemoEstablishment, portal.DocumentFilter{})
	if err != nil || len(docs) == 0 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	for _, doc := range docs {
		if !strings.HasPrefix(doc.ID, sqlite.DemoEstablishment+multi.Separator) {
			t.Fatalf("id %q", doc.ID)
		}
		for _, o := range doc.Observations {
			if o.Document != doc.ID {
				t.Fatalf("observation of %q names %q", doc.ID, o.Document)
			}
		}
	}
	// The backend's own id, or another establishment's, is unknown.
	inner := strings.TrimPrefix(docs[0].ID, sqlite.DemoEstablishment+multi.Separator)
	for _, id := range []string{inner, "ch-nord~" + inner, "~" + inner} {
		if _, err := pat.Document(ctx, id); !portal.IsCode(err, portal.ErrNotFound) {
			t.Errorf("Document(%q): %v", id, err)
		}
	}
	tr, err := pat.Trend(ctx, sqlite.DemoEstablishment, sqlite.LOINCHbA1c)
	if err != nil || len(tr.Points) == 0 || !strings.HasPrefix(tr.Points[0].Document, sqlite.DemoEstablishment+multi.Separator) {
		t.Errorf("trend %+v %v", tr.Points, err)
	}
}
