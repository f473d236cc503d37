// Package pretty stands in for github.com/tidwall/pretty in Parcours'
// builds, through the replace directive in the repository's go.mod.
//
// gjson registers its @pretty and @ugly path modifiers, which call pretty,
// when it starts; pretty decodes object keys with encoding/json to sort
// them. So every binary that links gjson links encoding/json's reflective
// decoder, and the widgets' Wasm, which reads FHIR with gjson and does
// without encoding/json otherwise (sdk/wirejson), would carry some 40 KB of
// it once compressed for two modifiers Parcours never uses.
//
// This package gives gjson the API it calls (Options, DefaultOptions,
// Pretty, PrettyOptions, Ugly) with the standard library only. Its output
// is valid, indented JSON as upstream's, with two differences in layout:
// Width is ignored, so a short array is written one element per line
// rather than on one line; values nested more than 1,000 levels deep are
// written compacted, so that no input exhausts the stack.
//
// Only Parcours' own builds use it: a module that imports Parcours builds
// with upstream's pretty.
package pretty

import (
	"sort"
	"strconv"
)

// Options are the layout of Pretty's output.
type Options struct {
	// Width is ignored (see the package's documentation).
	Width int
	// Prefix begins every line.
	Prefix string
	// Indent is written once per level of nesting.
	Indent string
	// SortKeys writes the members of objects in the order of their keys.
	SortKeys bool
}

// DefaultOptions are upstream's: two spaces of indent, keys as they come.
var DefaultOptions = &Options{Width: 80, Prefix: "", Indent: "  ", SortKeys: false}

// Pretty writes json with one element per line, indented.
func Pretty(json []byte) []byte { return PrettyOptions(json, nil) }

// PrettyOptions is Pretty with the given options (nil: DefaultOptions).
// Invalid JSON is written as far as it could be read.
func PrettyOptions(json []byte, opts *Options) []byte {
	if opts == nil {
		opts = DefaultOptions
	}
	p := printer{src: json, opts: opts}
	buf := append([]byte(nil), opts.Prefix...)
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil
	}
	buf = p.value(buf, 0)
	return append(buf, '\n')
}

// Ugly returns json without its insignificant space.
func Ugly(json []byte) []byte {
	buf := make([]byte, 0, len(json))
	for i := 0; i < len(json); i++ {
		c := json[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			end := stringEnd(json, i)
			buf = append(buf, json[i:end]...)
			i = end - 1
			continue
		}
		buf = append(buf, c)
	}
	return buf
}

// stringEnd returns the index after the string starting at src[i].
func stringEnd(src []byte, i int) int {
	for i++; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(src)
}

type printer struct {
	src  []byte
	pos  int
	opts *Options
}

func (p *printer) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r', ',', ':':
			p.pos++
		default:
			return
		}
	}
}

func (p *printer) newline(buf []byte, depth int) []byte {
	buf = append(buf, '\n')
	buf = append(buf, p.opts.Prefix...)
	for range depth {
		buf = append(buf, p.opts.Indent...)
	}
	return buf
}

// value writes the value at p.pos.
func (p *printer) value(buf []byte, depth int) []byte {
	if p.pos >= len(p.src) {
		return buf
	}
	switch c := p.src[p.pos]; c {
	case '{', '[':
		return p.container(buf, depth, c)
	case '"':
		end := stringEnd(p.src, p.pos)
		buf = append(buf, p.src[p.pos:end]...)
		p.pos = end
		return buf
	}
	// A number or a literal: up to the next delimiter. In invalid JSON, a
	// delimiter out of place is written as it is, so that each call reads
	// at least one byte.
	start := p.pos
	for p.pos++; p.pos < len(p.src); p.pos++ {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r', ',', ':', ']', '}':
			return append(buf, p.src[start:p.pos]...)
		}
	}
	return append(buf, p.src[start:p.pos]...)
}

// maxDepth is how deeply Pretty indents; deeper values are written as
// they come (compacted), so that no input exhausts the stack.
const maxDepth = 1000

// member is an object's member in the source: its key, unquoted, to sort
// by, and where it starts.
type member struct {
	key string
	pos int
}

// container writes the object or array at p.pos straight into buf: each
// level of nesting is written once, whatever its depth.
func (p *printer) container(buf []byte, depth int, open byte) []byte {
	if depth >= maxDepth {
		end := valueEnd(p.src, p.pos)
		buf = append(buf, Ugly(p.src[p.pos:end])...)
		p.pos = end
		return buf
	}
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	if open == '{' && p.opts.SortKeys {
		return p.sorted(buf, depth)
	}
	p.pos++
	buf = append(buf, open)
	n := 0
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			break
		}
		if p.src[p.pos] == closer {
			p.pos++
			break
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = p.newline(buf, depth+1)
		buf = p.member(buf, depth, open == '{')
	}
	if n > 0 {
		buf = p.newline(buf, depth)
	}
	return append(buf, closer)
}

// member writes the array element or object member at p.pos.
func (p *printer) member(buf []byte, depth int, object bool) []byte {
	if object {
		end := stringEnd(p.src, p.pos)
		buf = append(buf, p.src[p.pos:end]...)
		buf = append(buf, ':', ' ')
		p.pos = end
		p.skipSpace()
	}
	return p.value(buf, depth+1)
}

// sorted writes the object at p.pos with its members in the order of
// their keys: it finds them first, then writes each from the source.
func (p *printer) sorted(buf []byte, depth int) []byte {
	end := valueEnd(p.src, p.pos)
	var members []member
	p.pos++
	for {
		p.skipSpace()
		if p.pos >= end || p.src[p.pos] == '}' {
			break
		}
		at := p.pos
		kend := stringEnd(p.src, p.pos)
		members = append(members, member{key: unquote(p.src[p.pos:kend]), pos: at})
		p.pos = kend
		p.skipSpace()
		if p.pos < end && (p.src[p.pos] == '{' || p.src[p.pos] == '[') {
			p.pos = valueEnd(p.src, p.pos)
		} else {
			p.value(nil, depth+1)
		}
	}
	sort.SliceStable(members, func(i, j int) bool { return members[i].key < members[j].key })
	buf = append(buf, '{')
	for i, m := range members {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = p.newline(buf, depth+1)
		p.pos = m.pos
		buf = p.member(buf, depth, true)
	}
	if len(members) > 0 {
		buf = p.newline(buf, depth)
	}
	p.pos = end
	return append(buf, '}')
}

// valueEnd returns the index after the object or array starting at
// src[i], or len(src) if it does not end.
func valueEnd(src []byte, i int) int {
	depth := 0
	for ; i < len(src); i++ {
		switch src[i] {
		case '"':
			i = stringEnd(src, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return len(src)
}

// unquote returns a JSON string's text, or its raw bytes if it cannot be
// read (only the order of keys depends on it).
func unquote(raw []byte) string {
	// JSON's escapes are Go's but for \/ and the surrogate pairs, which
	// strconv reads one half at a time: good enough to order keys.
	s := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) && raw[i+1] == '/' {
			i++
		}
		s = append(s, raw[i])
	}
	if u, err := strconv.Unquote(string(s)); err == nil {
		return u
	}
	return string(raw)
}
