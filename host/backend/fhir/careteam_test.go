package fhir_test

import (
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestCareTeamPractitioner: a session's practitioner is named from the
// FHIR server, with the role of their PractitionerRole; an unknown or
// inactive Practitioner is not found.
func TestCareTeamPractitioner(t *testing.T) {
	t.Parallel()
	b := newBackend(t, serverURL(t), time.Now)
	s := seed(t, b, time.Now(), 1)
	ctx := t.Context()
	p, err := b.Practitioner(ctx, s.Practitioners[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := (portal.Practitioner{ID: s.Practitioners[0], Name: "Sophie Lefebvre", Role: portal.Text{FR: "Sage-femme", EN: "Midwife"}}); p != want {
		t.Errorf("Practitioner = %+v, want %+v", p, want)
	}
	doctor := cityDoctor(t, b, "pr-ville-"+s.Establishment) // no PractitionerRole
	if p, err := b.Practitioner(ctx, doctor.ID); err != nil || p.ID != doctor.ID || p.Name != doctor.Name || p.RPPS != doctor.RPPS || p.Role != (portal.Text{}) {
		t.Errorf("Practitioner(a doctor of no service) = %+v, %v; want %+v without a role", p, err, doctor)
	}
	var bb bundleBuilder
	bb.put(map[string]any{
		"resourceType": "Practitioner", "id": "pr-gone-" + s.Establishment, "active": false,
		"name": []any{map[string]any{"text": "Dr Parti"}},
	})
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(ctx, bundle); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"pr-gone-" + s.Establishment, "pr-nobody-" + s.Establishment, "bad/id"} {
		if p, err := b.Practitioner(ctx, id); !portal.IsCode(err, portal.ErrNotFound) {
			t.Errorf("Practitioner(%q) = %+v, %v; want not found", id, p, err)
		}
	}
	if list, err := b.DemoPractitioners(ctx); err != nil || list == nil || len(list) != 0 {
		t.Errorf("DemoPractitioners = %+v, %v; want an empty list", list, err)
	}
}
