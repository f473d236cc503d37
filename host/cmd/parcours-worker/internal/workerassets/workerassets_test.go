package workerassets_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/cmd/parcours-worker/internal/workerassets"
)

func TestWrite(t *testing.T) {
	web, modules := t.TempDir(), t.TempDir()
	assets := filepath.Join(t.TempDir(), "assets")
	files := map[string]string{
		"parcours.wasm": "\x00asm wasm", "parcours.wasm.br": "br of wasm", "parcours.wasm.gz": "gz of wasm",
		"parcours.wasm.zst": "zstd, which the Worker does not offer", "wasm_exec.js": "// exec",
	}
	for name, data := range files {
		os.WriteFile(filepath.Join(web, name), []byte(data), 0o644)
	}
	// A file of an older build is removed.
	os.MkdirAll(filepath.Join(assets, "a"), 0o755)
	os.WriteFile(filepath.Join(assets, "a", "parcours.000000000000.wasm"), nil, 0o644)

	paths, err := workerassets.Write(web, modules, assets)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, name := range host.WasmFiles {
		want[name] = host.AssetPath(name, []byte(files[name]))
	}
	b, err := os.ReadFile(filepath.Join(modules, "assets.json"))
	var written map[string]string
	if err != nil || json.Unmarshal(b, &written) != nil || len(written) != 2 || written["parcours.wasm"] != want["parcours.wasm"] || written["wasm_exec.js"] != want["wasm_exec.js"] {
		t.Fatalf("assets.json = %s, %v; want %v", b, err, want)
	}
	if paths["parcours.wasm"] != want["parcours.wasm"] {
		t.Errorf("Write returned %v, want %v", paths, want)
	}
	var got []string
	filepath.WalkDir(assets, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(assets, p)
			got = append(got, "/"+filepath.ToSlash(rel))
		}
		return nil
	})
	wasm := want["parcours.wasm"]
	wantFiles := []string{wasm, wasm + ".br", wasm + ".gz", want["wasm_exec.js"]}
	slices.Sort(got)
	slices.Sort(wantFiles)
	if !slices.Equal(got, wantFiles) {
		t.Errorf("assets = %v, want %v", got, wantFiles)
	}
	if b, _ := os.ReadFile(filepath.Join(assets, filepath.FromSlash(wasm+".br"))); !bytes.Equal(b, []byte(files["parcours.wasm.br"])) {
		t.Errorf("%s.br = %q", wasm, b)
	}
	if _, err := workerassets.Write(t.TempDir(), modules, assets); err == nil || !strings.Contains(err.Error(), "make web") {
		t.Errorf("Write of an empty directory: %v, want an error naming make web", err)
	}
}
