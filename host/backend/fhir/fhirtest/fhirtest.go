// Package fhirtest starts a real FHIR R4 server on loopback for tests: the
// FHIR engine of Medplum (its router and in-memory repository, pinned by
// package-lock.json in this directory, installed by `npm ci` here, which
// `make test` runs) behind server.mjs, run by package fhirserver. It is the
// server the FHIR backend's conformance runs use; see server.mjs for what
// it supports and lacks.
package fhirtest

import (
	"context"
	"os"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/fhir/fhirserver"
)

// Dir is this package's directory, where server.mjs and node_modules are.
func Dir() string { return fhirserver.Dir() }

// Start runs a fresh, empty server for t and returns its base URL
// (http://127.0.0.1:PORT/fhir/R4); it stops when t ends. Without node or the
// npm packages it skips t, unless PARCOURS_E2E=1 makes that a failure (as
// for the browser tests).
func Start(t testing.TB) string {
	t.Helper()
	if err := fhirserver.Available(); err != nil {
		if os.Getenv("PARCOURS_E2E") == "1" {
			t.Fatalf("the FHIR test server needs node and `npm ci` in %s: %v", Dir(), err)
		}
		t.Skipf("skipping: the FHIR test server needs node and `npm ci` in %s: %v", Dir(), err)
	}
	s, err := fhirserver.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.Base
}
