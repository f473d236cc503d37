package fhir

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// FuzzConsent fuzzes the reader of grants: whatever the server answers,
// consentFrom returns a grant or an error, never panics, and what it
// accepts has the shape the documents' scope relies on; revoking what it
// accepts gives a revoked grant of the same patient and practitioner.
func FuzzConsent(f *testing.F) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	seed, _ := json.Marshal(newConsent("p1", "pr1", "Dr Paul Mercier", "o1", now))
	f.Add(seed)
	f.Add([]byte(`{"resourceType":"Consent","id":"c1","status":"inactive","identifier":[{"system":"` + SystemGrantKey + `","value":"k.revoked.c1"}],
		"scope":{"coding":[{"system":"` + SystemConsentScope + `","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
		"patient":{"reference":"Patient/p1"},"organization":[{"reference":"Organization/o1"}],
		"provision":{"type":"permit","period":{"start":"2026-11-24T10:00:00Z","end":"2026-11-24T09:00:00Z"},
		"actor":[{"role":{"coding":[{"system":"` + SystemParticipationType + `","code":"PRCP"}]},"reference":{"reference":"Practitioner/pr1"}}]}}`))
	f.Add([]byte(`{"resourceType":"Consent","id":"c1","status":"active","identifier":[{"system":"` + SystemGrantKey + `","value":"k"}],
		"scope":{"coding":[{"system":"` + SystemConsentScope + `","code":"patient-privacy"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
		"patient":{"reference":"Patient/p1"},"organization":[{"reference":"Organization/o1"}],
		"provision":{"type":"permit","period":{"start":"2026"},"provision":[{"type":"deny"}],
		"actor":[{"role":{"coding":[{"system":"` + SystemParticipationType + `","code":"PRCP"}]},"reference":{"reference":"Practitioner/pr1"}}]}}`))
	f.Add([]byte(`{"resourceType":"Consent","id":"c1","identifier":{"system":"` + SystemGrantKey + `"},"category":{"coding":[]},"provision":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) {
			return
		}
		c, err := consentFrom(gjson.ParseBytes(body))
		if err != nil {
			return
		}
		if !validID(c.ID) || !validID(c.Patient) || !validID(c.Practitioner) || !validID(c.Establishment) ||
			c.Key == "" || c.Granted.IsZero() || c.Revoked != nil && c.Revoked.Before(c.Granted) {
			t.Fatalf("consentFrom accepted %+v", c)
		}
		if !c.Active() {
			return
		}
		raw, err := edit(c.Raw, func(res map[string]any) { revokeConsent(res, c.ID, c.Granted.Add(time.Hour)) })
		if err != nil {
			t.Fatalf("edit: %v", err)
		}
		r, err := consentFrom(gjson.ParseBytes(raw))
		if err != nil || r.Active() || r.ID != c.ID || r.Patient != c.Patient || r.Practitioner != c.Practitioner || r.Key == c.Key {
			t.Fatalf("revoked %+v: %+v, %v", c, r, err)
		}
	})
}
