package questionnaire

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is the FHIR data type of an answer value (QuestionnaireResponse.item.answer.value[x]).
type Kind uint8

// The value kinds Parcours reads and writes.
const (
	KindNone Kind = iota
	KindBoolean
	KindInteger
	KindDecimal
	KindString
	KindDate
	KindDateTime
	KindCoding
)

var kindNames = [...]string{"", "Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Coding"}

// String returns the FHIR suffix of the kind ("Coding" for valueCoding).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Unknown"
}

// Coding is a code from a code system (https://hl7.org/fhir/R4/datatypes.html#Coding).
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Value is one answer or one answer option: exactly one FHIR primitive or a
// Coding, selected by Kind. Decimal, Date and DateTime keep their FHIR
// literal in Str so that they are written back unchanged.
type Value struct {
	Kind   Kind
	Bool   bool
	Int    int64
	Str    string
	Coding Coding
}

// Boolean, Integer, Decimal, String, Date, DateTime and Code build values.
func Boolean(b bool) Value     { return Value{Kind: KindBoolean, Bool: b} }
func Integer(i int64) Value    { return Value{Kind: KindInteger, Int: i} }
func Decimal(lit string) Value { return Value{Kind: KindDecimal, Str: lit} }
func String(s string) Value    { return Value{Kind: KindString, Str: s} }
func Date(s string) Value      { return Value{Kind: KindDate, Str: s} }
func DateTime(s string) Value  { return Value{Kind: KindDateTime, Str: s} }
func Code(system, code string) Value {
	return Value{Kind: KindCoding, Coding: Coding{System: system, Code: code}}
}

// IsZero reports whether v holds no value.
func (v Value) IsZero() bool { return v.Kind == KindNone }

// String renders v for logs and reports: the literal, or system|code.
func (v Value) String() string {
	switch v.Kind {
	case KindBoolean:
		return strconv.FormatBool(v.Bool)
	case KindInteger:
		return strconv.FormatInt(v.Int, 10)
	case KindCoding:
		if v.Coding.System == "" {
			return v.Coding.Code
		}
		return v.Coding.System + "|" + v.Coding.Code
	}
	return v.Str
}

// jsonField returns the FHIR element name ("valueCoding") with prefix.
func (v Value) jsonField(prefix string) string { return prefix + v.Kind.String() }

// jsonValue returns the JSON of v's value (the Coding object, or the primitive).
func (v Value) jsonValue() any {
	switch v.Kind {
	case KindBoolean:
		return v.Bool
	case KindInteger:
		return v.Int
	case KindDecimal:
		return json.Number(v.Str)
	case KindCoding:
		return v.Coding
	}
	return v.Str
}

