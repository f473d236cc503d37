// Package build builds the browser files the edge host serves and measures
// them: the widgets' Wasm (GOOS=js GOARCH=wasm) with the toolchain's
// wasm_exec.js, their compressed variants, and where the Wasm's bytes go.
package build

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/wasm/web"
)

// Package is the browser entry built into parcours.wasm.
const Package = "github.com/parcours-sante/parcours/wasm/cmd/parcours"

// Web writes parcours.wasm (stripped: -trimpath -s -w, no inlining) and wasm_exec.js into
// dir, each with its .br, .zst and .gz variants at the best compression.
func Web(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := Wasm(filepath.Join(dir, "parcours.wasm"), true); err != nil {
		return err
	}
	exec, err := WasmExecJS()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm_exec.js"), exec, 0o644); err != nil {
		return err
	}
	for _, name := range host.WasmFiles {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		for coding, file := range host.PrecompressedFiles(name) {
			b, err := host.Compress(coding, data, true)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Wasm builds the browser entry into out; stripped drops the symbol and
// DWARF tables (what ships), unstripped keeps the names Analyze reads.
// Inlining is off in every package (-gcflags=all=-l): inlined copies
// compress badly, and without them the Wasm is 12 % smaller in brotli
// (1,320 to 1,163 KB, measured in issue 8); the widgets spend their time in
// the DOM, not in Go calls.
func Wasm(out string, stripped bool) error {
	args := []string{"build", "-trimpath", "-gcflags=all=-l", "-o", out}
	if stripped {
		args = append(args, "-ldflags=-s -w")
	}
	cmd := exec.Command("go", append(args, Package)...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="+Experiment)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	return nil
}

// Experiment is the GOEXPERIMENT the browser entry is built with: Go
// 1.26's previous garbage collector instead of Green Tea, whose gains need
// several cores (a browser runs Go on one thread) and whose code made the
// Wasm 14 KB larger in brotli (1,159 to 1,145 KB, measured in issue 8).
// Go 1.26's release notes expect the opt-out to be removed in Go 1.27: the
// build then fails, loudly, and this goes.
const Experiment = "nogreenteagc"

// Deps lists the packages linked into the browser entry.
func Deps() ([]string, error) {
	cmd := exec.Command("go", "list", "-deps", Package)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// WasmExecJS returns the toolchain's wasm_exec.js, which must match the Go
// version that built the Wasm.
func WasmExecJS() ([]byte, error) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(goroot))
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if b, err := os.ReadFile(filepath.Join(root, p)); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("wasm_exec.js not found in %s", root)
}

// Size is one file's size raw and compressed at the best level.
type Size struct {
	File                    string
	Raw, Gzip, Brotli, Zstd int
}

// Sizes measures the files of dir (built by Web) and the embedded loader,
// frame and compile-worker scripts.
func Sizes(dir string) ([]Size, error) {
	files := []struct {
		name string
		data func() ([]byte, error)
	}{
		{"parcours.wasm", func() ([]byte, error) { return os.ReadFile(filepath.Join(dir, "parcours.wasm")) }},
		{"wasm_exec.js", func() ([]byte, error) { return os.ReadFile(filepath.Join(dir, "wasm_exec.js")) }},
		{"parcours.js (loader)", func() ([]byte, error) { return web.Loader, nil }},
		{"frame.js", func() ([]byte, error) { return web.Files.ReadFile("frame.js") }},
		{"compile.js", func() ([]byte, error) { return web.Files.ReadFile("compile.js") }},
		{"vugu-helper.js", func() ([]byte, error) { return web.Files.ReadFile("vugu-helper.js") }},
	}
	var out []Size
	for _, f := range files {
		data, err := f.data()
		if err != nil {
			return nil, fmt.Errorf("%s: %w (run `make web` first)", f.name, err)
		}
		s := Size{File: f.name, Raw: len(data)}
		for _, c := range []struct {
			name string
			dst  *int
		}{{"gzip", &s.Gzip}, {"br", &s.Brotli}, {"zstd", &s.Zstd}} {
			b, err := host.Compress(c.name, data, true)
			if err != nil {
				return nil, err
			}
			*c.dst = len(b)
		}
		out = append(out, s)
	}
	return out, nil
}
