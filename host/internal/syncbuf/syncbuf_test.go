package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Concurrent writers and readers: every write is kept, whole (run under
// -race by make test).
func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("ab\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); len(got) != 8*100*3 || strings.Count(got, "ab\n") != 800 {
		t.Errorf("%d bytes, %d lines; want 2400 bytes, 800 lines", len(got), strings.Count(got, "ab\n"))
	}
}
