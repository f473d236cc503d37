package fhirtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
)

type server struct {
	t    *testing.T
	base string
}

// do sends a FHIR request and returns the status, the ETag and the decoded body.
func (s server) do(method, path, body string, headers ...string) (int, string, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&v); err != nil {
		s.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header.Get("ETag"), v
}

// TestServerSpeaksTheFHIRTheBackendNeeds checks, on the real server, the
// behaviours the FHIR backend relies on: create, read, versioned update
// (a stale If-Match is refused: two patients cannot book one slot),
// conditional create (a retried create makes nothing new), search by
// reference, and transaction Bundles (the seed bundle).
func TestServerSpeaksTheFHIRTheBackendNeeds(t *testing.T) {
	s := server{t, fhirtest.Start(t)}

	code, etag, pat := s.do("POST", "/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"279035121518989"}],"name":[{"family":"Durand","given":["Camille"]}]}`)
	if code != 201 || etag == "" || pat["id"] == nil {
		t.Fatalf("create: %d %q %v", code, etag, pat)
	}
	id := pat["id"].(string)
	if code, e, got := s.do("GET", "/Patient/"+id, ""); code != 200 || e != etag || got["id"] != id {
		t.Fatalf("read: %d %q %v", code, e, got)
	}

	// Versioned update: the stale version loses.
	slot := `{"resourceType":"Slot","schedule":{"reference":"Schedule/s1"},"status":"free","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:30:00+01:00"}`
	code, v1, sl := s.do("POST", "/Slot", slot)
	if code != 201 {
		t.Fatalf("create slot: %d %v", code, sl)
	}
	sid := sl["id"].(string)
	busy := strings.Replace(strings.Replace(slot, `"free"`, `"busy"`, 1), `{"resourceType":"Slot",`, `{"resourceType":"Slot","id":"`+sid+`",`, 1)
	if code, _, _ := s.do("PUT", "/Slot/"+sid, busy, "If-Match", v1); code != 200 {
		t.Fatalf("update with the current version: %d", code)
	}
	if code, _, oo := s.do("PUT", "/Slot/"+sid, busy, "If-Match", v1); code != 412 || oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("update with a stale version: %d %v, want 412", code, oo)
	}

	// Conditional create: the same identifier creates nothing new.
	code, _, again := s.do("POST", "/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":"279035121518989"}]}`,
		"If-None-Exist", "identifier=urn:oid:1.2.250.1.213.1.4.8|279035121518989")
	if code != 200 || again["id"] != id {
		t.Fatalf("conditional create: %d %v, want 200 with %s", code, again["id"], id)
	}

	// A transaction bundle with internal references, then a search by reference.
	code, _, tx := s.do("POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[
		{"fullUrl":"urn:uuid:4d1c0b52-0000-4000-8000-000000000001","resource":{"resourceType":"Practitioner","name":[{"family":"Martin","given":["Claire"]}]},"request":{"method":"POST","url":"Practitioner"}},
		{"fullUrl":"urn:uuid:4d1c0b52-0000-4000-8000-000000000002","resource":{"resourceType":"Schedule","actor":[{"reference":"urn:uuid:4d1c0b52-0000-4000-8000-000000000001"}]},"request":{"method":"POST","url":"Schedule"}},
		{"resource":{"resourceType":"Slot","schedule":{"reference":"urn:uuid:4d1c0b52-0000-4000-8000-000000000002"},"status":"free","start":"2026-12-02T09:00:00+01:00","end":"2026-12-02T09:30:00+01:00"},"request":{"method":"POST","url":"Slot"}}]}`)
	entries, _ := tx["entry"].([]any)
	if code != 200 || tx["type"] != "transaction-response" || len(entries) != 3 {
		t.Fatalf("transaction: %d %v", code, tx)
	}
	schedule := entries[1].(map[string]any)["resource"].(map[string]any)["id"].(string)
	code, _, found := s.do("GET", "/Slot?schedule=Schedule/"+schedule+"&status=free", "")
	if code != 200 || found["total"] == nil {
		t.Fatalf("search: %d %v", code, found)
	}
	if list, _ := found["entry"].([]any); len(list) != 1 {
		t.Fatalf("search found %d slots of the new schedule, want 1", len(list))
	}

	// An invalid resource is refused with an OperationOutcome.
	if code, _, oo := s.do("POST", "/Patient", `{"resourceType":"Patient","nonsense":true}`); code != 400 || oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("invalid resource: %d %v", code, oo)
	}
}
