package cloudflare

import (
	"strings"
	"testing"
)

// FuzzSplitHeaders: the headers that cross from JS (a FHIR server's
// answer, a browser's request) are read without a panic, and what is read
// is written back unchanged (a value cannot hold the newline that would
// forge another header).
func FuzzSplitHeaders(f *testing.F) {
	f.Add("")
	f.Add("Content-Type\ntext/plain\nSet-Cookie\na=1\nSet-Cookie\nb=2\n")
	f.Add("X-A\n1")
	f.Add("X-A\n")
	f.Add("\n\n")
	f.Add("X-A\r\n1\n")
	f.Fuzz(func(t *testing.T, s string) {
		hs, err := splitHeaders(s)
		if err != nil {
			return
		}
		for _, kv := range hs {
			if strings.Contains(kv[0], "\n") || strings.Contains(kv[1], "\n") {
				t.Fatalf("splitHeaders(%q): a newline inside %q", s, kv)
			}
		}
		if strings.Contains(s, "\r") {
			return // joinHeaders drops such names and blanks such values
		}
		if back := joinHeaders(hs); back != s {
			t.Fatalf("splitHeaders(%q) written back as %q", s, back)
		}
	})
}
