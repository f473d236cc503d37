// Package wirejson encodes and decodes Go values as encoding/json does, for
// the values the Parcours API and the widgets' states carry, without linking
// encoding/json.
//
// It exists for the browser build. encoding/json's reflective encoder and
// decoder are some 80 KB of the widgets' Wasm once compressed (brotli), which
// a patient on a mobile network downloads before the widgets run in place;
// this package reads through gjson, which the questionnaire engine links
// anyway, and reflects with the little of package reflect that fmt already
// links.
//
// What it does is encoding/json's, checked against it by differential tests
// and fuzzing over every type the API carries:
//   - field names from `json` tags, "-", omitempty and omitzero, embedded
//     structs promoted by encoding/json's rules, case-insensitive matching
//     of names when decoding, unknown names ignored;
//   - Marshaler, Unmarshaler, encoding.TextMarshaler and TextUnmarshaler
//     (time.Time, json.RawMessage), on values and on addressable pointers;
//   - strings escaped for HTML (<, >, & as \u003c…) with invalid UTF-8 as
//     U+FFFD; []byte as base64; floats written as encoding/json writes them;
//     maps with string or integer keys, sorted;
//   - null leaves a value unchanged, and sets pointers, slices, maps and
//     interfaces to nil; decoding into an existing slice reuses its elements.
//
// Not supported, refused with an error rather than guessed: the ",string"
// tag option, map keys of other kinds or with text methods (other than
// string keys when encoding), decoding into non-empty interfaces. Errors
// say what failed; their types are not encoding/json's. On a value of the
// wrong type, decoding stops at the first error (encoding/json goes on
// with the other fields): callers discard the value on any error.
//
// Decoding scans each container once per level of the Go type it fills:
// quick for the API's types, slow for deeply nested JSON decoded into an
// empty interface, which no API type has.
package wirejson

