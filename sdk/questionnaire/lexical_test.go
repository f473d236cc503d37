package questionnaire

import (
	"regexp"
	"testing"
)

// The FHIR R4 regular expressions of the primitive types the scanners of
// value.go replace (https://hl7.org/fhir/R4/datatypes.html#primitive). The
// tests may use regexp; the browser's Wasm must not.
var (
	reInteger  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	reDecimal  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	reDate     = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`)
	reDateTime = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
)

var lexicalSeeds = []string{
	"", "0", "-0", "00", "01", "7", "-12", "12a", "+1", "-", "1.", ".5", "1.5", "1.50", "-0.25", "1e5", "1E-5", "1e", "1e+", "2.5e+10",
	"0000", "0001", "2026", "2026-", "2026-1", "2026-00", "2026-13", "2026-12", "2026-12-00", "2026-12-31", "2026-12-32", "2026-02-30",
	"2026-11-24T10:30:00Z", "2026-11-24T10:30:00+01:00", "2026-11-24T10:30:00.123-05:30", "2026-11-24T24:00:00Z",
	"2026-11-24T10:60:00Z", "2026-11-24T23:59:60Z", "2026-11-24T10:30:00+14:00", "2026-11-24T10:30:00+14:01", "2026-11-24T10:30:00-13:59",
	"2026-11-24T10:30:00", "2026-11-24T10:30Z", "2026-11-24T10:30:00.Z", "2026-11-24T10:30:00+0100", "2026-11-24 10:30:00Z", "2026-11-24T10:30:00z",
	"9999-12-31T23:59:59.999999999+00:00", "٣", "2026-1１",
}

func checkLexical(t *testing.T, s string) {
	t.Helper()
	for _, c := range []struct {
		name string
		re   *regexp.Regexp
		scan func(string) bool
	}{
		{"integer", reInteger, isInteger},
		{"decimal", reDecimal, isDecimal},
		{"date", reDate, isDate},
		{"dateTime", reDateTime, isDateTime},
	} {
		if want, got := c.re.MatchString(s), c.scan(s); got != want {
			t.Errorf("%s %q: scanner says %v, FHIR's expression %v", c.name, s, got, want)
		}
	}
}

func TestLexicalFormsMatchFHIR(t *testing.T) {
	for _, s := range lexicalSeeds {
		checkLexical(t, s)
	}
}

// FuzzLexical checks the scanners against FHIR's regular expressions.
func FuzzLexical(f *testing.F) {
	for _, s := range lexicalSeeds {
		f.Add(s)
	}
	f.Fuzz(checkLexical)
}
