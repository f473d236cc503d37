//go:build !parcours_nocompress

package host

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The host compresses its answers itself: the static assets in brotli, zstd
// and gzip, the API's and the widget documents' with gzip. A build with the
// tag parcours_nocompress (the Cloudflare Worker, behind an edge that
// compresses) leaves the encoders out (compress_none.go).

// codecs reports whether this build compresses.
const codecs = true

// compressed gzips h's answers when the client accepts it.
func compressed(h http.Handler) http.Handler { return gzhttp.GzipHandler(h) }

// Compress encodes data with a content coding ("br", "zstd" or "gzip").
// best trades time for size, for build-time compression.
func Compress(coding string, data []byte, best bool) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch coding {
	case "br":
		level := 6
		if best {
			level = brotli.BestCompression
		}
		w = brotli.NewWriterLevel(&buf, level)
	case "zstd":
		level := zstd.SpeedDefault
		if best {
			level = zstd.SpeedBestCompression
		}
		w, err = zstd.NewWriter(&buf, zstd.WithEncoderLevel(level))
	case "gzip":
		level := gzip.DefaultCompression
		if best {
			level = gzip.BestCompression
		}
		w, err = gzip.NewWriterLevel(&buf, level)
	default:
		return nil, fmt.Errorf("unknown content coding %q", coding)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decompress(coding string, data []byte) ([]byte, error) {
	var r io.Reader
	switch coding {
	case "br":
		r = brotli.NewReader(bytes.NewReader(data))
	case "zstd":
		d, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		defer d.Close()
		r = d
	case "gzip":
		g, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		r = g
	default:
		return nil, fmt.Errorf("unknown content coding %q", coding)
	}
	return io.ReadAll(io.LimitReader(r, 64<<20))
}
