package plugin_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/plugin"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

func TestBookingInput(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	clock := portaltest.NewClock(now)
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Seed(ctx, now); err != nil {
		t.Fatal(err)
	}
	b := portaltest.AsPatient(store, sqlite.DemoPatientCamilleDurand)
	slots, err := b.FreeSlots(ctx, portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, From: now, To: now.AddDate(0, 0, 14)})
	if err != nil || len(slots) < 2 {
		t.Fatalf("free slots: %d, %v", len(slots), err)
	}
	req := func(slot string) portal.BookRequest {
		return portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slot, IdempotencyKey: "key-" + slot}
	}
	first, err := b.Book(ctx, req(slots[0].ID))
	if err != nil {
		t.Fatal(err)
	}

	in, replay, err := plugin.BookingInput(ctx, b, req(slots[1].ID), now, true)
	if err != nil || replay {
		t.Fatalf("BookingInput = %v, replay %v", err, replay)
	}
	if in.Slot.ID != slots[1].ID || !in.Slot.Start.Equal(slots[1].Start) || in.Slot.Practitioner != slots[1].Practitioner {
		t.Errorf("slot = %+v, want %+v", in.Slot, slots[1])
	}
	if len(in.Booked) != 1 || in.Booked[0].Service != sqlite.ServiceMaternite || !in.Booked[0].Start.Equal(first.Start) {
		t.Errorf("booked = %+v", in.Booked)
	}

	if _, replay, err := plugin.BookingInput(ctx, b, req(slots[0].ID), now, true); err != nil || !replay {
		t.Errorf("a retry of the first booking: replay %v, %v", replay, err)
	}
	if _, _, err := plugin.BookingInput(ctx, b, req("no-such-slot"), now, true); !portal.IsCode(err, portal.ErrSlotUnavailable) {
		t.Errorf("unknown slot: %v, want slot_unavailable", err)
	}
	// Past appointments are not "booked future" ones.
	if in, _, err := plugin.BookingInput(ctx, b, req(slots[1].ID), first.Start.Add(time.Minute), false); err != nil || len(in.Booked) != 0 {
		t.Errorf("after the first appointment: booked %+v, %v", in.Booked, err)
	}
}
