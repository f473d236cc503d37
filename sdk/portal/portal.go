// Package portal holds the domain of Parcours: the types a patient portal
// speaks of (establishments, services, practitioners, slots, appointments)
// and the service interfaces every backend, the edge host and the API client
// implement.
//
// It imports only the standard library. Implementations live in packages named
// after their technology: host/backend/sqlite, sdk/client (HTTP), and later
// host/backend/fhir. The scheduling vocabulary follows HL7 FHIR R4
// (https://hl7.org/fhir/R4/schedule.html, slot.html, appointment.html).
package portal

import (
	"strings"
	"time"
)

// Establishment is a hospital, clinic or any care site that patients book with.
type Establishment struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// TimeZone is the IANA zone slots are shown in, for example "Europe/Paris".
	TimeZone string `json:"time_zone"`
	// UrgentHelp is what to do in an emergency, with the numbers to call,
	// shown at once when an answer calls for it (a questionnaire's urgent
	// alert) and before writing to a care team. Empty: the widgets show the
	// national numbers (15, 112, 3114).
	UrgentHelp Text `json:"urgent_help"`
}

// Service is a care service of an establishment (maternité, diabétologie …)
// that patients can book. It maps to a FHIR HealthcareService.
type Service struct {
	ID            string         `json:"id"`
	Establishment string         `json:"establishment"`
	Name          Text           `json:"name"`
	Practitioners []Practitioner `json:"practitioners"`
	// ResponseTime is what the care team promises about answering
	// messages, shown before a patient writes ("Réponse sous 2 jours
	// ouvrés"). Empty: nothing is promised.
	ResponseTime Text `json:"response_time,omitzero"`
}

// Practitioner is a professional who holds slots in a service (FHIR Practitioner).
type Practitioner struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is a short description such as "Sage-femme"; it may be empty.
	Role Text `json:"role"`
	// RPPS is the practitioner's national number in the Répertoire partagé
	// des professionnels de santé (ValidRPPS), when the backend knows it.
	RPPS string `json:"rpps,omitempty"`
}

// Text is a short user-facing text in French and English. French is the
// reference language; English falls back to French when it is missing.
type Text struct {
	FR string `json:"fr"`
	EN string `json:"en,omitempty"`
}

// In returns the text in lang ("fr" or "en"), falling back to French.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.FR
}

// Slot is a bookable period of a practitioner in a service (FHIR Slot).
// Start and End carry the establishment's UTC offset so that a browser shows
// local times without a time-zone database.
type Slot struct {
	ID            string    `json:"id"`
	Establishment string    `json:"establishment"`
	Service       string    `json:"service"`
	Practitioner  string    `json:"practitioner"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
}

// SlotQuery selects free slots. Establishment and Service are required; the
// period is half-open [From, To) and may span at most MaxSlotQueryDays days.
type SlotQuery struct {
	Establishment string
	Service       string
	// Practitioner, when set, keeps only that practitioner's slots.
	Practitioner string
	From, To     time.Time
}

// MaxSlotQueryDays bounds the period of one free-slot search.
const MaxSlotQueryDays = 62

// Validate reports an ErrInvalid error naming the first missing or
// inconsistent field of q.
func (q SlotQuery) Validate() error {
	switch {
	case q.Establishment == "":
		return Errorf(ErrInvalid, "establishment is required")
	case q.Service == "":
		return Errorf(ErrInvalid, "service is required")
	case q.From.IsZero() || q.To.IsZero():
		return Errorf(ErrInvalid, "from and to are required")
	case !q.To.After(q.From):
		return Errorf(ErrInvalid, "to must be after from")
	case q.To.Sub(q.From) > MaxSlotQueryDays*24*time.Hour:
		return Errorf(ErrInvalid, "the period may not exceed %d days", MaxSlotQueryDays)
	}
	return nil
}

// AppointmentStatus is the FHIR R4 Appointment.status subset Parcours uses.
type AppointmentStatus string

// Appointment statuses (https://hl7.org/fhir/R4/valueset-appointmentstatus.html).
const (
	StatusBooked    AppointmentStatus = "booked"
	StatusCancelled AppointmentStatus = "cancelled"
)

// Appointment is a patient's booking of one slot (FHIR Appointment).
type Appointment struct {
	ID            string            `json:"id"`
	Establishment string            `json:"establishment"`
	Service       string            `json:"service"`
	Practitioner  Practitioner      `json:"practitioner"`
	ServiceName   Text              `json:"service_name"`
	Slot          string            `json:"slot"`
	Start         time.Time         `json:"start"`
	End           time.Time         `json:"end"`
	Status        AppointmentStatus `json:"status"`
	Created       time.Time         `json:"created"`
	Cancelled     *time.Time        `json:"cancelled,omitempty"`
}

// BookRequest asks for one slot. The patient is never part of the request: it
// is the Subject carried by the context.
type BookRequest struct {
	Establishment string `json:"establishment"`
	// Service is the service the patient chose; the slot must belong to it.
	Service string `json:"service"`
	Slot    string `json:"slot"`
	// IdempotencyKey is generated by the client once per booking intent and
	// sent again on every retry. The same key with the same request returns
	// the appointment already made; with another request it is refused with
	// ErrIdempotencyKeyReused. It is 8 to 128 printable ASCII characters.
	IdempotencyKey string `json:"-"`
}

// Validate reports an error for a request no backend should try.
func (r BookRequest) Validate() error {
	switch {
	case r.Establishment == "":
		return Errorf(ErrInvalid, "establishment is required")
	case r.Service == "":
		return Errorf(ErrInvalid, "service is required")
	case r.Slot == "":
		return Errorf(ErrInvalid, "slot is required")
	}
	return ValidateIdempotencyKey(r.IdempotencyKey)
}

// ValidateIdempotencyKey checks the shape of an Idempotency-Key
// (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/).
func ValidateIdempotencyKey(key string) error {
	if key == "" {
		return Errorf(ErrIdempotencyKeyMissing, "an Idempotency-Key is required")
	}
	if len(key) < 8 || len(key) > 128 {
		return Errorf(ErrInvalid, "the Idempotency-Key must be 8 to 128 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return Errorf(ErrInvalid, "the Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

// Patient is a person who books care. Demo and test patients are fictional.
type Patient struct {
	ID         string `json:"id"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
}

// DisplayName returns "Given FAMILY", as French health documents write names.
func (p Patient) DisplayName() string {
	return p.GivenName + " " + strings.ToUpper(p.FamilyName)
}
