package fhir

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/internal/deadline"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// claimAttempts bounds how often Book tries to take a slot that another
// writer changed under it (a 412 on a slot that is still free).
const claimAttempts = 3

// Book books r.Slot for the context's patient
// (https://hl7.org/fhir/R4/appointment.html, https://hl7.org/fhir/R4/slot.html).
//
// First idempotency: an Appointment already made with this patient's
// idempotency key (identifier SystemBookingKey|bookingKey) is returned in
// its current state if the request is the same, and refused with
// ErrIdempotencyKeyReused otherwise. Then, as in every backend, an unknown
// slot or one of another establishment is ErrNotFound, one of another
// service ErrSlotServiceMismatch, one that starts at or before Config.Now
// ErrSlotInPast, one that is not free ErrSlotUnavailable.
//
// The slot is taken by updating it from free to busy with If-Match on the
// version read, marked with the booking key (ExtBookingHold): of two
// patients, the second gets 412 and ErrSlotUnavailable. Then the
// Appointment is made by a conditional create on the booking key
// (If-None-Exist), which a concurrent or later retry of the same booking
// finds instead of making a second one. If that create fails, the slot is
// put back (see undoClaim).
func (b *Backend) Book(ctx context.Context, r portal.BookRequest) (portal.Appointment, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.Appointment{}, err
	}
	if err := r.Validate(); err != nil {
		return portal.Appointment{}, err
	}
	key := bookingKey(patient, r.IdempotencyKey)
	l := b.newLookup()

	// Idempotency first: a retry finds its appointment whatever became
	// of the slot since (taken by it, freed by a cancellation, past).
	if a, ok, err := b.findBooking(ctx, patient, key); err != nil {
		return portal.Appointment{}, err
	} else if ok {
		return b.replay(ctx, l, a, r)
	}

	s, sch, svc, err := b.bookable(ctx, l, r)
	if err != nil {
		return portal.Appointment{}, err
	}
	if !s.Start.After(b.now()) {
		return portal.Appointment{}, portal.Errorf(portal.ErrSlotInPast, "slot %q started at %s", s.ID, formatInstant(s.Start.UTC()))
	}
	took, err := b.claim(ctx, s, key)
	if err != nil {
		return portal.Appointment{}, err
	}
	a, created, err := b.createAppointment(ctx, s, sch, svc, patient, key)
	if err != nil {
		if !took {
			// An earlier attempt of this booking holds the slot
			// and may still be making the appointment: its hold
			// stays, for it or a later retry to finish.
			return portal.Appointment{}, err
		}
		return b.undoClaim(ctx, l, r, s.ID, key, err)
	}
	pa, err := b.toPortal(ctx, l, a)
	if err != nil {
		return portal.Appointment{}, err
	}
	if !created && !sameRequest(pa, r) {
		// A concurrent request with this key and another slot made
		// the appointment first.
		if took {
			b.releaseLogged(ctx, s.ID, key)
		}
		return portal.Appointment{}, portal.Errorf(portal.ErrIdempotencyKeyReused, "idempotency key already used by appointment %s for another request", pa.ID)
	}
	return pa, nil
}

// bookingKey is the SystemBookingKey value of the Appointment that a
// patient's request with idempotency key makes: a digest of both, each
// length-prefixed. It scopes the key to the patient, and keeps a key chosen
// by a browser out of search URLs (it may hold any printable character).
func bookingKey(patient, key string) string {
	h := sha256.New()
	fmt.Fprintf(h, "parcours/booking-key/v1\x00%d:%s%d:%s", len(patient), patient, len(key), key)
	return hex.EncodeToString(h.Sum(nil))
}

// sameRequest reports whether appointment a is what r asks for.
func sameRequest(a portal.Appointment, r portal.BookRequest) bool {
	return a.Establishment == r.Establishment && a.Service == r.Service && a.Slot == r.Slot
}

