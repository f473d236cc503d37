package wirejson_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/wirejson"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/access"
	"github.com/parcours-sante/parcours/widgets/booking"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/messaging"
	"github.com/parcours-sante/parcours/widgets/questionnaire"
)

// The features encoding/json has that the wire types do not all use, so
// that the differential tests cover them too.
type (
	inner struct {
		A string `json:"a"`
		B int    `json:"b,omitempty"`
	}
	Embedded struct {
		A     string  `json:"a"` // shadowed by features.A
		Deep  string  `json:"deep"`
		Tie   int     // ambiguous with Other.Tie: dropped
		Score float32 `json:"score,omitempty"`
	}
	Other struct {
		Tie    int
		Tagged int `json:"tagged"`
	}
	Weak struct {
		Tagged string // loses to Other's tagged name at the same depth
	}
	text string // a TextMarshaler
	ptrM struct{ N int }
	valM struct{ S string }
	zero struct{ N int }

	features struct {
		A string `json:"a"`
		Embedded
		*Other
		Weak
		Inner      inner             `json:"inner"`
		Ptr        *inner            `json:"ptr"`
		PtrOmit    *inner            `json:"ptr_omit,omitempty"`
		Slice      []inner           `json:"slice"`
		Bytes      []byte            `json:"bytes"`
		Ints       map[int]string    `json:"ints,omitempty"`
		Uints      map[uint8]bool    `json:"uints"`
		Strs       map[string][]int  `json:"strs"`
		Any        any               `json:"any"`
		Anys       []any             `json:"anys,omitempty"`
		Raw        json.RawMessage   `json:"raw,omitempty"`
		Text       text              `json:"text"`
		TextPtr    *text             `json:"text_ptr,omitempty"`
		TextMap    map[string]text   `json:"text_map,omitempty"`
		PtrM       ptrM              `json:"ptr_m"`
		ValM       valM              `json:"val_m"`
		ValMs      []valM            `json:"val_ms,omitempty"`
		Zero       zero              `json:"zero,omitzero"`
		ZeroTime   time.Time         `json:"zero_time,omitzero"`
		Time       time.Time         `json:"time"`
		F64        float64           `json:"f64"`
		F32        float32           `json:"f32,omitempty"`
		I8         int8              `json:"i8"`
		U16        uint16            `json:"u16"`
		Arr        [3]int            `json:"arr"`
		Nested     [][]string        `json:"nested"`
		NoTag      string            //
		Skipped    string            `json:"-"`
		Dash       string            `json:"-,"`
		Odd        string            `json:"weird name!"`
		Bad        string            `json:"bad\"name"`
		unexported string            //
		Maps       []map[string]bool `json:"maps,omitempty"`
		Num        json.Number       `json:"num"`
		NumOmit    json.Number       `json:"num_omit,omitempty"`
	}
)

func (t text) MarshalText() ([]byte, error) { return []byte("t:" + string(t)), nil }
func (t *text) UnmarshalText(b []byte) error {
	*t = text(strings.TrimPrefix(string(b), "t:"))
	return nil
}
func (p *ptrM) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(` { "n" : %d } `, p.N)), nil }
func (p *ptrM) UnmarshalJSON(b []byte) error {
	var x struct{ N int }
	err := json.Unmarshal(b, &x)
	p.N = x.N + 1
	return err
}
func (v valM) MarshalJSON() ([]byte, error) {
	return json.Marshal("v<" + v.S + ">")
}
func (z zero) IsZero() bool { return z.N < 0 }

type textKey int

func (k textKey) MarshalText() ([]byte, error) { return []byte("k" + strconv.Itoa(int(k))), nil }
func (k *textKey) UnmarshalText(b []byte) error {
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "k"))
	*k = textKey(n)
	return err
}

