// Package hospitalsite is the demo hospital web site: a page of the
// fictional "CHU Exemple" that embeds Parcours widgets exactly as a hospital
// web team would, with one script tag and one custom element, served from
// another origin than the Parcours host.
package hospitalsite

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed index.html site.css site.js
var files embed.FS

var page = template.Must(template.ParseFS(files, "index.html"))

// Config is what the page needs to know about the Parcours host.
type Config struct {
	// HostOrigin is the Parcours host, for example http://127.0.0.1:8080.
	HostOrigin string
	// LoaderSRI is the Subresource Integrity value of HostOrigin/parcours.js.
	LoaderSRI string
	// LoaderFrames leaves every widget's frame to the loader (the shorter
	// snippet, an empty element). By default the elements of the booking
	// and registration pages carry their frame in a declarative shadow
	// root, which the browser requests while it parses the page
	// (docs/embedding.md).
	LoaderFrames bool
}

// Handler serves the site. Its CSP is the one docs/embedding.md asks of a
// hospital page: scripts from itself and the Parcours host, frames from the
// Parcours host, nothing inline.
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	host := strings.TrimRight(cfg.HostOrigin, "/")
	csp := "default-src 'self'; script-src 'self' " + host + "; frame-src " + host + "; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"
	render := func(w http.ResponseWriter, r *http.Request, lang, name, other string) {
		var b bytes.Buffer
		origin := "http://" + r.Host
		if r.TLS != nil {
			origin = "https://" + r.Host
		}
		frame := "yes"
		if cfg.LoaderFrames {
			frame = ""
		}
		if err := page.Execute(&b, map[string]string{"Host": host, "SRI": cfg.LoaderSRI, "Lang": lang, "Page": name, "Other": other, "Origin": origin, "Frame": frame}); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b.Bytes())
	}
	// Each page in French and in English.
	for _, p := range []struct{ name, fr, en string }{
		{"appointments", "/", "/en/"},
		{"registration", "/inscription/", "/en/registration/"},
		{"messages", "/messagerie/", "/en/messages/"},
		{"inbox", "/equipe/", "/en/care-team/"},
		{"documents", "/documents/", "/en/documents/"},
		{"access", "/acces/", "/en/access/"},
		{"region", "/region/", "/en/region/"},
	} {
		mux.HandleFunc("GET "+p.fr+"{$}", func(w http.ResponseWriter, r *http.Request) { render(w, r, "fr", p.name, p.en) })
		mux.HandleFunc("GET "+p.en+"{$}", func(w http.ResponseWriter, r *http.Request) { render(w, r, "en", p.name, p.fr) })
	}
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /site.css", serveFile("site.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /site.js", serveFile("site.js", "text/javascript; charset=utf-8"))
	return mux
}

func serveFile(name, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := files.ReadFile(name)
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}
