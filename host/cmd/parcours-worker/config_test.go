package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBuild(t *testing.T) {
	for _, raw := range []string{``, `{}`, `{"fhir_url": "http://127.0.0.1:1/fhir"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "state_jurisdiction": "mars"}`} {
		if _, err := build([]byte(raw), "", platform{}); err == nil {
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
		"establishment": {"id": "chu-exemple", "origins": ["http://127.0.0.1:8000"]}}`), "secret", platform{})
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