// wireTypes are the types the API, the widgets' states and their forms
// carry, and features.
var wireTypes = []reflect.Type{
	reflect.TypeFor[features](),
	reflect.TypeFor[booking.Snapshot](),
	reflect.TypeFor[booking.FormState](),
	reflect.TypeFor[questionnaire.Snapshot](),
	reflect.TypeFor[questionnaire.FormState](),
	reflect.TypeFor[access.Snapshot](),
	reflect.TypeFor[access.FormState](),
	reflect.TypeFor[messaging.Snapshot](),
	reflect.TypeFor[documents.Snapshot](),
	reflect.TypeFor[client.EstablishmentList](),
	reflect.TypeFor[client.BookBody](),
	reflect.TypeFor[client.AppointmentList](),
	reflect.TypeFor[client.SessionBody](),
	reflect.TypeFor[client.AccessLog](),
	reflect.TypeFor[client.ErrorBody](),
	reflect.TypeFor[client.GrantList](),
	reflect.TypeFor[client.GrantBody](),
	reflect.TypeFor[client.DocumentList](),
	reflect.TypeFor[client.AnalyteList](),
	reflect.TypeFor[client.UploadBody](),
	reflect.TypeFor[client.StartThreadBody](),
	reflect.TypeFor[client.SendBody](),
	reflect.TypeFor[client.DemoPractitionerSignInBody](),
	reflect.TypeFor[portal.Conversation](),
	reflect.TypeFor[portal.Trend](),
	reflect.TypeFor[portal.QuestionnaireDraft](),
	reflect.TypeFor[portal.QuestionnaireResult](),
	reflect.TypeFor[portal.NewUpload](),
	reflect.TypeFor[portal.Notification](),
	reflect.TypeFor[portal.PartialError](),
	reflect.TypeFor[[]portal.Service](),
	reflect.TypeFor[[]widgets.SignInLink](),
	reflect.TypeFor[engine.Localized](),
	reflect.TypeFor[map[string]any](),
}

// gen fills values of any type with random content, the edges included:
// nil and empty, HTML and control characters, invalid UTF-8, large and
// tiny numbers.
type gen struct {
	r     *rand.Rand
	depth int
}

var samples = []string{"", "a", "Élodie Fournier", "<script>&amp;</script>", "\u2028\u2029", "tab\there\nnl\"q\\", "\x00\x1f\x7f", "bad\xff\xfeutf8", "😀 emoji", "Ωmega", "a/b", "t:x"}

func (g *gen) str() string {
	s := samples[g.r.IntN(len(samples))]
	if g.r.IntN(3) == 0 {
		s += samples[g.r.IntN(len(samples))]
	}
	return s
}

func (g *gen) float() float64 {
	switch g.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return g.r.NormFloat64() * 1e-8
	case 3:
		return g.r.NormFloat64() * 1e22
	case 4:
		return float64(g.r.IntN(1000)) / 10
	}
	return g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(40)-20))
}

func (g *gen) generic() any {
	g.depth++
	defer func() { g.depth-- }()
	switch n := g.r.IntN(7); {
	case n == 0 || g.depth > 3:
		return nil
	case n == 1:
		return g.r.IntN(2) == 0
	case n == 2:
		return g.float()
	case n == 3:
		return g.str()
	case n == 4:
		a := make([]any, g.r.IntN(3))
		for i := range a {
			a[i] = g.generic()
		}
		return a
	}
	m := map[string]any{}
	for range g.r.IntN(3) {
		m[g.str()] = g.generic()
	}
	return m
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	rawType    = reflect.TypeFor[json.RawMessage]()
	numberType = reflect.TypeFor[json.Number]()
	numbers    = []string{"", "0", "-1.5e-7", "12", "1E400", "x", "01", "3.0", "1 ", "2\n", " 3", "-", "1.", ".5", "1e", "-0.0e+00"}
)

