// Command build-web builds the browser files the edge host serves (see
// package wasm/build) and prints their sizes: raw, gzip, brotli and zstd.
//
//	go run ./wasm/cmd/build-web -o build/web
//	go run ./wasm/cmd/build-web -o build/web -sizes-only
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"

	"github.com/parcours-sante/parcours/wasm/build"
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
		if err := build.Web(out); err != nil {
			return err
		}
		fmt.Printf("built %s with %s\n", out, runtime.Version())
	}
	sizes, err := build.Sizes(out)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\traw\tgzip\tbrotli\tzstd\t")
	for _, s := range sizes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", s.File, s.Raw, s.Gzip, s.Brotli, s.Zstd)
	}
	return tw.Flush()
}
