package fhir

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// cancelAttempts bounds how often Cancel updates an appointment that
// another writer changes under it.
const cancelAttempts = 3

// Cancel cancels one of the context's patient's Appointments
// (https://hl7.org/fhir/R4/appointment.html): status cancelled, the
// cancellation reason "pat" (the patient,
// http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason) and
// ExtCancellationDate at Config.Now, updated with If-Match; then its slot,
// if this booking still holds it, is freed (If-Match too).
//
// An appointment of another patient is ErrNotFound, as an unknown one; one
// that starts at or before Config.Now is ErrAppointmentInPast. A cancelled
// appointment is returned unchanged, after freeing its slot if an earlier
// Cancel could not: cancelling again finishes a cancellation cut short.
func (b *Backend) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.Appointment{}, err
	}
	l := b.newLookup()
	for range cancelAttempts {
		a, err := b.ownAppointment(ctx, patient, id)
		if err != nil {
			return portal.Appointment{}, err
		}
		if a.Status == "cancelled" {
			if err := b.freeSlotOf(ctx, a); err != nil {
				return portal.Appointment{}, err
			}
			return b.toPortal(ctx, l, a)
		}
		svc, err := l.service(ctx, a.Service)
		if err != nil {
			return portal.Appointment{}, err
		}
		now := b.now()
		if !a.Start.After(now) {
			return portal.Appointment{}, portal.Errorf(portal.ErrAppointmentInPast, "appointment %s started at %s", a.ID, formatInstant(a.Start.UTC()))
		}
		body, err := edit(a.Raw, func(res map[string]any) {
			res["status"] = "cancelled"
			res["cancelationReason"] = map[string]any{
				"coding": []any{map[string]any{
					"system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
					"code":   "pat", "display": "Patient",
				}},
			}
			setExtension(res, ExtCancellationDate, "valueDateTime", formatInstant(now.In(svc.loc)))
		})
		if err != nil {
			return portal.Appointment{}, b.badData("Appointment", err)
		}
		res, _, _, err := b.write(ctx, request{
			method: http.MethodPut, path: ref("Appointment", a.ID), body: body, ifMatch: a.Version, op: opWrite,
		}, "Appointment")
		if st := statusOf(err); st == http.StatusPreconditionFailed || st == http.StatusConflict {
			continue // changed since read: read it again
		}
		if err != nil {
			return portal.Appointment{}, err
		}
		if a, err = appointmentFrom(res); err != nil {
			return portal.Appointment{}, b.badData("Appointment", err)
		}
		// The appointment is cancelled first and its slot freed
		// second: if the second step fails, the slot stays busy (a
		// loss a retry of Cancel repairs), never free under a booked
		// appointment.
		if err := b.freeSlotOf(ctx, a); err != nil {
			return portal.Appointment{}, err
		}
		return b.toPortal(ctx, l, a)
	}
	return portal.Appointment{}, portal.Errorf(portal.ErrBackendUnavailable, "appointment %s keeps changing", id)
}

// freeSlotOf frees the slot of a cancelled appointment if its booking
// still holds it. A slot booked outside Parcours (no hold) is left to the
// system that booked it.
func (b *Backend) freeSlotOf(ctx context.Context, a appointment) error {
	if a.Key == "" || a.Slot == "" {
		return nil
	}
	return b.release(ctx, a.Slot, a.Key)
}

