package host_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// cable is a TCP proxy in front of a backend that the test can cut: while
// cut, it accepts each connection and closes it at once (a backend that
// died, or a network that drops), and counts those attempts.
type cable struct {
	ln       net.Listener
	target   string
	cut      atomic.Bool
	attempts atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]bool
}

// Cut drops every open connection and refuses the next ones.
func (c *cable) Cut() {
	c.cut.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.open {
		conn.Close()
	}
}

func (c *cable) track(conn net.Conn, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		c.open[conn] = true
	} else {
		delete(c.open, conn)
	}
}

func newCable(t *testing.T, target string) *cable {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cable{ln: ln, target: target, open: map[net.Conn]bool{}}
	c.wg.Go(c.serve)
	t.Cleanup(func() { ln.Close(); c.wg.Wait() })
	return c
}

func (c *cable) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.attempts.Add(1)
		if c.cut.Load() {
			in.Close()
			continue
		}
		c.wg.Go(func() {
			c.track(in, true)
			defer c.track(in, false)
			defer in.Close()
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				return
			}
			c.track(out, true)
			defer c.track(out, false)
			defer out.Close()
			go func() { io.Copy(out, in); out.Close() }()
			io.Copy(in, out)
		})
	}
}

// TestFHIREstablishmentOutage: one establishment's FHIR server dies under
// a host serving two. Its calls fail with backend_unavailable and the
// patient-facing "temporarily unavailable" text; after a few failures the
// breaker opens and the host stops calling it; the other establishment
// and the merged appointments keep working (its part named unavailable);
// once the server is back and the breaker's cool-down over, it answers
// again.
func TestFHIREstablishmentOutage(t *testing.T) {
	base := fhirtest.Start(t)
	bundle, err := os.ReadFile(filepath.Join("..", "examples", "fhir", "establishment-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	loader, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loader.LoadBundle(context.Background(), []byte(strings.ReplaceAll(string(bundle), "chu-exemple", "ch-nord"))); err != nil {
		t.Fatal(err)
	}
	u, _ := http.NewRequest("GET", base, nil)
	cab := newCable(t, u.URL.Host)
	breakerClock := portaltest.NewClock(time.Now())
	nord, err := fhir.New(fhir.Config{BaseURL: strings.Replace(base, u.URL.Host, cab.ln.Addr().String(), 1),
		BreakerFailures: 3, BreakerCoolDown: time.Minute, BreakerNow: breakerClock.Now, Retries: 0})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	routed, err := multi.New(multi.Config{Establishments: []multi.Establishment{
		{ID: sqlite.DemoEstablishment, Booking: store, Directory: store},
		{ID: "ch-nord", Booking: nord, Directory: nord},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{Booking: routed, Directory: routed, DemoSignIn: true,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment}, {ID: "ch-nord"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, client.WithLanguage("fr"))
	if _, err := c.DemoSignIn(ctx, sqlite.DemoPatientCamilleDurand); err != nil {
		t.Fatal(err)
	}

	if _, err := c.Services(ctx, "ch-nord"); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	cab.Cut()
	for i := range 3 {
		resp, err := http.Get(srv.URL + "/api/v1/establishments/ch-nord/services")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 503 || body.Error.Code != string(portal.ErrBackendUnavailable) || !strings.Contains(body.Error.Message, "momentanément indisponible") {
			t.Fatalf("call %d during the outage: %d %+v", i, resp.StatusCode, body.Error)
		}
	}
	// The breaker is open: the host no longer calls the dead server.
	before := cab.attempts.Load()
	if _, err := c.Services(ctx, "ch-nord"); !portal.IsCode(err, portal.ErrBackendUnavailable) {
		t.Fatalf("breaker open: %v", err)
	}
	if n := cab.attempts.Load() - before; n != 0 {
		t.Errorf("%d connection attempts with the breaker open", n)
	}
	// Only ch-nord's part is lost.
	if _, err := c.Services(ctx, sqlite.DemoEstablishment); err != nil {
		t.Errorf("the other establishment during the outage: %v", err)
	}
	if _, err := c.Appointments(ctx); !slicesEqual(portal.Missing(err), []string{"ch-nord"}) {
		t.Errorf("merged appointments during the outage: %v", err)
	}

	// The server is back; the breaker lets a trial through after its
	// cool-down, and closes on its success.
	cab.cut.Store(false)
	breakerClock.Advance(2 * time.Minute)
	if _, err := c.Services(ctx, "ch-nord"); err != nil {
		t.Fatalf("after the server came back: %v", err)
	}
	if _, err := c.Appointments(ctx); err != nil {
		t.Errorf("merged appointments after the outage: %v", err)
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}
