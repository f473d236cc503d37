package portal

import (
	"errors"
	"fmt"
)

// ErrorCode is a stable, machine-readable error code. The host sends it to
// widgets and integrators in every error response; the HTTP status and the
// patient-facing messages for each code come from one table (see Status and
// Message) that the host and the client share.
type ErrorCode string

// Error codes. Their HTTP status and messages are listed in docs/api.md.
const (
	ErrInvalid               ErrorCode = "invalid_request"
	ErrUnauthenticated       ErrorCode = "unauthenticated"
	ErrForbidden             ErrorCode = "forbidden"
	ErrNotFound              ErrorCode = "not_found"
	ErrMethodNotAllowed      ErrorCode = "method_not_allowed"
	ErrSlotUnavailable       ErrorCode = "slot_unavailable"
	ErrSlotInPast            ErrorCode = "slot_in_past"
	ErrSlotServiceMismatch   ErrorCode = "slot_service_mismatch"
	ErrAppointmentInPast     ErrorCode = "appointment_in_past"
	ErrIdempotencyKeyMissing ErrorCode = "idempotency_key_missing"
	ErrIdempotencyKeyReused  ErrorCode = "idempotency_key_reused"
	ErrBookingRefused        ErrorCode = "booking_refused"
	ErrResponseIncomplete    ErrorCode = "response_incomplete"
	ErrServiceNotLinked      ErrorCode = "service_not_linked"
	ErrAttachmentTooLarge    ErrorCode = "attachment_too_large"
	ErrAttachmentRejected    ErrorCode = "attachment_rejected"
	ErrTooLarge              ErrorCode = "payload_too_large"
	ErrUnsupportedMediaType  ErrorCode = "unsupported_media_type"
	ErrRateLimited           ErrorCode = "rate_limited"
	// ErrSessionChanged: a write made for one person while the session is
	// now another's (signed in from another tab): nothing was done.
	ErrSessionChanged     ErrorCode = "session_changed"
	ErrBackendUnavailable ErrorCode = "backend_unavailable"
	ErrInternal           ErrorCode = "internal"
)

type codeInfo struct {
	status int
	fr, en string
}

// codes is the single table from code to HTTP status and user-facing text.
var codes = map[ErrorCode]codeInfo{
	ErrInvalid:               {400, "La demande est invalide.", "The request is invalid."},
	ErrUnauthenticated:       {401, "Veuillez vous connecter pour continuer.", "Please sign in to continue."},
	ErrForbidden:             {403, "Vous n'avez pas accès à cette ressource.", "You do not have access to this resource."},
	ErrNotFound:              {404, "Élément introuvable.", "Not found."},
	ErrMethodNotAllowed:      {405, "Opération non permise.", "Operation not allowed."},
	ErrSlotUnavailable:       {409, "Ce créneau vient d'être réservé. Veuillez en choisir un autre.", "This slot has just been taken. Please choose another one."},
	ErrSlotInPast:            {409, "Ce créneau est déjà passé. Veuillez en choisir un autre.", "This slot is in the past. Please choose another one."},
	ErrSlotServiceMismatch:   {422, "Ce créneau n'appartient pas au service choisi.", "This slot does not belong to the chosen service."},
	ErrAppointmentInPast:     {409, "Ce rendez-vous est passé et ne peut plus être annulé.", "This appointment is in the past and can no longer be cancelled."},
	ErrIdempotencyKeyMissing: {400, "La demande doit porter une clé d'idempotence.", "The request must carry an idempotency key."},
	ErrIdempotencyKeyReused:  {422, "Cette demande a déjà servi pour une autre opération. Veuillez recommencer.", "This request was already used for another operation. Please start again."},
	ErrBookingRefused:        {422, "Ce rendez-vous ne peut pas être pris en ligne. Veuillez contacter le service.", "This appointment cannot be booked online. Please contact the service."},
	ErrResponseIncomplete:    {422, "Certaines réponses manquent ou ne sont pas valides. Veuillez les vérifier.", "Some answers are missing or invalid. Please check them."},
	ErrServiceNotLinked:      {403, "Vous ne pouvez écrire qu'à un service qui vous suit déjà (rendez-vous, questionnaire ou échange en cours). Veuillez contacter le service par téléphone.", "You can only write to a service that already follows you (an appointment, a questionnaire or a conversation). Please contact the service by phone."},
	ErrAttachmentTooLarge:    {413, "Ce fichier est trop volumineux pour être joint.", "This file is too large to attach."},
	ErrAttachmentRejected:    {415, "Ce fichier ne peut pas être joint : seuls les documents PDF et les images JPEG ou PNG sont acceptés.", "This file cannot be attached: only PDF documents and JPEG or PNG images are accepted."},
	ErrTooLarge:              {413, "La demande est trop volumineuse.", "The request is too large."},
	ErrUnsupportedMediaType:  {415, "Format de demande non pris en charge.", "Unsupported request format."},
	ErrRateLimited:           {429, "Trop de demandes. Veuillez patienter un instant.", "Too many requests. Please wait a moment."},
	ErrSessionChanged:        {409, "Une autre personne s'est connectée sur cet appareil : rien n'a été enregistré. Rechargez la page pour continuer.", "Someone else signed in on this device: nothing was saved. Reload the page to continue."},
	ErrBackendUnavailable:    {503, "Le service est momentanément indisponible. Veuillez réessayer.", "The service is temporarily unavailable. Please try again."},
	ErrInternal:              {500, "Une erreur inattendue est survenue. Veuillez réessayer.", "An unexpected error occurred. Please try again."},
}

