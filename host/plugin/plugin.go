// Package plugin defines the Parcours plugin interface and its versioned
// ABI, as Go types.
//
// Integrators adapt Parcours to a hospital without forking it: a booking rule
// of a service, a notification to the hospital's SMS gateway, and so on.
// Plugins are WebAssembly modules (GOOS=wasip1 Go, or any language targeting
// WASI preview 1) that the host runs sandboxed; host/plugin/wazero is the
// runtime and sdk/plugin the Go SDK for plugin authors. docs/plugins.md is the
// guide.
//
// # ABI version 1
//
// A plugin is a WASI preview 1 reactor (Go: -buildmode=c-shared) exporting:
//
//	_initialize()                                   run once per instance (language runtime start-up)
//	parcours_abi_version() i32                      must return ABIVersion (1)
//	parcours_alloc(size i32) i32                    returns a guest buffer of size bytes the host writes into
//	parcours_hooks() i64                            (ptr<<32 | len) of a JSON array of the Hook names it handles
//	parcours_handle(hook_ptr, hook_len, in_ptr, in_len i32) i64
//	                                                runs one hook; returns (ptr<<32 | len) of its JSON output
//	parcours_configure(ptr, len i32) i64            optional: receives the plugin's configuration (JSON) once
//	                                                per instance; returns (ptr<<32 | len) of a ConfigureResult
//
// The hook name is ASCII; inputs and outputs are UTF-8 JSON. Each hook has
// one input type (BeforeBooking, AfterBooking, AfterCancel, Notification)
// and one output type (Decision or Effects). Outputs are validated like any
// outside input (see ParseDecision, ParseEffects): at most MaxOutputBytes, one
// JSON object, no unknown field, bounded strings.
//
// Hooks receive the minimum data necessary: identifiers, service ids and
// times, never a patient's name, identifier or any clinical content.
package plugin

