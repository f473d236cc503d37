//go:build !(js && wasm)

package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzBuild: PARCOURS_CONFIG and assets.json come from the Worker's
// environment and bundle. Building never panics; what it refuses it says;
// what it accepts answers requests (its health check) without calling out.
func FuzzBuild(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}}`,
		`{"public_url": "https://rdv.chu-exemple.fr", "fhir_url": "https://fhir.chu-exemple.fr/r4", "establishment": {"id": "ch-nord", "origins": ["https://www.chu-exemple.fr"], "release_delay": "72h"}, "state_jurisdiction": "eu"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishments": [{"id": "a"}, {"id": "a"}]}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "identity_providers": [{"name": "psc", "issuer": "https://auth.example", "client_id": "c"}]}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "test_clock": true, "public_url": "http://127.0.0.1:8787"}`,
	} {
		f.Add(s, ``)
	}
	good := `{"public_url": "https://rdv.chu-exemple.fr", "fhir_url": "https://fhir.chu-exemple.fr/r4", "establishment": {"id": "ch-nord"}}`
	f.Add(good, `{"parcours.wasm": "/a/parcours.0123456789ab.wasm"}`)
	f.Add(good, `{"parcours.wasm": "parcours.0123456789ab.wasm"}`)
	f.Add(good, `{"parcours.wasm": 1}`)
	if _, err := build([]byte(good), nil, noSecrets, platform{}); err != nil {
		f.Fatalf("a sound configuration is refused, so the fuzzing would only see refusals: %v", err)
	}
	f.Fuzz(func(t *testing.T, raw, assets string) {
		h, err := build([]byte(raw), []byte(assets), noSecrets, platform{})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("accepted %s, but /healthz answers %d", raw, rec.Code)
		}
	})
}
