// Package replace_test checks the modules go.mod puts in place of vugu's
// vjson and tidwall's pretty (wasm/replace/vjson, wasm/replace/pretty)
// against encoding/json: their directories are modules of their own, which
// `go test ./...` does not enter, so their tests live here, where the
// imports resolve to them.
package replace_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/tidwall/pretty"
	"github.com/vugu/vjson"
)

// The replacements are in use: upstream's vjson has no doc mentioning
// Parcours, and upstream's pretty packs short arrays on one line.
func TestReplacementsAreInUse(t *testing.T) {
	if got := string(pretty.Pretty([]byte(`[1,2]`))); got != "[\n  1,\n  2\n]\n" {
		t.Errorf("pretty.Pretty([1,2]) = %q: not wasm/replace/pretty", got)
	}
	if _, err := vjson.Marshal(struct{}{}); err == nil {
		t.Error("vjson.Marshal(struct{}{}): no error: not wasm/replace/vjson")
	}
}

// kind is a named string type, as a view may bind to .value.
type kind string

// vugu marshals DOM property values: strings and booleans.
func TestVJSONMarshal(t *testing.T) {
	for _, v := range []any{
		"", "a\"b\\c", "<script>&", "\u2028", "\x00\x1f", "bad\xffutf8", "Élodie 😀",
		true, false, 0, -12, int64(1) << 60, 1.5, -0.0, 1e21, 1e-7, nil,
		kind("named"), int32(-3), uint8(200), uint64(1) << 63, float32(0.1),
	} {
		got, err := vjson.Marshal(v)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", v, err)
			continue
		}
		// The same value as encoding/json's encoding, read by encoding/json.
		want, _ := json.Marshal(v)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Errorf("Marshal(%#v) = %s: not JSON: %v", v, got, err)
			continue
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("Marshal(%#v) = %s, reads as %#v; want %#v", v, got, g, w)
		}
	}
	raw, err := vjson.Marshal(vjson.RawMessage(`{"a":1}`))
	if err != nil || string(raw) != `{"a":1}` {
		t.Errorf("Marshal(RawMessage) = %s, %v", raw, err)
	}
	for _, v := range []any{vjson.RawMessage(`{`), struct{}{}, []string{"a"}, map[string]any{}} {
		if _, err := vjson.Marshal(v); err == nil {
			t.Errorf("Marshal(%#v): no error", v)
		}
	}
}

// checkVJSONUnmarshal decodes data as domrender does (into a
// map[string]any) and as encoding/json does.
func checkVJSONUnmarshal(t *testing.T, data []byte) {
	t.Helper()
	var got, want map[string]any
	gerr := vjson.Unmarshal(data, &got)
	werr := json.Unmarshal(data, &want)
	if (gerr != nil) != (werr != nil) {
		t.Fatalf("Unmarshal %q: got error %v, want %v", data, gerr, werr)
	}
	// encoding/json reads invalid UTF-8 as U+FFFD, gjson keeps it: the
	// browser's JSON.stringify never writes it.
	if gerr == nil && !reflect.DeepEqual(got, want) && utf8.Valid(data) {
		t.Fatalf("Unmarshal %q:\n got %#v\nwant %#v", data, got, want)
	}
}

// domrender decodes each DOM event into a map[string]any.
func TestVJSONUnmarshal(t *testing.T) {
	for _, s := range []string{
		`{"position_id":"0_1","event_type":"click","capture":false,"passive":true,"event_summary":{"type":"click","target":{"value":"a\u00e9\"","checked":true},"keys":[1,2.5,-3e2,null]}}`,
		`{}`, `null`, `{"a":{"b":{"c":[[]]}}}`, `{"a":1,"a":2}`, `{"\ud83d\ude00":"\ud800"}`,
		`[]`, `"x"`, `{`, ``, `{"a":1,}`, `{"a":1e400}`, `{"a":[-1e999]}`,
	} {
		checkVJSONUnmarshal(t, []byte(s))
	}
	var a any
	if err := vjson.Unmarshal([]byte(`[1,"b"]`), &a); err != nil || !reflect.DeepEqual(a, []any{1.0, "b"}) {
		t.Errorf("Unmarshal into *any = %#v, %v", a, err)
	}
	var r vjson.RawMessage
	if err := vjson.Unmarshal([]byte(`{"a" : 1}`), &r); err != nil || string(r) != `{"a" : 1}` {
		t.Errorf("Unmarshal into *RawMessage = %s, %v", r, err)
	}
	var s string
	if err := vjson.Unmarshal([]byte(`"a"`), &s); err == nil {
		t.Error("Unmarshal into *string: no error")
	}
}