// replay answers a request whose key already made appointment a.
func (b *Backend) replay(ctx context.Context, l *lookup, a appointment, r portal.BookRequest) (portal.Appointment, error) {
	pa, err := b.toPortal(ctx, l, a)
	if err != nil {
		return portal.Appointment{}, err
	}
	if !sameRequest(pa, r) {
		return portal.Appointment{}, portal.Errorf(portal.ErrIdempotencyKeyReused, "idempotency key already used by appointment %s for another request", pa.ID)
	}
	return pa, nil
}

// findBooking returns the patient's appointment with booking key, if any
// (search Appointment?identifier=SystemBookingKey|key). Should a server
// without atomic conditional creates have made two, the first created wins,
// the same for every caller.
func (b *Backend) findBooking(ctx context.Context, patient, key string) (appointment, bool, error) {
	found, err := b.search(ctx, "Appointment", values("identifier", SystemBookingKey+"|"+key))
	if err != nil {
		return appointment{}, false, err
	}
	var matches []appointment
	for _, r := range found {
		a, err := appointmentFrom(r)
		if err != nil {
			b.skip("Appointment", err)
			continue
		}
		if a.Key == key && a.Patient == patient && a.Status != "entered-in-error" {
			matches = append(matches, a)
		}
	}
	if len(matches) == 0 {
		return appointment{}, false, nil
	}
	if len(matches) > 1 {
		b.log.Warn("fhir: several appointments for one booking key; the server's conditional create is not atomic", "appointments", len(matches))
	}
	return slices.MinFunc(matches, func(x, y appointment) int {
		return cmp.Or(x.Created.Compare(y.Created), strings.Compare(x.ID, y.ID))
	}), true, nil
}

// bookable reads the slot of r with its schedule and service, and checks
// they are r's: ErrNotFound for an unknown slot or one of another
// establishment, ErrSlotServiceMismatch for one of another service.
func (b *Backend) bookable(ctx context.Context, l *lookup, r portal.BookRequest) (slot, schedule, serviceInfo, error) {
	notFound := portal.Errorf(portal.ErrNotFound, "slot %q of establishment %q not found", r.Slot, r.Establishment)
	res, v, err := b.read(ctx, "Slot", r.Slot)
	if err != nil {
		return slot{}, schedule{}, serviceInfo{}, err
	}
	s, err := slotFrom(res)
	if err != nil {
		return slot{}, schedule{}, serviceInfo{}, b.badData("Slot", err)
	}
	s.Version = cmp.Or(v, s.Version)
	res, _, err = b.read(ctx, "Schedule", s.Schedule)
	if portal.IsCode(err, portal.ErrNotFound) {
		return slot{}, schedule{}, serviceInfo{}, notFound
	}
	if err != nil {
		return slot{}, schedule{}, serviceInfo{}, err
	}
	sch, err := scheduleFrom(res)
	if err != nil {
		return slot{}, schedule{}, serviceInfo{}, b.badData("Schedule", err)
	}
	if !sch.Active {
		return slot{}, schedule{}, serviceInfo{}, notFound
	}
	service := sch.Services[0]
	if slices.Contains(sch.Services, r.Service) {
		service = r.Service
	}
	svc, err := l.service(ctx, service)
	if portal.IsCode(err, portal.ErrNotFound) {
		return slot{}, schedule{}, serviceInfo{}, notFound
	}
	if err != nil {
		return slot{}, schedule{}, serviceInfo{}, err
	}
	if svc.Organization != r.Establishment {
		return slot{}, schedule{}, serviceInfo{}, notFound
	}
	if service != r.Service {
		return slot{}, schedule{}, serviceInfo{}, portal.Errorf(portal.ErrSlotServiceMismatch, "slot %q belongs to service %q, not %q", r.Slot, service, r.Service)
	}
	return s, sch, svc, nil
}

