package portal_test

import (
	"fmt"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

func TestValidRPPS(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    string
		want bool
	}{
		{"valid", "10000000009", true},
		{"valid other", "10101010105", true},
		{"wrong check digit", "10000000008", false},
		{"too short", "1000000000", false},
		{"too long", "100000000080", false},
		{"letter", "1000000000A", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := portal.ValidRPPS(tc.v); got != tc.want {
				t.Errorf("ValidRPPS(%q) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

func ExampleValidRPPS() {
	fmt.Println(portal.ValidRPPS("10000000009"), portal.ValidRPPS("10000000008"))
	// Output: true false
}
