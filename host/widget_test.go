package host

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/widgets/booking"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// bookingURL is the address of the demo booking widget with extra query
// parameters (name, value, name, value …).
func bookingURL(extra ...string) string {
	q := url.Values{}
	q.Set("establishment", sqlite.DemoEstablishment)
	q.Set("service", sqlite.ServiceMaternite)
	q.Set("lang", "fr")
	q.Set("parent", testPageOrigin)
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/w/booking?" + q.Encode()
}

// csp parses a Content-Security-Policy header into directive -> sources.
func csp(t *testing.T, header string) map[string][]string {
	t.Helper()
	if header == "" {
		t.Fatal("no Content-Security-Policy")
	}
	out := map[string][]string{}
	for _, d := range strings.Split(header, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		if _, dup := out[f[0]]; dup {
			t.Errorf("directive %s twice in %q", f[0], header)
		}
		out[f[0]] = f[1:]
	}
	return out
}

// styleNonce is the nonce of the document's <style> element, "" if none.
var styleNonce = regexp.MustCompile(`<style nonce="([^"]*)">`)

func TestWidgetDocumentHeaders(t *testing.T) {
	h := startHost(t, demoConfig(t))
	tests := []struct {
		name           string
		establishment  string
		frameAncestors []string
	}{
		{"establishment with origins", sqlite.DemoEstablishment, []string{testPageOrigin, "http://localhost:8081"}},
		{"establishment without origins", "sans-origine", []string{"'none'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, bookingURL("establishment", tt.establishment, "theme-primary", "#0b5cad"))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			hd := w.Header()
			policy := hd.Get("Content-Security-Policy")
			d := csp(t, policy)
			if got := strings.Join(d["script-src"], " "); got != "'self' 'wasm-unsafe-eval'" {
				t.Errorf("script-src %q, want 'self' 'wasm-unsafe-eval'", got)
			}
			if got := strings.Join(d["default-src"], " "); got != "'none'" {
				t.Errorf("default-src %q, want 'none'", got)
			}
			for dir, sources := range d {
				for _, s := range sources {
					if s == "'unsafe-eval'" || s == "'unsafe-inline'" || s == "*" || s == "data:" && dir != "img-src" {
						t.Errorf("%s allows %s", dir, s)
					}
				}
			}
			if got := d["frame-ancestors"]; strings.Join(got, " ") != strings.Join(tt.frameAncestors, " ") {
				t.Errorf("frame-ancestors %q, want %q", got, tt.frameAncestors)
			}
			if got := h.FrameAncestors(tt.establishment); got != strings.Join(tt.frameAncestors, " ") {
				t.Errorf("FrameAncestors = %q", got)
			}
			for _, dir := range []string{"base-uri", "object-src"} {
				if got := strings.Join(d[dir], " "); got != "'none'" {
					t.Errorf("%s %q, want 'none'", dir, got)
				}
			}
			m := styleNonce.FindStringSubmatch(w.Body.String())
			if m == nil {
				t.Fatal("no <style nonce> for a themed widget")
			}
			if want := []string{"'self'", "'nonce-" + m[1] + "'"}; strings.Join(d["style-src"], " ") != strings.Join(want, " ") {
				t.Errorf("style-src %q, want %q", d["style-src"], want)
			}
			for name, want := range map[string]string{
				"Content-Type":               "text/html; charset=utf-8",
				"Cache-Control":              "no-store",
				"X-Content-Type-Options":     "nosniff",
				"Referrer-Policy":            "strict-origin",
				"Cross-Origin-Opener-Policy": "same-origin",
			} {
				if got := hd.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestWidgetDocumentNonce(t *testing.T) {
	h := startHost(t, demoConfig(t))
	target := bookingURL("theme-primary", "#123456")
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		w := get(h, target)
		m := styleNonce.FindStringSubmatch(w.Body.String())
		if m == nil {
			t.Fatalf("response %d: no <style nonce>", i)
		}
		nonce := m[1]
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{22,}$`).MatchString(nonce) {
			t.Errorf("nonce %q: want at least 128 bits of base64url", nonce)
		}
		if !strings.Contains(w.Header().Get("Content-Security-Policy"), "'nonce-"+nonce+"'") {
			t.Errorf("nonce %q of the style element is not in the CSP", nonce)
		}
		if seen[nonce] {
			t.Errorf("nonce %q served twice", nonce)
		}
		seen[nonce] = true
	}

	// Without a theme there are no theme declarations: only the stylesheet.
	w := get(h, bookingURL())
	if strings.Contains(w.Body.String(), ":root{--parcours-") {
		t.Error("theme declarations without theme parameters")
	}
	if n := strings.Count(w.Body.String(), "<style"); n != 1 {
		t.Errorf("%d <style> elements, want the one inlined stylesheet", n)
	}
}

func TestWidgetDocumentParentOrigin(t *testing.T) {
	h := startHost(t, demoConfig(t))
	tests := []struct {
		name          string
		establishment string
		parent        string
		want          string // data-parent-origin, "" for none
	}{
		{"allowed origin", sqlite.DemoEstablishment, testPageOrigin, testPageOrigin},
		{"second allowed origin", sqlite.DemoEstablishment, "http://localhost:8081", "http://localhost:8081"},
		{"allowed origin in upper case", sqlite.DemoEstablishment, "HTTPS://WWW.CHU-EXEMPLE.FR", testPageOrigin},
		{"allowed origin with trailing slash", sqlite.DemoEstablishment, testPageOrigin + "/", testPageOrigin},
		{"no parent", sqlite.DemoEstablishment, "", ""},
		{"disallowed origin", sqlite.DemoEstablishment, "https://evil.example", ""},
		{"look-alike host", sqlite.DemoEstablishment, "https://www.chu-exemple.fr.evil.example", ""},
		{"other scheme", sqlite.DemoEstablishment, "http://www.chu-exemple.fr", ""},
		{"other port", sqlite.DemoEstablishment, "https://www.chu-exemple.fr:8443", ""},
		{"path-carrying origin", sqlite.DemoEstablishment, testPageOrigin + "/prendre-rendez-vous", ""},
		{"query-carrying origin", sqlite.DemoEstablishment, testPageOrigin + "?x=1", ""},
		{"user info", sqlite.DemoEstablishment, "https://patient@www.chu-exemple.fr", ""},
		{"malformed", sqlite.DemoEstablishment, "not an origin", ""},
		{"javascript URL", sqlite.DemoEstablishment, "javascript:alert(1)", ""},
		{"wildcard", sqlite.DemoEstablishment, "*", ""},
		{"null origin", sqlite.DemoEstablishment, "null", ""},
		{"attribute injection", sqlite.DemoEstablishment, testPageOrigin + `" onload="alert(1)`, ""},
		{"origin of another establishment", "sans-origine", testPageOrigin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, bookingURL("establishment", tt.establishment, "parent", tt.parent))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			body := w.Body.String()
			m := regexp.MustCompile(`data-parent-origin="([^"]*)"`).FindAllStringSubmatch(body, -1)
			switch {
			case tt.want == "" && m != nil:
				t.Errorf("data-parent-origin=%q for parent %q", m[0][1], tt.parent)
			case tt.want != "" && (len(m) != 1 || m[0][1] != tt.want):
				t.Errorf("data-parent-origin %q, want exactly one %q", m, tt.want)
			}
			if strings.Contains(body, "onload") {
				t.Error("the parent parameter reached the document")
			}
		})
	}
}

