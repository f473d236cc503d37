package fhir

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// TestConsentMapping writes a grant as a Consent, reads it back, revokes
// it, and checks the elements docs/fhir.md documents.
func TestConsentMapping(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	body, err := json.Marshal(newConsent("pat-1", "pr-2", "Dr Paul Mercier", "org-3", at))
	if err != nil {
		t.Fatal(err)
	}
	r := gjson.ParseBytes(body)
	for path, want := range map[string]string{
		"resourceType":                          "Consent",
		"status":                                "active",
		"scope.coding.0.system":                 SystemConsentScope,
		"scope.coding.0.code":                   "patient-privacy",
		"category.0.coding.0.system":            "http://loinc.org",
		"category.0.coding.0.code":              "59284-0",
		"patient.reference":                     "Patient/pat-1",
		"dateTime":                              "2026-11-24T10:30:00+01:00",
		"organization.0.reference":              "Organization/org-3",
		"policyRule.coding.0.code":              "OPTIN",
		"provision.type":                        "permit",
		"provision.period.start":                "2026-11-24T10:30:00+01:00",
		"provision.actor.0.role.coding.0.code":  "PRCP",
		"provision.actor.0.reference.reference": "Practitioner/pr-2",
		"provision.actor.0.reference.display":   "Dr Paul Mercier",
		"identifier.0.system":                   SystemGrantKey,
		"identifier.0.value":                    grantKey("pat-1", "pr-2"),
	} {
		if got := r.Get(path).String(); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if r.Get("provision.period.end").Exists() {
		t.Error("an active grant has provision.period.end")
	}
	// The server gives it an id.
	body, _ = json.Marshal(json.RawMessage(strings.Replace(string(body), `{"resourceType":"Consent",`, `{"resourceType":"Consent","id":"c-1","meta":{"versionId":"7"},`, 1)))
	c, err := consentFrom(gjson.ParseBytes(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "c-1" || c.Version != "7" || c.Patient != "pat-1" || c.Practitioner != "pr-2" || c.PractitionerName != "Dr Paul Mercier" ||
		c.Establishment != "org-3" || !c.Granted.Equal(at) || !c.Active() {
		t.Errorf("consentFrom = %+v", c)
	}
	revoked, err := edit(c.Raw, func(res map[string]any) { revokeConsent(res, c.ID, at.Add(time.Hour)) })
	if err != nil {
		t.Fatal(err)
	}
	rv := gjson.ParseBytes(revoked)
	if rv.Get("status").String() != "inactive" || rv.Get("provision.period.end").String() != "2026-11-24T11:30:00+01:00" ||
		rv.Get("identifier.0.value").String() != grantKey("pat-1", "pr-2")+".revoked.c-1" || rv.Get("meta.versionId").Exists() {
		t.Errorf("revoked Consent = %s", revoked)
	}
	c, err = consentFrom(rv)
	if err != nil || c.Active() || !c.Revoked.Equal(at.Add(time.Hour)) {
		t.Errorf("consentFrom(revoked) = %+v, %v", c, err)
	}
}

// TestConsentNotAGrant: Consents that are not grants as Parcours writes
// them are refused, so that they open no document.
func TestConsentNotAGrant(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)
	good, _ := json.Marshal(newConsent("pat-1", "pr-2", "Dr X", "org-3", at))
	base := strings.Replace(string(good), `{"resourceType":"Consent",`, `{"resourceType":"Consent","id":"c-1",`, 1)
	if _, err := consentFrom(gjson.Parse(base)); err != nil {
		t.Fatalf("the base case: %v", err)
	}
	for name, change := range map[string]func(res map[string]any){
		"no grant key":         func(res map[string]any) { delete(res, "identifier") },
		"draft":                func(res map[string]any) { res["status"] = "draft" },
		"entered in error":     func(res map[string]any) { res["status"] = "entered-in-error" },
		"inactive without end": func(res map[string]any) { res["status"] = "inactive" },
		"deny":                 func(res map[string]any) { res["provision"].(map[string]any)["type"] = "deny" },
		"nested provision": func(res map[string]any) {
			res["provision"].(map[string]any)["provision"] = []any{map[string]any{"type": "deny"}}
		},
		"data restriction": func(res map[string]any) {
			res["provision"].(map[string]any)["data"] = []any{map[string]any{"meaning": "instance"}}
		},
		"other scope": func(res map[string]any) {
			res["scope"] = map[string]any{"coding": []any{map[string]any{"system": SystemConsentScope, "code": "treatment"}}}
		},
		"other category": func(res map[string]any) { res["category"] = []any{map[string]any{"text": "x"}} },
		"actor is an organization": func(res map[string]any) {
			res["provision"].(map[string]any)["actor"].([]any)[0].(map[string]any)["reference"] = map[string]any{"reference": "Organization/o"}
		},
		"no start": func(res map[string]any) { delete(res["provision"].(map[string]any), "period") },
		"end before start": func(res map[string]any) {
			res["provision"].(map[string]any)["period"].(map[string]any)["end"] = "2026-01-01T00:00:00Z"
		},
		"two organizations": func(res map[string]any) {
			res["organization"] = []any{map[string]any{"reference": "Organization/a"}, map[string]any{"reference": "Organization/b"}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			body, err := edit(base, change)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := consentFrom(gjson.ParseBytes(body)); err == nil {
				t.Errorf("consentFrom accepted %+v", c)
			}
		})
	}
}

// TestPractitionerRPPS: a Practitioner's RPPS number is its identifier of
// system portal.SystemRPPS, when well formed.
func TestPractitionerRPPS(t *testing.T) {
	for name, tc := range map[string]struct{ identifiers, want string }{
		"valid":        {`[{"system":"urn:oid:1.2.250.1.71.4.2.1","value":"10000009992"}]`, "10000009992"},
		"after others": {`[{"system":"x","value":"1"},{"system":"urn:oid:1.2.250.1.71.4.2.1","value":"10000011113"}]`, "10000011113"},
		"bad check":    {`[{"system":"urn:oid:1.2.250.1.71.4.2.1","value":"10000009993"}]`, ""},
		"other system": {`[{"system":"urn:oid:1.2.250.1.71.4.2.2","value":"10000009992"}]`, ""},
		"none":         {`[]`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := practitionerFrom(gjson.Parse(`{"resourceType":"Practitioner","id":"pr","name":[{"text":"Dr X"}],"identifier":` + tc.identifiers + `}`))
			if err != nil || p.RPPS != tc.want {
				t.Errorf("RPPS = %q, %v; want %q", p.RPPS, err, tc.want)
			}
		})
	}
}
