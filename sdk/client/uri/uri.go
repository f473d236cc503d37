// Package uri escapes URL path segments and encodes query strings exactly as
// net/url does (RFC 3986, and application/x-www-form-urlencoded for
// queries), without importing it: net/url brings net/netip and package
// unique into the browser's Wasm, where sdk/client and the widgets only
// need to build request paths.
package uri

import (
	"slices"
	"strings"
)

// PathEscape escapes s so that it can be placed inside a URL path segment,
// like url.PathEscape.
func PathEscape(s string) string { return escape(s, false) }

// QueryEscape escapes s so that it can be placed inside a URL query, like
// url.QueryEscape (a space is "+").
func QueryEscape(s string) string { return escape(s, true) }

// Values are query parameters, like url.Values.
type Values map[string][]string

// Set sets the key to value, replacing any values it had.
func (v Values) Set(key, value string) { v[key] = []string{value} }

// Encode encodes the values in "URL encoded" form sorted by key ("a=1&b=2"),
// like url.Values.Encode.
func (v Values) Encode() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		ke := QueryEscape(k)
		for _, x := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ke)
			b.WriteByte('=')
			b.WriteString(QueryEscape(x))
		}
	}
	return b.String()
}

const upperhex = "0123456789ABCDEF"

func escape(s string, query bool) string {
	n, spaces := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case keep(s[i], query):
		case query && s[i] == ' ':
			spaces++
		default:
			n++
		}
	}
	if n == 0 && spaces == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case keep(c, query):
			b = append(b, c)
		case query && c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return string(b)
}

// keep reports whether c stands for itself: RFC 3986's unreserved
// characters, and in a path segment the sub-delimiters and ':' and '@'
// that net/url leaves too ($ & + = : @).
func keep(c byte, query bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~':
		return true
	case '$', '&', '+', '=', ':', '@':
		return !query
	}
	return false
}