import (
	"encoding/base64"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// The method sets encoding/json looks for, declared here so that the
// package needs none of encoding/json's.
type (
	marshaler       interface{ MarshalJSON() ([]byte, error) }
	unmarshaler     interface{ UnmarshalJSON([]byte) error }
	textMarshaler   interface{ MarshalText() ([]byte, error) }
	textUnmarshaler interface{ UnmarshalText([]byte) error }
	zeroer          interface{ IsZero() bool }
)

var (
	marshalerType       = reflect.TypeFor[marshaler]()
	textMarshalerType   = reflect.TypeFor[textMarshaler]()
	textUnmarshalerType = reflect.TypeFor[textUnmarshaler]()
	zeroerType          = reflect.TypeFor[zeroer]()
)

// maxDepth is how deeply JSON may nest when decoding, as in encoding/json.
// maxMarshalDepth bounds encoding, in levels of Go values (pointers and
// interfaces count): encoding/json has no bound but a cycle's error.
const (
	maxDepth        = 10000
	maxMarshalDepth = 1 << 16
)

// Error is what Marshal and Unmarshal return.
type Error struct{ msg string }

func (e *Error) Error() string { return "wirejson: " + e.msg }

func errorf(parts ...string) error { return &Error{strings.Join(parts, "")} }

// field is one JSON member of a struct type.
type field struct {
	name      string
	index     []int
	tagged    bool
	omitEmpty bool
	omitZero  bool
	typ       reflect.Type // the field's declared type
}

var fieldCache sync.Map // reflect.Type → []field or error

// fields returns t's JSON members in encoding/json's order, with its rules
// for embedded structs: the shallowest name wins, a tagged name wins at
// its depth, and names left ambiguous are dropped.
func fields(t reflect.Type) ([]field, error) {
	if c, ok := fieldCache.Load(t); ok {
		if err, bad := c.(error); bad {
			return nil, err
		}
		return c.([]field), nil
	}
	fs, err := typeFields(t)
	if err != nil {
		fieldCache.Store(t, err)
		return nil, err
	}
	fieldCache.Store(t, fs)
	return fs, nil
}

func typeFields(t reflect.Type) ([]field, error) {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var current []level
	next := []level{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var found []field
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := 0; i < l.typ.NumField(); i++ {
				sf := l.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validName(name) {
					name = ""
				}
				var omitEmpty, omitZero bool
				for opts != "" {
					var o string
					o, opts, _ = strings.Cut(opts, ",")
					switch o {
					case "omitempty":
						omitEmpty = true
					case "omitzero":
						omitZero = true
					case "string":
						return nil, errorf("the ,string option of ", t.String(), ".", sf.Name, " is not supported")
					}
				}
				index := append(slices.Clip(l.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := field{name: name, index: index, tagged: name != "", omitEmpty: omitEmpty, omitZero: omitZero, typ: sf.Type}
					if f.name == "" {
						f.name = sf.Name
					}
					found = append(found, f)
					if count[l.typ] > 1 {
						// Twice at this depth: ambiguous, dropped below.
						found = append(found, f)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{typ: ft, index: index})
				}
			}
		}
	}
	// sort.Slice rather than slices.SortFunc: one sort for every element
	// type, where each generic instance adds 10 KB to the Wasm.
	sort.Slice(found, func(i, j int) bool {
		a, b := &found[i], &found[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if len(a.index) != len(b.index) {
			return len(a.index) < len(b.index)
		}
		if a.tagged != b.tagged {
			return a.tagged
		}
		return slices.Compare(a.index, b.index) < 0
	})
	out := found[:0]
	for i := 0; i < len(found); {
		j := i + 1
		for j < len(found) && found[j].name == found[i].name {
			j++
		}
		// found[i] is the shallowest, tagged first: it wins unless another
		// at its depth is as good.
		if j-i == 1 || len(found[i+1].index) > len(found[i].index) || found[i].tagged && !found[i+1].tagged {
			out = append(out, found[i])
		}
		i = j
	}
	sort.Slice(out, func(i, j int) bool { return slices.Compare(out[i].index, out[j].index) < 0 })
	return out, nil
}

// validName reports whether a tag's name is used as it is, as in
// encoding/json: letters, digits and some punctuation.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// fieldValue returns v's field at index, following embedded pointers. A
// nil one ends the walk (an invalid value and no error) when encoding; it
// is allocated when decoding (alloc), unless it cannot be set (a pointer to
// an unexported struct).
func fieldValue(v reflect.Value, index []int, alloc bool) (reflect.Value, error) {
	for n, i := range index {
		if n > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc {
					return reflect.Value{}, nil
				}
				if !v.CanSet() {
					return reflect.Value{}, errorf("cannot set the embedded pointer to an unexported struct ", v.Type().Elem().String())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, nil
}

// Marshal returns v as JSON, as encoding/json's Marshal would.
func Marshal(v any) ([]byte, error) {
	b, err := appendValue(nil, reflect.ValueOf(v), 0)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func appendValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if !v.IsValid() {
		return append(b, "null"...), nil
	}
	if depth > maxMarshalDepth {
		return b, errorf("value nested too deeply, or a cycle")
	}
	t := v.Type()
	// A method on the pointer is used when the value is addressable.
	if t.Kind() != reflect.Pointer && v.CanAddr() {
		if pt := reflect.PointerTo(t); pt.Implements(marshalerType) || pt.Implements(textMarshalerType) {
			v, t = v.Addr(), pt
		}
	}
	if t.Implements(marshalerType) {
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			return append(b, "null"...), nil
		}
		j, err := v.Interface().(marshaler).MarshalJSON()
		if err != nil {
			return b, errorf("calling MarshalJSON of ", t.String(), ": ", err.Error())
		}
		return appendCompact(b, j, t)
	}
	if t.Implements(textMarshalerType) {
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			return append(b, "null"...), nil
		}
		s, err := v.Interface().(textMarshaler).MarshalText()
		if err != nil {
			return b, errorf("calling MarshalText of ", t.String(), ": ", err.Error())
		}
		return AppendString(b, string(s)), nil
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(b, v.Float(), t.Bits())
	case reflect.String:
		if isNumber(t) {
			n := v.String()
			if n == "" {
				n = "0" // as encoding/json writes an empty Number
			}
			if !validNumber(n) {
				return b, errorf("invalid number literal ", strconv.Quote(n))
			}
			return append(b, n...), nil
		}
		return AppendString(b, v.String()), nil
	case reflect.Struct:
		return appendStruct(b, v, depth)
	case reflect.Map:
		if kt := t.Key(); kt.Kind() != reflect.String && (kt.Implements(textMarshalerType) || reflect.PointerTo(kt).Implements(textMarshalerType)) {
			return b, errorf("unsupported map key type: ", kt.String())
		}
		return appendMap(b, v, depth)
	case reflect.Slice:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			if pe := reflect.PointerTo(t.Elem()); !pe.Implements(marshalerType) && !pe.Implements(textMarshalerType) {
				b = append(b, '"')
				b = base64.StdEncoding.AppendEncode(b, v.Bytes())
				return append(b, '"'), nil
			}
		}
		return appendArray(b, v, depth)
	case reflect.Array:
		return appendArray(b, v, depth)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendValue(b, v.Elem(), depth+1)
	}
	return b, errorf("unsupported type: ", t.String())
}

func appendStruct(b []byte, v reflect.Value, depth int) ([]byte, error) {
	fs, err := fields(v.Type())
	if err != nil {
		return b, err
	}
	b = append(b, '{')
	first := true
	for i := range fs {
		f := &fs[i]
		fv, _ := fieldValue(v, f.index, false)
		if !fv.IsValid() || f.omitEmpty && isEmpty(fv) || f.omitZero && isZero(fv, f.typ) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendString(b, f.name)
		b = append(b, ':')
		if b, err = appendValue(b, fv, depth+1); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendArray(b []byte, v reflect.Value, depth int) ([]byte, error) {
	b = append(b, '[')
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(b, v.Index(i), depth+1); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func appendMap(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(b, "null"...), nil
	}
	type entry struct {
		key string
		v   reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k := it.Key()
		var ks string
		switch k.Kind() {
		case reflect.String:
			ks = k.String()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			ks = strconv.FormatInt(k.Int(), 10)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			ks = strconv.FormatUint(k.Uint(), 10)
		default:
			return b, errorf("unsupported map key type: ", k.Type().String())
		}
		entries = append(entries, entry{ks, it.Value()})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	b = append(b, '{')
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, e.key)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, e.v, depth+1); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// isEmpty is omitempty's test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZero is omitzero's test: the type's IsZero method if it has one.
func isZero(v reflect.Value, t reflect.Type) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(zeroerType):
		return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() || v.Interface().(zeroer).IsZero()
	case t.Kind() == reflect.Pointer && t.Implements(zeroerType):
		return v.IsNil() || v.Interface().(zeroer).IsZero()
	case t.Implements(zeroerType):
		return v.Interface().(zeroer).IsZero()
	case reflect.PointerTo(t).Implements(zeroerType):
		if !v.CanAddr() {
			c := reflect.New(t).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(zeroer).IsZero()
	}
	return v.IsZero()
}

// appendFloat writes f as encoding/json does: the shortest representation,
// in exponent form only below 1e-6 and from 1e21.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errorf("unsupported value: ", strconv.FormatFloat(f, 'g', -1, bits))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as encoding/json
// escapes it: <, > and & as \u003c, \u003e and \u0026 (safe inside HTML),
// U+2028 and U+2029, and each byte of invalid UTF-8 as \ufffd.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendCompact appends a Marshaler's JSON without its insignificant space
// and with the escapes AppendString makes, refusing invalid JSON.
func appendCompact(b, j []byte, t reflect.Type) ([]byte, error) {
	if !gjson.ValidBytes(j) {
		return b, errorf("MarshalJSON of ", t.String(), " returned invalid JSON")
	}
	inString := false
	for i := 0; i < len(j); i++ {
		c := j[i]
		switch {
		case inString && c == '\\':
			b = append(b, c, j[i+1])
			i++
			continue
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			continue
		case c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			continue
		case c == 0xE2 && i+2 < len(j) && j[i+1] == 0x80 && j[i+2]&^1 == 0xA8:
			b = append(b, '\\', 'u', '2', '0', '2', hex[j[i+2]&0xF])
			i += 2
			continue
		}
		b = append(b, c)
	}
	return b, nil
}

// Unmarshal decodes JSON data into the value v points to, as encoding/json's
// Unmarshal would. Invalid JSON changes nothing; on a value of the wrong
// type, decoding stops at the first error.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if v == nil {
		return errorf("Unmarshal needs a non-nil pointer, not nil")
	}
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errorf("Unmarshal needs a non-nil pointer, not ", rv.Type().String())
	}
	// gjson validates recursively: bound the nesting first, as
	// encoding/json does, so that no input can exhaust the stack.
	if !shallow(data) {
		return errorf("JSON nested too deeply")
	}
	if !gjson.ValidBytes(data) {
		return errorf("invalid JSON")
	}
	return decode(gjson.ParseBytes(data), rv, 0)
}

