package portal_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
)

func TestMatchTitle(t *testing.T) {
	tests := []struct {
		title, search string
		want          bool
	}{
		{"Échographie du premier trimestre", "echographie", true},
		{"Échographie du premier trimestre", "ÉCHO", true},
		{"Échographie du premier trimestre", "  premier   trimestre ", true},
		{"Échographie du premier trimestre", "premier\ttrimestre", true},
		{"Bilan biologique", "", true},
		{"Bilan biologique", "   ", true},
		{"Compte rendu opératoire", "operatoire", true},
		{"Sœur Œdème", "soeur oedeme", true},
		{"Lettre de liaison — hôpital de jour", "hopital de jour", true},
		{"Lettre de liaison — hôpital de jour", "liaison - hopital", true},
		{"Créatininémie", "creatininemie", true},
		{"Bilan biologique", "radiographie", false},
		{"Bilan", "bilan sanguin", false},
		{"l’examen", "l'examen", true},
	}
	for _, tt := range tests {
		if got := portal.MatchTitle(tt.title, tt.search); got != tt.want {
			t.Errorf("MatchTitle(%q, %q) = %v, want %v", tt.title, tt.search, got, tt.want)
		}
	}
}

func FuzzFoldSearch(f *testing.F) {
	for _, s := range []string{"Échographie", "  a  b  ", "ŒUF œuf", "\x00\xff", "ß", "İstanbul", "\u00a0x\u202fy", "–—", "ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := portal.FoldSearch(s)
		if !utf8.ValidString(got) {
			t.Fatalf("FoldSearch(%q) = %q: not UTF-8", s, got)
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("FoldSearch(%q) = %q: spaces not collapsed", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || r == '\t' || r == '\n' {
				t.Fatalf("FoldSearch(%q) = %q holds %U", s, got, r)
			}
			if r < utf8.RuneSelf && 'A' <= r && r <= 'Z' {
				t.Fatalf("FoldSearch(%q) = %q holds an upper-case letter", s, got)
			}
		}
		if !portal.MatchTitle(s, s) {
			t.Fatalf("MatchTitle(%q, itself) = false", s)
		}
		if !portal.MatchTitle(s, "") {
			t.Fatalf("MatchTitle(%q, \"\") = false", s)
		}
	})
}

func TestInterpret(t *testing.T) {
	p := func(f float64) *float64 { return &f }
	tests := []struct {
		value     float64
		low, high *float64
		want      portal.Interpretation
	}{
		{7.2, p(4), p(6), portal.InterpretationHigh},
		{6.0, p(4), p(6), portal.InterpretationNormal},
		{4.0, p(4), p(6), portal.InterpretationNormal},
		{3.9, p(4), p(6), portal.InterpretationLow},
		{100, p(4), nil, portal.InterpretationNormal},
		{1, nil, p(6), portal.InterpretationNormal},
		{7, nil, p(6), portal.InterpretationHigh},
		{7, nil, nil, portal.InterpretationNone},
	}
	for _, tt := range tests {
		got := portal.Interpret(tt.value, tt.low, tt.high)
		if got != tt.want || got.OutOfRange() != (tt.want == portal.InterpretationLow || tt.want == portal.InterpretationHigh) {
			t.Errorf("Interpret(%v, %v, %v) = %q, want %q", tt.value, tt.low, tt.high, got, tt.want)
		}
	}
}

func TestSniffDocument(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"note.txt", []byte("Consultation du jour.\r\n\tRAS, tension 12/8 — « bien ».\n"), portal.ContentTypeText},
		{"NOTE.TXT", []byte("a"), portal.ContentTypeText},
		{"cr.pdf", pdf, portal.ContentTypePDF},
		{"image.png", png, portal.ContentTypePNG},
		{"note.txt", nil, ""},
		{"note.txt", []byte("a\x00b"), ""},
		{"note.txt", []byte("\xff\xfe"), ""},
		{"note.txt", []byte("\ufeffBOM"), ""},
		{"note.txt", []byte("esc\x1b[31m"), ""},
		{"note.txt", []byte("c1\u0085"), ""},
		{".txt", []byte("hidden"), ""},
		{"a/b.txt", []byte("path"), ""},
		{"page.html", []byte("<html>"), ""},
		{"note.txt.html", []byte("text"), ""},
	}
	for _, tt := range tests {
		got, err := portal.SniffDocument(tt.name, tt.content)
		if got != tt.want || (tt.want == "") != (err != nil) || (err != nil && portal.Code(err) != portal.ErrAttachmentRejected) {
			t.Errorf("SniffDocument(%q, %q) = %q, %v; want %q", tt.name, tt.content, got, err, tt.want)
		}
	}
}