var (
	reInteger  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	reDecimal  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	reDate     = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`)
	reDateTime = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
)

// validInteger reports whether s is a FHIR integer (32-bit signed).
func validInteger(s string) (int64, bool) {
	if !reInteger.MatchString(s) {
		return 0, false
	}
	i, err := strconv.ParseInt(s, 10, 32)
	return i, err == nil
}

func validDecimal(s string) bool {
	if len(s) > 64 || !reDecimal.MatchString(s) {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// validDate reports whether s is a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)
// naming a real calendar day.
func validDate(s string) bool {
	if !reDate.MatchString(s) {
		return false
	}
	if len(s) == 10 {
		_, err := time.Parse("2006-01-02", s)
		return err == nil
	}
	return true
}

// validDateTime reports whether s is a FHIR dateTime: a date, or a full date
// and time with a time-zone offset.
func validDateTime(s string) bool {
	if !reDateTime.MatchString(s) {
		return false
	}
	if len(s) <= 10 {
		return validDate(s)
	}
	if strings.Contains(s, ":60") {
		// A leap second: time.Parse refuses it; check the date part only.
		return validDate(s[:10])
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// valid reports whether v's literal is well formed for its kind.
func (v Value) valid() bool {
	switch v.Kind {
	case KindBoolean, KindString, KindCoding:
		return true
	case KindInteger:
		return v.Int >= -1<<31 && v.Int < 1<<31
	case KindDecimal:
		return validDecimal(v.Str)
	case KindDate:
		return validDate(v.Str)
	case KindDateTime:
		return validDateTime(v.Str)
	}
	return false
}

// number returns v as a float for integer and decimal values.
func (v Value) number() (float64, bool) {
	switch v.Kind {
	case KindInteger:
		return float64(v.Int), true
	case KindDecimal:
		f, err := strconv.ParseFloat(v.Str, 64)
		return f, err == nil
	}
	return 0, false
}

// compare orders a and b: -1, 0 or 1, and false when they are not
// comparable (different types, or dates of different precision).
func compare(a, b Value) (int, bool) {
	if af, ok := a.number(); ok {
		bf, ok := b.number()
		if !ok {
			return 0, false
		}
		if a.Kind == KindInteger && b.Kind == KindInteger {
			return cmp3(a.Int, b.Int), true
		}
		return cmp3(af, bf), true
	}
	switch a.Kind {
	case KindBoolean:
		if b.Kind != KindBoolean {
			return 0, false
		}
		if a.Bool == b.Bool {
			return 0, true
		}
		if !a.Bool {
			return -1, true
		}
		return 1, true
	case KindString:
		if b.Kind != KindString {
			return 0, false
		}
		return strings.Compare(a.Str, b.Str), true
	case KindCoding:
		if b.Kind != KindCoding {
			return 0, false
		}
		if a.Coding.Code == b.Coding.Code && (a.Coding.System == b.Coding.System || a.Coding.System == "" || b.Coding.System == "") {
			return 0, true
		}
		return 1, true // codings are only equal or different
	case KindDate, KindDateTime:
		if b.Kind != KindDate && b.Kind != KindDateTime {
			return 0, false
		}
		if len(a.Str) > 10 && len(b.Str) > 10 {
			ta, err1 := time.Parse(time.RFC3339Nano, a.Str)
			tb, err2 := time.Parse(time.RFC3339Nano, b.Str)
			if err1 != nil || err2 != nil {
				return 0, false
			}
			return ta.Compare(tb), true
		}
		if len(a.Str) != len(b.Str) {
			return 0, false // different precision: not comparable
		}
		return strings.Compare(a.Str, b.Str), true
	}
	return 0, false
}

func cmp3[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Score is a questionnaire score, exact to 1/10000 so that totals and band
// cut-offs never suffer from binary floating point. It is written in JSON as
// a plain decimal number.
type Score int64

const scoreUnit = 10000

// maxScore bounds one weight so that sums of many weights cannot overflow.
const maxScore = 1e9 * scoreUnit

var errScore = errors.New("not a decimal number with at most 4 decimal places between -1e9 and 1e9")

// ParseScore reads a FHIR decimal literal with at most 4 decimal places.
func ParseScore(s string) (Score, error) {
	if !reDecimal.MatchString(s) || strings.ContainsAny(s, "eE") {
		// Exponents are valid FHIR decimals but never appear in weights:
		// accept the plain form only, so the exact value is obvious.
		return 0, errScore
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	if len(fp) > 4 || len(ip) > 10 {
		return 0, errScore
	}
	fp += strings.Repeat("0", 4-len(fp))
	n, err := strconv.ParseInt(ip+fp, 10, 64)
	if err != nil || n > maxScore {
		return 0, errScore
	}
	if neg {
		n = -n
	}
	return Score(n), nil
}

// String writes s as a decimal without trailing zeros: "12", "1.5", "-0.25".
func (s Score) String() string {
	n := int64(s)
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	ip, fp := n/scoreUnit, n%scoreUnit
	if fp == 0 {
		return sign + strconv.FormatInt(ip, 10)
	}
	f := strings.TrimRight(strconv.FormatInt(fp+scoreUnit, 10)[1:], "0")
	return sign + strconv.FormatInt(ip, 10) + "." + f
}

// MarshalJSON writes s as a JSON number.
func (s Score) MarshalJSON() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalJSON reads a JSON number.
func (s *Score) UnmarshalJSON(b []byte) error {
	v, err := ParseScore(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
