package fhir_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
	"github.com/tidwall/gjson"
)

// auditNow is the clock of the audit tests: records are kept apart from
// other tests' by their patients' random ids.
var auditNow = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

func TestAuditConformance(t *testing.T) {
	portaltest.RunAuditTests(t, func(t *testing.T) portaltest.AuditFixture {
		clock := portaltest.NewClock(auditNow)
		return portaltest.AuditFixture{Log: newBackend(t, serverURL(t), clock.Now), Now: clock.Now}
	})
}

// randomSuffix returns a fresh suffix for ids.
func randomSuffix() string { return strings.ToLower(rand.Text()[:12]) }

// getRaw reads a FHIR search or resource from the test server directly.
func getRaw(t *testing.T, base, path string, q url.Values) gjson.Result {
	t.Helper()
	resp, err := http.Get(base + "/" + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return gjson.ParseBytes(body)
}

// TestAuditEventResource: the AuditEvent as stored follows the mapping of
// docs/fhir.md.
func TestAuditEventResource(t *testing.T) {
	base := serverURL(t)
	b := newBackend(t, base, func() time.Time { return auditNow })
	patient := "pat-audit-" + randomSuffix()
	e := portal.AuditEvent{
		Time: auditNow.Add(1500 * time.Millisecond).In(time.FixedZone("CET", 3600)), Action: portal.AuditRead,
		Operation: "getDocumentContent", Outcome: portal.AuditSuccess, AgentKind: "practitioner", Agent: "pr-claire",
		Patient: patient, Entity: "DocumentReference/doc-1", Establishment: "chu-exemple", Network: "192.0.2.7", Status: 200,
	}
	if err := b.RecordAudit(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	anon := portal.AuditEvent{Action: portal.AuditExecute, Operation: "listThreads", Outcome: portal.AuditDenied,
		AgentKind: "anonymous", Patient: patient, Status: 401}
	if err := b.RecordAudit(context.Background(), anon); err != nil {
		t.Fatal(err)
	}
	bundle := getRaw(t, base, "AuditEvent", url.Values{"entity": {"Patient/" + patient}, "_sort": {"date"}})
	if n := bundle.Get("entry.#").Int(); n != 2 {
		t.Fatalf("%d AuditEvents of the patient, want 2: %s", n, bundle.Raw)
	}
	// The anonymous one has the clock's time, before the other's.
	r, a := bundle.Get("entry.1.resource"), bundle.Get("entry.0.resource")
	checks := []struct {
		name string
		got  gjson.Result
		want string
	}{
		{"type.system", r.Get("type.system"), "http://dicom.nema.org/resources/ontology/DCM"},
		{"type.code", r.Get("type.code"), "110110"},
		{"subtype", r.Get(`subtype.#(system=="` + fhir.SystemAuditOperation + `").code`), "getDocumentContent"},
		{"action", r.Get("action"), "R"},
		{"recorded", r.Get("recorded"), "2026-11-23T07:00:01.500000000Z"},
		{"outcome", r.Get("outcome"), "0"},
		{"agent.who", r.Get("agent.0.who.reference"), "Practitioner/pr-claire"},
		{"agent.requestor", r.Get("agent.0.requestor"), "true"},
		{"agent.type", r.Get("agent.0.type.coding.0.code"), "practitioner"},
		{"agent.network", r.Get("agent.0.network.address"), "192.0.2.7"},
		{"source.observer", r.Get("source.observer.display"), "Parcours"},
		{"source.site", r.Get("source.site"), "chu-exemple"},
		{"entity.0", r.Get("entity.0.what.reference"), "DocumentReference/doc-1"},
		{"entity.1", r.Get("entity.1.what.reference"), "Patient/" + patient},
		{"entity.1.role", r.Get("entity.1.role.code"), "1"},
		{"status", r.Get(`extension.#(url=="` + fhir.ExtHTTPStatus + `").valueInteger`), "200"},
		{"anonymous.who", a.Get("agent.0.who"), ""},
		{"anonymous.type", a.Get("agent.0.type.coding.0.display"), "anonymous"},
		{"anonymous.recorded", a.Get("recorded"), "2026-11-23T07:00:00.000000000Z"},
	}
	for _, c := range checks {
		if c.got.String() != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got.String(), c.want)
		}
	}
	if t.Failed() {
		out, _ := json.MarshalIndent(json.RawMessage(r.Raw), "", "  ")
		t.Logf("AuditEvent: %s", out)
	}
}

// TestAuditForeignEvents: AuditEvents that Parcours did not write (the
// server's own) are left out of a listing.
func TestAuditForeignEvents(t *testing.T) {
	base := serverURL(t)
	b := newBackend(t, base, func() time.Time { return auditNow })
	patient := "pat-audit-" + randomSuffix()
	var bb bundleBuilder
	bb.put(map[string]any{
		"resourceType": "AuditEvent", "id": "foreign-" + randomSuffix(),
		"type":     map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
		"recorded": auditNow.Format(time.RFC3339), "agent": []any{map[string]any{"requestor": false}},
		"source": map[string]any{"observer": map[string]any{"display": "server"}},
		"entity": []any{map[string]any{"what": map[string]any{"reference": "Patient/" + patient}}},
	})
	for _, body := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), body); err != nil {
			t.Fatal(err)
		}
	}
	e := portal.AuditEvent{Action: portal.AuditRead, Operation: "getPatient", Outcome: portal.AuditSuccess,
		AgentKind: "patient", Agent: patient, Patient: patient, Status: 200}
	if err := b.RecordAudit(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	got, err := b.AuditEvents(t.Context(), portal.AuditQuery{Patient: patient})
	if err != nil || len(got) != 1 || got[0].Operation != "getPatient" {
		t.Errorf("AuditEvents = %+v, %v; want Parcours's one record", got, err)
	}
}
