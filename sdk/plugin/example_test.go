package plugin_test

import (
	"fmt"

	"github.com/parcours-sante/parcours/sdk/plugin"
)

// A booking rule registered with OnBeforeBooking, and run through Handle as
// the host would call it.
func ExampleOnBeforeBooking() {
	plugin.OnBeforeBooking(func(in plugin.BeforeBooking) (plugin.Decision, error) {
		if in.Service == "maternite" && len(in.Booked) > 0 {
			return plugin.Refuse("Déjà inscrite.", "Already registered."), nil
		}
		return plugin.Allow(), nil
	})
	fmt.Println(string(plugin.HooksJSON()))
	fmt.Println(string(plugin.Handle("before_booking", []byte(`{"service":"maternite","booked":[{"service":"maternite","start":"2026-12-01T09:00:00+01:00"}]}`))))
	fmt.Println(string(plugin.Handle("before_booking", []byte(`{"service":"diabetologie","booked":[]}`))))
	fmt.Println(string(plugin.Handle("after_booking", []byte(`{}`))))
	// Output:
	// ["before_booking"]
	// {"allow":false,"reason":{"fr":"Déjà inscrite.","en":"Already registered."}}
	// {"allow":true}
	// {"error":"no handler for hook \"after_booking\""}
}

// An after_booking handler returning an HTTP effect; the host sends it only
// if the plugin is granted the URL's origin.
func ExampleHTTPPost() {
	plugin.OnAfterBooking(func(in plugin.AfterBooking) ([]plugin.Effect, error) {
		return []plugin.Effect{plugin.HTTPPost("http://127.0.0.1:9099/sms", "text/plain", "Rendez-vous confirmé.")}, nil
	})
	fmt.Println(string(plugin.Handle("after_booking", []byte(`{"appointment":"apt-1"}`))))
	// Output:
	// {"effects":[{"http":{"method":"POST","url":"http://127.0.0.1:9099/sms","content_type":"text/plain","body":"Rendez-vous confirmé."}}]}
}
