package plugin

import (
	"testing"
	"unicode/utf8"
)

// FuzzParsePluginOutput: what a plugin returns is outside input. The parsers
// never panic, and what they accept respects the ABI's bounds.
func FuzzParsePluginOutput(f *testing.F) {
	for _, s := range []string{
		`{"allow":true}`,
		`{"allow":false,"reason":{"fr":"Déjà inscrite","en":"Already registered"}}`,
		`{"allow":false}`, `{"allow":true,"extra":1}`, `{"effects":[{"http":{"method":"POST","url":"http://127.0.0.1:9099/sms","body":"x"}}]}`,
		`{"effects":[{"http":{"method":"GET","url":"file:///etc/passwd"}}]}`, `["before_booking","after_booking"]`, `null`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseDecision(b); err == nil {
			// A reason is optional (the generic message is shown), but
			// when given it has French, is valid text and is bounded, and
			// only a refusal has one.
			if r := d.Reason; r != nil && (d.Allow || r.FR == "" || !utf8.ValidString(r.FR) || utf8.RuneCountInString(r.FR) > MaxReasonRunes || utf8.RuneCountInString(r.EN) > MaxReasonRunes) {
				t.Fatalf("accepted an invalid reason: %+v", d)
			}
			if d.Error != "" && (d.Allow || d.Reason != nil) {
				t.Fatalf("accepted an error with a decision: %+v", d)
			}
		}
		if e, err := ParseEffects(b); err == nil {
			for _, x := range e.Effects {
				if _, err := EffectOrigin(x.HTTP.URL); x.HTTP != nil && err != nil {
					t.Fatalf("accepted an effect with a bad URL %q: %v", x.HTTP.URL, err)
				}
			}
		}
		ParseHooks(b)
		ParseConfigureResult(b)
	})
}
