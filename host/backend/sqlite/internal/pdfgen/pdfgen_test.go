package pdfgen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sample(lines int) Doc {
	d := Doc{
		Title:   "Compte rendu de consultation — Échographie",
		Author:  "Dr Antoine Girard",
		Subject: "Démonstration",
		Created: time.Date(2026, 11, 20, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
		Columns: []float64{0, 220, 300, 360},
		Footer:  "CHU Exemple (fictif)",
		Lines: []Line{
			{Text: "CHU Exemple — Maternité", Size: 14, Bold: true},
			{Rule: true},
			{Text: "Patiente : Camille DURAND, née le 12/03/1994", Before: 6},
			{Text: "Grossesse évolutive, âge gestationnel 12 SA + 3 j. « Œuf » (test) \\ (parenthèses) 5 € ‰", Wrap: true},
			{Cols: []string{"Analyse", "Valeur", "Unité", "Référence"}, Bold: true},
			{Cols: []string{"Hémoglobine glyquée (HbA1c)", "7,2", "%", "4,0 – 6,0"}},
			{Text: strings.Repeat("Un texte assez long pour être coupé sur plusieurs lignes par le retour à la ligne. ", 6), Wrap: true},
		},
	}
	for i := range lines {
		d.Lines = append(d.Lines, Line{Text: "Ligne " + strconv.Itoa(i+1) + " du compte rendu."})
	}
	return d
}

// TestStructure parses the file back: header, every cross-reference entry
// pointing at its object, stream lengths, trailer.
func TestStructure(t *testing.T) {
	for _, n := range []int{0, 10, 150} {
		b := sample(n).Bytes()
		pages := checkStructure(t, b)
		if n == 150 && pages < 3 {
			t.Errorf("%d lines on %d pages, want several", n, pages)
		}
		if n == 0 && pages != 1 {
			t.Errorf("a short document on %d pages", pages)
		}
	}
	if !bytes.Equal(sample(5).Bytes(), sample(5).Bytes()) {
		t.Error("the same document gave different bytes")
	}
	if b := (Doc{}).Bytes(); checkStructure(t, b) != 1 {
		t.Error("an empty document has no page")
	}
}

// checkStructure fails t unless b is a well-formed PDF 1.4 file with a
// correct cross-reference table; it returns the page count.
func checkStructure(t *testing.T, b []byte) int {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n%")) || b[10] < 0x80 {
		t.Fatalf("header %q: want %%PDF-1.4 and a binary comment", b[:12])
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no startxref at the end: %q", b[max(0, len(b)-40):])
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d points at %q", xref, b[xref:min(len(b), xref+10)])
	}
	rest := b[xref+len("xref\n"):]
	head, rest, _ := bytes.Cut(rest, []byte("\n"))
	var first, count int
	if _, err := fmtSscan(string(head), &first, &count); err != nil || first != 0 {
		t.Fatalf("xref subsection %q", head)
	}
	if len(rest) < 20*count {
		t.Fatalf("xref has %d entries, the file ends first", count)
	}
	if string(rest[:20]) != "0000000000 65535 f \n" {
		t.Errorf("entry 0 is %q", rest[:20])
	}
	for n := 1; n < count; n++ {
		e := string(rest[20*n : 20*n+20])
		if len(e) != 20 || e[10] != ' ' || e[16:] != " n \n" {
			t.Fatalf("entry %d is %q, not 20 bytes 'oooooooooo ggggg n \\n'", n, e)
		}
		off, err := strconv.Atoi(e[:10])
		if err != nil || !bytes.HasPrefix(b[off:], []byte(strconv.Itoa(n)+" 0 obj\n")) {
			t.Fatalf("entry %d: offset %q points at %q", n, e[:10], b[off:min(len(b), off+12)])
		}
	}
	trailer := string(rest[20*count:])
	if !strings.HasPrefix(trailer, "trailer\n<< /Size "+strconv.Itoa(count)+" /Root 1 0 R /Info 5 0 R >>") {
		t.Errorf("trailer %q", trailer)
	}
	// Every stream's /Length is the number of bytes between "stream\n"
	// and "\nendstream".
	streams := regexp.MustCompile(`(?s)<< /Length (\d+) >>\nstream\n(.*?)\nendstream`).FindAllSubmatch(b, -1)
	for _, s := range streams {
		if n, _ := strconv.Atoi(string(s[1])); n != len(s[2]) {
			t.Errorf("stream /Length %d, holds %d bytes", n, len(s[2]))
		}
	}
	pages := bytes.Count(b, []byte("/Type /Page "))
	if len(streams) != pages || !bytes.Contains(b, []byte("/Count "+strconv.Itoa(pages)+" >>")) {
		t.Errorf("%d pages, %d streams", pages, len(streams))
	}
	return pages
}