func TestWidgetDocumentNotFound(t *testing.T) {
	h := startHost(t, demoConfig(t))
	tests := []struct {
		name, target, lang, message string
	}{
		{"unknown establishment", "/w/booking?establishment=chu-inconnu", "fr", "Ce service n’est pas disponible à cette adresse."},
		{"no establishment (a widget that needs one)", "/w/questionnaire?questionnaire=epds", "fr", "Ce service n’est pas disponible à cette adresse."},
		{"establishment only in the backend's future", "/w/booking?establishment=CHU-EXEMPLE", "fr", "Ce service n’est pas disponible"},
		{"unknown widget", "/w/messaging?establishment=chu-exemple", "fr", "Ce service n’est pas disponible"},
		{"unknown widget in English", "/w/unknown?establishment=chu-exemple&lang=en", "en", "This service is not available at this address."},
		{"escaped widget name", "/w/%3Cscript%3E?establishment=chu-exemple", "fr", "Ce service n’est pas disponible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, tt.target)
			if w.Code != http.StatusNotFound {
				t.Fatalf("status %d, want 404", w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			d := csp(t, w.Header().Get("Content-Security-Policy"))
			if got := strings.Join(d["frame-ancestors"], " "); got != "'none'" {
				t.Errorf("error page frame-ancestors %q, want 'none'", got)
			}
			body := w.Body.String()
			if !strings.Contains(body, `<html lang="`+tt.lang+`">`) || !strings.Contains(body, tt.message) {
				t.Errorf("body %q: want lang %s and %q", body, tt.lang, tt.message)
			}
			if strings.Contains(body, "<script") {
				t.Error("script in the error page")
			}
		})
	}
}

func TestWidgetDocumentLanguage(t *testing.T) {
	h := startHost(t, demoConfig(t))
	tests := []struct {
		name           string
		target         string
		acceptLanguage string
		lang, title    string
		heading        string
	}{
		{"French by default", bookingURL("lang", ""), "", "fr", "Prise de rendez-vous", "Prendre rendez-vous"},
		{"lang=fr", bookingURL("lang", "fr"), "en", "fr", "Prise de rendez-vous", "Prendre rendez-vous"},
		{"lang=en", bookingURL("lang", "en"), "", "en", "Appointment booking", "Book an appointment"},
		{"lang=en-GB", bookingURL("lang", "en-GB"), "", "en", "Appointment booking", "Book an appointment"},
		{"unsupported lang is French", bookingURL("lang", "de"), "en", "fr", "Prise de rendez-vous", "Prendre rendez-vous"},
		{"Accept-Language English", bookingURL("lang", ""), "en-US,en;q=0.9", "en", "Appointment booking", "Book an appointment"},
		{"Accept-Language French first", bookingURL("lang", ""), "fr-FR, en;q=0.5", "fr", "Prise de rendez-vous", "Prendre rendez-vous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, tt.target, "Accept-Language", tt.acceptLanguage)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			body := w.Body.String()
			for _, want := range []string{
				`<html lang="` + tt.lang + `"`,
				`data-lang="` + tt.lang + `"`,
				"<title>" + tt.title + "</title>",
				">" + tt.heading + "</h2>",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("document lacks %q", want)
				}
			}
			if paint := firstPaint(t, body); !strings.Contains(strings.SplitN(paint, ">", 2)[0], ` lang="`+tt.lang+`"`) {
				t.Errorf("first paint %.120q… is not in %s", paint, tt.lang)
			}
		})
	}
}

