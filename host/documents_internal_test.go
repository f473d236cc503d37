package host

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

func TestParseDocumentFilter(t *testing.T) {
	tests := []struct {
		name, query string
		want        portal.DocumentFilter
		wantErr     bool
	}{
		{"none", "", portal.DocumentFilter{}, false},
		{"all", "type=lab_report&q=bilan%20sanguin&service=diabetologie&patient=pat-1&held=true&lang=en",
			portal.DocumentFilter{Type: portal.DocLabReport, Search: "bilan sanguin", Service: "diabetologie", Patient: "pat-1", Held: true}, false},
		{"held false", "held=false", portal.DocumentFilter{}, false},
		{"accents", "q=%C3%A9chographie", portal.DocumentFilter{Search: "échographie"}, false},
		{"longest search", "q=" + strings.Repeat("%C3%A9", portal.MaxDocumentSearch), portal.DocumentFilter{Search: strings.Repeat("é", portal.MaxDocumentSearch)}, false},
		{"search too long", "q=" + strings.Repeat("a", portal.MaxDocumentSearch+1), portal.DocumentFilter{}, true},
		{"held yes", "held=yes", portal.DocumentFilter{}, true},
		{"held empty", "held=", portal.DocumentFilter{}, false},
		{"unknown type", "type=x-ray", portal.DocumentFilter{}, true},
		{"type twice", "type=lab_report&type=imaging_report", portal.DocumentFilter{}, true},
		{"unknown parameter", "sort=date", portal.DocumentFilter{}, true},
		{"control in search", "q=a%00b", portal.DocumentFilter{}, true},
		{"invalid UTF-8 in search", "q=%FF", portal.DocumentFilter{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parseDocumentFilter(v)
			if tt.wantErr {
				if !portal.IsCode(err, portal.ErrInvalid) {
					t.Fatalf("err = %v, want invalid_request", err)
				}
				return
			}
			if err != nil || f != tt.want {
				t.Fatalf("parseDocumentFilter(%q) = %+v, %v; want %+v", tt.query, f, err, tt.want)
			}
			// The client writes the query the host reads back.
			back, err := url.ParseQuery(strings.TrimPrefix(client.DocumentQuery(f), "?"))
			if err != nil {
				t.Fatal(err)
			}
			if again, err := parseDocumentFilter(back); err != nil || again != f {
				t.Errorf("round trip through client.DocumentQuery: %+v, %v", again, err)
			}
		})
	}
}

func FuzzParseDocumentFilter(f *testing.F) {
	for _, s := range []string{
		"",
		"type=lab_report",
		"type=imaging_report&q=%C3%A9chographie&lang=fr",
		"q=bilan&service=diabetologie&patient=pat-lucas-bernard&held=true",
		"held=false",
		"held=TRUE",
		"held=1",
		"type=x-ray",
		"q=" + strings.Repeat("a", 101),
		"q=a%00b",
		"q=%FF%FE",
		"q=line%0Abreak",
		"type=lab_report&type=lab_report",
		"patient=&held=",
		"color=red",
		"%zz",
		"q=a;type=b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := parseDocumentFilter(v)
		if err != nil {
			if code := portal.Code(err); code != portal.ErrInvalid {
				t.Fatalf("refusal with code %q: %v", code, err)
			}
			return
		}
		if verr := fl.Validate(); verr != nil {
			t.Fatalf("accepted a filter that does not validate: %v", verr)
		}
		for k, vs := range v {
			if !slices.Contains([]string{"type", "q", "service", "patient", "held", "lang"}, k) || len(vs) != 1 {
				t.Fatalf("accepted parameter %q = %q", k, vs)
			}
		}
		if string(fl.Type) != v.Get("type") || fl.Search != v.Get("q") || fl.Service != v.Get("service") || fl.Patient != v.Get("patient") ||
			fl.Held != (v.Get("held") == "true") {
			t.Fatalf("filter %+v does not reflect %q", fl, raw)
		}
		if fl.Type != "" && !fl.Type.Valid() {
			t.Fatalf("accepted type %q", fl.Type)
		}
		if !utf8.ValidString(fl.Search) || utf8.RuneCountInString(fl.Search) > portal.MaxDocumentSearch {
			t.Fatalf("accepted search %q", fl.Search)
		}
		back, err := url.ParseQuery(strings.TrimPrefix(client.DocumentQuery(fl), "?"))
		if err != nil {
			t.Fatalf("client.DocumentQuery(%+v) does not parse: %v", fl, err)
		}
		if again, err := parseDocumentFilter(back); err != nil || again != fl {
			t.Fatalf("round trip of %+v through client.DocumentQuery: %+v, %v", fl, again, err)
		}
	})
}

func TestParseDisposition(t *testing.T) {
	for q, want := range map[string]bool{"": false, "disposition=attachment": false, "disposition=inline": true, "disposition=inline&lang=en": true} {
		v, _ := url.ParseQuery(q)
		if got, err := parseDisposition(v); err != nil || got != want {
			t.Errorf("parseDisposition(%q) = %v, %v; want %v", q, got, err, want)
		}
	}
	for _, q := range []string{"disposition=open", "disposition=inline&disposition=inline", "x=1", "lang=fr&lang=en"} {
		v, _ := url.ParseQuery(q)
		if _, err := parseDisposition(v); !portal.IsCode(err, portal.ErrInvalid) {
			t.Errorf("parseDisposition(%q): %v, want invalid_request", q, err)
		}
	}
}

func TestDocumentBodyLimit(t *testing.T) {
	// A file of the limit, in base64 inside the JSON, fits.
	for _, n := range []int64{1, 3, 1 << 10, portal.DefaultMaxDocumentSize} {
		if got := documentBodyLimit(n); got < (n+2)/3*4+1024 {
			t.Errorf("documentBodyLimit(%d) = %d: no room for the file in base64", n, got)
		}
	}
}
