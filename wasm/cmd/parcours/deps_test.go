//go:build !(js && wasm)

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/wasm/build"
)

// TestBrowserDependencies keeps what must not be in the widgets' Wasm out of
// it: net/http (about 1.3 MB brotli; the browser transport uses fetch), the
// host, its backends, the plugin runtime and the crypto module. It checks the build graph for
// GOOS=js GOARCH=wasm, the way tailscale's deptest does.
func TestBrowserDependencies(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list returned %d packages; the check would not mean anything", len(deps))
	}
	forbidden := []string{
		"net/http",
		"github.com/tetratelabs/wazero",
		"modernc.org/sqlite",
		"github.com/parcours-sante/parcours/host",
		"github.com/vugu/vugu/staticrender",
		// crypto/rand links the FIPS module (about 45 KB brotli); browser
		// code draws unique ids from math/rand/v2.
		"crypto/rand",
		"crypto/internal/fips140",
		// Nothing logs in the browser; portal.INS's LogValue is host-only
		// (about 10 KB gzip).
		"log/slog",
		// Nor package log: its initialisation alone is 3.7 KB brotli
		// (genslim drops vugugen's blank use of it from the views).
		"log",
		// net/url links net/netip and unique: 12.9 KB brotli for what
		// sdk/client/uri does (escape path segments, encode queries).
		"net/url",
		"net/netip",
	}
	seen := map[string]bool{}
	for _, d := range deps {
		seen[d] = true
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("the browser build imports %s", d)
			}
		}
	}
	// And what must be there is there: the check looks at the right graph.
	for _, want := range []string{"syscall/js", "github.com/vugu/vugu/domrender", "github.com/parcours-sante/parcours/sdk/client"} {
		if !seen[want] {
			t.Errorf("the browser build does not import %s", want)
		}
	}
}

// TestBrowserBuildLinksNoJSONCodec keeps encoding/json's encoder and decoder
// (180 KB of the Wasm's code, 40 KB of its brotli) out of the widgets' Wasm.
// The import graph cannot say it: sdk/portal's json.RawMessage imports the
// package, whose initialisation and RawMessage's methods are all that may
// be linked. Its callers use sdk/wirejson instead; vugu's vjson and gjson's
// pretty, which call it too, are replaced in go.mod (wasm/replace). The
// check reads the code the linker kept, from the unstripped binary.
func TestBrowserBuildLinksNoJSONCodec(t *testing.T) {
	wasm := filepath.Join(t.TempDir(), "parcours.wasm")
	if err := build.Wasm(wasm, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := build.Deps()
	if err != nil {
		t.Fatal(err)
	}
	bd, err := build.Analyze(b, deps)
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]int{}
	for _, p := range bd.Packages {
		code[p.Package] = p.CodeBytes
	}
	if code["syscall/js"] == 0 || code["github.com/parcours-sante/parcours/sdk/wirejson"] == 0 {
		t.Fatalf("no code attributed to syscall/js or sdk/wirejson: the check would not mean anything")
	}
	// 7 KB when written: its init, RawMessage's and Number's methods.
	const limit = 12 << 10
	if n := code["encoding/json"]; n > limit {
		t.Errorf("encoding/json links %d bytes of code into the browser build, more than %d: something calls its encoder or decoder (find it with go build -ldflags=-dumpdep)", n, limit)
	}
}
