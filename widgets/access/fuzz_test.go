package access

import (
	"encoding/json"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// FuzzParseFormState: the hidden field comes from the browser. Parsing never
// panics, and what it accepts is within bounds and encodes back unchanged.
func FuzzParseFormState(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"sc":"home","pg":1,"pe":"pat-lucas-bernard"}`,
		`{"sc":"confirm-grant","pr":"pr-paul-mercier","rp":"10000009992","in":"chu-exemple","pg":2,"pe":"pat-lucas-bernard"}`,
		`{"sc":"nope"}`, `{"pg":-1}`, `{"pg":11}`, `{"rp":"10000009993"}`, `{"rp":"1234"}`, `{"extra":1}`, `[]`, `null`, `{"pg":1.5}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseFormState(s)
		if err != nil {
			return
		}
		if len(s) > MaxFormState || st.Pages < 0 || st.Pages > MaxFormPages || st.RPPS != "" && !portal.ValidRPPS(st.RPPS) {
			t.Fatalf("accepted out-of-bounds state %+v from %q", st, s)
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
