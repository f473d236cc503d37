package host

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// fuzzParseJSON checks parseJSON[T] on b: it never panics, a refusal is an
// invalid_request, and what it accepts re-marshals to JSON it accepts again
// with the same value.
func fuzzParseJSON[T comparable](t *testing.T, b []byte) {
	v, err := parseJSON[T](b)
	if err != nil {
		if code := portal.Code(err); code != portal.ErrInvalid {
			t.Fatalf("refusal with code %q, want %q: %v", code, portal.ErrInvalid, err)
		}
		return
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-marshalling %#v: %v", v, err)
	}
	again, err := parseJSON[T](out)
	if err != nil {
		t.Fatalf("parseJSON refuses its own output %s: %v", out, err)
	}
	if again != v {
		t.Fatalf("round trip changed %#v into %#v", v, again)
	}
}

func FuzzParseBookBody(f *testing.F) {
	for _, s := range []string{
		`{"service":"maternite","slot":"slot-pr-1-202611240930"}`,
		`{"slot":"s","service":"m"}`,
		`{}`,
		`{"service":"maternite","slot":"s","patient":"pat-lucas-bernard"}`,
		`{"service":"maternite","slot":"s"}{"service":"x"}`,
		`{"service":"maternite","slot":"s"} trailing`,
		`{"service":"maternite","slot":"s"}   `,
		`{"service":1,"slot":null}`,
		`{"service":"\u00e9\ud83c\udfe5","slot":"\\\""}`,
		`{"Service":"case-insensitive keys","SLOT":"x"}`,
		`{"service":"a","service":"b","slot":"c"}`,
		`[]`,
		`null`,
		`"string"`,
		`{"service":"` + strings.Repeat("a", 1000) + `"}`,
		"{\"service\":\"\xff\xfe\",\"slot\":\"x\"}",
		`{"service":"a","slot":"b"`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzParseJSON[client.BookBody](t, b) })
}

func FuzzParseDemoSignIn(f *testing.F) {
	for _, s := range []string{
		`{"patient":"pat-camille-durand"}`,
		`{"patient":""}`,
		`{}`,
		`{"patient":"pat-camille-durand","admin":true}`,
		`{"patient":["a"]}`,
		`{"patient":"a"} {"patient":"b"}`,
		`{"patient":"In\u00e8s"}`,
		`{"patient":"\u0000"}`,
		`{"PATIENT":"x"}`,
		`nul`,
		`{"patient":"` + strings.Repeat("\\\\", 300) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzParseJSON[client.DemoSignInBody](t, b) })
}

var fuzzNow = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func FuzzParseSlotQuery(f *testing.F) {
	for _, s := range []string{
		"service=maternite",
		"service=maternite&practitioner=pr-1&lang=en",
		"service=maternite&from=2026-11-24T00:00:00%2B01:00&to=2026-12-01T00:00:00%2B01:00",
		"service=maternite&from=2026-11-24T00:00:00Z&to=2027-01-25T00:00:00Z",
		"service=maternite&from=2026-11-24T00:00:00Z&to=2027-01-26T00:00:00Z",
		"service=maternite&from=2026-11-24T00:00:00Z&to=2026-11-24T00:00:00Z",
		"service=maternite&from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z",
		"service=maternite&from=0001-01-01T00:00:00Z",
		"service=maternite&from=9999-12-31T23:59:59Z",
		"service=maternite&to=2026-11-23T08:00:00Z",
		"service=a&service=b",
		"service=maternite&patient=pat-lucas-bernard",
		"service=maternite&from=yesterday",
		"service=maternite&from=2026-11-24T00:00:00%2B99:00",
		"from=2026-11-24T00:00:00Z",
		"service=",
		"",
		"%zz",
		"service=maternite;from=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseSlotQuery("chu-exemple", v, fuzzNow)
		if err != nil {
			if code := portal.Code(err); code != portal.ErrInvalid {
				t.Fatalf("refusal with code %q: %v", code, err)
			}
			return
		}
		if verr := q.Validate(); verr != nil {
			t.Fatalf("accepted a query that does not validate: %v", verr)
		}
		if !q.To.After(q.From) {
			t.Fatalf("accepted To %v not after From %v", q.To, q.From)
		}
		if q.To.Sub(q.From) > portal.MaxSlotQueryDays*24*time.Hour {
			t.Fatalf("accepted a period of %v", q.To.Sub(q.From))
		}
		if q.Establishment != "chu-exemple" || q.Service == "" || q.Service != v.Get("service") || q.Practitioner != v.Get("practitioner") {
			t.Fatalf("query %+v does not reflect %q", q, raw)
		}
		for k, vs := range v {
			if !slices.Contains([]string{"service", "practitioner", "from", "to", "lang"}, k) || len(vs) != 1 {
				t.Fatalf("accepted parameter %q = %q", k, vs)
			}
		}
		if v.Get("from") == "" && !q.From.Equal(fuzzNow) {
			t.Fatalf("From %v without from, want now", q.From)
		}
	})
}

