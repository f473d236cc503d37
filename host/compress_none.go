//go:build parcours_nocompress

package host

import (
	"errors"
	"net/http"
)

// This build (tag parcours_nocompress) leaves the compressors out: the
// Cloudflare Worker, whose Wasm must stay small and whose answers
// Cloudflare's edge compresses. Assets are served as they are.

const codecs = false

var errNoCodecs = errors.New("host: built with parcours_nocompress: no content codings")

func compressed(h http.Handler) http.Handler { return h }

// Compress is not available in this build.
func Compress(coding string, data []byte, best bool) ([]byte, error) { return nil, errNoCodecs }

func decompress(coding string, data []byte) ([]byte, error) { return nil, errNoCodecs }