// claim takes slot s for the booking key: a versioned update from free to
// busy, marked with the key (https://hl7.org/fhir/R4/http.html#concurrency).
// took is false when an earlier attempt of the same booking already holds
// it. A slot taken by another booking is ErrSlotUnavailable.
func (b *Backend) claim(ctx context.Context, s slot, key string) (took bool, err error) {
	for range claimAttempts {
		switch {
		case s.Status == "busy" && s.Hold == key:
			return false, nil
		case s.Status != "free":
			return false, portal.Errorf(portal.ErrSlotUnavailable, "slot %q is %s", s.ID, s.Status)
		}
		_, err := b.setSlot(ctx, s, "busy", key, opClaim)
		if err == nil {
			return true, nil
		}
		if !portal.IsCode(err, portal.ErrSlotUnavailable) {
			return false, err
		}
		// Another writer changed the slot since it was read: most
		// likely another booking took it, or an earlier attempt of
		// this one. Look again.
		if s, err = b.slot(ctx, s.ID); err != nil {
			return false, err
		}
	}
	return false, portal.Errorf(portal.ErrSlotUnavailable, "slot %q keeps changing", s.ID)
}

// slot reads a slot with its version.
func (b *Backend) slot(ctx context.Context, id string) (slot, error) {
	res, v, err := b.read(ctx, "Slot", id)
	if err != nil {
		return slot{}, err
	}
	s, err := slotFrom(res)
	if err != nil {
		return slot{}, b.badData("Slot", err)
	}
	s.Version = cmp.Or(v, s.Version)
	return s, nil
}

// setSlot updates slot s, read at s.Version, to status with hold (none if
// empty), with If-Match: a 412 or 409 is ErrSlotUnavailable for opClaim.
func (b *Backend) setSlot(ctx context.Context, s slot, status, hold string, o op) (slot, error) {
	body, err := edit(s.Raw, func(res map[string]any) {
		res["status"] = status
		if hold == "" {
			removeExtension(res, ExtBookingHold)
		} else {
			setExtension(res, ExtBookingHold, "valueString", hold)
		}
	})
	if err != nil {
		return slot{}, b.badData("Slot", err)
	}
	res, v, _, err := b.write(ctx, request{
		method: http.MethodPut, path: ref("Slot", s.ID), body: body, ifMatch: s.Version, op: o,
	}, "Slot")
	if err != nil {
		return slot{}, err
	}
	out, err := slotFrom(res)
	if err != nil {
		return slot{}, b.badData("Slot", err)
	}
	out.Version = cmp.Or(v, out.Version)
	return out, nil
}

// createAppointment makes the Appointment of a booking with a conditional
// create (If-None-Exist: identifier=SystemBookingKey|key,
// https://hl7.org/fhir/R4/http.html#ccreate): when the booking's
// appointment exists (a concurrent retry made it), the server returns it
// (200) instead, and created is false.
func (b *Backend) createAppointment(ctx context.Context, s slot, sch schedule, svc serviceInfo, patient, key string) (appointment, bool, error) {
	now := b.now().In(svc.loc)
	practitioner := portal.Practitioner{ID: sch.Practitioner}
	if i := slices.IndexFunc(svc.practitioners, func(p portal.Practitioner) bool { return p.ID == sch.Practitioner }); i >= 0 {
		practitioner = svc.practitioners[i]
	}
	body, err := json.Marshal(appointmentJSON{
		ResourceType: "Appointment",
		Identifier:   []identifierJSON{{System: SystemBookingKey, Value: key}},
		Status:       "booked",
		Start:        s.Start.In(svc.loc).Format(time.RFC3339Nano),
		End:          s.End.In(svc.loc).Format(time.RFC3339Nano),
		Created:      formatInstant(now),
		Slot:         []referenceJSON{{Reference: ref("Slot", s.ID)}},
		Participant: []participantJSON{
			{Actor: referenceJSON{Reference: ref("Patient", patient)}, Status: "accepted"},
			{Actor: referenceJSON{Reference: ref("Practitioner", practitioner.ID), Display: practitioner.Name}, Status: "accepted"},
			{Actor: referenceJSON{Reference: ref("HealthcareService", svc.ID), Display: svc.Name.FR}, Status: "accepted"},
		},
	})
	if err != nil {
		return appointment{}, false, err
	}
	res, v, created, err := b.write(ctx, request{
		method: http.MethodPost, path: "Appointment", body: body,
		ifNoneExist: "identifier=" + SystemBookingKey + "|" + key, op: opBook,
	}, "Appointment")
	if err != nil {
		return appointment{}, false, err
	}
	a, err := appointmentFrom(res)
	if err != nil {
		return appointment{}, false, b.badData("Appointment", err)
	}
	a.Version = cmp.Or(v, a.Version)
	return a, created, nil
}

