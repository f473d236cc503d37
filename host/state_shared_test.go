package host_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
)

// TestStateShared runs two host instances on one backend and one State,
// as the isolates of a Worker share a Durable Object: a session opened on
// one works on the other, a sign-out on one ends it on both, and a patient
// cannot double a rate limit by alternating instances.
func TestStateShared(t *testing.T) {
	var cfg host.Config
	a := newTestHostWith(t, func(c *host.Config) {
		c.BookingsPerHour = 2
		c.State = host.NewMemoryState(c.Now, 0)
		cfg = *c
	})
	b, err := host.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srvB := httptest.NewServer(b)
	t.Cleanup(srvB.Close)

	c := a.raw(t, sqlite.DemoPatientLucasBernard) // signed in on a
	// Both instances are on 127.0.0.1, where the cookie jar (which ignores
	// ports) sends the session to both.
	onB := func(method, path, body string, header map[string]string) int {
		saved := c.base
		c.base = srvB.URL
		defer func() { c.base = saved }()
		s, _ := c.do(method, path, header, body)
		return s
	}
	if s := onB("GET", "/api/v1/appointments", "", nil); s != 200 {
		t.Fatalf("the session of instance a on instance b: %d, want 200", s)
	}
	book := func(on string, i int) int {
		slot := freeSlot(t, a, sqlite.ServiceDiabetologie, 0)
		body := fmt.Sprintf(`{"service":"diabetologie","slot":%q}`, slot.ID)
		h := map[string]string{"Content-Type": "application/json", "Idempotency-Key": fmt.Sprintf("shared-key-%05d", i)}
		if on == "b" {
			return onB("POST", "/api/v1/establishments/chu-exemple/appointments", body, h)
		}
		s, _ := c.do("POST", "/api/v1/establishments/chu-exemple/appointments", h, body)
		return s
	}
	if s := book("a", 0); s != 201 {
		t.Fatalf("booking 1 on a: %d", s)
	}
	if s := book("b", 1); s != 201 {
		t.Fatalf("booking 2 on b: %d", s)
	}
	for i, on := range []string{"a", "b"} {
		if s := book(on, 2+i); s != 429 {
			t.Errorf("booking beyond the limit on %s: %d, want 429", on, s)
		}
	}
	cookies := c.hc.Jar.Cookies(mustURL(t, a.URL))
	if s := onB("DELETE", "/api/v1/session", "", nil); s != 204 {
		t.Fatalf("sign-out on b: %d", s)
	}
	// The cookie as it was before the sign-out, sent to a.
	req, _ := http.NewRequest("GET", a.URL+"/api/v1/appointments", nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(cookies) == 0 || resp.StatusCode != 401 {
		t.Errorf("the session signed out on b, on a: %d (%d cookies), want 401", resp.StatusCode, len(cookies))
	}
}

// TestStateUnreachable: when the State cannot be reached, the host lets
// nothing through: 503 backend_unavailable, never a request served as
// signed out or beyond a limit.
func TestStateUnreachable(t *testing.T) {
	var st breakableState
	th := newTestHostWith(t, func(c *host.Config) {
		st.State = host.NewMemoryState(c.Now, 0)
		c.State = &st
	})
	c := th.raw(t, sqlite.DemoPatientLucasBernard)
	st.broken.Store(true)
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/api/v1/appointments", ""},
		{"GET", "/api/v1/session", ""},
		{"POST", "/api/v1/demo/session", `{"patient":"` + sqlite.DemoPatientCamilleDurand + `"}`},
		{"DELETE", "/api/v1/session", ""},
	} {
		s, body := c.do(tt.method, tt.path, map[string]string{"Content-Type": "application/json"}, tt.body)
		if s != 503 || !strings.Contains(string(body), "backend_unavailable") {
			t.Errorf("%s %s with the State down: %d %s, want 503 backend_unavailable", tt.method, tt.path, s, body)
		}
	}
	resp, err := c.hc.Get(th.URL + "/w/booking?establishment=" + sqlite.DemoEstablishment)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("a widget document with the State down: %d, want 503", resp.StatusCode)
	}
	st.broken.Store(false)
	if s, body := c.do("GET", "/api/v1/appointments", nil, ""); s != 200 {
		t.Errorf("with the State back, the session: %d %s", s, body)
	}
}

type breakableState struct {
	host.State
	broken atomic.Bool
}

func (b *breakableState) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if b.broken.Load() {
		return nil, 0, fmt.Errorf("state down")
	}
	return b.State.Get(ctx, key)
}

func (b *breakableState) Swap(ctx context.Context, key string, version uint64, value []byte, ttl time.Duration) (bool, error) {
	if b.broken.Load() {
		return false, fmt.Errorf("state down")
	}
	return b.State.Swap(ctx, key, version, value, ttl)
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
