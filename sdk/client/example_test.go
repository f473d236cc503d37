//go:build !(js && wasm)

package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// An integrator books through the host's API as a widget does. Here the host
// runs in-process on the demo SQLite database; in production the base URL is
// the establishment's Parcours host.
func ExampleClient_Book() {
	ctx := context.Background()
	paris, _ := time.LoadLocation("Europe/Paris")
	now := func() time.Time { return time.Date(2026, 11, 23, 8, 0, 0, 0, paris) } // a Monday morning
	store, _ := sqlite.Open(ctx, ":memory:", sqlite.WithClock(now))
	defer store.Close()
	store.Seed(ctx, now())
	h, _ := host.New(host.Config{
		Booking: store, Directory: store, DemoSignIn: true, Now: now,
		Establishments: []host.Establishment{{ID: "chu-exemple"}},
		Logger:         slog.New(slog.DiscardHandler),
	})
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()

	c := client.New(srv.URL)
	services, _ := c.Services(ctx, "chu-exemple")
	for _, s := range services {
		fmt.Println("service:", s.Name.In("fr"))
	}
	slots, _ := c.FreeSlots(ctx, portal.SlotQuery{
		Establishment: "chu-exemple", Service: "maternite", Practitioner: "pr-claire-martin",
		From: now(), To: now().AddDate(0, 0, 7),
	})
	fmt.Println("first free slot:", slots[0].Start.Format("Mon 2 Jan 15:04 -07:00"))

	// Booking needs a session: here the demo sign-in.
	if _, err := c.DemoSignIn(ctx, "pat-camille-durand"); err != nil {
		fmt.Println(err)
		return
	}
	req := portal.BookRequest{Establishment: "chu-exemple", Service: "maternite", Slot: slots[0].ID, IdempotencyKey: "example-booking-1"}
	apt, _ := c.Book(ctx, req)
	again, _ := c.Book(ctx, req) // a retry: the same appointment, not a second one
	fmt.Println(apt.Status, apt.Practitioner.Name, apt.ID == again.ID)

	_, err := c.Book(ctx, portal.BookRequest{Establishment: "chu-exemple", Service: "maternite", Slot: slots[0].ID, IdempotencyKey: "example-booking-2"})
	fmt.Println(portal.Code(err))
	// Output:
	// service: Maternité
	// service: Diabétologie
	// service: Consultations externes
	// first free slot: Mon 23 Nov 09:00 +01:00
	// booked Claire Martin true
	// slot_unavailable
}