// undoClaim handles an Appointment create that failed after the booking
// took slot: it puts the slot back.
//
// This compensation is needed because the two writes are not one
// transaction: FHIR does not require transaction Bundles to be atomic in
// practice (Medplum's in-memory engine and others apply entries one by
// one), and a Bundle cannot make an update conditional on a version read
// earlier and a create conditional on an identifier together on every
// server. Without it a failed create would leave the slot busy with no
// appointment: lost to every patient.
//
// A create that failed without a clear refusal (a timeout, a 5xx) may have
// been applied all the same, so the appointment is looked for first: if it
// exists, the booking succeeded. If that cannot be known, the slot keeps its
// hold: a retry of this booking recognises it and finishes the booking.
// The compensation runs even if ctx has ended, within its own timeout.
func (b *Backend) undoClaim(ctx context.Context, l *lookup, r portal.BookRequest, slotID, key string, cause error) (portal.Appointment, error) {
	ctx, cancel := deadline.WithTimeout(context.WithoutCancel(ctx), b.cfg.AfterFunc, 2*b.cfg.CallTimeout)
	defer cancel()
	if mayHaveBeenApplied(cause) {
		patient, _ := requirePatient(ctx)
		a, ok, err := b.findBooking(ctx, patient, key)
		if err != nil {
			b.log.Error("fhir: a booking's appointment may or may not exist; its slot stays held for a retry", "slot", slotID, "error", err)
			return portal.Appointment{}, cause
		}
		if ok {
			return b.replay(ctx, l, a, r)
		}
	}
	b.releaseLogged(ctx, slotID, key)
	return portal.Appointment{}, cause
}

// mayHaveBeenApplied reports whether a failed create may have been stored
// all the same: unless the server clearly refused it (400, 401, 403, 404,
// 422), it may have, or (409, 412 on a conditional create) a matching
// appointment may exist.
func mayHaveBeenApplied(err error) bool {
	switch statusOf(err) {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		return false
	}
	return true
}

// release frees slot id if it is still held by booking key: a versioned
// update back to free without the hold, tried again if the slot changes
// meanwhile.
func (b *Backend) release(ctx context.Context, id, key string) error {
	for range claimAttempts {
		s, err := b.slot(ctx, id)
		if portal.IsCode(err, portal.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.Status != "busy" || s.Hold != key {
			return nil
		}
		_, err = b.setSlot(ctx, s, "free", "", opWrite)
		if st := statusOf(err); st != http.StatusPreconditionFailed && st != http.StatusConflict {
			return err
		}
	}
	return portal.Errorf(portal.ErrBackendUnavailable, "slot %q keeps changing", id)
}

// releaseLogged releases a slot after a failed booking; a failure is
// logged, the booking's own error being the one to report.
func (b *Backend) releaseLogged(ctx context.Context, id, key string) {
	if err := b.release(ctx, id, key); err != nil {
		b.log.Error("fhir: a slot taken by a failed booking could not be freed", "slot", id, "error", err)
	}
}
