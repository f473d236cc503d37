package fhir_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

const organization = `{"resourceType":"Organization","id":"org1","name":"CH Test","meta":{"versionId":"1"}}`

// answer writes a FHIR JSON answer.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// switchable is a RoundTripper that sends every request to the current
// target server (whatever host the URL names) and counts them: a test can
// kill the server behind a Backend and later bring another one up.
type switchable struct {
	mu       sync.Mutex
	target   string // host:port
	requests atomic.Int64
}

func (s *switchable) point(srv *httptest.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = strings.TrimPrefix(srv.URL, "http://")
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	s.requests.Add(1)
	s.mu.Lock()
	target := s.target
	s.mu.Unlock()
	r = r.Clone(r.Context())
	r.URL.Host = target
	return http.DefaultTransport.RoundTrip(r)
}

// TestDeadServerOpensBreaker kills the server behind a Backend: after
// BreakerFailures failed calls the breaker opens and calls fail with
// backend_unavailable without any request; after the cool-down one trial
// reaches the server, and once a server answers again the breaker closes.
func TestDeadServerOpensBreaker(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, organization)
	}))
	rt := &switchable{}
	rt.point(live)
	clock := portaltest.NewClock(time.Unix(1_800_000_000, 0))
	b, err := fhir.New(fhir.Config{
		BaseURL: "http://fhir.invalid/fhir/R4", Transport: rt,
		BreakerFailures: 3, BreakerCoolDown: time.Minute, BreakerNow: clock.Now,
		Retries: -1,
		// Every Establishment call must reach the server.
		OrganizationTTL: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := b.Establishment(ctx, "org1"); err != nil {
		t.Fatalf("Establishment on a live server: %v", err)
	}

	live.Close() // the listener is closed: connections are refused
	for i := range 3 {
		before := rt.requests.Load()
		_, err := b.Establishment(ctx, "org1")
		if portal.Code(err) != portal.ErrBackendUnavailable || rt.requests.Load() != before+1 {
			t.Fatalf("call %d to a dead server: %v after %d requests, want backend_unavailable after one request", i, err, rt.requests.Load()-before)
		}
	}

	// Open: no request at all, the same code.
	before := rt.requests.Load()
	start := time.Now()
	for range 10 {
		if _, err := b.Establishment(ctx, "org1"); portal.Code(err) != portal.ErrBackendUnavailable {
			t.Fatalf("open breaker: %v, want backend_unavailable", err)
		}
	}
	if n := rt.requests.Load() - before; n != 0 {
		t.Fatalf("the open breaker let %d requests through", n)
	}
	t.Logf("10 calls refused by the open breaker in %s", time.Since(start))

	// After the cool-down, one trial reaches the still dead server and
	// opens the breaker again.
	clock.Advance(time.Minute)
	before = rt.requests.Load()
	b.Establishment(ctx, "org1")
	b.Establishment(ctx, "org1")
	if n := rt.requests.Load() - before; n != 1 {
		t.Fatalf("half-open: %d requests for two calls, want the one trial", n)
	}

	// A server is back: the next trial succeeds and closes the breaker.
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, organization)
	}))
	defer back.Close()
	rt.point(back)
	clock.Advance(time.Minute)
	for i := range 3 {
		if _, err := b.Establishment(ctx, "org1"); err != nil {
			t.Fatalf("call %d once the server is back: %v", i, err)
		}
	}
}

