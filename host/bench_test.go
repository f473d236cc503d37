package host_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// Benchmarks of the host, reported by `make bench`; they measure, they do not
// assert. Compare BenchmarkFreeSlotsThroughHost with BenchmarkFreeSlotsDirect
// for the cost of the host (HTTP, JSON, headers, gzip) over the backend call.

func benchQuery(th *testHost) portal.SlotQuery {
	now := th.Clock.Now()
	return portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, From: now, To: now.AddDate(0, 0, 14)}
}

func BenchmarkFreeSlotsDirect(b *testing.B) {
	th := newTestHost(b)
	q := benchQuery(th)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := th.Store.FreeSlots(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFreeSlotsThroughHost(b *testing.B) {
	th := newTestHost(b)
	q := benchQuery(th)
	c := client.New(th.URL)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FreeSlots(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoader serves /parcours.js as a browser asks for it (brotli).
func BenchmarkLoader(b *testing.B) {
	th := newTestHost(b)
	req, _ := http.NewRequest("GET", th.URL+"/parcours.js", nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