func (g *gen) fill(v reflect.Value) {
	g.depth++
	defer func() { g.depth-- }()
	t := v.Type()
	switch t {
	case timeType:
		if g.r.IntN(4) > 0 {
			tm := time.Unix(g.r.Int64N(4e9), g.r.Int64N(1e9))
			if g.r.IntN(2) == 0 {
				tm = tm.In(time.FixedZone("", 3600*(g.r.IntN(5)-2)))
			} else {
				tm = tm.UTC()
			}
			v.Set(reflect.ValueOf(tm))
		}
		return
	case numberType:
		v.SetString(numbers[g.r.IntN(len(numbers))])
		return
	case rawType:
		if g.r.IntN(3) > 0 {
			b, _ := json.MarshalIndent(g.generic(), " ", "\t")
			v.SetBytes(b)
		}
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(g.r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := g.r.Int64() >> g.r.IntN(64)
		if g.r.IntN(2) == 0 {
			n = -n
		}
		if !v.OverflowInt(n) {
			v.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n := g.r.Uint64() >> g.r.IntN(64); !v.OverflowUint(n) {
			v.SetUint(n)
		}
	case reflect.Float32, reflect.Float64:
		if f := g.float(); !v.OverflowFloat(f) {
			v.SetFloat(f)
		}
	case reflect.String:
		v.SetString(g.str())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			if x := g.generic(); x != nil {
				v.Set(reflect.ValueOf(x))
			}
		}
	case reflect.Pointer:
		if g.depth < 6 && g.r.IntN(3) > 0 {
			v.Set(reflect.New(t.Elem()))
			g.fill(v.Elem())
		}
	case reflect.Slice:
		if g.depth > 6 || g.r.IntN(4) == 0 {
			return // nil
		}
		n := g.r.IntN(3)
		v.Set(reflect.MakeSlice(t, n, n))
		for i := range n {
			g.fill(v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			g.fill(v.Index(i))
		}
	case reflect.Map:
		if g.depth > 6 || g.r.IntN(4) == 0 {
			return
		}
		v.Set(reflect.MakeMap(t))
		for range g.r.IntN(3) {
			k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			g.fill(k)
			g.fill(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				g.fill(f)
			}
		}
	}
}

// TestMatchesEncodingJSON encodes random values of every wire type with
// both packages, byte for byte, and decodes encoding/json's bytes with both.
func TestMatchesEncodingJSON(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	for _, typ := range wireTypes {
		t.Run(typ.String(), func(t *testing.T) {
			for i := range 300 {
				p := reflect.New(typ)
				g.fill(p.Elem())
				// Through the pointer (addressable) and as a value.
				for _, v := range []any{p.Interface(), p.Elem().Interface()} {
					want, werr := json.Marshal(v)
					got, gerr := wirejson.Marshal(v)
					if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
						t.Fatalf("value %d: Marshal\n got %s (%v)\nwant %s (%v)", i, got, gerr, want, werr)
					}
					if werr != nil {
						continue
					}
					checkUnmarshal(t, typ, want)
				}
			}
		})
	}
}

// checkUnmarshal decodes data into fresh values of typ with both packages
// and compares the results, then their encodings.
func checkUnmarshal(t *testing.T, typ reflect.Type, data []byte) {
	t.Helper()
	want, got := reflect.New(typ), reflect.New(typ)
	werr := json.Unmarshal(data, want.Interface())
	gerr := wirejson.Unmarshal(data, got.Interface())
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("Unmarshal %s into %s: got error %v, want %v", data, typ, gerr, werr)
	}
	if werr != nil {
		return
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		t.Fatalf("Unmarshal %s into %s:\n got %#v\nwant %#v", data, typ, got.Elem().Interface(), want.Elem().Interface())
	}
	wb, werr := json.Marshal(want.Interface())
	gb, gerr := wirejson.Marshal(got.Interface())
	if (werr != nil) != (gerr != nil) || !bytes.Equal(gb, wb) {
		t.Fatalf("Marshal after Unmarshal %s:\n got %s (%v)\nwant %s (%v)", data, gb, gerr, wb, werr)
	}
}

