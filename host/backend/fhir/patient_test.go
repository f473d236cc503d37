package fhir_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
)

func TestDirectory(t *testing.T) {
	base := serverURL(t)
	now := time.Now()
	b := newBackend(t, base, func() time.Time { return now })
	s := seed(t, b, now, 2)
	ctx := t.Context()

	p, err := b.Patient(ctx, s.Patients[0])
	if err != nil || p.ID != s.Patients[0] || p.GivenName != "Numéro 1" || !strings.HasPrefix(p.FamilyName, "Patient-") {
		t.Errorf("Patient = %+v, %v", p, err)
	}
	for _, id := range []string{"unknown-patient", "../Organization/x", ""} {
		if _, err := b.Patient(ctx, id); portal.Code(err) != portal.ErrNotFound {
			t.Errorf("Patient(%q): %v, want not_found", id, err)
		}
	}

	demo, err := b.DemoPatients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(demo, func(p portal.Patient) bool { return slices.Contains(s.Patients, p.ID) }) {
		t.Errorf("DemoPatients lists a patient without the demo tag: %+v", demo)
	}

	tests := []struct {
		name, system, value string
		want                portal.ErrorCode
		id                  string
	}{
		{"Found", fhir.INSNIRTest, s.INS[1], "", s.Patients[1]},
		{"OtherSystem", fhir.INSNIR, s.INS[1], portal.ErrNotFound, ""},
		{"Unknown", fhir.INSNIRTest, "199999999999995", portal.ErrNotFound, ""},
		{"WrongKey", fhir.INSNIRTest, s.INS[1][:13] + "00", portal.ErrInvalid, ""},
		{"NotAnINSSystem", "urn:oid:1.2.3", s.INS[1], portal.ErrInvalid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "Unknown" && slices.Contains(s.INS, tc.value) {
				t.Skip("the random INS happens to be the unknown one")
			}
			if tc.name == "WrongKey" && fhir.ValidINS(tc.value) {
				t.Skip("the random INS has key 00")
			}
			p, err := b.PatientByINS(ctx, tc.system, tc.value)
			if portal.Code(err) != tc.want || p.ID != tc.id {
				t.Errorf("PatientByINS = %+v, %v; want %q, code %q", p, err, tc.id, tc.want)
			}
		})
	}

	// Two Patients with one INS: an identity-vigilance incident, refused.
	var bb bundleBuilder
	bb.put(map[string]any{
		"resourceType": "Patient", "id": s.Patients[0] + "-twin",
		"identifier": []any{map[string]any{"system": fhir.INSNIRTest, "value": s.INS[0]}},
		"name":       []any{map[string]any{"family": "Twin", "given": []any{"Evil"}}},
	})
	if _, err := b.LoadBundle(ctx, bb.transactions(t)[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PatientByINS(ctx, fhir.INSNIRTest, s.INS[0]); portal.Code(err) != portal.ErrInternal {
		t.Errorf("PatientByINS of an INS two patients share: %v, want internal", err)
	}
}
