package uri

import (
	"math/rand/v2"
	"net/url"
	"testing"
)

// same checks PathEscape, QueryEscape and Values.Encode against net/url.
func same(t *testing.T, s string) {
	t.Helper()
	if got, want := PathEscape(s), url.PathEscape(s); got != want {
		t.Fatalf("PathEscape(%q) = %q, net/url %q", s, got, want)
	}
	if got, want := QueryEscape(s), url.QueryEscape(s); got != want {
		t.Fatalf("QueryEscape(%q) = %q, net/url %q", s, got, want)
	}
	v, w := Values{}, url.Values{}
	v.Set(s, s)
	w.Set(s, s)
	v.Set("k"+s, "")
	w.Set("k"+s, "")
	v["multi"] = []string{s, "b", s}
	w["multi"] = []string{s, "b", s}
	if got, want := v.Encode(), w.Encode(); got != want {
		t.Fatalf("Encode with %q = %q, net/url %q", s, got, want)
	}
}

func TestEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		same(t, string([]byte{byte(c)}))
		same(t, "a"+string([]byte{byte(c)})+"é b")
	}
}

func TestRandom(t *testing.T) {
	const special = "aZ9-_.~ $&+,/:;=?@%#[]!'()*\"<>\\^`{|}"
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.IntN(24))
		for j := range b {
			if r.IntN(2) == 0 {
				b[j] = special[r.IntN(len(special))]
			} else {
				b[j] = byte(r.IntN(256))
			}
		}
		same(t, string(b))
	}
}

func TestEmpty(t *testing.T) {
	if got := (Values{}).Encode(); got != "" {
		t.Errorf("empty Encode = %q", got)
	}
	if got := (Values(nil)).Encode(); got != "" {
		t.Errorf("nil Encode = %q", got)
	}
	same(t, "")
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a b", "é/ü?x=1&y=2", "%zz", "\x00\xff", "ch-nord", "2026-11-24T09:30:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { same(t, s) })
}
