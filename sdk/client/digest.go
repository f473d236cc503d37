//go:build !(js && wasm)

package client

import (
	"crypto/sha256"
	"encoding/hex"
)

// digestMatches reports whether b has the SHA-256 digest sum (hex).
func digestMatches(b []byte, sum string) bool {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:]) == sum
}
