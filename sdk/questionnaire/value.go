package questionnaire

import (
	"encoding/json"
	"errors"
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

// The lexical forms of FHIR's primitive types
// (https://hl7.org/fhir/R4/datatypes.html#primitive) are checked by small
// scanners rather than regular expressions: package regexp would add about
// 0.25 MB of code to the browser's Wasm.

// digits returns the length of the run of ASCII digits at the start of s.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// twoDigits reads a two-digit number from lo to hi at the start of s.
func twoDigits(s string, lo, hi int) bool {
	if len(s) < 2 || digits(s[:2]) != 2 {
		return false
	}
	n := int(s[0]-'0')*10 + int(s[1]-'0')
	return n >= lo && n <= hi
}

// scanInt consumes -?(0|[1-9][0-9]*) and returns the rest, ok false when s
// does not start with one.
func scanInt(s string) (string, bool) {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	n := digits(s)
	if n == 0 || (n > 1 && s[0] == '0') {
		return s, false
	}
	return s[n:], true
}

// isInteger matches -?(0|[1-9][0-9]*).
func isInteger(s string) bool {
	rest, ok := scanInt(s)
	return ok && rest == ""
}

// isDecimal matches -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func isDecimal(s string) bool {
	rest, ok := scanInt(s)
	if !ok {
		return false
	}
	if len(rest) > 0 && rest[0] == '.' {
		n := digits(rest[1:])
		if n == 0 {
			return false
		}
		rest = rest[1+n:]
	}
	if len(rest) > 0 && (rest[0] == 'e' || rest[0] == 'E') {
		rest = rest[1:]
		if len(rest) > 0 && (rest[0] == '+' || rest[0] == '-') {
			rest = rest[1:]
		}
		n := digits(rest)
		if n == 0 {
			return false
		}
		rest = rest[n:]
	}
	return rest == ""
}

// isDate matches YYYY, YYYY-MM or YYYY-MM-DD (year 0001 to 9999, month 01
// to 12, day 01 to 31; whether the day exists is checked by validDate).
func isDate(s string) bool {
	if len(s) < 4 || digits(s[:4]) != 4 || s[:4] == "0000" {
		return false
	}
	switch len(s) {
	case 4:
		return true
	case 7:
		return s[4] == '-' && twoDigits(s[5:], 1, 12)
	case 10:
		return s[4] == '-' && twoDigits(s[5:], 1, 12) && s[7] == '-' && twoDigits(s[8:], 1, 31)
	}
	return false
}

// isDateTime matches a date, or YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)
// with an offset from -13:59 to +14:00.
func isDateTime(s string) bool {
	if len(s) <= 10 {
		return isDate(s)
	}
	if !isDate(s[:10]) || len(s) < 20 || s[10] != 'T' ||
		!twoDigits(s[11:], 0, 23) || s[13] != ':' || !twoDigits(s[14:], 0, 59) || s[16] != ':' || !twoDigits(s[17:], 0, 60) {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := digits(rest[1:])
		if n == 0 {
			return false
		}
		rest = rest[1+n:]
	}
	switch {
	case rest == "Z":
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		return rest[1:] == "14:00" || (twoDigits(rest[1:], 0, 13) && twoDigits(rest[4:], 0, 59))
	}
	return false
}

// validInteger reports whether s is a FHIR integer (32-bit signed).
func validInteger(s string) (int64, bool) {
	if !isInteger(s) {
		return 0, false
	}
	i, err := strconv.ParseInt(s, 10, 32)
	return i, err == nil
}

func validDecimal(s string) bool {
	if len(s) > 64 || !isDecimal(s) {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// validDate reports whether s is a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)
// naming a real calendar day.
func validDate(s string) bool {
	if !isDate(s) {
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
	if !isDateTime(s) {
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
	if !isDecimal(s) || strings.ContainsAny(s, "eE") {
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
