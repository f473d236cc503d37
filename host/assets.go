package host

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/parcours-sante/parcours/wasm/web"
	"github.com/parcours-sante/parcours/widgets"
)

// Content codings the host serves, in order of preference.
var codings = []string{"br", "zstd", "gzip"}

var codingExt = map[string]string{"br": ".br", "zstd": ".zst", "gzip": ".gz"}

// PrecompressedFiles returns, for each content coding the host serves, the
// name of the pre-compressed variant of file it reads from Config.Assets
// ("parcours.wasm.br" …). The build writes exactly these.
func PrecompressedFiles(file string) map[string]string {
	m := make(map[string]string, len(codings))
	for _, c := range codings {
		m[c] = file + codingExt[c]
	}
	return m
}

// asset is one static file with its pre-compressed variants.
type asset struct {
	name     string            // logical name, "parcours.wasm"
	path     string            // served path, "/a/parcours.3f2a9c0d1e4b.wasm"
	ctype    string            // Content-Type
	etag     string            // strong validator from the content hash
	sri      string            // Subresource Integrity, "sha384-…"
	variants map[string][]byte // "" is the identity; "br", "zstd", "gzip"
}

// assetSet is every static file the host serves.
type assetSet struct {
	byPath map[string]*asset
	byName map[string]*asset
	loader *asset
}

// WasmFiles are the files Config.Assets must hold.
var WasmFiles = []string{"parcours.wasm", "wasm_exec.js"}

func loadAssets(fsys fs.FS, paths map[string]string) (*assetSet, error) {
	s := &assetSet{byPath: map[string]*asset{}, byName: map[string]*asset{}}
	add := func(name string, data []byte, pre map[string][]byte) error {
		a, err := newAsset(name, data, pre)
		if err != nil {
			return err
		}
		s.byPath[a.path] = a
		s.byName[name] = a
		return nil
	}
	for _, name := range []string{"frame.js", "compile.js", "vugu-helper.js"} {
		b, err := fs.ReadFile(web.Files, name)
		if err != nil {
			return nil, fmt.Errorf("host: embedded %s: %w", name, err)
		}
		if err := add(name, b, nil); err != nil {
			return nil, err
		}
	}
	if err := add("parcours.css", widgets.CSS, nil); err != nil {
		return nil, err
	}
	loader, err := loaderAsset()
	if err != nil {
		return nil, err
	}
	s.loader = loader
	if fsys == nil {
		if paths != nil {
			return s, s.externalAssets(paths)
		}
		return s, nil
	}
	if paths != nil {
		return nil, errors.New("host: Config.Assets and Config.AssetPaths exclude each other")
	}
	for _, name := range WasmFiles {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("host: assets: %w (build them with `make web`)", err)
		}
		pre := map[string][]byte{}
		for _, c := range codings {
			if b, err := fs.ReadFile(fsys, name+codingExt[c]); err == nil {
				pre[c] = b
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("host: assets: %w", err)
			}
		}
		if err := add(name, data, pre); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newAsset hashes data and prepares its variants. A pre-compressed variant
// is used only if it decompresses to exactly data (a stale .br from an
// older build is refused); missing variants are compressed now.
func newAsset(name string, data []byte, pre map[string][]byte) (*asset, error) {
	hash := assetHash(data)
	a := &asset{
		name:     name,
		path:     AssetPath(name, data),
		ctype:    contentType(path.Ext(name)),
		etag:     `"` + hash + `"`,
		sri:      sriOf(data),
		variants: map[string][]byte{"": data},
	}
	if !codecs {
		// A build without codecs serves the identity only: the proxy in
		// front (Cloudflare's edge) compresses.
		return a, nil
	}
	for _, c := range codings {
		if b, ok := pre[c]; ok {
			got, err := decompress(c, b)
			if err != nil || !bytes.Equal(got, data) {
				return nil, fmt.Errorf("host: assets: %s%s does not match %s: rebuild with `make web`", name, codingExt[c], name)
			}
			a.variants[c] = b
			continue
		}
		b, err := Compress(c, data, false)
		if err != nil {
			return nil, err
		}
		if len(b) < len(data) {
			a.variants[c] = b
		}
	}
	return a, nil
}

// AssetPath is the content-hashed path at which the host serves the file
// name of content data ("/a/parcours.3f2a9c0d1e4b.wasm"), cached as
// immutable; the hash is also its ETag. A Worker's static assets are
// written under these paths (Config.AssetPaths).
func AssetPath(name string, data []byte) string {
	ext := path.Ext(name)
	return "/a/" + strings.TrimSuffix(name, ext) + "." + assetHash(data) + ext
}

func assetHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// externalAssets records the browser files served in front of the host
// (Config.AssetPaths): the widget documents reference them; the host
// serves none of them.
func (s *assetSet) externalAssets(paths map[string]string) error {
	for _, name := range WasmFiles {
		p := paths[name]
		ext := path.Ext(name)
		hash, ok := strings.CutPrefix(p, "/a/"+strings.TrimSuffix(name, ext)+".")
		hash, ok2 := strings.CutSuffix(hash, ext)
		if _, err := hex.DecodeString(hash); !ok || !ok2 || len(hash) != 12 || err != nil {
			return fmt.Errorf("host: AssetPaths[%q] = %q is not a path AssetPath makes", name, p)
		}
		s.byName[name] = &asset{name: name, path: p}
	}
	return nil
}

func contentType(ext string) string {
	switch ext {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".wasm":
		return "application/wasm"
	}
	return "application/octet-stream"
}

// negotiate picks the best coding the client accepts among those available.
// It follows RFC 9110 §12.5.3: q=0 refuses a coding, "*" stands for the others.
func negotiate(acceptEncoding string, available map[string][]byte) string {
	q := map[string]float64{}
	star := -1.0
	for _, part := range strings.Split(acceptEncoding, ",") {
		fields := strings.Split(part, ";")
		name := strings.ToLower(strings.TrimSpace(fields[0]))
		if name == "" {
			continue
		}
		weight := 1.0
		for _, p := range fields[1:] {
			p = strings.ToLower(strings.TrimSpace(p)) // "q" is case-insensitive (RFC 9110 §12.4.2)
			if v, ok := strings.CutPrefix(p, "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					weight = f
				} else {
					weight = 0
				}
			}
		}
		if name == "*" {
			star = weight
		} else {
			q[name] = weight
		}
	}
	best, bestQ := "", 0.0
	for _, c := range codings {
		if _, ok := available[c]; !ok {
			continue
		}
		w, ok := q[c]
		if !ok {
			w = max(star, 0)
		}
		if w > bestQ {
			best, bestQ = c, w
		}
	}
	return best
}

