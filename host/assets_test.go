package host

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/wasm/web"
)

// The helpers below are shared by the internal tests of this package
// (assets, widget documents, sessions).

// testPageOrigin is the embedding page of the demo establishment in tests.
const testPageOrigin = "https://www.chu-exemple.fr"

// testNow is the clock of demoConfig's host and backend.
var testNow = time.Date(2026, 11, 23, 8, 0, 0, 0, time.FixedZone("CET", 3600))

// demoConfig returns a Config on a private in-memory SQLite database seeded
// with the demo data, serving the demo establishment (embeddable from
// testPageOrigin) and "sans-origine", an establishment no page may embed.
func demoConfig(t testing.TB) Config {
	t.Helper()
	ctx := context.Background()
	// A fixed clock (a Monday morning in Paris) makes the preloaded first
	// paint, with its days and slots, the same on every run.
	now := func() time.Time { return testNow }
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, testNow); err != nil {
		t.Fatal(err)
	}
	return Config{
		Now:       now,
		Booking:   store,
		Directory: store,
		Establishments: []Establishment{
			{ID: sqlite.DemoEstablishment, Origins: []string{testPageOrigin, "http://localhost:8081"}},
			{ID: "sans-origine"},
		},
		Logger: slog.New(slog.DiscardHandler),
	}
}

// startHost builds a Host from cfg and closes it at the end of the test.
func startHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// get serves one GET request for target with the given headers.
func get(h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeBody undoes a Content-Encoding with decoders independent of the
// host's own decompress.
func decodeBody(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return body
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		g, err := stdgzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = g
	case "zstd":
		d, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd body: %v", err)
		}
		defer d.Close()
		r = d
	default:
		t.Fatalf("unexpected Content-Encoding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s body: %v", coding, err)
	}
	return out
}

func TestNegotiate(t *testing.T) {
	all := map[string][]byte{"": nil, "br": nil, "zstd": nil, "gzip": nil}
	gzipOnly := map[string][]byte{"": nil, "gzip": nil}
	identityOnly := map[string][]byte{"": nil}
	tests := []struct {
		name      string
		accept    string
		available map[string][]byte
		want      string
	}{
		{"no header is identity", "", all, ""},
		{"browser default prefers br", "gzip, deflate, br, zstd", all, "br"},
		{"order of the header does not matter", "zstd, gzip, br", all, "br"},
		{"single coding", "gzip", all, "gzip"},
		{"higher weight wins", "br;q=0.5, gzip;q=0.8", all, "gzip"},
		{"weight with spaces", "br ; q=0.2 , zstd ; q=0.9", all, "zstd"},
		{"equal weights follow preference", "gzip;q=0.5, zstd;q=0.5", all, "zstd"},
		{"q=0 refuses br", "br;q=0, gzip", all, "gzip"},
		{"q=0.000 refuses", "br;q=0.000, zstd;q=0.0, gzip", all, "gzip"},
		{"smallest positive weight still accepts", "gzip;q=0.001", all, "gzip"},
		{"everything refused is identity", "br;q=0, zstd;q=0, gzip;q=0", all, ""},
		{"star accepts everything", "*", all, "br"},
		{"star refused is identity", "*;q=0", all, ""},
		{"star refused but gzip named", "*;q=0, gzip", all, "gzip"},
		{"star stands for the others only", "br;q=0, *", all, "zstd"},
		{"named weight beats star", "*;q=0.5, gzip;q=0.9", all, "gzip"},
		{"star weight beats named", "*;q=0.9, br;q=0.1", all, "zstd"},
		{"identity only", "identity", all, ""},
		{"identity refused still gets identity", "identity;q=0", all, ""},
		{"uppercase coding", "GZIP", all, "gzip"},
		{"uppercase q parameter refuses", "BR;Q=0, gzip", all, "gzip"},
		{"mixed case", "Br;Q=0.1, GZip;Q=0.9", all, "gzip"},
		{"unknown codings", "deflate, compress, x-custom", all, ""},
		{"garbage", ";;;,,,=;q", all, ""},
		{"malformed weight refuses", "br;q=high, gzip", all, "gzip"},
		{"weight above 1 refuses", "br;q=2, gzip", all, "gzip"},
		{"negative weight refuses", "br;q=-1, gzip", all, "gzip"},
		{"NaN weight refuses", "br;q=NaN, gzip", all, "gzip"},
		{"other parameters ignored", "gzip;level=9", all, "gzip"},
		{"missing variant br", "br", gzipOnly, ""},
		{"missing variants fall back", "br, gzip;q=0.1", gzipOnly, "gzip"},
		{"star with missing variants", "*", gzipOnly, "gzip"},
		{"identity-only asset", "br, zstd, gzip", identityOnly, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negotiate(tt.accept, tt.available); got != tt.want {
				t.Errorf("negotiate(%q) = %q, want %q", tt.accept, got, tt.want)
			}
		})
	}
}