// TestUnmarshalEdges decodes what a random value cannot produce: null into
// set values, merges into existing values, names in another case, type
// errors, invalid JSON.
func TestUnmarshalEdges(t *testing.T) {
	cases := []struct {
		into any
		data string
	}{
		{&features{}, `{"A":"x","DEEP":"d","tie":3,"TAGGED":4,"Unknown":1}`},
		{&features{Ptr: &inner{A: "kept", B: 2}}, `{"ptr":{"b":3}}`},
		{&features{Ptr: &inner{A: "kept"}}, `{"ptr":null,"time":null,"raw":null,"any":null,"slice":null}`},
		{&features{Slice: []inner{{A: "x", B: 1}, {A: "y"}}}, `{"slice":[{"a":"z"}]}`},
		{&features{Slice: []inner{{A: "x", B: 1}}}, `{"slice":[]}`},
		{&features{}, `{"slice":[]}`},
		{&features{Strs: map[string][]int{"k": {1}}}, `{"strs":{"j":[2,3]}}`},
		{&features{}, `{"ints":{"-3":"a","x":"b"}}`},
		{&features{}, `{"uints":{"256":true}}`},
		{&features{}, `{"i8":128}`},
		{&features{}, `{"i8":1.5}`},
		{&features{}, `{"u16":-1}`},
		{&features{}, `{"f32":1e40}`},
		{&features{}, `{"f64":1e400}`},
		{&features{}, `{"any":1e400}`},
		{&features{}, `{"bytes":"aGVsbG8="}`},
		{&features{}, `{"bytes":"aGVsbG8"}`},
		{&features{}, `{"bytes":""}`},
		{&features{}, `{"bytes":[104,105]}`},
		{&features{}, `{"arr":[1,2,3,4]}`},
		{&features{Arr: [3]int{7, 8, 9}}, `{"arr":[1]}`},
		{&features{}, `{"text":"t:abc","text_ptr":"t:p","text_map":{"k":"t:v"}}`},
		{&features{}, `{"text":1}`},
		{&features{}, `{"ptr_m":{"n":4},"val_m":"x"}`},
		{&features{}, `{"a":"\ud800\udc00 \ud800 \udc00 \u00e9"}`},
		{&features{}, "{\"a\":\"bad \xff utf8\",\"b\xff\":1}"},
		{&features{}, `{"a":1}`},
		{&features{}, `{"inner":[]}`},
		{&features{}, `{"slice":{}}`},
		{&features{}, `{"nested":[["a"],null,[]]}`},
		{&features{}, `{"weird name!":"w","bad\"name":"b","Bad":"c","-":"dash"}`},
		{&features{}, `  {"a" : "spaced" }  `},
		{&features{}, `{"a":"x"} trailing`},
		{&features{}, `{"a":"x",}`},
		{&features{}, `{"a":01}`},
		{&features{}, `{"f64":-0}`},
		{&features{}, `[1,2]`},
		{&features{}, `null`},
		{&features{}, ``},
		{new(any), `{"a":[1,"b",null,true,{"c":{}}]}`},
		{new(map[string]any), `{"a":1,"a":2}`},
		{new([]int), `[1,2,3]`},
		{new(string), `"\u003c"`},
		{new(*int), `null`},
		{new(time.Time), `"2026-11-25T10:00:00+01:00"`},
		{new(time.Time), `"yesterday"`},
		{new(json.RawMessage), ` [ 1 , 2 ] `},
		{&features{}, `{"num":-1.5e3,"num_omit":"12"}`},
		{&features{}, `{"num":"twelve"}`},
		{&features{}, `{"num":true}`},
		{&features{}, `{"num":"1 "}`},
		{&features{}, `{"num":"-0.5E+2"}`},
	}
	for _, c := range cases {
		typ := reflect.TypeOf(c.into).Elem()
		// Both decode into equal copies of the starting value.
		start, _ := json.Marshal(c.into)
		want, got := reflect.New(typ), reflect.New(typ)
		want.Elem().Set(reflect.ValueOf(c.into).Elem())
		got.Elem().Set(reflect.ValueOf(deepCopy(c.into)).Elem())
		werr := json.Unmarshal([]byte(c.data), want.Interface())
		gerr := wirejson.Unmarshal([]byte(c.data), got.Interface())
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%s into %T (from %s): got error %v, want %v", c.data, c.into, start, gerr, werr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%s into %T:\n got %#v\nwant %#v", c.data, c.into, got.Elem().Interface(), want.Elem().Interface())
		}
	}
	// Nesting beyond encoding/json's limit is refused before gjson, which
	// validates recursively, reads it.
	deep := strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20)
	if err := wirejson.Unmarshal([]byte(deep), new(any)); err == nil {
		t.Error("Unmarshal of 1 Mi nested arrays: no error")
	}
	if err := json.Unmarshal([]byte(deep), new(any)); err == nil {
		t.Error("encoding/json took 1 Mi nested arrays: the test means nothing")
	}
	ok := strings.Repeat(`{"a":`, 9000) + "1" + strings.Repeat("}", 9000)
	checkUnmarshal(t, reflect.TypeFor[any](), []byte(ok))
	if err := wirejson.Unmarshal([]byte(`{}`), nil); err == nil {
		t.Error("Unmarshal into nil: no error")
	}
	// Map keys with text methods are refused, not handled differently.
	if _, err := wirejson.Marshal(map[textKey]int{1: 2}); err == nil {
		t.Error("Marshal with a TextMarshaler key: no error")
	}
	if err := wirejson.Unmarshal([]byte(`{"k1":2}`), new(map[textKey]int)); err == nil {
		t.Error("Unmarshal with a TextUnmarshaler key: no error")
	}
	if err := wirejson.Unmarshal([]byte(`{}`), features{}); err == nil {
		t.Error("Unmarshal into a non-pointer: no error")
	}
}

