// Package pdfgen writes small, valid PDF 1.4 files (ISO 32000-1's
// predecessor, PDF Reference 1.4) of text: A4 pages of lines in Helvetica
// and Helvetica-Bold, the two of the standard 14 fonts every reader has, so
// that no font is embedded. The demo seed uses it to file real reports.
//
// A file is the header, one object per catalog, page tree, font, document
// information, page and page content, then the cross-reference table with
// each object's byte offset, and the trailer. Content streams are not
// compressed. Text is encoded in WinAnsiEncoding: French (accents, œ, «»,
// €) prints; a character outside it prints as '?'. Output is deterministic:
// the same Doc gives the same bytes.
package pdfgen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Page geometry, in points (1/72 inch): A4 and 2 cm margins.
const (
	PageWidth  = 595
	PageHeight = 842
	Margin     = 56
	// DefaultSize is the font size of a line without one.
	DefaultSize = 10
)

// Line is one line of a document, or a paragraph to wrap.
type Line struct {
	// Text is what the line says. With Wrap, it is cut at spaces into as
	// many lines as the page width needs.
	Text string
	// Size is the font size in points; 0 is DefaultSize.
	Size float64
	Bold bool
	Wrap bool
	// Cols, when set, are cells printed at Doc.Columns (the i-th cell at
	// the i-th column; cells beyond the columns are dropped); Text is then
	// ignored.
	Cols []string
	// Rule draws a thin horizontal rule across the page instead of text.
	Rule bool
	// Before is extra space above the line, in points.
	Before float64
}

// Doc is a document to write.
type Doc struct {
	// Title, Author and Subject go in the document information
	// dictionary; readers show the title.
	Title, Author, Subject string
	// Created is the document's creation date; zero leaves it out.
	Created time.Time
	// Columns are the x offsets of table cells from the left margin.
	Columns []float64
	// Footer, when set, is printed at the bottom of each page with
	// "page/pages" after it.
	Footer string
	Lines  []Line
}

// placed is a line laid out on a page.
type placed struct {
	x, y float64
	size float64
	bold bool
	text string
	rule bool
}

// layout cuts the lines into pages.
func (d Doc) layout() [][]placed {
	var pages [][]placed
	var page []placed
	top := float64(PageHeight - Margin)
	bottom := float64(Margin + 24) // room for the footer
	y := top
	width := float64(PageWidth - 2*Margin)
	newPage := func() {
		pages = append(pages, page)
		page, y = nil, top
	}
	for _, l := range d.Lines {
		size := l.Size
		if size <= 0 {
			size = DefaultSize
		}
		lead := size * 1.4
		texts := []string{l.Text}
		if l.Wrap {
			texts = wrap(l.Text, size, l.Bold, width)
		}
		for i, t := range texts {
			step := lead
			if i == 0 {
				step += l.Before
			}
			if y-step < bottom && len(page) > 0 {
				newPage()
			}
			y -= step
			switch {
			case l.Rule:
				page = append(page, placed{y: y + size/2, rule: true})
			case len(l.Cols) > 0:
				for c, cell := range l.Cols {
					if c < len(d.Columns) {
						page = append(page, placed{x: Margin + d.Columns[c], y: y, size: size, bold: l.Bold, text: cell})
					}
				}
			default:
				page = append(page, placed{x: Margin, y: y, size: size, bold: l.Bold, text: t})
			}
		}
	}
	if len(page) > 0 || len(pages) == 0 {
		pages = append(pages, page)
	}
	return pages
}

// wrap cuts text at spaces into lines at most width points wide (a word
// wider than that stands alone on its line).
func wrap(text string, size float64, bold bool, width float64) []string {
	var out []string
	var cur string
	for _, w := range strings.Fields(text) {
		next := w
		if cur != "" {
			next = cur + " " + w
		}
		if cur != "" && TextWidth(next, size, bold) > width {
			out = append(out, cur)
			next = w
		}
		cur = next
	}
	if cur != "" || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

// TextWidth returns the width of s in points, in Helvetica (bold a little
// wider) at size: the font's advance widths for ASCII, an accented letter
// counting as its base letter.
func TextWidth(s string, size float64, bold bool) float64 {
	var units float64
	for _, r := range s {
		units += float64(glyphWidth(r))
	}
	if bold {
		units *= 1.08
	}
	return units * size / 1000
}

// helvetica holds the advance widths of Helvetica (its AFM), in thousandths
// of the font size, for the characters 32 to 126.
var helvetica = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0 to 9
	278, 278, 584, 584, 584, 556, 1015, // : to @
	667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // A to Z
	278, 278, 278, 469, 556, 333, // [ to `
	556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // a to z
	334, 260, 334, 584, // { to ~
}

func glyphWidth(r rune) int {
	if r >= 32 && r <= 126 {
		return helvetica[r-32]
	}
	if base, ok := baseLetter[r]; ok {
		return helvetica[base-32]
	}
	switch r {
	case 'œ':
		return 944
	case 'Œ':
		return 1000
	case '€', '°':
		return 556
	}
	return 556
}