func TestNewAssetVariants(t *testing.T) {
	data := bytes.Repeat([]byte("parcours wasm payload "), 500)
	a, err := newAsset("parcours.wasm", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.path, "/a/parcours.") || !strings.HasSuffix(a.path, ".wasm") {
		t.Errorf("path = %q, want /a/parcours.<hash>.wasm", a.path)
	}
	if a.ctype != "application/wasm" {
		t.Errorf("content type = %q", a.ctype)
	}
	sum := sha512.Sum384(data)
	if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); a.sri != want {
		t.Errorf("sri = %q, want %q", a.sri, want)
	}
	for _, c := range codings {
		b, ok := a.variants[c]
		if !ok {
			t.Errorf("no %s variant for compressible data", c)
			continue
		}
		if got := decodeBody(t, c, b); !bytes.Equal(got, data) {
			t.Errorf("%s variant does not decode to the data", c)
		}
	}

	// Other content gets another address: the name is a content hash.
	b, err := newAsset("parcours.wasm", append(data, '!'), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.path == a.path || b.etag == a.etag {
		t.Errorf("different content shares path %q / etag %q", b.path, b.etag)
	}

	// Incompressible data keeps only the identity.
	tiny, err := newAsset("x.js", []byte("1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tiny.variants) != 1 {
		t.Errorf("variants of a 1-byte file: %d, want only the identity", len(tiny.variants))
	}
}

func TestNewAssetPrecompressed(t *testing.T) {
	data := bytes.Repeat([]byte("wasm "), 1000)
	good, err := Compress("br", data, true)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := Compress("br", []byte("an older build"), true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pre     map[string][]byte
		wantErr string
	}{
		{"matching sibling kept", map[string][]byte{"br": good}, ""},
		{"stale sibling refused", map[string][]byte{"br": stale}, "parcours.wasm.br does not match parcours.wasm"},
		{"corrupt gzip refused", map[string][]byte{"gzip": []byte("not gzip")}, "parcours.wasm.gz does not match"},
		{"corrupt zstd refused", map[string][]byte{"zstd": []byte("not zstd")}, "parcours.wasm.zst does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newAsset("parcours.wasm", data, tt.pre)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.variants["br"], good) {
				t.Error("the pre-compressed br variant was not used as given")
			}
		})
	}
}

func TestServeHashedAssets(t *testing.T) {
	h := startHost(t, demoConfig(t))
	for _, name := range []string{"parcours.css", "frame.js", "compile.js", "vugu-helper.js"} {
		a := h.assets.byName[name]
		if a == nil {
			t.Fatalf("no asset %s", name)
		}
		original := a.variants[""]
		for _, accept := range []string{"", "identity", "gzip", "br", "zstd", "br, gzip, zstd", "*"} {
			t.Run(name+"/"+accept, func(t *testing.T) {
				w := get(h, a.path, "Accept-Encoding", accept)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				hd := w.Header()
				coding := hd.Get("Content-Encoding")
				if want := negotiate(accept, a.variants); coding != want {
					t.Errorf("Content-Encoding %q, want %q", coding, want)
				}
				if accept == "" || accept == "identity" {
					if coding != "" {
						t.Errorf("Content-Encoding %q for Accept-Encoding %q", coding, accept)
					}
				} else if coding == "" && len(a.variants) > 1 {
					t.Errorf("no compression for Accept-Encoding %q", accept)
				}
				if got := decodeBody(t, coding, w.Body.Bytes()); !bytes.Equal(got, original) {
					t.Error("body does not decode to the original bytes")
				}
				if got := hd.Get("Content-Length"); got != strconv.Itoa(w.Body.Len()) {
					t.Errorf("Content-Length %q, body %d bytes", got, w.Body.Len())
				}
				if got := hd.Values("Vary"); !slices.Contains(got, "Accept-Encoding") {
					t.Errorf("Vary = %q", got)
				}
				if got := hd.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
					t.Errorf("Cache-Control = %q", got)
				}
				if got := hd.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options = %q", got)
				}
				if got := hd.Get("Content-Type"); got != a.ctype {
					t.Errorf("Content-Type = %q, want %q", got, a.ctype)
				}
				etag := hd.Get("ETag")
				if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 4 {
					t.Fatalf("ETag %q is not a strong validator", etag)
				}

				// Revalidation with the same validator: 304, no body.
				w2 := get(h, a.path, "Accept-Encoding", accept, "If-None-Match", etag)
				if w2.Code != http.StatusNotModified {
					t.Fatalf("If-None-Match %s: status %d, want 304", etag, w2.Code)
				}
				if w2.Body.Len() != 0 {
					t.Errorf("304 with a %d-byte body", w2.Body.Len())
				}
				if got := w2.Header().Get("ETag"); got != etag {
					t.Errorf("304 ETag %q, want %q", got, etag)
				}
				// Another validator: the full answer.
				if w3 := get(h, a.path, "Accept-Encoding", accept, "If-None-Match", `"0000"`); w3.Code != http.StatusOK {
					t.Errorf("stale If-None-Match: status %d, want 200", w3.Code)
				}
			})
		}
	}

	t.Run("validators differ by coding", func(t *testing.T) {
		a := h.assets.byName["parcours.css"]
		identity := get(h, a.path).Header().Get("ETag")
		br := get(h, a.path, "Accept-Encoding", "br").Header().Get("ETag")
		if identity == br {
			t.Fatalf("identity and br share ETag %s", br)
		}
		// A cache holding the br bytes must not be told its copy is the identity.
		if w := get(h, a.path, "If-None-Match", br); w.Code != http.StatusOK {
			t.Errorf("br ETag revalidating the identity: status %d, want 200", w.Code)
		}
	})
}

