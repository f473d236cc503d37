package host

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturn: whatever a sign-in link's return carries, the host
// redirects only to a path of its own origin.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{
		"/w/booking?establishment=chu-exemple", "//evil.example/", "/\\evil.example", "https://evil.example/",
		"/%2F%2Fevil.example", "javascript:alert(1)", "", "/w/booking\r\nSet-Cookie: x=1", "/\t/evil.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeReturn(s)
		if got == "/" {
			return
		}
		if got != s {
			t.Fatalf("safeReturn(%q) = %q: rewritten rather than kept or refused", s, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\r\n\t") {
			t.Fatalf("safeReturn(%q) = %q: not a path of this origin", s, got)
		}
		// What a browser would make of it, resolved against the host.
		base, _ := url.Parse("https://portail.chu-exemple.fr/auth/callback")
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("safeReturn(%q) resolves to %s", s, r)
		}
	})
}

// FuzzValidChallenge: a handoff challenge is exactly a base64url SHA-256.
func FuzzValidChallenge(f *testing.F) {
	f.Add(challengeOf("verifier"))
	f.Add("")
	f.Add(strings.Repeat("=", 43))
	f.Fuzz(func(t *testing.T, s string) {
		if validChallenge(s) && (len(s) != 43 || strings.ContainsAny(s, "+/=")) {
			t.Fatalf("validChallenge(%q) accepted", s)
		}
	})
}
