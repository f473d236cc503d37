// Package workerassets writes the Worker's static assets: the browser files
// of `make web` (parcours.wasm, wasm_exec.js and their .br and .gz
// siblings) under the content-hashed paths the host would serve them at
// (host.AssetPath), for Workers static assets (the ASSETS binding) to
// serve, and the map of those paths that the Worker gives the host
// (host.Config.AssetPaths, from the module assets.json). The browser Wasm
// stays out of the Worker's own module.
package workerassets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/parcours-sante/parcours/host"
)

// Codings are the pre-compressed siblings written next to each file, in
// the Worker's order of preference (assets.mjs): a Worker's Response may
// carry an already brotli- or gzip-encoded body (encodeBody: "manual").
var Codings = []string{".br", ".gz"}

// Write copies the browser files of web into the directory assets (the
// Worker's static assets; outside modules, which wrangler scans for
// modules) and writes modules/assets.json, the paths map; it returns that
// map.
func Write(web, modules, assets string) (map[string]string, error) {
	paths := map[string]string{}
	dir := assets
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	for _, name := range host.WasmFiles {
		data, err := os.ReadFile(filepath.Join(web, name))
		if err != nil {
			return nil, fmt.Errorf("%w (build the browser files with `make web`)", err)
		}
		p := host.AssetPath(name, data)
		paths[name] = p
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "/")))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return nil, err
		}
		for _, ext := range Codings {
			b, err := os.ReadFile(filepath.Join(web, name+ext))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(dst+ext, b, 0o644); err != nil {
				return nil, err
			}
		}
	}
	b, err := json.Marshal(paths)
	if err != nil {
		return nil, err
	}
	return paths, os.WriteFile(filepath.Join(modules, "assets.json"), b, 0o644)
}