// shallow reports whether data's arrays and objects nest at most maxDepth
// deep, reading strings as strings.
func shallow(data []byte) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			if depth++; depth > maxDepth {
				return false
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return true
}

// indirect walks down v's pointers, allocating them, until it meets an
// Unmarshaler or TextUnmarshaler or a value that is not a pointer. For a
// null it stops at the last settable pointer, to set it to nil.
func indirect(v reflect.Value, null bool) (unmarshaler, textUnmarshaler, reflect.Value) {
	// A value whose pointer has the methods, as encoding/json does.
	v0, haveAddr := v, false
	if v.Kind() != reflect.Pointer && v.Type().Name() != "" && v.CanAddr() {
		haveAddr = true
		v = v.Addr()
	}
	for {
		if v.Kind() == reflect.Interface && !v.IsNil() {
			if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() && (!null || e.Elem().Kind() == reflect.Pointer) {
				haveAddr = false
				v = e
				continue
			}
		}
		if v.Kind() != reflect.Pointer {
			break
		}
		if null && v.CanSet() {
			break
		}
		if v.Elem().Kind() == reflect.Interface && v.Elem().Elem().Equal(v) {
			v = v.Elem()
			break
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if v.Type().NumMethod() > 0 && v.CanInterface() {
			if u, ok := v.Interface().(unmarshaler); ok {
				return u, nil, reflect.Value{}
			}
			if !null {
				if u, ok := v.Interface().(textUnmarshaler); ok {
					return nil, u, reflect.Value{}
				}
			}
		}
		if haveAddr {
			v, haveAddr = v0, false
		} else {
			v = v.Elem()
		}
	}
	return nil, nil, v
}

func typeError(what string, v reflect.Value) error {
	if !v.IsValid() {
		return errorf("cannot decode ", what, " into a TextUnmarshaler")
	}
	return errorf("cannot decode ", what, " into ", v.Type().String())
}

func decode(r gjson.Result, v reflect.Value, depth int) error {
	if depth > maxDepth {
		return errorf("JSON nested too deeply")
	}
	u, ut, v := indirect(v, r.Type == gjson.Null)
	if u != nil {
		return u.UnmarshalJSON([]byte(strings.TrimSpace(r.Raw)))
	}
	switch r.Type {
	case gjson.Null:
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	case gjson.String:
		s := validUTF8(r.Str)
		if ut != nil {
			return ut.UnmarshalText([]byte(s))
		}
		switch v.Kind() {
		case reflect.String:
			if isNumber(v.Type()) && !validNumber(s) {
				return errorf("invalid number literal ", strconv.Quote(s), " for ", v.Type().String())
			}
			v.SetString(s)
			return nil
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				d := make([]byte, 0, base64.StdEncoding.DecodedLen(len(s)))
				d, err := base64.StdEncoding.AppendDecode(d, []byte(s))
				if err != nil {
					return errorf("invalid base64 for ", v.Type().String())
				}
				v.SetBytes(d)
				return nil
			}
		case reflect.Interface:
			if v.NumMethod() == 0 {
				v.Set(reflect.ValueOf(s))
				return nil
			}
		}
		return typeError("a string", v)
	case gjson.True, gjson.False:
		if ut != nil {
			return typeError("a boolean", v)
		}
		switch v.Kind() {
		case reflect.Bool:
			v.SetBool(r.Type == gjson.True)
			return nil
		case reflect.Interface:
			if v.NumMethod() == 0 {
				v.Set(reflect.ValueOf(r.Type == gjson.True))
				return nil
			}
		}
		return typeError("a boolean", v)
	case gjson.Number:
		if ut != nil {
			return typeError("a number", v)
		}
		return decodeNumber(r.Raw, v)
	}
	if ut != nil {
		return typeError("an object or array", v)
	}
	if v.Kind() == reflect.Interface {
		if v.NumMethod() != 0 {
			return typeError("an object or array", v)
		}
		x, err := generic(r, depth)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(x))
		return nil
	}
	if r.IsArray() {
		return decodeArray(r, v, depth)
	}
	return decodeObject(r, v, depth)
}