// Appointments lists the context's patient's appointments, booked and
// cancelled, ordered by start (search Appointment?patient=). Appointments
// entered in error, and those without a slot or a HealthcareService
// participant (booked elsewhere, outside the portal's model), are left
// out.
func (b *Backend) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return nil, err
	}
	found, err := b.search(ctx, "Appointment", values("patient", ref("Patient", patient)))
	if err != nil {
		return nil, err
	}
	l := b.newLookup()
	out := []portal.Appointment{}
	for _, r := range found {
		if r.Get("resourceType").String() != "Appointment" {
			continue
		}
		a, err := appointmentFrom(r)
		if err != nil {
			b.skip("Appointment", err)
			continue
		}
		if !listed(a, patient) || slices.ContainsFunc(out, func(p portal.Appointment) bool { return p.ID == a.ID }) {
			continue
		}
		pa, err := b.toPortal(ctx, l, a)
		if portal.IsCode(err, portal.ErrNotFound) {
			b.skip("Appointment", err) // its service is gone
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, pa)
	}
	slices.SortFunc(out, func(x, y portal.Appointment) int {
		return cmp.Or(x.Start.Compare(y.Start), x.Created.Compare(y.Created), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// Appointment returns one of the context's patient's appointments; another
// patient's is ErrNotFound, as an unknown one.
func (b *Backend) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.Appointment{}, err
	}
	a, err := b.ownAppointment(ctx, patient, id)
	if err != nil {
		return portal.Appointment{}, err
	}
	return b.toPortal(ctx, b.newLookup(), a)
}

// listed reports whether a is an appointment of patient the portal shows.
func listed(a appointment, patient string) bool {
	return a.Patient == patient && a.Status != "entered-in-error" && a.Slot != "" && a.Service != ""
}

// ownAppointment reads appointment id of patient. Nothing tells another
// patient's appointment from an unknown one.
func (b *Backend) ownAppointment(ctx context.Context, patient, id string) (appointment, error) {
	notFound := portal.Errorf(portal.ErrNotFound, "appointment %q not found", id)
	res, v, err := b.read(ctx, "Appointment", id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return appointment{}, notFound
	}
	if err != nil {
		return appointment{}, err
	}
	a, err := appointmentFrom(res)
	if err != nil {
		return appointment{}, b.badData("Appointment", err)
	}
	if !listed(a, patient) {
		return appointment{}, notFound
	}
	a.Version = cmp.Or(v, a.Version)
	return a, nil
}

// toPortal returns a as the portal shows it: its service's name and
// establishment, its practitioner as the service lists them, its times in
// the establishment's zone. FHIR statuses other than cancelled (arrived,
// fulfilled, noshow …) show as booked.
func (b *Backend) toPortal(ctx context.Context, l *lookup, a appointment) (portal.Appointment, error) {
	svc, err := l.service(ctx, a.Service)
	if err != nil {
		return portal.Appointment{}, err
	}
	p := a.Practitioner
	if i := slices.IndexFunc(svc.practitioners, func(q portal.Practitioner) bool { return q.ID == p.ID }); i >= 0 {
		p = svc.practitioners[i]
	}
	out := portal.Appointment{
		ID:            a.ID,
		Establishment: svc.Organization,
		Service:       svc.ID,
		ServiceName:   svc.Name,
		Practitioner:  p,
		Slot:          a.Slot,
		Start:         a.Start.In(svc.loc),
		End:           a.End.In(svc.loc),
		Status:        portal.StatusBooked,
		Created:       a.Created.In(svc.loc),
	}
	if a.Status == "cancelled" {
		out.Status = portal.StatusCancelled
		if a.Cancelled != nil {
			c := a.Cancelled.In(svc.loc)
			out.Cancelled = &c
		}
	}
	return out, nil
}

// lookup caches, for one call, the services its appointments refer to.
type lookup struct {
	b        *Backend
	services map[string]serviceInfo
}

// serviceInfo is a service with its establishment's zone and its
// practitioners.
type serviceInfo struct {
	serviceRef
	practitioners []portal.Practitioner
}

func (b *Backend) newLookup() *lookup {
	return &lookup{b: b, services: map[string]serviceInfo{}}
}

// service returns the active service id with its practitioners.
func (l *lookup) service(ctx context.Context, id string) (serviceInfo, error) {
	if s, ok := l.services[id]; ok {
		return s, nil
	}
	ref, err := l.b.service(ctx, id)
	if err != nil {
		return serviceInfo{}, err
	}
	ps, err := l.b.practitioners(ctx, []string{id})
	if err != nil {
		return serviceInfo{}, err
	}
	s := serviceInfo{serviceRef: ref, practitioners: ps[id]}
	l.services[id] = s
	return s, nil
}
