package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBuild(t *testing.T) {
	for _, raw := range []string{``, `{}`, `{"fhir_url": "http://127.0.0.1:1/fhir"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "state_jurisdiction": "mars"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "fhir_call_timeout": "soon"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "fhir_call_timeout": "2h"}`} {
		if _, err := build([]byte(raw), nil, "", platform{}); err == nil {
			t.Errorf("build(%q) succeeded", raw)
		}
	}
	var auth string
	fhirSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		http.NotFound(w, r)
	}))
	defer fhirSrv.Close()
	h, err := build([]byte(`{"public_url": "http://127.0.0.1:8787", "fhir_url": "`+fhirSrv.URL+`",
		"establishment": {"id": "chu-exemple", "origins": ["http://127.0.0.1:8000"]}}`), nil, "secret", platform{})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/establishments/chu-exemple/services", nil))
	if w.Code == 0 || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("API answer: %d, Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
	if auth != "" && auth != "Bearer secret" {
		t.Errorf("Authorization %q", auth)
	}
}

// TestTestClock: test_clock is refused unless public_url is a loopback
// address; on, its route sets the clock of the host (a session's expiry
// follows it) and answers only requests addressed to a loopback host.
func TestTestClock(t *testing.T) {
	fhirSrv := httptest.NewServer(http.NotFoundHandler())
	defer fhirSrv.Close()
	cfg := func(public string) []byte {
		return []byte(`{"public_url": "` + public + `", "fhir_url": "` + fhirSrv.URL + `", "test_clock": true,
			"establishment": {"id": "chu-exemple", "origins": ["https://www.chu-exemple.fr"]},
			"establishments": [{"id": "chu-autre", "origins": ["https://www.chu-autre.fr"]}]}`)
	}
	for _, public := range []string{"", "https://rdv.chu-exemple.fr", "http://rdv.chu-exemple.fr", "https://127.0.0.1:8787", "http://0.0.0.0:8787"} {
		_, err := build(cfg(public), nil, "", platform{})
		if err == nil || !strings.Contains(err.Error(), "test_clock") {
			t.Errorf("test_clock with public_url %q: %v, want a refusal naming test_clock", public, err)
		}
	}
	h, err := build(cfg("http://127.0.0.1:8787"), nil, "", platform{})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, url, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, url, strings.NewReader(body)))
		return w
	}
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	if w := do("PUT", "http://rdv.chu-exemple.fr"+TestClockPath, at.Format(time.RFC3339)); w.Code != http.StatusNotFound {
		t.Errorf("PUT %s on a public host name: %d, want the host's 404", TestClockPath, w.Code)
	}
	if w := do("PUT", "http://127.0.0.1:8787"+TestClockPath, "tomorrow"); w.Code != http.StatusBadRequest {
		t.Errorf("PUT a malformed time: %d, want 400", w.Code)
	}
	if w := do("PUT", "http://127.0.0.1:8787"+TestClockPath, at.Format(time.RFC3339)); w.Code != http.StatusOK || w.Body.String() != at.Format(time.RFC3339Nano) {
		t.Fatalf("PUT the clock: %d %q", w.Code, w.Body)
	}
	if w := do("GET", "http://localhost:8787"+TestClockPath, ""); w.Body.String() != at.Format(time.RFC3339Nano) {
		t.Errorf("GET the clock: %q, want %s", w.Body, at)
	}
	// "establishments" adds to "establishment": each page may embed its
	// own establishment's widgets.
	for est, origin := range map[string]string{"chu-exemple": "https://www.chu-exemple.fr", "chu-autre": "https://www.chu-autre.fr"} {
		r := do("GET", "http://127.0.0.1:8787/w/booking?establishment="+est, "")
		if csp := r.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors "+origin) {
			t.Errorf("widget of %s: CSP %q, want frame-ancestors %s", est, csp, origin)
		}
	}
}
