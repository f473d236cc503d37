// Package vjson stands in for github.com/vugu/vjson in Parcours' builds,
// through the replace directive in the repository's go.mod.
//
// vugu encodes DOM properties (.value, .checked) and decodes each DOM
// event with vjson, which outside TinyGo is encoding/json: the widgets'
// Wasm would link encoding/json's reflective codec for these alone, some
// 80 KB once compressed. This package does what vugu asks of it with gjson,
// which the widgets link anyway: it encodes strings, booleans, numbers (of
// any type of those kinds), nil and RawMessage, and decodes into *map[string]any, *any and
// *RawMessage, as encoding/json would. Anything else is refused with an
// error, never guessed.
//
// Only Parcours' own builds use it: a module that imports Parcours' widgets
// builds them with vugu's vjson, which works the same.
package vjson

import (
	"errors"
	"math"
	"reflect"
	"strconv"

	"github.com/tidwall/gjson"
)

// RawMessage is JSON already encoded, as encoding/json's RawMessage.
type RawMessage []byte

// MarshalJSON returns m, or null for an empty m.
func (m RawMessage) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	return m, nil
}

// UnmarshalJSON sets *m to a copy of data.
func (m *RawMessage) UnmarshalJSON(data []byte) error {
	if m == nil {
		return errors.New("vjson: UnmarshalJSON on a nil pointer")
	}
	*m = append((*m)[:0], data...)
	return nil
}

// Marshal encodes v: a string, a boolean or a number (of any type of those
// kinds, so that a view may bind a named type), nil or a RawMessage.
func Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return []byte("null"), nil
	case RawMessage:
		if !gjson.ValidBytes(x) {
			return nil, errors.New("vjson: invalid RawMessage")
		}
		return x.MarshalJSON()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return gjson.AppendJSONString(nil, rv.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(nil, rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(nil, rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(nil, rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, errors.New("vjson: unsupported value: " + strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(nil, f, 'g', -1, rv.Type().Bits()), nil
	}
	return nil, errors.New("vjson: cannot encode a " + rv.Type().String())
}

// Unmarshal decodes data into v: a *map[string]any, an *any or a
// *RawMessage. Objects decode to map[string]any, arrays to []any, numbers
// to float64.
func Unmarshal(data []byte, v any) error {
	if !gjson.ValidBytes(data) {
		return errors.New("vjson: invalid JSON")
	}
	switch p := v.(type) {
	case *map[string]any:
		r := gjson.ParseBytes(data)
		if r.Type == gjson.Null {
			*p = nil
			return nil
		}
		if !r.IsObject() {
			return errors.New("vjson: cannot decode a non-object into a map")
		}
		m, err := value(r)
		if err != nil {
			return err
		}
		*p = m.(map[string]any)
		return nil
	case *any:
		x, err := value(gjson.ParseBytes(data))
		if err != nil {
			return err
		}
		*p = x
		return nil
	case *RawMessage:
		return p.UnmarshalJSON(data)
	}
	return errors.New("vjson: cannot decode into this type")
}

// value is r as encoding/json decodes into an empty interface; of two
// members with the same name, the last one counts; a number out of
// float64's range is an error.
func value(r gjson.Result) (any, error) {
	var err error
	switch {
	case r.IsObject():
		m := map[string]any{}
		r.ForEach(func(k, v gjson.Result) bool {
			m[k.Str], err = value(v)
			return err == nil
		})
		return m, err
	case r.IsArray():
		a := []any{}
		r.ForEach(func(_, v gjson.Result) bool {
			var x any
			x, err = value(v)
			a = append(a, x)
			return err == nil
		})
		return a, err
	case r.Type == gjson.Number:
		f, err := strconv.ParseFloat(r.Raw, 64)
		if err != nil {
			return nil, errors.New("vjson: number out of range: " + r.Raw)
		}
		return f, nil
	}
	return r.Value(), nil
}
