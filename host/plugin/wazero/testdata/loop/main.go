// Command loop is a test plugin whose before_booking handler never returns
// when asked to (service "loop") and allows otherwise.
package main

import "github.com/parcours-sante/parcours/sdk/plugin"

var spins uint64

func init() {
	plugin.OnBeforeBooking(func(in plugin.BeforeBooking) (plugin.Decision, error) {
		for in.Service == "loop" {
			spins++
		}
		return plugin.Allow(), nil
	})
}

func main() {}
