package workerrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteCapnp: the command's workerd.capnp, rewritten for a build
// directory, embeds the modules of that directory, serves the given
// assets on the given address and has the added bindings; a capnp without
// the places to rewrite is refused.
func TestWriteCapnp(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCapnp("..", dir, "/tmp/assets", "127.0.0.1:9999", `(name = "SECRET", text = "s")`); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "workerd.capnp"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for _, want := range []string{`embed "parcours.wasm"`, `embed "worker.mjs"`, `embed "config.json"`, `path = "/tmp/assets"`,
		`address = "127.0.0.1:9999"`, `(name = "ASSETS", service = "assets"), (name = "SECRET", text = "s"),`} {
		if !strings.Contains(conf, want) {
			t.Errorf("no %s in\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "../../../build") || strings.Contains(conf, `"127.0.0.1:8787"`) {
		t.Errorf("left the make worker-dev paths or address:\n%s", conf)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "workerd.capnp"), []byte(`using Workerd = import "/workerd/workerd.capnp";`), 0o644)
	if err := WriteCapnp(src, dir, "/tmp/assets", "127.0.0.1:9999"); err == nil {
		t.Error("a capnp without the paths to rewrite was accepted")
	}
}