func decodeNumber(raw string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v.OverflowInt(n) {
			return typeError("the number "+raw, v)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(raw, 10, 64)
		if err != nil || v.OverflowUint(n) {
			return typeError("the number "+raw, v)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(raw, v.Type().Bits())
		if err != nil || v.OverflowFloat(n) {
			return typeError("the number "+raw, v)
		}
		v.SetFloat(n)
	case reflect.String:
		if !isNumber(v.Type()) {
			return typeError("a number", v)
		}
		v.SetString(raw)
	case reflect.Interface:
		if v.NumMethod() != 0 {
			return typeError("a number", v)
		}
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return typeError("the number "+raw, v)
		}
		v.Set(reflect.ValueOf(n))
	default:
		return typeError("a number", v)
	}
	return nil
}

func decodeArray(r gjson.Result, v reflect.Value, depth int) error {
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
	default:
		return typeError("an array", v)
	}
	i := 0
	var err error
	r.ForEach(func(_, e gjson.Result) bool {
		if v.Kind() == reflect.Slice {
			if i >= v.Cap() {
				v.Grow(1)
			}
			if i >= v.Len() {
				v.SetLen(i + 1)
			}
		}
		if i < v.Len() {
			err = decode(e, v.Index(i), depth+1)
		}
		i++
		return err == nil
	})
	if err != nil {
		return err
	}
	if i < v.Len() {
		if v.Kind() == reflect.Array {
			for ; i < v.Len(); i++ {
				v.Index(i).SetZero()
			}
		} else {
			v.SetLen(i)
		}
	}
	if i == 0 && v.Kind() == reflect.Slice && v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	return nil
}