func TestParseSlotQuery(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		from, to time.Time
		wantErr  bool
	}{
		{"defaults", "service=maternite", fuzzNow, fuzzNow.AddDate(0, 0, DefaultSlotDays), false},
		{"explicit period", "service=maternite&from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z",
			time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), false},
		{"longest period", "service=maternite&from=2026-11-24T00:00:00Z&to=2027-01-25T00:00:00Z",
			time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 25, 0, 0, 0, 0, time.UTC), false},
		{"period too long", "service=maternite&from=2026-11-24T00:00:00Z&to=2027-01-25T00:00:01Z", time.Time{}, time.Time{}, true},
		{"empty period", "service=maternite&from=2026-11-24T00:00:00Z&to=2026-11-24T00:00:00Z", time.Time{}, time.Time{}, true},
		{"reversed period", "service=maternite&from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z", time.Time{}, time.Time{}, true},
		{"no service", "from=2026-11-24T00:00:00Z", time.Time{}, time.Time{}, true},
		{"repeated service", "service=a&service=b", time.Time{}, time.Time{}, true},
		{"unknown parameter", "service=maternite&patient=x", time.Time{}, time.Time{}, true},
		{"from not RFC 3339", "service=maternite&from=2026-11-24", time.Time{}, time.Time{}, true},
		{"to not RFC 3339", "service=maternite&to=tomorrow", time.Time{}, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := parseSlotQuery("chu-exemple", v, fuzzNow)
			if tt.wantErr {
				if !portal.IsCode(err, portal.ErrInvalid) {
					t.Fatalf("err = %v, want invalid_request", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !q.From.Equal(tt.from) || !q.To.Equal(tt.to) {
				t.Errorf("period [%v, %v), want [%v, %v)", q.From, q.To, tt.from, tt.to)
			}
		})
	}
}

// fetching finds the CSS functions that load a resource.
var fetching = regexp.MustCompile(`(?i)(url|src|image|image-set|cross-fade|element)\(`)

