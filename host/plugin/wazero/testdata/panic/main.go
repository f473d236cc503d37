// Command panic is a test plugin whose before_booking handler panics when
// asked to (service "panic") and allows otherwise.
package main

import "github.com/parcours-sante/parcours/sdk/plugin"

func init() {
	plugin.OnBeforeBooking(func(in plugin.BeforeBooking) (plugin.Decision, error) {
		if in.Service == "panic" {
			panic("test plugin panics on purpose")
		}
		return plugin.Allow(), nil
	})
}

func main() {}