func TestServeUnknownAsset(t *testing.T) {
	h := startHost(t, demoConfig(t))
	css := h.assets.byName["parcours.css"].path
	tests := []struct{ name, path string }{
		{"unknown name", "/a/nothing.js"},
		{"wrong hash", "/a/parcours.000000000000.css"},
		{"logical name without hash", "/a/parcours.css"},
		{"hashed name with suffix", css + ".br"},
		{"wasm without Config.Assets", "/a/parcours.wasm"},
		{"loader under /a/", "/a/parcours.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(h, tt.path, "Accept-Encoding", "br")
			if w.Code != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", tt.path, w.Code)
			}
			if w.Header().Get("Content-Encoding") != "" {
				t.Errorf("GET %s: 404 with Content-Encoding", tt.path)
			}
		})
	}
}

func TestServeLoader(t *testing.T) {
	h := startHost(t, demoConfig(t))
	for _, accept := range []string{"", "gzip", "br"} {
		t.Run("Accept-Encoding="+accept, func(t *testing.T) {
			w := get(h, "/parcours.js", "Accept-Encoding", accept, "Origin", "https://any.example")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			hd := w.Header()
			if got := hd.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
			}
			if got := hd.Get("Cross-Origin-Resource-Policy"); got != "cross-origin" {
				t.Errorf("Cross-Origin-Resource-Policy = %q", got)
			}
			if got := hd.Get("Cache-Control"); got != "public, max-age=300" {
				t.Errorf("Cache-Control = %q, want a short cache", got)
			}
			if got := hd.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if !slices.Contains(hd.Values("Vary"), "Accept-Encoding") {
				t.Errorf("Vary = %q", hd.Values("Vary"))
			}
			body := decodeBody(t, hd.Get("Content-Encoding"), w.Body.Bytes())
			if !bytes.Equal(body, web.Loader) {
				t.Fatal("served loader differs from wasm/web/parcours.js")
			}
			// The integrity attribute covers the decoded bytes.
			sum := sha512.Sum384(body)
			if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); LoaderSRI() != want {
				t.Errorf("LoaderSRI() = %s, served bytes hash to %s", LoaderSRI(), want)
			}
			if !strings.Contains(Snippet("https://parcours.example", "chu-exemple", "", ""), `integrity="`+LoaderSRI()+`"`) {
				t.Error("Snippet does not carry LoaderSRI")
			}
		})
	}
}

// wasmFS is a built-assets directory: parcours.wasm (compressible) and
// wasm_exec.js, plus extra files.
func wasmFS(extra map[string][]byte) fstest.MapFS {
	fsys := fstest.MapFS{
		"parcours.wasm": {Data: append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("go wasm "), 2000)...)},
		"wasm_exec.js":  {Data: bytes.Repeat([]byte("// wasm_exec\n"), 200)},
	}
	for name, b := range extra {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	return fsys
}

