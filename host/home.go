package host

import (
	_ "embed"
	"io"
	"net/http"
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
	var p page
	p.raw("<script")
	p.attr("src", strings.TrimRight(base, "/")+"/parcours.js")
	p.attr("integrity", LoaderSRI())
	p.raw(` crossorigin="anonymous" async></script>`, "\n<", element) // element: one of ours
	for _, kv := range attrs {
		if kv[1] != "" {
			p.attr(kv[0], kv[1]) // names: ours; values: escaped
		}
	}
	p.raw("></", element, ">\n")
	return p.String()
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