// cssBalanced reports whether every string and parenthesis of v is closed.
func cssBalanced(v string) bool {
	depth, quote := 0, rune(0)
	for _, c := range v {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return quote == 0 && depth == 0
}

// themeDecl is one declaration ThemeCSS may write.
var themeDecl = regexp.MustCompile(`^--parcours-([a-z-]+):([^;{}<>\\]+)$`)

func FuzzThemeCSS(f *testing.F) {
	for _, s := range [][2]string{
		{"primary", "#0b5cad"},
		{"on-primary", "rgb(255, 255, 255)"},
		{"font", `"Marianne", Arial, sans-serif`},
		{"radius", "calc(1rem - 2px)"},
		{"primary", "red;}body{display:none"},
		{"primary", "red</style><script>alert(1)</script>"},
		{"background", "url(..%2Fapi%2Fv1%2Fsession)"},
		{"background", `image-set("x" 1x)`},
		{"font", `"unclosed`},
		{"primary", "rgb(1,2,3"},
		{"primary", `\3c /style\3e`},
		{"primary", "red /* comment */"},
		{"unknown", "red"},
		{"text", strings.Repeat("a", 101)},
	} {
		f.Add(s[0], s[1], "#fff")
	}
	f.Fuzz(func(t *testing.T, key, value, other string) {
		q := url.Values{}
		q.Set("theme-"+key, value)
		q.Set("theme-text", other)
		css := ThemeCSS(q)
		if css == "" {
			return
		}
		body, ok := strings.CutPrefix(css, ":root{")
		if !ok || !strings.HasSuffix(body, ";}") {
			t.Fatalf("ThemeCSS = %q, want :root{…;}", css)
		}
		body = strings.TrimSuffix(body, "}")
		for _, bad := range []string{"<", "{", "}", `\`, "/*", "\n", "\r", "\x00"} {
			if strings.Contains(body, bad) {
				t.Fatalf("ThemeCSS = %q holds %q", css, bad)
			}
		}
		decls := strings.Split(strings.TrimSuffix(body, ";"), ";")
		for _, d := range decls {
			m := themeDecl.FindStringSubmatch(d)
			if m == nil {
				t.Fatalf("declaration %q of %q is not --parcours-<key>:<value>", d, css)
			}
			if !slices.Contains(ThemeKeys, m[1]) {
				t.Fatalf("declaration %q sets an unknown key", d)
			}
			if len(m[2]) > 100 {
				t.Fatalf("declaration %q: value longer than 100 characters", d)
			}
			if fetching.MatchString(m[2]) {
				t.Fatalf("declaration %q may make the frame fetch a URL", d)
			}
			if !cssBalanced(m[2]) {
				t.Fatalf("declaration %q leaves a string or a block open", d)
			}
			want := strings.TrimSpace(q.Get("theme-" + m[1]))
			if m[2] != want {
				t.Fatalf("declaration %q does not carry the value %q as given", d, want)
			}
		}
		if len(decls) > 2 {
			t.Fatalf("%d declarations from 2 parameters: %q", len(decls), css)
		}
	})
}

// zeroWeighted reports whether the last entry for coding in an
// Accept-Encoding header gives it an explicit weight of zero, and whether
// there is an entry at all.
func zeroWeighted(accept, coding string) (zero, listed bool) {
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		if strings.ToLower(strings.TrimSpace(fields[0])) != coding {
			continue
		}
		listed, zero = true, false
		for _, p := range fields[1:] {
			p = strings.ToLower(strings.TrimSpace(p))
			if v, ok := strings.CutPrefix(p, "q="); ok {
				f, err := strconv.ParseFloat(v, 64)
				zero = err != nil || !(f > 0 && f <= 1)
			}
		}
	}
	return zero, listed
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"",
		"gzip, deflate, br, zstd",
		"br;q=0, gzip",
		"BR;Q=0, GZIP",
		"*",
		"*;q=0",
		"*;q=0, gzip;q=0.001",
		"br;q=0, *",
		"identity",
		"identity;q=0, *;q=0",
		"br;q=1.5, gzip;q=-1, zstd;q=NaN",
		"br;q=0.5;q=0",
		"gzip;q=0, gzip",
		";;;,,,=",
		"br ; q = 0",
	} {
		f.Add(s, true, true, true)
		f.Add(s, false, true, false)
	}
	f.Fuzz(func(t *testing.T, accept string, br, zstd, gzip bool) {
		available := map[string][]byte{"": nil}
		for c, on := range map[string]bool{"br": br, "zstd": zstd, "gzip": gzip} {
			if on {
				available[c] = nil
			}
		}
		got := negotiate(accept, available)
		if got == "" {
			return
		}
		if _, ok := available[got]; !ok {
			t.Fatalf("negotiate(%q) = %q, not an available coding %v", accept, got, available)
		}
		zero, listed := zeroWeighted(accept, got)
		if listed && zero {
			t.Fatalf("negotiate(%q) = %q, which the header refuses", accept, got)
		}
		if !listed {
			if starZero, starListed := zeroWeighted(accept, "*"); !starListed || starZero {
				t.Fatalf("negotiate(%q) = %q: neither named nor accepted by *", accept, got)
			}
		}
	})
}
