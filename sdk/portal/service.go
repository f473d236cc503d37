package portal

import "context"

// Subject is the authenticated person a call acts for. The edge host puts it
// in the request context from the server-side session and never from a
// request body; backends read it with SubjectFrom (a patient) or
// PractitionerFrom (a member of a care team).
//
// A subject is a patient or a practitioner, never both: RequirePractitioner
// and RequireAuthor refuse a subject that carries both ids.
type Subject struct {
	// Patient is the patient's id in the backend.
	Patient string
	// Practitioner is the id of a practitioner of the backend (FHIR
	// Practitioner) signed in to a care-team view, such as the messaging
	// inbox. What they may see follows from the services they belong to.
	Practitioner string
}

type subjectKey struct{}

// WithSubject returns a copy of ctx carrying s.
func WithSubject(ctx context.Context, s Subject) context.Context {
	return context.WithValue(ctx, subjectKey{}, s)
}

// SubjectFrom returns the subject carried by ctx, if any. ok reports a
// patient subject (Patient set); a practitioner's is read with
// PractitionerFrom.
func SubjectFrom(ctx context.Context) (Subject, bool) {
	s, ok := ctx.Value(subjectKey{}).(Subject)
	return s, ok && s.Patient != ""
}

// PractitionerFrom returns the practitioner id of the subject carried by
// ctx, if the subject is a practitioner (and not also a patient).
func PractitionerFrom(ctx context.Context) (string, bool) {
	s, _ := ctx.Value(subjectKey{}).(Subject)
	if s.Practitioner == "" || s.Patient != "" {
		return "", false
	}
	return s.Practitioner, true
}

// RequirePatient returns the patient id of the context's subject: an
// ErrUnauthenticated error without a subject, an ErrForbidden error for a
// practitioner (a patient's own view is not theirs).
func RequirePatient(ctx context.Context) (string, error) {
	s, ok := SubjectFrom(ctx)
	if !ok {
		if _, pract := PractitionerFrom(ctx); pract {
			return "", Errorf(ErrForbidden, "a practitioner on a patient-only route")
		}
		return "", Errorf(ErrUnauthenticated, "no patient in context")
	}
	return s.Patient, nil
}

// RequirePractitioner returns the practitioner id of the context's subject:
// an ErrUnauthenticated error without a subject, an ErrForbidden error for a
// patient (a care-team view is not theirs).
func RequirePractitioner(ctx context.Context) (string, error) {
	if id, ok := PractitionerFrom(ctx); ok {
		return id, nil
	}
	s, _ := ctx.Value(subjectKey{}).(Subject)
	if s.Patient != "" {
		return "", Errorf(ErrForbidden, "a patient may not act as a practitioner")
	}
	return "", Errorf(ErrUnauthenticated, "no practitioner in context")
}

// Booking is appointment scheduling for patients
// (FHIR R4 Schedule/Slot/Appointment, IHE ITI scheduling).
//
// Implementations must guarantee that one slot is booked by at most one
// appointment whatever the concurrency, that Book is idempotent on
// BookRequest.IdempotencyKey per patient, and that an appointment of another
// patient is reported exactly as an unknown one (ErrNotFound).
type Booking interface {
	// Establishment returns an establishment by id.
	Establishment(ctx context.Context, id string) (Establishment, error)
	// Services lists the bookable services of an establishment with their
	// practitioners, in display order.
	Services(ctx context.Context, establishment string) ([]Service, error)
	// FreeSlots returns the free, future slots matching q, ordered by start.
	FreeSlots(ctx context.Context, q SlotQuery) ([]Slot, error)
	// Book books a slot for the context's patient.
	Book(ctx context.Context, r BookRequest) (Appointment, error)
	// Cancel cancels one of the context's patient's appointments and frees
	// its slot. Cancelling a cancelled appointment returns it unchanged.
	Cancel(ctx context.Context, appointmentID string) (Appointment, error)
	// Appointments lists the context's patient's appointments, booked and
	// cancelled, ordered by start.
	Appointments(ctx context.Context) ([]Appointment, error)
	// Appointment returns one of the context's patient's appointments.
	Appointment(ctx context.Context, id string) (Appointment, error)
}

// Directory finds patients known to a backend. The host uses it for the demo
// sign-in; the identity work replaces that with OpenID Connect.
type Directory interface {
	// Patient returns a patient by id.
	Patient(ctx context.Context, id string) (Patient, error)
	// DemoPatients lists fictional patients one may sign in as in a demo.
	// Backends without demo data return an empty list.
	DemoPatients(ctx context.Context) ([]Patient, error)
}