func decodeObject(r gjson.Result, v reflect.Value, depth int) error {
	var fs []field
	switch v.Kind() {
	case reflect.Map:
		kt := v.Type().Key()
		switch kt.Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			return typeError("an object", v)
		}
		if reflect.PointerTo(kt).Implements(textUnmarshalerType) {
			return errorf("unsupported map key type: ", kt.String())
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	case reflect.Struct:
		var err error
		if fs, err = fields(v.Type()); err != nil {
			return err
		}
	default:
		return typeError("an object", v)
	}
	var err error
	r.ForEach(func(k, e gjson.Result) bool {
		name := validUTF8(k.Str)
		if v.Kind() == reflect.Map {
			err = decodeMapEntry(name, e, v, depth)
			return err == nil
		}
		f := findField(fs, name)
		if f == nil {
			return true
		}
		var fv reflect.Value
		if fv, err = fieldValue(v, f.index, true); err != nil {
			return false
		}
		err = decode(e, fv, depth+1)
		return err == nil
	})
	return err
}

func decodeMapEntry(key string, e gjson.Result, m reflect.Value, depth int) error {
	kt := m.Type().Key()
	k := reflect.New(kt).Elem()
	if kt.Kind() == reflect.String {
		k.SetString(key)
	} else if err := decodeNumber(key, k); err != nil {
		// An integer key: read as the number it must be.
		return err
	}
	ev := reflect.New(m.Type().Elem()).Elem()
	if err := decode(e, ev, depth+1); err != nil {
		return err
	}
	m.SetMapIndex(k, ev)
	return nil
}

