package fhir

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestRetryPolicy checks which interactions are sent again after a
// transient failure: reads and conditional creates, never other writes.
func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name     string
		r        request
		attempts int64
	}{
		{"Read", request{method: http.MethodGet, path: "Slot/s1", op: opRead}, 3},
		{"ConditionalCreate", request{method: http.MethodPost, path: "Appointment", body: []byte(`{}`), ifNoneExist: "identifier=a|b", op: opBook}, 3},
		{"Create", request{method: http.MethodPost, path: "Appointment", body: []byte(`{}`), op: opWrite}, 1},
		{"VersionedUpdate", request{method: http.MethodPut, path: "Slot/s1", body: []byte(`{}`), ifMatch: "1", op: opClaim}, 1},
		{"Transaction", request{method: http.MethodPost, body: []byte(`{}`), op: opWrite}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				http.Error(w, "down", http.StatusServiceUnavailable)
			}))
			defer srv.Close()
			b, err := New(Config{BaseURL: srv.URL, Retries: 2, RetryBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.do(t.Context(), tc.r)
			if portal.Code(err) != portal.ErrBackendUnavailable || n.Load() != tc.attempts {
				t.Errorf("%s: %v after %d attempts, want backend_unavailable after %d", tc.name, err, n.Load(), tc.attempts)
			}
		})
	}
}

// TestRequestHeaders checks what every request says: FHIR JSON both ways,
// the version for If-Match as a weak ETag, the conditional create's query.
func TestRequestHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("ETag", `W/"7"`)
		w.Write([]byte(`{"resourceType":"Slot","id":"s1"}`))
	}))
	defer srv.Close()
	b, err := New(Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.do(t.Context(), request{method: http.MethodPut, path: "Slot/s1", body: []byte(`{}`), ifMatch: "6", ifNoneExist: "identifier=a|b"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Accept":        "application/fhir+json",
		"Content-Type":  "application/fhir+json; charset=utf-8",
		"If-Match":      `W/"6"`,
		"If-None-Exist": "identifier=a|b",
		"Prefer":        "return=representation",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, got.Get(k), v)
		}
	}
	if resp.version != "7" {
		t.Errorf("version from ETag W/\"7\" = %q", resp.version)
	}
}

func TestDefaultTransportKeepsConnections(t *testing.T) {
	b, err := New(Config{BaseURL: "https://fhir.example/r4"})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := b.cfg.Transport.(*http.Transport)
	if !ok || tr.MaxIdleConnsPerHost != MaxIdleConnsPerHost || tr.DisableCompression {
		t.Errorf("default transport %#v: want an *http.Transport keeping %d idle connections per host, compression on", b.cfg.Transport, MaxIdleConnsPerHost)
	}
	if tr == http.DefaultTransport {
		t.Error("the default transport is net/http's own, shared with the whole process")
	}
}

func TestResponseTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"resourceType":"Organization","id":"o","name":"` + strings.Repeat("x", 4096) + `"}`))
	}))
	defer srv.Close()
	b, err := New(Config{BaseURL: srv.URL, MaxResponseBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Establishment(t.Context(), "o"); err == nil {
		t.Error("a response over MaxResponseBytes was accepted")
	}
}

func TestSameServer(t *testing.T) {
	b, err := New(Config{BaseURL: "https://fhir.example/r4"})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{
		"https://fhir.example/r4/Slot?page=2":  true,
		"https://fhir.example/r4?_getpages=x":  true,
		"http://fhir.example/r4/Slot?page=2":   false,
		"https://evil.example/r4/Slot?page=2":  false,
		"https://fhir.example/r4x/Slot?page=2": false,
		"https://fhir.example/Slot?page=2":     false,
		"::not a url":                          false,
	}
	for next, want := range tests {
		if got := b.sameServer(next); got != want {
			t.Errorf("sameServer(%q) = %v, want %v", next, got, want)
		}
	}
}