// baseLetter maps the accented letters of WinAnsiEncoding to their base.
var baseLetter = func() map[rune]rune {
	m := map[rune]rune{}
	for base, accented := range map[rune]string{
		'a': "àáâãäå", 'A': "ÀÁÂÃÄÅ", 'c': "ç", 'C': "Ç", 'e': "èéêë", 'E': "ÈÉÊË", 'i': "ìíîï", 'I': "ÌÍÎÏ",
		'n': "ñ", 'N': "Ñ", 'o': "òóôõöø", 'O': "ÒÓÔÕÖØ", 'u': "ùúûü", 'U': "ÙÚÛÜ", 'y': "ýÿ", 'Y': "ÝŸ",
	} {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()

// winAnsi maps the characters of WinAnsiEncoding (Windows-1252) outside
// ASCII and Latin-1's 0xA0–0xFF to their byte.
var winAnsi = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
	'\u202f': 0xA0, '\u2009': 0x20,
}

// encodeText returns s as a PDF literal string in WinAnsiEncoding: "(…)",
// with '(', ')' and '\' escaped and bytes outside printable ASCII in octal.
func encodeText(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		var c byte
		switch {
		case r >= 0x20 && r < 0x7f:
			c = byte(r)
		case r >= 0xa0 && r <= 0xff:
			c = byte(r)
		default:
			var ok bool
			if c, ok = winAnsi[r]; !ok {
				c = '?'
			}
		}
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// encodeInfo returns s as a PDF text string for the information
// dictionary: UTF-16BE with its byte order mark, in hexadecimal.
func encodeInfo(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteByte('>')
	return b.String()
}

// pdfDate formats t as a PDF date, D:YYYYMMDDHHmmSS+HH'mm'.
func pdfDate(t time.Time) string {
	_, offset := t.Zone()
	sign := '+'
	if offset < 0 {
		sign, offset = '-', -offset
	}
	return fmt.Sprintf("(D:%s%c%02d'%02d')", t.Format("20060102150405"), sign, offset/3600, offset%3600/60)
}

// num formats a coordinate with at most two decimals.
func num(f float64) string {
	return strconv.FormatFloat(float64(int64(f*100+0.5))/100, 'f', -1, 64)
}

// Bytes returns the PDF file of d.
func (d Doc) Bytes() []byte {
	pages := d.layout()
	w := &writer{}
	w.buf.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

	// Objects 1 to 5, then a page and its content for each page.
	const catalog, tree, font, bold, info = 1, 2, 3, 4, 5
	pageObj := func(i int) int { return 6 + 2*i }
	w.object(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", tree))
	kids := make([]string, len(pages))
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", pageObj(i))
	}
	w.object(tree, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	w.object(font, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	w.object(bold, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	var meta []string
	for _, kv := range [][2]string{{"Title", d.Title}, {"Author", d.Author}, {"Subject", d.Subject}} {
		if kv[1] != "" {
			meta = append(meta, "/"+kv[0]+" "+encodeInfo(kv[1]))
		}
	}
	meta = append(meta, "/Producer "+encodeInfo("Parcours"))
	if !d.Created.IsZero() {
		meta = append(meta, "/CreationDate "+pdfDate(d.Created))
	}
	w.object(info, "<< "+strings.Join(meta, " ")+" >>")

	for i, page := range pages {
		var c strings.Builder
		for _, p := range page {
			if p.rule {
				fmt.Fprintf(&c, "0.5 w %s %s m %s %s l S\n", num(Margin), num(p.y), num(PageWidth-Margin), num(p.y))
				continue
			}
			f := "F1"
			if p.bold {
				f = "F2"
			}
			fmt.Fprintf(&c, "BT /%s %s Tf 1 0 0 1 %s %s Tm %s Tj ET\n", f, num(p.size), num(p.x), num(p.y), encodeText(p.text))
		}
		if d.Footer != "" {
			fmt.Fprintf(&c, "BT /F1 8 Tf 1 0 0 1 %s %s Tm %s Tj ET\n", num(Margin), num(Margin), encodeText(fmt.Sprintf("%s — %d/%d", d.Footer, i+1, len(pages))))
		}
		w.object(pageObj(i), fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> /Contents %d 0 R >>",
			tree, PageWidth, PageHeight, font, bold, pageObj(i)+1))
		w.stream(pageObj(i)+1, c.String())
	}
	return w.finish(catalog, info)
}

// writer accumulates objects and their offsets.
type writer struct {
	buf     bytes.Buffer
	offsets map[int]int
}

func (w *writer) object(n int, body string) {
	if w.offsets == nil {
		w.offsets = map[int]int{}
	}
	w.offsets[n] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n%s\nendobj\n", n, body)
}

func (w *writer) stream(n int, data string) {
	w.object(n, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(data), data))
}

// finish writes the cross-reference table (objects 1 to the highest,
// every one present) and the trailer, and returns the file.
func (w *writer) finish(root, info int) []byte {
	size := len(w.offsets) + 1
	xref := w.buf.Len()
	fmt.Fprintf(&w.buf, "xref\n0 %d\n0000000000 65535 f \n", size)
	for n := 1; n < size; n++ {
		fmt.Fprintf(&w.buf, "%010d 00000 n \n", w.offsets[n])
	}
	fmt.Fprintf(&w.buf, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", size, root, info, xref)
	return w.buf.Bytes()
}