func fmtSscan(s string, first, count *int) (int, error) {
	a, b, ok := strings.Cut(s, " ")
	var err error
	if *first, err = strconv.Atoi(a); err != nil || !ok {
		return 0, err
	}
	*count, err = strconv.Atoi(b)
	return 2, err
}

func TestEncodeText(t *testing.T) {
	for in, want := range map[string]string{
		"abc":            "(abc)",
		"(a) \\ b":       `(\(a\) \\ b)`,
		"été":            `(\351t\351)`,
		"Œuvre 5 €":      `(\214uvre 5 \200)`,
		"日本":             "(??)",
		"tab\there":      "(tab?here)",
		"« guillemets »": `(\253 guillemets \273)`,
	} {
		if got := encodeText(in); got != want {
			t.Errorf("encodeText(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	text := strings.Repeat("mot ", 200)
	lines := wrap(text, 10, false, PageWidth-2*Margin)
	if len(lines) < 5 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if TextWidth(l, 10, false) > PageWidth-2*Margin {
			t.Errorf("line %q is %.0f points wide", l, TextWidth(l, 10, false))
		}
	}
	if strings.Join(lines, " ") != strings.TrimSpace(text) {
		t.Error("wrapping lost or changed words")
	}
	if got := wrap("", 10, false, 100); len(got) != 1 || got[0] != "" {
		t.Errorf("wrap of nothing: %q", got)
	}
}

// TestReaders checks the file with qpdf and poppler when they are installed
// (Debian: apt-get install qpdf poppler-utils): qpdf's structural check,
// pdfinfo's page count and title, pdftotext's text, accents included.
func TestReaders(t *testing.T) {
	doc := sample(120)
	path := filepath.Join(t.TempDir(), "cr.pdf")
	if err := os.WriteFile(path, doc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ran := false
	if _, err := exec.LookPath("qpdf"); err == nil {
		ran = true
		out, err := exec.Command("qpdf", "--check", path).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("No syntax or stream encoding errors found")) {
			t.Errorf("qpdf --check: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("pdfinfo"); err == nil {
		ran = true
		out, err := exec.Command("pdfinfo", path).CombinedOutput()
		if err != nil || !regexp.MustCompile(`(?m)^Pages:\s+3$`).Match(out) ||
			!bytes.Contains(out, []byte("Compte rendu de consultation — Échographie")) || bytes.Contains(out, []byte("Syntax Error")) {
			t.Errorf("pdfinfo: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		ran = true
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").CombinedOutput()
		for _, want := range []string{"CHU Exemple — Maternité", "âge gestationnel", "« Œuf »", "(parenthèses) 5 €", "Hémoglobine glyquée (HbA1c)", "Ligne 120 du compte rendu.", "CHU Exemple (fictif) — 3/3"} {
			if err != nil || !bytes.Contains(out, []byte(want)) {
				t.Errorf("pdftotext: %v; the text lacks %q:\n%s", err, want, out)
			}
		}
	}
	if !ran {
		t.Skip("neither qpdf nor poppler-utils is installed")
	}
}
