package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// Example opens an in-memory Store, loads the demo data and books the first
// free slot of the maternity service for a demo patient.
func Example() {
	ctx := context.Background()
	paris, err := time.LoadLocation(sqlite.DemoTimeZone)
	if err != nil {
		log.Fatal(err)
	}
	// A fixed clock: Monday 23 November 2026, 08:00 in Paris.
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, paris)

	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Seed(ctx, now); err != nil {
		log.Fatal(err)
	}

	services, err := store.Services(ctx, sqlite.DemoEstablishment)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range services {
		fmt.Printf("%s: %s, %d practitioners\n", s.ID, s.Name.FR, len(s.Practitioners))
	}

	slots, err := store.FreeSlots(ctx, portal.SlotQuery{
		Establishment: sqlite.DemoEstablishment,
		Service:       sqlite.ServiceMaternite,
		From:          now,
		To:            now.Add(24 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d free slots today, the first at %s\n", len(slots), slots[0].Start.Format(time.RFC3339))

	// The patient comes from the context, as the host puts it there from the
	// session; the request never names the patient.
	asCamille := portal.WithSubject(ctx, portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	a, err := store.Book(asCamille, portal.BookRequest{
		Establishment:  sqlite.DemoEstablishment,
		Service:        sqlite.ServiceMaternite,
		Slot:           slots[0].ID,
		IdempotencyKey: "exemple-reservation-1",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s with %s (%s), %s\n", a.Status, a.ServiceName.FR, a.Practitioner.Name,
		a.Practitioner.Role.FR, a.Start.Format("Mon 2 Jan 2006 15:04 -07:00"))

	// Output:
	// maternite: Maternité, 3 practitioners
	// diabetologie: Diabétologie, 2 practitioners
	// consultations: Consultations externes, 2 practitioners
	// 36 free slots today, the first at 2026-11-23T09:00:00+01:00
	// booked: Maternité with Antoine Girard (Gynécologue-obstétricien), Mon 23 Nov 2026 09:00 +01:00
}
