//go:build js && wasm

package client

// digestMatches is not checked in the browser: crypto/sha256 links Go's
// FIPS module into the Wasm (see wasm/cmd/parcours/deps_test.go), and the
// browser's fetch already delivers the bytes intact; the size is still
// checked by the caller.
func digestMatches([]byte, string) bool { return true }