// findField finds the member named name, or failing that the first whose
// name matches it without regard to case, as encoding/json does.
func findField(fs []field, name string) *field {
	for i := range fs {
		if fs[i].name == name {
			return &fs[i]
		}
	}
	for i := range fs {
		if foldEqual(fs[i].name, name) {
			return &fs[i]
		}
	}
	return nil
}

// generic decodes r as encoding/json decodes into an empty interface:
// map[string]any, []any, float64, string, bool or nil.
func generic(r gjson.Result, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errorf("JSON nested too deeply")
	}
	switch r.Type {
	case gjson.Null:
		return nil, nil
	case gjson.True, gjson.False:
		return r.Type == gjson.True, nil
	case gjson.String:
		return validUTF8(r.Str), nil
	case gjson.Number:
		n, err := strconv.ParseFloat(r.Raw, 64)
		if err != nil {
			return nil, errorf("the number ", r.Raw, " is out of range")
		}
		return n, nil
	}
	var err error
	if r.IsArray() {
		a := make([]any, 0)
		r.ForEach(func(_, e gjson.Result) bool {
			var x any
			x, err = generic(e, depth+1)
			a = append(a, x)
			return err == nil
		})
		return a, err
	}
	m := map[string]any{}
	r.ForEach(func(k, e gjson.Result) bool {
		var x any
		x, err = generic(e, depth+1)
		m[validUTF8(k.Str)] = x
		return err == nil
	})
	return m, err
}

// validUTF8 replaces each byte of invalid UTF-8 with U+FFFD, as
// encoding/json does when it decodes a string.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// isNumber reports whether t is encoding/json's Number, written as the
// number it holds (recognised by name: importing it is what this package
// avoids).
func isNumber(t reflect.Type) bool {
	return t.Name() == "Number" && t.PkgPath() == "encoding/json"
}

// validNumber reports whether s is exactly a JSON number: -?int frac? exp?
func validNumber(s string) bool {
	digits := func(s string) (string, bool) {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		return s[n:], n > 0
	}
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	switch {
	case s == "":
		return false
	case s[0] == '0':
		s = s[1:]
	default:
		var ok bool
		if s, ok = digits(s); !ok {
			return false
		}
	}
	if s != "" && s[0] == '.' {
		var ok bool
		if s, ok = digits(s[1:]); !ok {
			return false
		}
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		var ok bool
		if s, ok = digits(s); !ok {
			return false
		}
	}
	return s == ""
}

// MarshalIndent is Marshal with each element on a line of its own, as
// encoding/json's MarshalIndent writes it: each line after the first
// begins with prefix, then indent once per level.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)*2)
	newline := func(depth int) {
		out = append(out, '\n')
		out = append(out, prefix...)
		for range depth {
			out = append(out, indent...)
		}
	}
	depth, open, inString := 0, false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out = append(out, c)
			switch c {
			case '\\':
				i++
				out = append(out, b[i])
			case '"':
				inString = false
			}
			continue
		}
		if open && c != '}' && c != ']' {
			// The first element of an object or array: empty ones stay {} and [].
			open = false
			depth++
			newline(depth)
		}
		switch c {
		case '"':
			inString = true
			out = append(out, c)
		case '{', '[':
			open = true
			out = append(out, c)
		case ',':
			out = append(out, c)
			newline(depth)
		case ':':
			out = append(out, c, ' ')
		case '}', ']':
			if open {
				open = false
			} else {
				depth--
				newline(depth)
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// foldEqual reports whether a and b are the same name without regard to
// case, folded as encoding/json folds them.
func foldEqual(a, b string) bool {
	return string(appendFolded(nil, a)) == string(appendFolded(nil, b))
}

func appendFolded(out []byte, s string) []byte {
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			out = append(out, byte(r))
			continue
		}
		out = utf8.AppendRune(out, unicode.ToUpper(unicode.ToLower(r)))
	}
	return out
}
