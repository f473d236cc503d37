package host

import (
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 description of /api/v1.
func OpenAPI() []byte { return openAPI }

func (h *Host) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(openAPI)
	return nil
}

// Snippet returns the HTML a hospital web team pastes into a page to embed
// the booking widget of establishment from the host at base
// (scheme://host[:port]); service and lang may be empty.
func Snippet(base, establishment, service, lang string) string {
	return snippet(base, "parcours-booking", [][2]string{{"establishment", establishment}, {"service", service}, {"lang", lang}})
}

// QuestionnaireSnippet is Snippet for <parcours-questionnaire>: the
// questionnaire an establishment offers, in lang ("" for the page's).
func QuestionnaireSnippet(base, establishment, questionnaire, lang string) string {
	return snippet(base, "parcours-questionnaire", [][2]string{{"establishment", establishment}, {"questionnaire", questionnaire}, {"lang", lang}})
}

// MessagesSnippet is Snippet for <parcours-messages>, the patient's
// messaging with a service's care team ("" service: every service).
func MessagesSnippet(base, establishment, service, lang string) string {
	return snippet(base, "parcours-messages", [][2]string{{"establishment", establishment}, {"service", service}, {"lang", lang}})
}

// InboxSnippet is Snippet for <parcours-inbox>, the care teams' side.
func InboxSnippet(base, establishment, lang string) string {
	return snippet(base, "parcours-inbox", [][2]string{{"establishment", establishment}, {"lang", lang}})
}

// DocumentsSnippet is Snippet for <parcours-documents>: a patient's
// documents and results (and, for practitioners, the release of held ones).
func DocumentsSnippet(base, establishment, lang string) string {
	return snippet(base, "parcours-documents", [][2]string{{"establishment", establishment}, {"lang", lang}})
}

// snippet writes the loader's script tag and one element with the
// non-empty attributes, escaped.
func snippet(base, element string, attrs [][2]string) string {
	s, err := Embed{Base: base, Widget: strings.TrimPrefix(element, "parcours-"), Attrs: attrs}.HTML()
	if err != nil {
		panic(err) // our own widgets, no page: cannot fail
	}
	return s
}

// Embed is the markup of one widget on a hospital page: the loader's
// script tag and the widget's element. Given the page's origin, the element
// also carries its frame in a declarative shadow root, so that the browser
// requests the widget while it parses the page instead of after the loader
// has run (on a phone's network, the first paint comes earlier), and the
// widget shows and works even where the loader cannot run. The loader
// adopts that frame, or sets its address again (a second request) when it
// is not the one it would make: the element's attributes, lang (its own,
// else the page's, else fr), the page's origin, and the theme's
// --parcours-* properties as theme-* parameters, which Embed does not know
// (docs/embedding.md).
type Embed struct {
	// Base is the host, scheme://host[:port].
	Base string
	// Widget is booking, questionnaire, messages, inbox, documents or
	// access: the element parcours-<Widget>, its frame /w/<Widget>.
	Widget string
	// Attrs are the element's attributes in order (establishment, service,
	// questionnaire, lang…); empty values are left out.
	Attrs [][2]string
	// Page is the embedding page's origin (scheme://host[:port]), or empty
	// for no frame in the markup.
	Page string
	// Theme are the --parcours-* CSS properties the page gives the element
	// ({"primary", "#5b2a86"}), for the frame's address.
	Theme [][2]string
}

// HTML returns the markup, escaped.
func (e Embed) HTML() (string, error) {
	spec, ok := widgetSpecs[e.Widget]
	if !ok {
		return "", fmt.Errorf("unknown widget %q", e.Widget)
	}
	base := strings.TrimRight(e.Base, "/")
	var p page
	p.raw("<script")
	p.attr("src", base+"/parcours.js")
	p.attr("integrity", LoaderSRI())
	element := "parcours-" + e.Widget // one of ours
	p.raw(` crossorigin="anonymous" async></script>`, "\n<", element)
	lang := "fr"
	var params []string
	for _, kv := range e.Attrs {
		if kv[1] == "" {
			continue
		}
		p.attr(kv[0], kv[1]) // names: ours; values: escaped
		if kv[0] != "lang" {
			params = append(params, url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
		} else if strings.HasPrefix(strings.ToLower(kv[1]), "en") {
			lang = "en"
		}
	}
	p.raw(">")
	if e.Page != "" {
		origin, err := NormalizeOrigin(e.Page)
		if err != nil {
			return "", fmt.Errorf("page: %w", err)
		}
		// The loader's order (attributes, lang, parent, theme); it compares
		// the parameters in any order.
		params = append(params, "lang="+lang, "parent="+url.QueryEscape(origin))
		for _, kv := range e.Theme {
			params = append(params, "theme-"+url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
		}
		src := base + "/w/" + e.Widget + "?" + strings.Join(params, "&")
		title := spec.title[0]
		if lang == "en" {
			title = spec.title[1]
		}
		p.raw(`<template shadowrootmode="open"><iframe`)
		p.attr("src", src)
		p.attr("title", title)
		p.raw(` width="100%" height="480" frameborder="0" referrerpolicy="strict-origin" allow=""></iframe></template>`)
	}
	p.raw("</", element, ">\n")
	return p.String(), nil
}

// homePage writes the host's own page.
func homePage(css string, links []Link, snippet, questionnaireSnippet string) string {
	var p page
	p.raw("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Parcours — hôte</title>\n<link rel=\"stylesheet\"")
	p.attr("href", css)
	p.raw(">\n</head>\n<body>\n<main class=\"pc\">\n<h1 class=\"pc-title\">Parcours</h1>\n<p>Hôte Parcours : widgets de portail patient à intégrer dans un site hospitalier.</p>\n")
	if len(links) > 0 {
		p.raw("<ul>")
		for _, l := range links {
			p.raw("<li><a")
			p.attr("href", safeURL(l.URL))
			p.raw(">")
			p.text(l.Text)
			p.raw("</a></li>")
		}
		p.raw("</ul>")
	}
	p.raw("\n<h2 class=\"pc-step-title\">Intégrer le widget de prise de rendez-vous</h2>\n<p>Copiez ce code dans n'importe quelle page (voir <code>docs/embedding.md</code>) :</p>\n<pre><code>")
	p.text(snippet)
	p.raw("</code></pre>\n<h2 class=\"pc-step-title\">Intégrer un questionnaire</h2>\n<pre><code>")
	p.text(questionnaireSnippet)
	p.raw("</code></pre>\n<p><a href=\"/api/v1/openapi.json\">API (OpenAPI)</a></p>\n</main>\n</body>\n</html>\n")
	return p.String()
}

// home serves the host's own page: what it is, links (the demo hospital
// page) and the embed snippet with its SRI hash.
func (h *Host) home(w http.ResponseWriter, r *http.Request) {
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	est := h.cfg.Establishments[0].ID
	h.documentHeaders(w, nil, "")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The demo establishment's maternity registration, as an example.
	io.WriteString(w, homePage(h.assets.byName["parcours.css"].path, h.cfg.Links,
		Snippet(base, est, "", "fr"), QuestionnaireSnippet(base, est, "maternite-inscription", "fr")))
}
