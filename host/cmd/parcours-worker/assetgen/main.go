// Command assetgen writes the Cloudflare Worker's static assets (see
// package workerassets): `go run ./host/cmd/parcours-worker/assetgen -web
// build/web -o build/worker -assets build/worker-assets`, run by `make
// worker`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/parcours-sante/parcours/host/cmd/parcours-worker/internal/workerassets"
)

func main() {
	web := flag.String("web", "build/web", "the browser files of `make web`")
	out := flag.String("o", "build/worker", "the Worker's modules, where assets.json goes")
	assets := flag.String("assets", "build/worker-assets", "the Worker's static assets")
	flag.Parse()
	paths, err := workerassets.Write(*web, *out, *assets)
	if err != nil {
		fmt.Fprintln(os.Stderr, "assetgen:", err)
		os.Exit(1)
	}
	for name, p := range paths {
		fmt.Printf("%s -> %s%s\n", name, *assets, p)
	}
}