func TestValidateAnalyteCode(t *testing.T) {
	for _, ok := range []string{"4548-4", "2345-7", "14682-9", "LAB.GLU_1", strings.Repeat("9", portal.MaxAnalyteCode)} {
		if err := portal.ValidateAnalyteCode(ok); err != nil {
			t.Errorf("ValidateAnalyteCode(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "4548 4", "45/48", "é", "a;b", strings.Repeat("9", portal.MaxAnalyteCode+1), "../x"} {
		if err := portal.ValidateAnalyteCode(bad); !portal.IsCode(err, portal.ErrInvalid) {
			t.Errorf("ValidateAnalyteCode(%q) = %v, want invalid_request", bad, err)
		}
	}
}

func TestDocumentFilterValidate(t *testing.T) {
	for name, f := range map[string]portal.DocumentFilter{
		"zero": {}, "every type": {Type: portal.DocPatientDocument}, "longest search": {Search: strings.Repeat("é", portal.MaxDocumentSearch)},
		"practitioner fields": {Patient: "p", Held: true},
	} {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, f := range map[string]portal.DocumentFilter{
		"unknown type": {Type: "xray"}, "long search": {Search: strings.Repeat("a", portal.MaxDocumentSearch+1)},
		"NUL": {Search: "a\x00"}, "line break": {Search: "a\nb"}, "C1": {Search: "a\u0085"}, "not UTF-8": {Search: "\xff"},
	} {
		if err := f.Validate(); !portal.IsCode(err, portal.ErrInvalid) {
			t.Errorf("%s: %v, want invalid_request", name, err)
		}
	}
	for _, dt := range portal.DocumentTypes() {
		if !dt.Valid() {
			t.Errorf("%q is listed but not valid", dt)
		}
	}
}

func TestNewDocumentValidate(t *testing.T) {
	at := time.Date(2026, 11, 20, 8, 15, 0, 0, time.UTC)
	p := func(f float64) *float64 { return &f }
	good := portal.NewDocument{
		Establishment: "chu-exemple", Service: "diabetologie", Patient: "pat-1", Type: portal.DocLabReport,
		Title: "Bilan", Date: at, Author: "Laboratoire", SourceID: "lab-2026-0001",
		File: portal.NewFile{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: pdf},
		Observations: []portal.NewObservation{{Code: "4548-4", Display: portal.Text{FR: "HbA1c"}, Value: 7.2, Decimals: 1,
			Unit: "%", Low: p(4), High: p(6), Effective: at}},
	}
	if err := good.Validate(0); err != nil {
		t.Fatalf("a good document: %v", err)
	}
	tests := []struct {
		name   string
		change func(*portal.NewDocument)
		code   portal.ErrorCode
	}{
		{"no establishment", func(d *portal.NewDocument) { d.Establishment = "" }, portal.ErrInvalid},
		{"patient document", func(d *portal.NewDocument) { d.Type = portal.DocPatientDocument }, portal.ErrInvalid},
		{"no date", func(d *portal.NewDocument) { d.Date = time.Time{} }, portal.ErrInvalid},
		{"short source id", func(d *portal.NewDocument) { d.SourceID = "x" }, portal.ErrInvalid},
		{"no author", func(d *portal.NewDocument) { d.Author = "" }, portal.ErrInvalid},
		{"title too long", func(d *portal.NewDocument) { d.Title = strings.Repeat("t", portal.MaxDocumentTitle+1) }, portal.ErrTooLarge},
		{"file too large", func(d *portal.NewDocument) { d.File.Content = append(pdf, make([]byte, 100)...) }, portal.ErrAttachmentTooLarge},
		{"declared type", func(d *portal.NewDocument) { d.File.ContentType = portal.ContentTypePNG }, portal.ErrAttachmentRejected},
		{"images on a lab report", func(d *portal.NewDocument) {
			d.Images = []portal.NewFile{{Name: "a.png", ContentType: portal.ContentTypePNG, Content: png}}
		}, portal.ErrInvalid},
		{"a PDF as an image", func(d *portal.NewDocument) {
			d.Type, d.Observations = portal.DocImagingReport, nil
			d.Images = []portal.NewFile{{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: pdf}}
		}, portal.ErrAttachmentRejected},
		{"NaN", func(d *portal.NewDocument) { d.Observations[0].Value = math.NaN() }, portal.ErrInvalid},
		{"infinite bound", func(d *portal.NewDocument) { d.Observations[0].High = p(math.Inf(1)) }, portal.ErrInvalid},
		{"decimals", func(d *portal.NewDocument) { d.Observations[0].Decimals = 7 }, portal.ErrInvalid},
		{"unit", func(d *portal.NewDocument) { d.Observations[0].Unit = "g\nL" }, portal.ErrInvalid},
		{"no display", func(d *portal.NewDocument) { d.Observations[0].Display = portal.Text{EN: "x"} }, portal.ErrInvalid},
		{"no effective", func(d *portal.NewDocument) { d.Observations[0].Effective = time.Time{} }, portal.ErrInvalid},
		{"range upside down", func(d *portal.NewDocument) { d.Observations[0].Low, d.Observations[0].High = p(6), p(4) }, portal.ErrInvalid},
	}
	for _, tt := range tests {
		d := good
		d.Observations = append([]portal.NewObservation(nil), good.Observations...)
		tt.change(&d)
		if err := d.Validate(int64(len(pdf) + 10)); portal.Code(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
}

// Lab results carry their reference range; the interpretation is computed
// from it, never taken from the source.
func ExampleInterpret() {
	low, high := 4.0, 6.0
	for _, v := range []float64{3.8, 5.5, 7.2} {
		o := portal.Observation{Value: v, Decimals: 1, Unit: "%", Low: &low, High: &high}
		o.Interpretation = portal.Interpret(o.Value, o.Low, o.High)
		fmt.Println(o.FormatValue(), o.Unit, o.Interpretation, o.Interpretation.OutOfRange())
	}
	// Output:
	// 3.8 % L true
	// 5.5 % N false
	// 7.2 % H true
}

// A title search ignores case, accents and extra spaces.
func ExampleMatchTitle() {
	fmt.Println(portal.MatchTitle("Échographie du premier trimestre", "ECHOGRAPHIE  du premier"))
	fmt.Println(portal.FoldSearch("  Sœur  Anne — Hôpital "))
	// Output:
	// true
	// soeur anne - hopital
}