func TestWidgetDocumentEscaping(t *testing.T) {
	h := startHost(t, demoConfig(t))
	const attack = `"><script>alert(1)</script><x a="`
	w := get(h, bookingURL("service", attack, "practitioner", attack, "theme-primary", "red</style><script>alert(1)</script>"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<x a=") {
		t.Errorf("query parameters injected markup:\n%s", body)
	}
	if !strings.Contains(body, `data-service="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;x a=&#34;"`) {
		t.Errorf("service not kept as an escaped attribute:\n%s", body)
	}
	if !strings.Contains(body, `data-practitioner="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;x a=&#34;"`) {
		t.Errorf("practitioner not kept as an escaped attribute:\n%s", body)
	}
	// Every script is an external file from 'self': nothing inline for the
	// CSP to allow. The one exception is the widget's state, a JSON data
	// block the browser never executes.
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if tag == `<script type="application/json" id="parcours-state">` {
			continue
		}
		if !regexp.MustCompile(`^<script src="/a/[a-z-]+\.[0-9a-f]{12}\.js" defer`).MatchString(tag) {
			t.Errorf("script tag %q is not an external hashed asset", tag)
		}
	}
	if strings.Contains(body, ":root{--parcours-primary") || strings.Count(body, "<style") != 1 || strings.Count(body, "</style>") != 1 {
		t.Error("a theme value with markup reached the stylesheet")
	}
}

