// Package plugin is the Go SDK for Parcours plugins: WebAssembly modules the
// Parcours host runs sandboxed to adapt it to one hospital (a booking rule,
// a notification to an SMS gateway …). docs/plugins.md is the guide; the ABI
// itself is documented as Go types in host/plugin, which this package
// re-exports.
//
// A plugin registers its handlers in an init function and has an empty main:
//
//	func init() {
//		plugin.OnBeforeBooking(func(in plugin.BeforeBooking) (plugin.Decision, error) {
//			if in.Service == "maternite" && len(in.Booked) > 3 {
//				return plugin.Refuse("Trop de rendez-vous.", "Too many appointments."), nil
//			}
//			return plugin.Allow(), nil
//		})
//	}
//
//	func main() {}
//
// and is built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o rule.wasm .
//
// On GOOS=wasip1 the package exports the ABI functions (parcours_abi_version,
// parcours_alloc, parcours_hooks, parcours_handle, parcours_configure). On
// every platform, Handle, HooksJSON and Configure run the registered handlers
// exactly as the host would, so a plugin's logic is unit-tested with plain
// `go test`.
//
// A handler that returns an error makes the call fail: the host applies the
// plugin's failure policy and logs the message, which must therefore carry no
// health data. A handler that panics traps its instance, which the host
// discards.
package plugin

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	abi "github.com/parcours-sante/parcours/host/plugin"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// ABIVersion is the ABI version this SDK implements.
const ABIVersion = abi.ABIVersion

// The ABI types, documented in host/plugin.
type (
	Hook              = abi.Hook
	BeforeBooking     = abi.BeforeBooking
	AfterBooking      = abi.AfterBooking
	AfterCancel       = abi.AfterCancel
	Notification      = abi.Notification
	Slot              = abi.Slot
	BookedAppointment = abi.BookedAppointment
	Decision          = abi.Decision
	Effects           = abi.Effects
	Effect            = abi.Effect
	HTTPEffect        = abi.HTTPEffect
)

// Hook names.
const (
	HookBeforeBooking = abi.HookBeforeBooking
	HookAfterBooking  = abi.HookAfterBooking
	HookAfterCancel   = abi.HookAfterCancel
	HookNotification  = abi.HookNotification
)

var handlers = struct {
	beforeBooking func(BeforeBooking) (Decision, error)
	afterBooking  func(AfterBooking) ([]Effect, error)
	afterCancel   func(AfterCancel) ([]Effect, error)
	notification  func(Notification) ([]Effect, error)
	configure     func(json.RawMessage) error
}{}

// OnBeforeBooking registers the handler of before_booking: allow the booking
// or refuse it with a patient-facing reason.
func OnBeforeBooking(f func(BeforeBooking) (Decision, error)) { handlers.beforeBooking = f }

// OnAfterBooking registers the handler of after_booking, which runs once the
// patient has had the answer and returns effects for the host to perform.
func OnAfterBooking(f func(AfterBooking) ([]Effect, error)) { handlers.afterBooking = f }

// OnAfterCancel registers the handler of after_cancel.
func OnAfterCancel(f func(AfterCancel) ([]Effect, error)) { handlers.afterCancel = f }

// OnNotification registers the handler of notification.
func OnNotification(f func(Notification) ([]Effect, error)) { handlers.notification = f }

// OnConfigure registers the function that receives the plugin's
// configuration (a JSON value from the host's configuration, null when there
// is none) once per instance, before any hook. An error refuses the
// configuration: the plugin does not load.
func OnConfigure(f func(config json.RawMessage) error) { handlers.configure = f }

// Allow is the Decision that lets a booking through.
func Allow() Decision { return Decision{Allow: true} }

// Refuse is the Decision that refuses a booking with a patient-facing reason
// in French and English (at most 300 characters each, plain text, no health
// detail beyond what the patient chose).
func Refuse(fr, en string) Decision {
	return Decision{Allow: false, Reason: &portal.Text{FR: fr, EN: en}}
}

// HTTPPost is an effect asking the host to POST body to url. The host sends
// it only if the plugin is granted the URL's origin ("http:" + origin).
func HTTPPost(url, contentType, body string) Effect {
	return Effect{HTTP: &HTTPEffect{Method: "POST", URL: url, ContentType: contentType, Body: body}}
}

// HooksJSON returns the JSON array of the hooks with a registered handler:
// the output of parcours_hooks.
func HooksJSON() []byte {
	hooks := []Hook{}
	if handlers.beforeBooking != nil {
		hooks = append(hooks, HookBeforeBooking)
	}
	if handlers.afterBooking != nil {
		hooks = append(hooks, HookAfterBooking)
	}
	if handlers.afterCancel != nil {
		hooks = append(hooks, HookAfterCancel)
	}
	if handlers.notification != nil {
		hooks = append(hooks, HookNotification)
	}
	b, _ := json.Marshal(hooks)
	return b
}

// Configure passes config to the OnConfigure function and returns the output
// of parcours_configure. Configuration without an OnConfigure function is
// accepted only when it is empty or null.
func Configure(config []byte) []byte {
	if handlers.configure == nil {
		if len(config) == 0 || string(config) == "null" {
			return []byte("{}")
		}
		return errorOutput(fmt.Errorf("this plugin takes no configuration"))
	}
	if len(config) == 0 {
		config = []byte("null")
	}
	if err := handlers.configure(json.RawMessage(config)); err != nil {
		return errorOutput(err)
	}
	return []byte("{}")
}

// Handle runs the handler of hook on input (JSON) and returns its output
// (JSON): what parcours_handle returns to the host.
func Handle(hook string, input []byte) []byte {
	switch Hook(hook) {
	case HookBeforeBooking:
		if handlers.beforeBooking != nil {
			return run(input, handlers.beforeBooking, func(d Decision) any { return d })
		}
	case HookAfterBooking:
		if handlers.afterBooking != nil {
			return run(input, handlers.afterBooking, effects)
		}
	case HookAfterCancel:
		if handlers.afterCancel != nil {
			return run(input, handlers.afterCancel, effects)
		}
	case HookNotification:
		if handlers.notification != nil {
			return run(input, handlers.notification, effects)
		}
	}
	return errorOutput(fmt.Errorf("no handler for hook %q", hook))
}

func effects(e []Effect) any { return Effects{Effects: e} }

func run[In, Out any](input []byte, f func(In) (Out, error), wrap func(Out) any) []byte {
	var in In
	if err := json.Unmarshal(input, &in); err != nil {
		return errorOutput(fmt.Errorf("decoding input: %v", err))
	}
	out, err := f(in)
	if err != nil {
		return errorOutput(err)
	}
	b, err := json.Marshal(wrap(out))
	if err != nil {
		return errorOutput(fmt.Errorf("encoding output: %v", err))
	}
	return b
}

// errorOutput is {"error": msg}, cut to the ABI's bound and cleaned of
// control characters so that the host accepts it.
func errorOutput(err error) []byte {
	msg := []rune{}
	for _, r := range err.Error() {
		if len(msg) == abi.MaxErrorRunes {
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			r = ' '
		}
		msg = append(msg, r)
	}
	if len(msg) == 0 {
		msg = []rune("error")
	}
	b, _ := json.Marshal(abi.ConfigureResult{Error: string(msg)})
	return b
}
