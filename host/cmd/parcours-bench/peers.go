package main

// The peers of <parcours-questionnaire>: LHC-Forms and Medplum's
// QuestionnaireForm rendering the same PHQ-9 Questionnaire, and the Parcours
// widget embedded the same way, each on a minimal page of one loopback
// static server (widgets/e2e/peers). The peers' npm packages, pinned in
// widgets/e2e/peers/package-lock.json, are installed here, by `make bench`
// only; a peer that cannot be installed or built is skipped with its reason.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

const (
	peersDir = "widgets/e2e/peers"
	// benchQuestionnaire is the instrument every page renders.
	benchQuestionnaire = "phq-9"
)

// peerPage is one page of the peers' server: its title (Markdown), the
// body of the page (html, in the skeleton page.html) and the files it loads,
// as URL path (under /NAME/) -> file (under peersDir).
type peerPage struct {
	name, title string
	html        string
	files       map[string]string
}

// pageSkeleton is the HTML document around every page's body.
const pageSkeleton = "page.html"

var peerPages = []peerPage{
	{name: "parcours", title: "Parcours `<parcours-questionnaire>`", html: "parcours.html"},
	{name: "lforms", title: "LHC-Forms", html: "lforms.html", files: map[string]string{
		"page.js":                                "lforms.js",
		"webcomponent/styles.css":                "node_modules/lforms/dist/lforms/webcomponent/styles.css",
		"webcomponent/down_arrow_gray_10_10.png": "node_modules/lforms/dist/lforms/webcomponent/down_arrow_gray_10_10.png",
		"webcomponent/magnifying_glass.png":      "node_modules/lforms/dist/lforms/webcomponent/magnifying_glass.png",
		"webcomponent/assets/lib/zone.min.js":    "node_modules/lforms/dist/lforms/webcomponent/assets/lib/zone.min.js",
		"webcomponent/runtime.js":                "node_modules/lforms/dist/lforms/webcomponent/runtime.js",
		"webcomponent/polyfills.js":              "node_modules/lforms/dist/lforms/webcomponent/polyfills.js",
		"webcomponent/main.js":                   "node_modules/lforms/dist/lforms/webcomponent/main.js",
		"fhir/R4/lformsFHIR.min.js":              "node_modules/lforms/dist/lforms/fhir/R4/lformsFHIR.min.js",
	}},
	{name: "medplum", title: "Medplum `QuestionnaireForm`", html: "medplum.html", files: map[string]string{
		"medplum.js":  "dist/medplum.js",
		"medplum.css": "dist/medplum.css",
	}},
}

// preparePeers installs the peers' packages when package-lock.json is newer
// than the installed tree (npm ci) and bundles the Medplum page. It returns
// why each peer that cannot run is skipped.
func preparePeers() map[string]string {
	skipped := map[string]string{}
	skipAll := func(reason string) map[string]string {
		for _, p := range peerPages[1:] {
			skipped[p.name] = reason
		}
		return skipped
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return skipAll("npm is not installed")
	}
	lock, err := os.Stat(filepath.Join(peersDir, "package-lock.json"))
	if err != nil {
		return skipAll("no " + peersDir + "/package-lock.json")
	}
	installed, err := os.Stat(filepath.Join(peersDir, "node_modules", ".package-lock.json"))
	if err != nil || installed.ModTime().Before(lock.ModTime()) {
		fmt.Fprintf(os.Stderr, "bench: installing the peers (npm ci in %s)\n", peersDir)
		if out, err := runIn(5*time.Minute, "npm", "ci", "--no-audit", "--no-fund"); err != nil {
			return skipAll("`npm ci` failed (" + err.Error() + "): " + errorLine(out))
		}
	}
	fmt.Fprintln(os.Stderr, "bench: bundling the Medplum page (esbuild)")
	if out, err := runIn(3*time.Minute, "node", "build.mjs"); err != nil {
		skipped["medplum"] = "bundling with esbuild failed (" + err.Error() + "): " + errorLine(out)
	}
	for _, p := range peerPages[1:] {
		for _, f := range p.files {
			if _, err := os.Stat(filepath.Join(peersDir, f)); err != nil && skipped[p.name] == "" {
				skipped[p.name] = "no " + f + " in " + peersDir
			}
		}
	}
	return skipped
}

// runIn runs a command in peersDir, bounded by d, and returns its output.
func runIn(d time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = peersDir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: timed out after %s", name, d)
	}
	return out, err
}

