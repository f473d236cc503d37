package host

import (
	_ "embed"
	"fmt"
	"html/template"
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
	base = strings.TrimRight(base, "/")
	var a strings.Builder
	for _, kv := range attrs {
		if kv[1] != "" {
			fmt.Fprintf(&a, " %s=%q", kv[0], template.HTMLEscapeString(kv[1]))
		}
	}
	return fmt.Sprintf("<script src=\"%s/parcours.js\" integrity=\"%s\" crossorigin=\"anonymous\" async></script>\n<%s%s></%s>\n",
		template.HTMLEscapeString(base), LoaderSRI(), element, a.String(), element)
}

var homeTemplate = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parcours — hôte</title>
<link rel="stylesheet" href="{{.CSS}}">
</head>
<body>
<main class="pc">
<h1 class="pc-title">Parcours</h1>
<p>Hôte Parcours : widgets de portail patient à intégrer dans un site hospitalier.</p>
{{if .Links}}<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Text}}</a></li>{{end}}</ul>{{end}}
<h2 class="pc-step-title">Intégrer le widget de prise de rendez-vous</h2>
<p>Copiez ce code dans n'importe quelle page (voir <code>docs/embedding.md</code>) :</p>
<pre><code>{{.Snippet}}</code></pre>
<h2 class="pc-step-title">Intégrer un questionnaire</h2>
<pre><code>{{.QuestionnaireSnippet}}</code></pre>
<p><a href="/api/v1/openapi.json">API (OpenAPI)</a></p>
</main>
</body>
</html>
`))

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
	homeTemplate.Execute(w, map[string]any{
		"CSS":     h.assets.byName["parcours.css"].path,
		"Links":   h.cfg.Links,
		"Snippet": Snippet(base, est, "", "fr"),
		// The demo establishment's maternity registration, as an example.
		"QuestionnaireSnippet": QuestionnaireSnippet(base, est, "maternite-inscription", "fr"),
	})
}
