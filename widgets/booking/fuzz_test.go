package booking

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseFormState: the hidden field comes from the browser. Parsing never
// panics, and what it accepts is within bounds and encodes back unchanged.
func FuzzParseFormState(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"st":"slots","sv":"maternite","w":"2026-11-23T07:00:00Z","d":"2026-11-24"}`,
		`{"st":"confirm","sv":"maternite","pr":"pr-claire-martin","sl":"sl-x","k":"bk-ABCDEFGHIJKLMNOP"}`,
		`{"st":"nope"}`, `{"d":-1}`, `{"d":"24/11/2026"}`, `{"d":"2026-02-30"}`, `{"k":"short"}`, `{"extra":1}`, `[]`, `null`, `{"st":"mine","cc":"apt_1"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseFormState(s)
		if err != nil {
			return
		}
		if len(s) > MaxFormState {
			t.Fatalf("accepted a state of %d bytes", len(s))
		}
		if _, err := time.Parse(time.DateOnly, st.Day); st.Day != "" && err != nil {
			t.Fatalf("accepted out-of-bounds state %+v", st)
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseFormState(string(b))
		if err != nil || again != st {
			t.Fatalf("re-encoded state %s parses as %+v, %v; want %+v", b, again, err, st)
		}
	})
}