// errorLine is the first line of out that reports an error, else its last.
func errorLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.Contains(l, "ERR") || strings.Contains(l, "error") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// staticFile is a file of the peers' server with its compressed variants.
type staticFile struct {
	ctype, cache string
	variants     map[string][]byte // content coding ("" for none) -> bytes
}

// peersHandler serves the pages of the peers that are not skipped: each page
// with the Questionnaire inlined (no request for it, as with Parcours, whose
// first paint carries it), the HTML never cached, the other files cached for
// a year, as a CDN serves versioned files. Everything is compressed ahead of
// time with brotli at its best (as Parcours' Wasm is) and gzip.
func peersHandler(hostURL, peersURL string, skipped map[string]string) (http.Handler, error) {
	q, ok := instruments.JSON(benchQuestionnaire)
	if !ok {
		return nil, errors.New("no shipped " + benchQuestionnaire)
	}
	var inline bytes.Buffer
	inline.WriteString(`<script id="questionnaire" type="application/json">`)
	var compact bytes.Buffer
	if err := json.Compact(&compact, q); err != nil {
		return nil, err
	}
	json.HTMLEscape(&inline, compact.Bytes())
	inline.WriteString(`</script>`)
	// Parcours' page: the markup of `parcours snippet -page`, as the docs
	// advise, whose frame the browser requests while it parses the page.
	embed, err := host.Embed{Base: hostURL, Widget: "questionnaire", Page: peersURL,
		Attrs: [][2]string{{"establishment", sqlite.DemoEstablishment}, {"questionnaire", benchQuestionnaire}, {"lang", "fr"}}}.HTML()
	if err != nil {
		return nil, err
	}
	replacer := strings.NewReplacer("{{HOST}}", hostURL, "{{SRI}}", host.LoaderSRI(), "{{QUESTIONNAIRE}}", inline.String(), "{{EMBED}}", embed)
	skeleton, err := os.ReadFile(filepath.Join(peersDir, pageSkeleton))
	if err != nil {
		return nil, err
	}

	files := map[string]*staticFile{}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	// add serves file at urlPath; a page's body goes in the skeleton.
	add := func(urlPath, file, page string) {
		wg.Go(func() {
			b, err := os.ReadFile(filepath.Join(peersDir, file))
			if err == nil && page != "" {
				title := html.EscapeString(strings.ReplaceAll(page, "`", ""))
				b = []byte(strings.NewReplacer("{{TITLE}}", title, "{{PAGE}}", replacer.Replace(string(b))).Replace(string(skeleton)))
			}
			var f *staticFile
			if err == nil {
				f, err = newStaticFile(file, b, page != "")
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			files[urlPath] = f
		})
	}
	for _, p := range peerPages {
		if skipped[p.name] != "" {
			continue
		}
		add("/"+p.name+"/", p.html, p.title)
		for u, f := range p.files {
			add("/"+p.name+"/"+u, f, "")
		}
	}
	// Parcours' element without its frame, which the loader makes
	// (-questionnaire -loader-frames-b).
	add("/parcours/loader/", "parcours-loader.html", peerPages[0].title)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		f, ok := files[r.URL.Path]
		if !ok || (r.Method != "GET" && r.Method != "HEAD") {
			http.NotFound(w, r)
			return
		}
		coding := ""
		accept := r.Header.Get("Accept-Encoding")
		for _, c := range []string{"br", "gzip"} {
			if _, ok := f.variants[c]; ok && strings.Contains(accept, c) {
				coding = c
				break
			}
		}
		w.Header().Set("Content-Type", f.ctype)
		w.Header().Set("Cache-Control", f.cache)
		w.Header().Set("Vary", "Accept-Encoding")
		if coding != "" {
			w.Header().Set("Content-Encoding", coding)
		}
		w.Write(f.variants[coding])
	}), nil
}

func newStaticFile(name string, b []byte, page bool) (*staticFile, error) {
	f := &staticFile{cache: "public, max-age=31536000, immutable", variants: map[string][]byte{"": b}}
	switch filepath.Ext(name) {
	case ".html":
		f.ctype = "text/html; charset=utf-8"
	case ".js":
		f.ctype = "text/javascript; charset=utf-8"
	case ".css":
		f.ctype = "text/css; charset=utf-8"
	case ".png":
		f.ctype = "image/png"
		return f, nil
	default:
		return nil, fmt.Errorf("peers: no content type for %s", name)
	}
	if page {
		f.cache = "no-cache"
	}
	for _, c := range []string{"br", "gzip"} {
		z, err := host.Compress(c, b, true)
		if err != nil {
			return nil, err
		}
		f.variants[c] = z
	}
	return f, nil
}
