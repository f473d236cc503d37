package plugin

import (
	"context"
	"sort"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// SlotLookupHorizon bounds how far ahead BookingInput looks for the slot of
// a booking, in windows of portal.MaxSlotQueryDays.
const SlotLookupHorizon = 366 * 24 * time.Hour

// BookingInput gathers, from the backend and for the context's patient, what
// the booking hooks need to know about r before it is booked:
//
//   - replay is true when the patient already holds a booked appointment on
//     r.Slot: the request is a retry of a booking already made (the backend
//     answers it from its idempotency record), so neither before_booking nor
//     after_booking runs again;
//   - otherwise, when withSlot is set, in is the input of HookBeforeBooking:
//     the slot (looked up among the free slots of r.Service up to
//     SlotLookupHorizon ahead) and the patient's booked future appointments.
//
// A slot that is not free in that horizon is answered
// portal.ErrSlotUnavailable without asking the backend to book it.
func BookingInput(ctx context.Context, b portal.Booking, r portal.BookRequest, now time.Time, withSlot bool) (in BeforeBooking, replay bool, err error) {
	if err := r.Validate(); err != nil {
		return in, false, err
	}
	list, err := b.Appointments(ctx)
	if err != nil {
		return in, false, err
	}
	in = BeforeBooking{Establishment: r.Establishment, Service: r.Service, Booked: []BookedAppointment{}, Now: now}
	for _, a := range list {
		if a.Status != portal.StatusBooked {
			continue
		}
		if a.Slot == r.Slot && a.Establishment == r.Establishment {
			return in, true, nil
		}
		if a.Start.After(now) {
			in.Booked = append(in.Booked, BookedAppointment{Service: a.Service, Start: a.Start})
		}
	}
	sort.SliceStable(in.Booked, func(i, j int) bool { return in.Booked[i].Start.Before(in.Booked[j].Start) })
	if !withSlot {
		return in, false, nil
	}
	window := portal.MaxSlotQueryDays * 24 * time.Hour
	for from := now; from.Before(now.Add(SlotLookupHorizon)); from = from.Add(window) {
		slots, err := b.FreeSlots(ctx, portal.SlotQuery{Establishment: r.Establishment, Service: r.Service, From: from, To: from.Add(window)})
		if err != nil {
			return in, false, err
		}
		for _, s := range slots {
			if s.ID == r.Slot {
				in.Slot = Slot{ID: s.ID, Practitioner: s.Practitioner, Start: s.Start, End: s.End}
				return in, false, nil
			}
		}
	}
	return in, false, portal.Errorf(portal.ErrSlotUnavailable, "slot %q is not free in service %q within %v", r.Slot, r.Service, SlotLookupHorizon)
}
