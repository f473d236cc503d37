//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "parcours-worker runs on Cloudflare Workers: build it with GOOS=js GOARCH=wasm (make worker)")
	os.Exit(2)
}
