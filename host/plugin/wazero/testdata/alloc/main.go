// Command alloc is a test plugin whose before_booking handler allocates
// without bound when asked to (service "alloc") and allows otherwise.
package main

import "github.com/parcours-sante/parcours/sdk/plugin"

var hoard [][]byte

func init() {
	plugin.OnBeforeBooking(func(in plugin.BeforeBooking) (plugin.Decision, error) {
		for in.Service == "alloc" {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = byte(i)
			}
			hoard = append(hoard, b)
		}
		return plugin.Allow(), nil
	})
}

func main() {}