import (
	"context"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// ABIVersion is the version of the plugin ABI this host speaks. A plugin whose
// parcours_abi_version returns another value is refused at load.
const ABIVersion = 1

// Hook names a point where the host calls plugins.
type Hook string

// Hook points of ABI version 1.
const (
	// HookBeforeBooking runs before a booking reaches the backend. Input
	// BeforeBooking, output Decision: a refusal answers the patient
	// portal.ErrBookingRefused with the plugin's reason, and nothing is booked.
	HookBeforeBooking Hook = "before_booking"
	// HookAfterBooking runs after a booking succeeded, once the patient has
	// had the answer. Input AfterBooking, output Effects.
	HookAfterBooking Hook = "after_booking"
	// HookAfterCancel runs after a cancellation succeeded, once the patient
	// has had the answer. Input AfterCancel, output Effects.
	HookAfterCancel Hook = "after_cancel"
	// HookNotification runs for an outgoing notification. Input
	// Notification, output Effects. The host calls it when a questionnaire
	// submission alerts the care team (NotifyQuestionnaireAlert); the other
	// kinds are called as their senders land.
	HookNotification Hook = "notification"

	// HookAfterMessage is reserved for the messaging part (after a message
	// is stored). Not called yet; its input type will be added to ABI v1
	// without changing the other hooks.
	HookAfterMessage Hook = "after_message"
	// HookQuestionnaireScore is reserved for the questionnaire part (score
	// override or enrichment). Not called yet.
	HookQuestionnaireScore Hook = "questionnaire_score"
)

// Hooks lists the hooks of ABI version 1 that the host calls.
var Hooks = []Hook{HookBeforeBooking, HookAfterBooking, HookAfterCancel, HookNotification}

// Reserved lists the hook names reserved in ABI version 1 and not called yet.
// A plugin may declare them; it is loaded and never called for them.
var Reserved = []Hook{HookAfterMessage, HookQuestionnaireScore}

// Known reports whether h is a hook of ABI version 1, called or reserved.
func (h Hook) Known() bool { return h.Called() || h.IsReserved() }

// Called reports whether the host calls h.
func (h Hook) Called() bool {
	for _, k := range Hooks {
		if k == h {
			return true
		}
	}
	return false
}

// IsReserved reports whether h is reserved and not called yet.
func (h Hook) IsReserved() bool {
	for _, k := range Reserved {
		if k == h {
			return true
		}
	}
	return false
}

// Limits on what a plugin returns. Anything beyond is rejected as a failure of
// the plugin.
const (
	// MaxOutputBytes bounds one output (and the hooks list).
	MaxOutputBytes = 64 << 10
	// MaxReasonRunes bounds each language of a refusal's reason.
	MaxReasonRunes = 300
	// MaxErrorRunes bounds a plugin's error message.
	MaxErrorRunes = 300
	// MaxEffects bounds the effects of one output.
	MaxEffects = 8
	// MaxEffectBodyBytes bounds the body of one HTTP effect.
	MaxEffectBodyBytes = 16 << 10
	// MaxConfigBytes bounds a plugin's configuration.
	MaxConfigBytes = 16 << 10
)

// Plugins is what the host calls. Implementations (host/plugin/wazero) must
// be safe for concurrent use; the host calls it from every request.
//
// Failures of a plugin never fail the host: BeforeBooking applies the
// plugin's configured failure policy (OnError), and the After… and
// Notification methods never block nor fail the patient's request; they run
// in the background and log their failures.
type Plugins interface {
	// Has reports whether a loaded plugin handles hook, so that the host
	// builds a hook's input only when someone reads it.
	Has(hook Hook) bool
	// BeforeBooking asks every plugin handling HookBeforeBooking, in
	// configuration order, and returns nil when all allow. A refusal is a
	// *portal.Error with code portal.ErrBookingRefused and the plugin's
	// patient-facing Reason; a plugin failure with OnErrorRefuse is a
	// *portal.Error with code portal.ErrBackendUnavailable.
	BeforeBooking(ctx context.Context, in BeforeBooking) error
	// AfterBooking queues HookAfterBooking and returns at once.
	AfterBooking(ctx context.Context, in AfterBooking)
	// AfterCancel queues HookAfterCancel and returns at once.
	AfterCancel(ctx context.Context, in AfterCancel)
	// Notification queues HookNotification and returns at once.
	Notification(ctx context.Context, in Notification)
}

// OnError is a plugin's failure policy for HookBeforeBooking: what the host
// does when the plugin traps, panics, runs past its deadline or memory limit,
// returns invalid output or reports an error. Refusing (fail-closed) or
// allowing (fail-open) is an organisational and clinical choice of the
// establishment, so it is explicit configuration. After… hooks and
// notifications always ignore failures (OnErrorIgnore): they are logged and
// never reach the patient.
type OnError string

// Failure policies.
const (
	// OnErrorRefuse answers the booking portal.ErrBackendUnavailable (the
	// patient is asked to try again) and books nothing. Default for
	// before_booking.
	OnErrorRefuse OnError = "refuse"
	// OnErrorAllow logs the failure and goes on as if the plugin allowed.
	OnErrorAllow OnError = "allow"
	// OnErrorIgnore logs the failure; the only policy of after_* hooks.
	OnErrorIgnore OnError = "ignore"
)

// Slot is the slot a booking asks for.
type Slot struct {
	ID           string    `json:"id"`
	Practitioner string    `json:"practitioner"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
}

// BookedAppointment is one of the patient's booked, future appointments, as
// much as a booking rule needs: its service and start.
type BookedAppointment struct {
	Service string    `json:"service"`
	Start   time.Time `json:"start"`
}

// BeforeBooking is the input of HookBeforeBooking.
type BeforeBooking struct {
	// Establishment and Service are ids (sdk/portal Establishment.ID, Service.ID).
	Establishment string `json:"establishment"`
	Service       string `json:"service"`
	// Slot is the slot asked for.
	Slot Slot `json:"slot"`
	// Booked lists the patient's booked appointments that start after Now,
	// in every service of the establishment, ordered by start. Never null.
	Booked []BookedAppointment `json:"booked"`
	// Now is the host's clock at the request.
	Now time.Time `json:"now"`
}

// AfterBooking is the input of HookAfterBooking.
type AfterBooking struct {
	Appointment   string    `json:"appointment"`
	Establishment string    `json:"establishment"`
	Service       string    `json:"service"`
	Start         time.Time `json:"start"`
}

// AfterCancel is the input of HookAfterCancel.
type AfterCancel struct {
	Appointment   string    `json:"appointment"`
	Establishment string    `json:"establishment"`
	Service       string    `json:"service"`
	Start         time.Time `json:"start"`
}

// NotificationKind is what an outgoing notification is about.
type NotificationKind string

// Notification kinds of ABI version 1.
const (
	NotifyAppointmentConfirmed NotificationKind = "appointment_confirmed"
	NotifyAppointmentCancelled NotificationKind = "appointment_cancelled"
	NotifyAppointmentReminder  NotificationKind = "appointment_reminder"
	NotifyNewMessage           NotificationKind = "new_message"
	NotifyDocumentAvailable    NotificationKind = "document_available"
	// NotifyQuestionnaireAlert: a submitted questionnaire response needs the
	// care team's attention (its level or an answer asks for it). Recipient
	// is RecipientStaff; the notification names the establishment only, the
	// staff read the alert in the care team's own tools.
	NotifyQuestionnaireAlert NotificationKind = "questionnaire_alert"
)

// RecipientKind is who a notification is for; never who exactly.
type RecipientKind string

// Recipient kinds.
const (
	RecipientPatient RecipientKind = "patient"
	RecipientStaff   RecipientKind = "staff"
)

// Notification is the input of HookNotification: an outgoing notification
// without any health content.
type Notification struct {
	Kind          NotificationKind `json:"kind"`
	Recipient     RecipientKind    `json:"recipient"`
	Establishment string           `json:"establishment"`
}

// Decision is the output of HookBeforeBooking: {"allow": true}, or
// {"allow": false, "reason": {"fr": "…", "en": "…"}}.
type Decision struct {
	// Allow is required.
	Allow bool `json:"allow"`
	// Reason is the patient-facing explanation of a refusal, shown in the
	// widget instead of the generic message of portal.ErrBookingRefused.
	// French is required when Reason is set; each text is at most
	// MaxReasonRunes characters of plain text. Only with Allow false.
	Reason *portal.Text `json:"reason,omitempty"`
	// Error reports that the plugin failed; the host applies OnError.
	Error string `json:"error,omitempty"`
}

// Effects is the output of HookAfterBooking, HookAfterCancel and
// HookNotification: what the plugin asks the host to do on its behalf. The
// host performs an effect only when the plugin's configuration grants a
// capability covering it (see Capability).
type Effects struct {
	Effects []Effect `json:"effects,omitempty"`
	// Error reports that the plugin failed; it is logged.
	Error string `json:"error,omitempty"`
}

// Effect is one action a plugin asks for. Exactly one field is set.
type Effect struct {
	HTTP *HTTPEffect `json:"http,omitempty"`
}

// HTTPEffect is an HTTP request the host sends for the plugin, with a
// timeout, without following redirects, discarding the answer but its status.
type HTTPEffect struct {
	// Method is POST or PUT.
	Method string `json:"method"`
	// URL is an absolute http or https URL without user information; its
	// origin must be granted ("http:" + origin).
	URL string `json:"url"`
	// ContentType defaults to "application/json".
	ContentType string `json:"content_type,omitempty"`
	// Body is at most MaxEffectBodyBytes.
	Body string `json:"body,omitempty"`
}

// ConfigureResult is the output of parcours_configure: {} or {"error": "…"}.
type ConfigureResult struct {
	Error string `json:"error,omitempty"`
}