// Codes lists every error code, for documentation and tests.
func Codes() []ErrorCode {
	out := make([]ErrorCode, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	return out
}

// Status returns the HTTP status for code; unknown codes map to 500.
func (c ErrorCode) Status() int {
	if i, ok := codes[c]; ok {
		return i.status
	}
	return 500
}

// Message returns the patient-facing message for code in lang ("fr" or
// "en"); French is the default. It never contains details of the failure.
func (c ErrorCode) Message(lang string) string {
	i, ok := codes[c]
	if !ok {
		i = codes[ErrInternal]
	}
	if lang == "en" {
		return i.en
	}
	return i.fr
}

// CodeForStatus returns the code a client should assume for an HTTP status
// when a response carries no code (a proxy's error page, for example).
func CodeForStatus(status int) ErrorCode {
	switch status {
	case 400:
		return ErrInvalid
	case 401:
		return ErrUnauthenticated
	case 403:
		return ErrForbidden
	case 404:
		return ErrNotFound
	case 405:
		return ErrMethodNotAllowed
	case 409:
		return ErrSlotUnavailable
	case 413:
		return ErrTooLarge
	case 415:
		return ErrUnsupportedMediaType
	case 429:
		return ErrRateLimited
	case 502, 503, 504:
		return ErrBackendUnavailable
	}
	return ErrInternal
}

// Error is a failure with a code. Detail is for logs and integrators; it is
// never shown to patients, who see Code.Message, or Reason when it is set.
type Error struct {
	Code   ErrorCode
	Detail string
	// Reason, when set, is a patient-facing explanation written by the
	// establishment (a booking rule of a plugin, for example). It is shown
	// instead of the code's generic message, so it must carry no detail of
	// the failure.
	Reason *Text
}

// Message returns the patient-facing text of e in lang: its Reason if set,
// the code's message otherwise.
func (e *Error) Message(lang string) string {
	if e.Reason != nil && e.Reason.FR != "" {
		return e.Reason.In(lang)
	}
	return e.Code.Message(lang)
}

// PatientMessage returns the patient-facing text of any error in lang.
func PatientMessage(err error, lang string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message(lang)
	}
	return Code(err).Message(lang)
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Detail
}

// Errorf returns an *Error with code and a formatted detail.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Code returns the code of err: its own if it wraps an *Error, ErrInternal
// otherwise, and "" for nil.
func Code(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var p *PartialError
	if errors.As(err, &p) {
		return ErrBackendUnavailable
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrInternal
}

// IsCode reports whether err carries code.
func IsCode(err error, code ErrorCode) bool { return err != nil && Code(err) == code }