// deepCopy copies v through encoding/json's view of it, enough for the
// starting values above (no shared slices or maps with the original).
func deepCopy(v any) any {
	p := reflect.New(reflect.TypeOf(v).Elem())
	p.Elem().Set(reflect.ValueOf(v).Elem())
	switch x := v.(type) {
	case *features:
		c := *x
		if x.Ptr != nil {
			in := *x.Ptr
			c.Ptr = &in
		}
		c.Slice = append([]inner(nil), x.Slice...)
		if x.Slice == nil {
			c.Slice = nil
		}
		if x.Strs != nil {
			c.Strs = map[string][]int{}
			for k, e := range x.Strs {
				c.Strs[k] = append([]int(nil), e...)
			}
		}
		return &c
	}
	return p.Interface()
}

// TestMarshalEdges encodes what the wire types do not hold: unsupported
// values and types, cycles' depth, Marshalers that fail or return invalid
// JSON.
func TestMarshalEdges(t *testing.T) {
	type cyc struct{ P *cyc }
	c := &cyc{}
	c.P = c
	for _, v := range []any{
		math.Inf(1), math.NaN(), float32(1e-7), 1e21, 123456789.0, 1e-6,
		make(chan int), func() {}, complex(1, 2),
		map[bool]int{true: 1}, map[float64]int{1: 1},
		json.RawMessage(`{"a":`), json.RawMessage(` {"a" : "<&>\u2028"} `), json.RawMessage("\"\u2028\""),
		c, nil, (*features)(nil), []byte(nil), []byte{}, [2]byte{1, 2},
		struct {
			V any `json:"v,omitempty"`
		}{V: (*int)(nil)},
		struct {
			T *zero `json:"t,omitzero"`
		}{T: &zero{N: -1}},
	} {
		want, werr := json.Marshal(v)
		got, gerr := wirejson.Marshal(v)
		if (werr != nil) != (gerr != nil) || werr == nil && !bytes.Equal(got, want) {
			t.Errorf("Marshal %#v:\n got %s (%v)\nwant %s (%v)", v, got, gerr, want, werr)
		}
	}
	type withString struct {
		N int `json:"n,string"`
	}
	if _, err := wirejson.Marshal(withString{}); err == nil {
		t.Error("the ,string option: no error")
	}
	if err := wirejson.Unmarshal([]byte(`{"n":"1"}`), &withString{}); err == nil {
		t.Error("the ,string option: no error")
	}
}

// TestMarshalIndent indents random values of every wire type as
// encoding/json does.
func TestMarshalIndent(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(5, 6))}
	for _, typ := range wireTypes {
		for i := range 50 {
			p := reflect.New(typ)
			g.fill(p.Elem())
			want, werr := json.MarshalIndent(p.Interface(), "> ", "\t")
			got, gerr := wirejson.MarshalIndent(p.Interface(), "> ", "\t")
			if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
				t.Fatalf("%s, value %d:\n got %s (%v)\nwant %s (%v)", typ, i, got, gerr, want, werr)
			}
		}
	}
}

// FuzzUnmarshal decodes arbitrary input into each wire type with both
// packages: they must agree on whether it decodes and on what it gives.
func FuzzUnmarshal(f *testing.F) {
	g := &gen{r: rand.New(rand.NewPCG(3, 4))}
	for i, typ := range wireTypes {
		p := reflect.New(typ)
		g.fill(p.Elem())
		if b, err := json.Marshal(p.Interface()); err == nil {
			f.Add(b, uint8(i))
		}
	}
	f.Add([]byte(`{"A":"x","DEEP":"d","tie":3,"ptr":null,"bytes":"aGk=","ints":{"1":"a"}}`), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		checkUnmarshal(t, wireTypes[int(which)%len(wireTypes)], data)
	})
}