// flaky serves an Organization after failing the first failures requests
// with status.
func flaky(failures int, status int) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= int64(failures) {
			answer(w, status, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`)
			return
		}
		answer(w, 200, organization)
	}))
	return srv, &n
}

func TestReadsAreRetried(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		status   int
		retries  int
		want     portal.ErrorCode
		requests int64
	}{
		{"503Twice", 2, 503, 2, "", 3},
		{"429Once", 1, 429, 2, "", 2},
		{"502TooOften", 3, 502, 2, portal.ErrBackendUnavailable, 3},
		{"NoRetries", 1, 503, -1, portal.ErrBackendUnavailable, 1},
		{"404NotRetried", 5, 404, 2, portal.ErrNotFound, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := flaky(tc.failures, tc.status)
			defer srv.Close()
			b, err := fhir.New(fhir.Config{BaseURL: srv.URL, Retries: tc.retries, RetryBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.Establishment(t.Context(), "org1")
			if portal.Code(err) != tc.want || n.Load() != tc.requests {
				t.Errorf("Establishment: %v after %d requests, want code %q after %d", err, n.Load(), tc.want, tc.requests)
			}
		})
	}
}

// TestPlainWritesAreNotRetried checks that a write without If-None-Exist
// (here a transaction) is sent once: the server may have applied it.
func TestPlainWritesAreNotRetried(t *testing.T) {
	srv, n := flaky(5, 503)
	defer srv.Close()
	b, err := fhir.New(fhir.Config{BaseURL: srv.URL, Retries: 3, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.LoadBundle(t.Context(), []byte(`{"resourceType":"Bundle","type":"transaction","entry":[]}`))
	if portal.Code(err) != portal.ErrBackendUnavailable || n.Load() != 1 {
		t.Errorf("LoadBundle: %v after %d requests, want backend_unavailable after 1", err, n.Load())
	}
}

// TestCallTimeout checks that a server that does not answer costs one
// CallTimeout per attempt, and the error says the deadline passed.
func TestCallTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	b, err := fhir.New(fhir.Config{BaseURL: srv.URL, CallTimeout: 20 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Establishment(t.Context(), "org1")
	if portal.Code(err) != portal.ErrBackendUnavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Establishment on a silent server: %v, want backend_unavailable from a deadline", err)
	}
}

// TestContextDeadlineStopsRetries checks that no retry waits past the
// caller's deadline, and a caller that gave up makes no request.
func TestContextDeadlineStopsRetries(t *testing.T) {
	srv, n := flaky(10, 503)
	defer srv.Close()
	b, err := fhir.New(fhir.Config{BaseURL: srv.URL, Retries: 5, RetryBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = b.Establishment(ctx, "org1")
	if portal.Code(err) != portal.ErrBackendUnavailable || n.Load() != 1 {
		t.Errorf("Establishment: %v after %d requests, want backend_unavailable after 1 (the backoff of at least 500 ms passes the deadline)", err, n.Load())
	}

	gone, cancel := context.WithCancel(t.Context())
	cancel()
	before := n.Load()
	if _, err := b.Establishment(gone, "org1"); !errors.Is(err, context.Canceled) || n.Load() != before {
		t.Errorf("Establishment with a cancelled context: %v after %d requests, want context.Canceled and none", err, n.Load()-before)
	}
}

// TestGzipAccepted checks that the default transport asks for gzip and
// inflates the answer (net/http does when Accept-Encoding is left unset).
func TestGzipAccepted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			answer(w, 406, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported"}]}`)
			return
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		fmt.Fprint(zw, organization)
		zw.Close()
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(buf.Bytes())
	}))
	defer srv.Close()
	b, err := fhir.New(fhir.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := b.Establishment(t.Context(), "org1"); err != nil || e.Name != "CH Test" {
		t.Errorf("Establishment over gzip = %+v, %v", e, err)
	}
}