func TestWidgetDocumentWithWasm(t *testing.T) {
	cfg := demoConfig(t)
	cfg.Assets = wasmFS(nil)
	h := startHost(t, cfg)
	w := get(h, bookingURL())
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	wasm := h.assets.byName["parcours.wasm"].path
	for _, want := range []string{
		`<script src="` + h.assets.byName["vugu-helper.js"].path + `" defer></script>`,
		`<script src="` + h.assets.byName["wasm_exec.js"].path + `" defer></script>`,
		`<script src="` + h.assets.byName["frame.js"].path + `" defer data-wasm="` + wasm + `" data-compiler="` + h.assets.byName["compile.js"].path + `"></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("document lacks %s", want)
		}
	}
	// The Wasm is not preloaded: frame.js has a worker (compile.js) fetch
	// and compile it once the frame has painted (on the main thread, a warm
	// cache's read of it held back the first paint and the first click).
	if strings.Contains(body, `rel="preload"`) {
		t.Error("the document preloads something")
	}
	// The helper that neutralises vugu's eval must load before wasm_exec.js.
	if strings.Index(body, "vugu-helper") > strings.Index(body, "wasm_exec") {
		t.Error("vugu-helper.js is loaded after wasm_exec.js")
	}

	// Without Config.Assets: the first paint only, no Wasm.
	plain := get(startHost(t, demoConfig(t)), bookingURL()).Body.String()
	if strings.Contains(plain, ".wasm") || strings.Contains(plain, "wasm_exec") || strings.Contains(plain, "data-wasm=\"/") {
		t.Error("a host without assets references the Wasm")
	}
}

func TestThemeCSS(t *testing.T) {
	tests := []struct {
		name  string
		theme map[string]string // key (without theme-) -> value
		want  string
	}{
		{"no theme", nil, ""},
		{"hex colour", map[string]string{"primary": "#0b5cad"}, ":root{--parcours-primary:#0b5cad;}"},
		{"spaces trimmed", map[string]string{"primary": "  #0B5CAD \t"}, ":root{--parcours-primary:#0B5CAD;}"},
		{"rgb", map[string]string{"on-primary": "rgb(255, 255, 255)"}, ":root{--parcours-on-primary:rgb(255, 255, 255);}"},
		{"hsl with percentages", map[string]string{"background": "hsl(210 50% 98%)"}, ":root{--parcours-background:hsl(210 50% 98%);}"},
		{"nested functions", map[string]string{"surface": "color-mix(in oklch, oklch(0.7 0.1 200) 40%, white)"}, ":root{--parcours-surface:color-mix(in oklch, oklch(0.7 0.1 200) 40%, white);}"},
		{"named colour", map[string]string{"text": "black"}, ":root{--parcours-text:black;}"},
		{"font list with quotes", map[string]string{"font": `"Marianne", 'Open Sans', Arial, sans-serif`}, `:root{--parcours-font:"Marianne", 'Open Sans', Arial, sans-serif;}`},
		{"apostrophe inside a string", map[string]string{"font": `"Marianne's Sans", serif`}, `:root{--parcours-font:"Marianne's Sans", serif;}`},
		{"length", map[string]string{"radius": "0.5rem"}, ":root{--parcours-radius:0.5rem;}"},
		{"calc", map[string]string{"radius": "calc(1rem - 2px)"}, ":root{--parcours-radius:calc(1rem - 2px);}"},
		{"var fallback", map[string]string{"error": "var(--brand-red, #b3261e)"}, ":root{--parcours-error:var(--brand-red, #b3261e);}"},
		{"100 characters kept", map[string]string{"font": strings.Repeat("a", 100)}, ":root{--parcours-font:" + strings.Repeat("a", 100) + ";}"},
		{"keys in ThemeKeys order", map[string]string{"radius": "4px", "primary": "red", "font": "serif"}, ":root{--parcours-primary:red;--parcours-font:serif;--parcours-radius:4px;}"},
		{"unknown key ignored", map[string]string{"position": "fixed", "primary": "red"}, ":root{--parcours-primary:red;}"},

		{"101 characters dropped", map[string]string{"font": strings.Repeat("a", 101)}, ""},
		{"semicolon", map[string]string{"primary": "red;color:blue"}, ""},
		{"closing brace", map[string]string{"primary": "red}body{display:none"}, ""},
		{"opening brace", map[string]string{"primary": "red{"}, ""},
		{"end of style element", map[string]string{"primary": "red</style><script>alert(1)</script>"}, ""},
		{"less-than alone", map[string]string{"primary": "<"}, ""},
		{"CSS escape", map[string]string{"primary": `\3c /style\3e`}, ""},
		{"comment", map[string]string{"primary": "red /* x */"}, ""},
		{"colon", map[string]string{"primary": "red:blue"}, ""},
		{"at-rule", map[string]string{"font": "@import 'x'"}, ""},
		{"important", map[string]string{"primary": "red !important"}, ""},
		{"newline", map[string]string{"primary": "red\nblue"}, ""},
		{"tab inside", map[string]string{"primary": "red\tblue"}, ""},
		{"NUL", map[string]string{"primary": "red\x00"}, ""},
		{"non-ASCII", map[string]string{"font": "Arial\u00a0Black"}, ""},
		{"absolute url", map[string]string{"background": "url(https://evil.example/t.png)"}, ""},
		{"relative url", map[string]string{"background": "url(x)"}, ""},
		{"url in upper case", map[string]string{"background": "URL(x)"}, ""},
		{"quoted url", map[string]string{"background": `url("..%2Fapi%2Fv1%2Fsession")`}, ""},
		{"image-set string is a URL", map[string]string{"background": `image-set("x" 1x)`}, ""},
		{"webkit image-set", map[string]string{"background": `-webkit-image-set("x" 1x)`}, ""},
		{"src function", map[string]string{"background": `src("x")`}, ""},
		{"expression", map[string]string{"background": "expression(alert(1))"}, ""},
		{"attr", map[string]string{"font": "attr(data-x)"}, ""},
		{"bare parentheses", map[string]string{"radius": "(4px)"}, ""},
		{"space before parenthesis", map[string]string{"background": "url (x)"}, ""},
		{"unbalanced double quote", map[string]string{"font": `"Marianne, serif`}, ""},
		{"unbalanced single quote", map[string]string{"font": `'Marianne`}, ""},
		{"unclosed function", map[string]string{"primary": "rgb(1, 2, 3"}, ""},
		{"stray closing parenthesis", map[string]string{"primary": "red)"}, ""},
		{"closing before opening", map[string]string{"primary": ")rgb("}, ""},
		{"bad value dropped, good kept", map[string]string{"primary": "red;x", "text": "#111"}, ":root{--parcours-text:#111;}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range tt.theme {
				q.Set("theme-"+k, v)
			}
			if got := ThemeCSS(q); got != tt.want {
				t.Errorf("ThemeCSS(%v) = %q, want %q", q, got, tt.want)
			}
		})
	}
}

