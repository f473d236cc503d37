package host

import (
	"html"
	"net/url"
	"strings"
)

// page writes the host's own HTML documents (the widget document, the home
// page, the sign-in pages) without html/template: text/template's
// reflective method calls (reflect.Value.MethodByName) keep every exported
// method of every type reachable in a binary, which cost the Cloudflare
// Worker 4.6 MB raw and 834 KB gzip (measured in issue 9). The documents are
// fixed shells, so each value is written by the method for its place:
// text and quoted attribute values escaped; markup that is trusted (the
// shell itself, the server-rendered widget that staticrender escaped, JSON
// whose <, > and & are escaped, the sanitized stylesheet) by raw, whose
// callers say why.
type page struct{ strings.Builder }

// raw writes s as markup.
func (p *page) raw(s ...string) {
	for _, x := range s {
		p.WriteString(x)
	}
}

// text writes s as text content.
func (p *page) text(s string) { p.WriteString(html.EscapeString(s)) }

// attr writes ` name="value"`, value escaped.
func (p *page) attr(name, value string) {
	p.raw(" ", name, `="`, html.EscapeString(value), `"`)
}

// safeURL is u when it is an http(s) or mailto URL or a relative one,
// else "#": a link of the configuration cannot run a script
// (javascript:), as html/template would have refused it.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "#"
	}
	switch strings.ToLower(p.Scheme) {
	case "", "http", "https", "mailto":
		return u
	}
	return "#"
}
