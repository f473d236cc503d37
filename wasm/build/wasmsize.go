package build

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// PackageSize is the code a Go package contributes to a Wasm binary.
type PackageSize struct {
	Package   string
	CodeBytes int
	Functions int
}

// Breakdown is where the bytes of a Wasm binary go.
type Breakdown struct {
	Total    int           // the whole file
	Code     int           // function bodies
	Data     int           // data segments
	Packages []PackageSize // code per Go package, largest first
}

// Analyze attributes the function bodies of a Go-built Wasm binary to the Go
// packages of pkgs (as `go list -deps` prints them), using the binary's
// "name" custom section (so build it without -s -w). Go's linker writes
// every character of a symbol other than [A-Za-z0-9_.] as "_", so a
// function belongs to the longest package whose mangled path prefixes its
// name. It reads the WebAssembly binary format
// (https://webassembly.github.io/spec/core/binary/).
func Analyze(b []byte, pkgs []string) (Breakdown, error) {
	bd := Breakdown{Total: len(b)}
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return bd, errors.New("not a WebAssembly binary")
	}
	r := &reader{b: b, pos: 8}
	var imported int
	var bodies []int
	names := map[int]string{}
	for r.pos < len(b) {
		id := r.byte()
		size := int(r.u32())
		start := r.pos
		if r.err != nil || start+size > len(b) {
			return bd, fmt.Errorf("section %d at %d: truncated", id, start)
		}
		sec := &reader{b: b[:start+size], pos: start}
		switch id {
		case 0: // custom
			if sec.name() == "name" {
				readNames(sec, names)
			}
		case 2: // import
			n := int(sec.u32())
			for i := 0; i < n && sec.err == nil; i++ {
				sec.name()
				sec.name()
				switch sec.byte() {
				case 0:
					sec.u32()
					imported++
				case 1:
					sec.byte()
					sec.limits()
				case 2:
					sec.limits()
				case 3:
					sec.byte()
					sec.byte()
				}
			}
		case 10: // code
			n := int(sec.u32())
			for i := 0; i < n && sec.err == nil; i++ {
				sz := int(sec.u32())
				bodies = append(bodies, sz)
				sec.pos += sz
				bd.Code += sz
			}
		case 11: // data
			bd.Data += size
		}
		if sec.err != nil {
			return bd, fmt.Errorf("section %d: %w", id, sec.err)
		}
		r.pos = start + size
	}
	m := newMatcher(pkgs)
	per := map[string]*PackageSize{}
	for i, sz := range bodies {
		pkg := m.packageOf(names[imported+i])
		p := per[pkg]
		if p == nil {
			p = &PackageSize{Package: pkg}
			per[pkg] = p
		}
		p.CodeBytes += sz
		p.Functions++
	}
	for _, p := range per {
		bd.Packages = append(bd.Packages, *p)
	}
	sort.Slice(bd.Packages, func(i, j int) bool {
		if bd.Packages[i].CodeBytes != bd.Packages[j].CodeBytes {
			return bd.Packages[i].CodeBytes > bd.Packages[j].CodeBytes
		}
		return bd.Packages[i].Package < bd.Packages[j].Package
	})
	return bd, nil
}

func readNames(r *reader, names map[int]string) {
	for r.pos < len(r.b) && r.err == nil {
		id := r.byte()
		size := int(r.u32())
		end := r.pos + size
		if id == 1 { // function names
			n := int(r.u32())
			for i := 0; i < n && r.err == nil; i++ {
				idx := int(r.u32())
				names[idx] = r.name()
			}
		}
		r.pos = end
	}
}

// Mangle writes a symbol or package path as Go's Wasm linker does in the
// name section.
func Mangle(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

type matcher struct {
	mangled map[string]string // mangled path -> path
	maxLen  int
}

func newMatcher(pkgs []string) *matcher {
	m := &matcher{mangled: map[string]string{}}
	for _, p := range pkgs {
		mp := Mangle(p)
		m.mangled[mp] = p
		m.maxLen = max(m.maxLen, len(mp))
	}
	return m
}

// packageOf finds the longest known package whose mangled path, followed by
// a dot, begins the function's name. Compiler-generated functions (type
// equality, wrappers) and unknown names are grouped.
func (m *matcher) packageOf(name string) string {
	switch {
	case name == "":
		return "(unnamed)"
	case strings.HasPrefix(name, "type_."), strings.HasPrefix(name, "go_."):
		return "(compiler-generated)"
	}
	for i := min(len(name)-1, m.maxLen); i > 0; i-- {
		if name[i] != '.' {
			continue
		}
		if p, ok := m.mangled[name[:i]]; ok {
			return p
		}
	}
	return "(other)"
}

type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) byte() byte {
	if r.pos >= len(r.b) {
		r.err = errors.New("unexpected end")
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("LEB128 too long")
	return 0
}

func (r *reader) name() string {
	n := int(r.u32())
	if n < 0 || r.pos+n > len(r.b) {
		r.err = errors.New("name out of bounds")
		return ""
	}
	s := string(r.b[r.pos : r.pos+n])
	r.pos += n
	return s
}

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.u32()
		r.u32()
		return
	}
	r.u32()
}
