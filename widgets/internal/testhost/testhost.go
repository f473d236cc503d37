//go:build !(js && wasm)

// Package testhost serves a real host to the widgets' tests. Tests only:
// the host imports the widgets, so only their external test packages
// (package x_test) may import it.
package testhost

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
)

// Start serves a host over loopback HTTP on a new SQLite store seeded with
// the demo data as of now, and returns its URL and the store. The host has
// the store's booking and directory, the demo establishment, the demo
// sign-in and no logs; configure adds what the widget under test needs.
// Everything is closed when the test ends.
func Start(t testing.TB, configure func(*sqlite.Store, *host.Config)) (url string, store *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "host.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := host.Config{
		Booking: store, Directory: store, DemoSignIn: true,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment}},
		Logger:         slog.New(slog.DiscardHandler),
	}
	if configure != nil {
		configure(store, &cfg)
	}
	h, err := host.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, store
}
