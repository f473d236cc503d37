package ui

import (
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

func TestPersonChanged(t *testing.T) {
	for _, c := range []struct {
		posted, now string
		want        portal.ErrorCode
	}{
		{"", "patient:a", ""},
		{"", "", ""},
		{"patient:a", "patient:a", ""},
		{"patient:a", "", portal.ErrUnauthenticated},
		{"patient:a", "patient:b", portal.ErrSessionChanged},
		{"patient:a", "practitioner:a", portal.ErrSessionChanged},
	} {
		if got := PersonChanged(c.posted, c.now); got != c.want {
			t.Errorf("PersonChanged(%q, %q) = %q, want %q", c.posted, c.now, got, c.want)
		}
	}
	if got := Person(&portal.Patient{ID: "a"}, nil); got != "patient:a" {
		t.Errorf("Person(patient a) = %q", got)
	}
	if got := Person(nil, &portal.Practitioner{ID: "p"}); got != "practitioner:p" {
		t.Errorf("Person(practitioner p) = %q", got)
	}
}