// TestNoINSInLogs fails a search by INS with diagnostics that quote it:
// the log has the server's diagnostics, redacted, and neither the log nor
// the error has the INS.
func TestNoINSInLogs(t *testing.T) {
	const ins = "279035121518989"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(w, 500, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception",
			"diagnostics":"index failure on identifier `+r.URL.Query().Get("identifier")+`"}]}`)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	b, err := fhir.New(fhir.Config{
		BaseURL: srv.URL, Retries: 1, RetryBackoff: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.PatientByINS(t.Context(), fhir.INSNIRTest, ins)
	if portal.Code(err) != portal.ErrBackendUnavailable {
		t.Fatalf("PatientByINS: %v, want backend_unavailable", err)
	}
	if !strings.Contains(logs.String(), "index failure") {
		t.Errorf("the log lacks the server's diagnostics:\n%s", logs.String())
	}
	for _, text := range []string{logs.String(), err.Error()} {
		if strings.Contains(text, ins) || strings.Contains(text, ins[:13]) {
			t.Errorf("an INS leaked into %q", text)
		}
	}
}

// TestSearchPaging checks that a search follows next links on the same
// server, and never a link to another.
func TestSearchPaging(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		answer(w, 200, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	}))
	defer other.Close()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("page")
		switch {
		case r.URL.Path == "/Organization/org1":
			answer(w, 200, organization)
		case r.URL.Path == "/PractitionerRole":
			answer(w, 200, `{"resourceType":"Bundle","type":"searchset"}`)
		case page == "":
			answer(w, 200, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"`+srv.URL+`/HealthcareService?page=2"}],
				"entry":[{"resource":{"resourceType":"HealthcareService","id":"a","name":"A","providedBy":{"reference":"Organization/org1"}}}]}`)
		case page == "2":
			answer(w, 200, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"`+other.URL+`/HealthcareService?page=3"}],
				"entry":[{"resource":{"resourceType":"HealthcareService","id":"b","name":"B","providedBy":{"reference":"Organization/org1"}}}]}`)
		}
	}))
	defer srv.Close()
	b, err := fhir.New(fhir.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := b.Services(t.Context(), "org1")
	if err != nil || len(svcs) != 2 {
		t.Fatalf("Services = %+v, %v; want the services of both pages", svcs, err)
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the search followed a next link to another server")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		c    fhir.Config
	}{
		{"NoBaseURL", fhir.Config{}},
		{"NotHTTP", fhir.Config{BaseURL: "ftp://fhir.example/r4"}},
		{"NoHost", fhir.Config{BaseURL: "http:///fhir"}},
		{"Query", fhir.Config{BaseURL: "https://fhir.example/r4?x=1"}},
		{"UnknownTimeZone", fhir.Config{BaseURL: "https://fhir.example/r4", TimeZone: "Europe/Atlantis"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := fhir.New(tc.c); err == nil {
				t.Errorf("New(%+v) succeeded", tc.c)
			}
		})
	}
}

// TestOrganizationCache: an establishment's Organization is read once per
// OrganizationTTL, by Config.Now; an inactive or unknown one is never kept;
// a negative TTL reads every time.
func TestOrganizationCache(t *testing.T) {
	var active atomic.Bool
	active.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Organization/org1") {
			answer(w, 200, strings.Replace(organization, `"name"`, fmt.Sprintf(`"active":%v,"name"`, active.Load()), 1))
			return
		}
		answer(w, 404, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`)
	}))
	defer srv.Close()
	rt := &switchable{}
	rt.point(srv)
	clock := portaltest.NewClock(time.Unix(1_800_000_000, 0))
	newBackend := func(ttl time.Duration) *fhir.Backend {
		b, err := fhir.New(fhir.Config{BaseURL: "http://fhir.invalid/fhir/R4", Transport: rt, Now: clock.Now, OrganizationTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ctx := t.Context()
	reads := func(b *fhir.Backend, id string, n int) int64 {
		before := rt.requests.Load()
		for range n {
			b.Establishment(ctx, id)
		}
		return rt.requests.Load() - before
	}
	b := newBackend(0) // the default, a minute
	if n := reads(b, "org1", 5); n != 1 {
		t.Errorf("5 reads within the TTL: %d requests, want 1", n)
	}
	clock.Advance(59 * time.Second)
	if n := reads(b, "org1", 1); n != 0 {
		t.Errorf("a read 59 s later: %d requests, want 0", n)
	}
	clock.Advance(time.Second)
	if n := reads(b, "org1", 1); n != 1 {
		t.Errorf("a read a minute later: %d requests, want 1", n)
	}
	// Deactivated on the server: seen at the next read past the TTL, and
	// an inactive Organization is not kept.
	active.Store(false)
	clock.Advance(time.Minute)
	if _, err := b.Establishment(ctx, "org1"); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("an inactive establishment: %v, want not_found", err)
	}
	if n := reads(b, "org1", 2); n != 2 {
		t.Errorf("2 reads of an inactive establishment: %d requests, want 2", n)
	}
	if n := reads(b, "org2", 2); n != 2 {
		t.Errorf("2 reads of an unknown establishment: %d requests, want 2", n)
	}
	active.Store(true)
	if n := reads(newBackend(-1), "org1", 3); n != 3 {
		t.Errorf("3 reads without a cache: %d requests, want 3", n)
	}
}

// TestBearer: every call of a Backend on fhir.Bearer carries the token,
// and the Backend's own request is left as it was.
func TestBearer(t *testing.T) {
	var auths []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		answer(w, 200, organization)
	}))
	defer srv.Close()
	b, err := fhir.New(fhir.Config{BaseURL: srv.URL + "/fhir/R4", Transport: fhir.Bearer("s3cret", http.DefaultTransport), OrganizationTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.Establishment(t.Context(), "org1"); err != nil {
			t.Fatal(err)
		}
	}
	if len(auths) != 2 || auths[0] != "Bearer s3cret" || auths[1] != "Bearer s3cret" {
		t.Errorf("Authorization headers %q, want Bearer s3cret on both calls", auths)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/fhir/R4/Organization/org1", nil)
	resp, err := fhir.Bearer("s3cret", http.DefaultTransport).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := req.Header.Get("Authorization"); h != "" {
		t.Errorf("the caller's request was changed: Authorization %q", h)
	}
}