func FuzzVJSONUnmarshal(f *testing.F) {
	f.Add([]byte(`{"position_id":"0_1","event_type":"input","event_summary":{"target":{"value":"x"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkVJSONUnmarshal(t, data) })
}

// checkPretty formats valid JSON with pretty's three functions: the values
// are unchanged, Ugly is encoding/json's Compact, and Pretty's lines are
// indented as asked.
func checkPretty(t *testing.T, data []byte) {
	t.Helper()
	// Whatever it is given, it returns (gjson hands it any string).
	pretty.PrettyOptions(data, &pretty.Options{SortKeys: true})
	pretty.Ugly(data)
	if !json.Valid(data) || !gjson.ValidBytes(data) {
		return
	}
	var compact bytes.Buffer
	json.Compact(&compact, data)
	if got := pretty.Ugly(data); !bytes.Equal(got, compact.Bytes()) {
		t.Fatalf("Ugly(%q) = %q, want %q", data, got, compact.Bytes())
	}
	want, _ := decodeNumbers(data)
	for _, o := range []*pretty.Options{nil, {Prefix: "> ", Indent: "\t", SortKeys: true}} {
		out := pretty.PrettyOptions(data, o)
		// Without its prefixes, the output is the same JSON.
		if o != nil {
			out = bytes.ReplaceAll(append([]byte("\n"), out...), []byte("\n> "), []byte("\n"))
		}
		if got, err := decodeNumbers(out); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("PrettyOptions(%q, %+v) = %q: reads as %#v (%v), want %#v", data, o, out, got, err, want)
		}
	}
}

// decodeNumbers decodes data keeping numbers as written.
func decodeNumbers(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func TestPretty(t *testing.T) {
	for _, s := range []string{
		`{"b":1,"a":[1,{"d":"x\"y","c":null}],"e":{},"f":[]}`,
		` [ true , false , null , -1.5e3 , "\u00e9" ] `, `"s"`, `0`, `{"a\/b":"c","a":{"z":1,"y":2}}`,
	} {
		checkPretty(t, []byte(s))
	}
	for _, s := range []string{`[}`, `{]`, `{a}`, `{"a"`, `["a`, `{"a":}`, `]]]`, `"\`, `{"a":1,,}`} {
		checkPretty(t, []byte(s))
	}
	// Deep nesting: written once per level (not copied at each), and past
	// a thousand levels left as it is.
	for _, n := range []int{999, 1000, 1001, 5000} {
		deep := strings.Repeat(`{"b":1,"a":`, n) + "[1]" + strings.Repeat("}", n)
		checkPretty(t, []byte(deep))
	}
	got := string(pretty.PrettyOptions([]byte(`{"b":1,"a":{"d":[],"c":{}}}`), &pretty.Options{Indent: "  ", SortKeys: true}))
	want := "{\n  \"a\": {\n    \"c\": {},\n    \"d\": []\n  },\n  \"b\": 1\n}\n"
	if got != want {
		t.Errorf("PrettyOptions with SortKeys =\n%s\nwant\n%s", got, want)
	}
	// gjson's modifiers reach it.
	if got := gjson.Get(`{"b":[1],"a":2}`, `@pretty:{"sortKeys":true}`).Raw; got != "{\n  \"a\": 2,\n  \"b\": [\n    1\n  ]\n}\n" {
		t.Errorf("@pretty = %q", got)
	}
	if got := gjson.Get("{ \"a\" : [ 1 ] }", `@ugly`).Raw; got != `{"a":[1]}` {
		t.Errorf("@ugly = %q", got)
	}
}

func FuzzPretty(f *testing.F) {
	f.Add([]byte(`{"b":1,"a":[1,{"d":"x\"y","c":null}],"e":{},"f":[]}`))
	f.Fuzz(checkPretty)
}
