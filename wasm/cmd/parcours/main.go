//go:build !(js && wasm)

// Command parcours is the widgets' WebAssembly binary; it runs only in a
// browser. Build it with `make web` (GOOS=js GOARCH=wasm).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "parcours.wasm runs in a browser: build it with `make web` (GOOS=js GOARCH=wasm)")
	os.Exit(2)
}
