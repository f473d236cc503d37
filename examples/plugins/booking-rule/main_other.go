//go:build !wasip1

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "booking-rule is a Parcours plugin: build it with `make plugins` (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared)")
	os.Exit(2)
}