func TestConfigAssets(t *testing.T) {
	t.Run("served", func(t *testing.T) {
		cfg := demoConfig(t)
		fsys := wasmFS(nil)
		wasm := fsys["parcours.wasm"].Data
		br, err := Compress("br", wasm, true)
		if err != nil {
			t.Fatal(err)
		}
		fsys["parcours.wasm.br"] = &fstest.MapFile{Data: br}
		cfg.Assets = fsys
		h := startHost(t, cfg)

		a := h.assets.byName["parcours.wasm"]
		if a == nil {
			t.Fatal("parcours.wasm not loaded")
		}
		for _, accept := range []string{"", "br", "gzip", "zstd"} {
			w := get(h, a.path, "Accept-Encoding", accept)
			if w.Code != http.StatusOK {
				t.Fatalf("Accept-Encoding %q: status %d", accept, w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type = %q, want application/wasm", got)
			}
			coding := w.Header().Get("Content-Encoding")
			if coding != accept {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q", accept, coding)
			}
			if got := decodeBody(t, coding, w.Body.Bytes()); !bytes.Equal(got, wasm) {
				t.Errorf("Accept-Encoding %q: body does not decode to parcours.wasm", accept)
			}
			if accept == "br" && !bytes.Equal(w.Body.Bytes(), br) {
				t.Error("the pre-compressed parcours.wasm.br was not served as built")
			}
		}
		js := h.assets.byName["wasm_exec.js"]
		if js == nil {
			t.Fatal("wasm_exec.js not loaded")
		}
		w := get(h, js.path)
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), fsys["wasm_exec.js"].Data) {
			t.Errorf("wasm_exec.js: status %d, body equal %v", w.Code, bytes.Equal(w.Body.Bytes(), fsys["wasm_exec.js"].Data))
		}
		if got := w.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Errorf("wasm_exec.js Content-Type = %q", got)
		}
	})

	stale, err := Compress("br", []byte("the wasm of an older build"), false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		fsys    fs.FS
		wantErr string
	}{
		{"stale brotli sibling", wasmFS(map[string][]byte{"parcours.wasm.br": stale}), "parcours.wasm.br does not match parcours.wasm"},
		{"corrupt gzip sibling", wasmFS(map[string][]byte{"wasm_exec.js.gz": []byte("garbage")}), "wasm_exec.js.gz does not match wasm_exec.js"},
		{"missing wasm_exec.js", fstest.MapFS{"parcours.wasm": {Data: []byte("\x00asm")}}, "wasm_exec.js"},
		{"missing parcours.wasm", fstest.MapFS{"wasm_exec.js": {Data: []byte("//")}}, "parcours.wasm"},
		{"empty directory", fstest.MapFS{}, "make web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := demoConfig(t)
			cfg.Assets = tt.fsys
			h, err := New(cfg)
			if err == nil {
				h.Close()
				t.Fatalf("New accepted assets: want an error mentioning %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "host: assets: ") {
				t.Errorf("err = %q, want a host: assets error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestAssetPaths: with AssetPaths (the browser files served in front of
// the host, by a Worker's static assets), the widget documents load them
// from those paths and the host serves none of them; a path AssetPath
// does not make is refused.
func TestAssetPaths(t *testing.T) {
	wasm, execJS := []byte("\x00asm\x01\x00\x00\x00 external"), []byte("// wasm_exec external")
	paths := map[string]string{"parcours.wasm": AssetPath("parcours.wasm", wasm), "wasm_exec.js": AssetPath("wasm_exec.js", execJS)}
	cfg := demoConfig(t)
	cfg.AssetPaths = paths
	h := startHost(t, cfg)
	doc := get(h, "/w/booking?establishment="+sqlite.DemoEstablishment).Body.String()
	for _, p := range paths {
		if !strings.Contains(doc, `"`+p+`"`) {
			t.Errorf("widget document does not load %s:\n%s", p, doc)
		}
		if w := get(h, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404 (served in front of the host)", p, w.Code)
		}
	}
	for _, bad := range []string{"/a/other.3f2a9c0d1e4b.wasm", "https://cdn.example/a/parcours.3f2a9c0d1e4b.wasm", `/a/parcours."><script>.wasm`, "/a/parcours.3f2a9c0d1e4.wasm", "/a/parcours./../x/a.wasm", ""} {
		cfg := demoConfig(t)
		cfg.AssetPaths = map[string]string{"parcours.wasm": bad, "wasm_exec.js": paths["wasm_exec.js"]}
		if _, err := New(cfg); err == nil {
			t.Errorf("New with AssetPaths[parcours.wasm] = %q succeeded", bad)
		}
	}
	cfg = demoConfig(t)
	cfg.AssetPaths = paths
	cfg.Assets = fstest.MapFS{"parcours.wasm": {Data: wasm}, "wasm_exec.js": {Data: execJS}}
	if _, err := New(cfg); err == nil {
		t.Error("New with Assets and AssetPaths succeeded")
	}
}
