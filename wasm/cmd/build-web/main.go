// Command build-web builds the browser files the edge host serves: the
// widgets' Wasm (GOOS=js GOARCH=wasm) and the Go runtime's wasm_exec.js from
// the same toolchain, each with brotli, zstd and gzip variants compressed at
// the best level, and prints their sizes (raw, gzip, brotli, zstd) with the
// loader's.
//
//	go run ./wasm/cmd/build-web -o build/web
//	go run ./wasm/cmd/build-web -o build/web -sizes-only
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/wasm/web"
)

func main() {
	out := flag.String("o", "build/web", "output directory")
	sizesOnly := flag.Bool("sizes-only", false, "do not build: print the sizes of the files in -o")
	flag.Parse()
	if err := run(*out, *sizesOnly); err != nil {
		fmt.Fprintln(os.Stderr, "build-web:", err)
		os.Exit(1)
	}
}

func run(out string, sizesOnly bool) error {
	if !sizesOnly {
		if err := build(out); err != nil {
			return err
		}
	}
	return sizes(out)
}

func build(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	wasm := filepath.Join(out, "parcours.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", wasm, "./wasm/cmd/parcours")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(goroot))
	var execJS []byte
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if execJS, err = os.ReadFile(filepath.Join(root, p)); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("wasm_exec.js not found in %s", root)
	}
	if err := os.WriteFile(filepath.Join(out, "wasm_exec.js"), execJS, 0o644); err != nil {
		return err
	}
	for _, name := range host.WasmFiles {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return err
		}
		for coding, ext := range map[string]string{"br": ".br", "zstd": ".zst", "gzip": ".gz"} {
			b, err := host.Compress(coding, data, true)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, name+ext), b, 0o644); err != nil {
				return err
			}
		}
	}
	fmt.Printf("built %s with %s\n", out, runtime.Version())
	return nil
}

func sizes(out string) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\traw\tgzip\tbrotli\tzstd\t")
	row := func(name string, data []byte) error {
		cells := []string{name, fmt.Sprint(len(data))}
		for _, c := range []string{"gzip", "br", "zstd"} {
			b, err := host.Compress(c, data, true)
			if err != nil {
				return err
			}
			cells = append(cells, fmt.Sprint(len(b)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		return nil
	}
	for _, name := range host.WasmFiles {
		data, err := os.ReadFile(filepath.Join(out, name))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s is missing: run `make web` first", filepath.Join(out, name))
		}
		if err != nil {
			return err
		}
		if err := row(name, data); err != nil {
			return err
		}
	}
	if err := row("parcours.js (loader)", web.Loader); err != nil {
		return err
	}
	for _, name := range []string{"frame.js", "vugu-helper.js"} {
		b, err := web.Files.ReadFile(name)
		if err != nil {
			return err
		}
		if err := row(name, b); err != nil {
			return err
		}
	}
	return tw.Flush()
}