// firstPaint is the server-rendered widget of a document: the mount element.
func firstPaint(t *testing.T, doc string) string {
	t.Helper()
	start := strings.Index(doc, `<section id="parcours-root"`)
	end := strings.LastIndex(doc, "</section>")
	if start < 0 || end < start {
		t.Fatalf("no <section id=\"parcours-root\"> in\n%s", doc)
	}
	return doc[start:end+len("</section>")] + "\n"
}

func TestWidgetFirstPaintGolden(t *testing.T) {
	h := startHost(t, demoConfig(t))
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			w := get(h, bookingURL("lang", lang))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			got := firstPaint(t, w.Body.String())
			golden := filepath.Join("testdata", "firstpaint-"+lang+".golden")
			if *updateGolden {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./host -update)", err)
			}
			if got != string(want) {
				t.Errorf("first paint differs from %s (run go test ./host -update if intended)\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestWidgetStateHandoff: the state the host hands to the browser is the
// JSON object of the snapshot (not a string), and it holds what the first
// paint shows.
func TestWidgetStateHandoff(t *testing.T) {
	h := startHost(t, demoConfig(t))
	body := get(h, bookingURL()).Body.String()
	m := regexp.MustCompile(`<script type="application/json" id="parcours-state">([^<]*)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no state block in the document")
	}
	var snap booking.Snapshot
	if err := json.Unmarshal([]byte(m[1]), &snap); err != nil {
		t.Fatalf("state block: %v\n%s", err, m[1])
	}
	if snap.Establishment.Name != "CHU Exemple" || snap.Service != sqlite.ServiceMaternite || len(snap.Services) != 3 {
		t.Errorf("snapshot %+v", snap)
	}
	shown := strings.Count(firstPaint(t, body), `class="pc-slot"`)
	if shown == 0 || len(snap.Slots) < shown {
		t.Errorf("%d slots handed over, %d shown", len(snap.Slots), shown)
	}
}

// TestEstablishmentTheme: an establishment's configured theme styles its
// widgets; a page's theme attributes win key by key; a bad value is
// refused at start, naming the establishment and the key.
func TestEstablishmentTheme(t *testing.T) {
	cfg := demoConfig(t)
	cfg.Establishments[0].Theme = map[string]string{"primary": "#5b2a86", "radius": "4px"}
	h := startHost(t, cfg)
	doc := get(h, bookingURL()).Body.String()
	if !strings.Contains(doc, "--parcours-primary:#5b2a86;") || !strings.Contains(doc, "--parcours-radius:4px;") {
		t.Error("the establishment's theme is not in its widget")
	}
	doc = get(h, bookingURL()+"&theme-primary=%23003366").Body.String()
	if !strings.Contains(doc, "--parcours-primary:#003366;") || strings.Contains(doc, "#5b2a86") || !strings.Contains(doc, "--parcours-radius:4px;") {
		t.Error("the page's theme does not win key by key over the establishment's")
	}
	for _, theme := range []map[string]string{{"primary": "red;color:blue"}, {"position": "fixed"}} {
		cfg := demoConfig(t)
		cfg.Establishments[0].Theme = theme
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), cfg.Establishments[0].ID) {
			t.Errorf("theme %v: %v", theme, err)
		}
	}
}