// serve writes a, negotiating its content coding and honouring If-None-Match.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	coding := negotiate(r.Header.Get("Accept-Encoding"), a.variants)
	body := a.variants[coding]
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", cacheControl)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Add("Vary", "Accept-Encoding")
	etag := a.etag
	if coding != "" {
		etag = `"` + strings.Trim(a.etag, `"`) + "-" + coding + `"`
		hd.Set("Content-Encoding", coding)
	}
	hd.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// asset serves the content-hashed files under /a/: immutable for a year.
func (h *Host) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets.byPath[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	a.serve(w, r, "public, max-age=31536000, immutable")
}

// loader serves /parcours.js, the script hospital pages include. It is
// fetched cross-origin with Subresource Integrity, so it allows CORS for any
// origin (it is public, carries no data and sends no credentials), and it
// stays at a stable address with a short cache life.
func (h *Host) loader(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.assets.loader.serve(w, r, "public, max-age=300")
}

// loaderAsset is /parcours.js, prepared once: the loader is embedded, the
// same for every host, and read only.
var loaderAsset = sync.OnceValues(func() (*asset, error) {
	a, err := newAsset("parcours.js", web.Loader, nil)
	if err != nil {
		return nil, err
	}
	a.path = "/parcours.js"
	return a, nil
})

// LoaderSRI returns the Subresource Integrity value of /parcours.js, for the
// integrity attribute of the script tag.
func LoaderSRI() string {
	a, err := loaderAsset()
	if err != nil {
		// Only compressing the embedded loader can fail, which the host's
		// start reports; the hash does not depend on it.
		return sriOf(web.Loader)
	}
	return a.sri
}

// sriOf is the Subresource Integrity value of data.
func sriOf(data []byte) string {
	sum := sha512.Sum384(data)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}
