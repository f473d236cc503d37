package fhir_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// conformanceDocumentLimit is the file size limit of the suite's backends:
// small, so that the suite stays quick.
const conformanceDocumentLimit = 64 << 10

// documentsFixture seeds an establishment of its own (seed: two services,
// two practitioners of the first, one of the other, two patients), gives
// each patient a booked Appointment with the first service (their link to
// it), and returns the suite's fixture on a backend with its own clock and
// the given release delay.
func documentsFixture(t *testing.T, delay time.Duration) portaltest.DocumentsFixture {
	base := serverURL(t)
	var mu sync.Mutex
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	var est string
	b := newBackend(t, base, clock, func(c *fhir.Config) {
		c.MaxDocumentSize = conformanceDocumentLimit
		c.ReleaseDelays = map[string]time.Duration{}
	})
	s := seed(t, b, clock(), 2)
	est = s.Establishment
	if delay > 0 {
		// The delay belongs to this establishment: a backend of its own.
		b = newBackend(t, base, clock, func(c *fhir.Config) {
			c.MaxDocumentSize = conformanceDocumentLimit
			c.ReleaseDelays = map[string]time.Duration{est: delay}
		})
	}
	var bb bundleBuilder
	for i, p := range s.Patients {
		start := clock().Add(-time.Duration(48+i) * time.Hour)
		bb.put(map[string]any{
			"resourceType": "Appointment", "id": "apt-" + p, "status": "booked",
			"start": start.Format(time.RFC3339), "end": start.Add(30 * time.Minute).Format(time.RFC3339),
			"participant": []any{
				map[string]any{"actor": reference("Patient", p), "status": "accepted"},
				map[string]any{"actor": reference("Practitioner", s.Practitioners[0]), "status": "accepted"},
				map[string]any{"actor": reference("HealthcareService", s.Service), "status": "accepted"},
			},
		})
	}
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), bundle); err != nil {
			t.Fatalf("seeding appointments: %v", err)
		}
	}
	return portaltest.DocumentsFixture{
		AsPatient: func(t *testing.T, p string) portal.Documents { return portaltest.AsPatientDocuments(b, p) },
		AsPractitioner: func(t *testing.T, p string) portal.Documents {
			return portaltest.AsPractitionerDocuments(b, p)
		},
		Anonymous:       b,
		Filing:          b,
		Establishment:   s.Establishment,
		Service:         s.Service,
		OtherService:    s.Other,
		Patients:        s.Patients,
		Practitioners:   s.Practitioners[:2],
		Outsider:        s.Practitioners[2],
		MaxDocumentSize: conformanceDocumentLimit,
		ReleaseDelay:    delay,
		SetNow: func(t time.Time) {
			mu.Lock()
			defer mu.Unlock()
			now = t
		},
		Now: clock,
	}
}

func TestDocumentsConformance(t *testing.T) {
	t.Parallel()
	portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture { return documentsFixture(t, 0) })
}

func TestDocumentsConformanceReleaseDelay(t *testing.T) {
	t.Parallel()
	portaltest.RunDocumentsTests(t, func(t *testing.T) portaltest.DocumentsFixture {
		return documentsFixture(t, 72*time.Hour)
	})
}

// TestDocumentsHeldByAnyResource checks the mapping on resources the
// establishment wrote itself: a lab report whose DocumentReference carries
// no label but one of whose Observations carries the DMP's
// INVISIBLE_PATIENT is held whole — absent for its patient (document,
// content, lists, trends), held for the care team.
func TestDocumentsHeldByAnyResource(t *testing.T) {
	base := serverURL(t)
	now := time.Now().Truncate(time.Second)
	b := newBackend(t, base, func() time.Time { return now })
	s := seed(t, b, now, 1)
	p := s.Patients[0]
	sfx := strings.ToLower(rand.Text()[:10])
	pdf := []byte("%PDF-1.7\n% held by an observation\n%%EOF\n")
	sum := sha256.Sum256(pdf)
	var bb bundleBuilder
	bb.put(map[string]any{"resourceType": "Binary", "id": "bin-" + sfx, "contentType": portal.ContentTypePDF, "data": base64.StdEncoding.EncodeToString(pdf)})
	bb.put(map[string]any{
		"resourceType": "Observation", "id": "obs-" + sfx, "status": "final",
		"meta":              map[string]any{"security": []any{map[string]any{"system": fhir.SystemDMPConfidentiality, "code": fhir.CodeInvisiblePatient}}},
		"code":              map[string]any{"coding": []any{map[string]any{"system": fhir.SystemLOINC, "code": "4548-4", "display": "HbA1c"}}},
		"subject":           reference("Patient", p),
		"effectiveDateTime": now.Add(-time.Hour).Format(time.RFC3339),
		"valueQuantity":     map[string]any{"value": 7.2, "unit": "%"},
	})
	bb.put(map[string]any{
		"resourceType": "DiagnosticReport", "id": "rep-" + sfx, "status": "final",
		"code":    map[string]any{"coding": []any{map[string]any{"system": fhir.SystemLOINC, "code": "11502-2"}}},
		"subject": reference("Patient", p), "result": []any{reference("Observation", "obs-"+sfx)},
	})
	bb.put(map[string]any{
		"resourceType": "DocumentReference", "id": "doc-" + sfx, "status": "current",
		"extension": []any{map[string]any{"url": fhir.ExtDocumentService, "valueReference": reference("HealthcareService", s.Service)}},
		"type":      map[string]any{"coding": []any{map[string]any{"system": fhir.SystemLOINC, "code": "11502-2"}}},
		"subject":   reference("Patient", p), "custodian": reference("Organization", s.Establishment),
		"date": now.Add(-time.Hour).Format(time.RFC3339), "description": "Bilan du laboratoire",
		"author": []any{map[string]any{"display": "Laboratoire"}},
		"content": []any{map[string]any{"attachment": map[string]any{
			"contentType": portal.ContentTypePDF, "size": len(pdf), "title": "bilan.pdf", "url": "Binary/bin-" + sfx,
			"extension": []any{map[string]any{"url": fhir.ExtSHA256, "valueString": hex.EncodeToString(sum[:])}},
		}}},
		"context": map[string]any{"related": []any{reference("DiagnosticReport", "rep-"+sfx)}},
	})
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), bundle); err != nil {
			t.Fatal(err)
		}
	}
	id := "doc-" + sfx
	pat := portaltest.AsPatientDocuments(b, p)
	if _, err := pat.Document(t.Context(), id); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("Document as the patient: %v, want not_found", err)
	}
	if _, c, err := pat.DocumentContent(t.Context(), id); !portal.IsCode(err, portal.ErrNotFound) || c != nil {
		t.Errorf("DocumentContent as the patient: %d bytes, %v", len(c), err)
	}
	if list, err := pat.Documents(t.Context(), s.Establishment, portal.DocumentFilter{}); err != nil || len(list) != 0 {
		t.Errorf("Documents as the patient: %+v, %v", list, err)
	}
	if _, err := pat.Trend(t.Context(), s.Establishment, "4548-4"); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("Trend as the patient: %v, want not_found", err)
	}
	team := portaltest.AsPractitionerDocuments(b, s.Practitioners[0])
	doc, content, err := team.DocumentContent(t.Context(), id)
	if err != nil || !doc.Sensitive || doc.Release != portal.ReleaseHeld || len(doc.Observations) != 1 ||
		doc.Observations[0].Value != 7.2 || doc.Observations[0].Decimals != 1 || string(content) != string(pdf) {
		t.Errorf("DocumentContent as the care team = %+v, %q, %v", doc, content, err)
	}
	if doc.PatientName == "" {
		t.Error("Document as the care team: no patient name")
	}
	held, err := team.Documents(t.Context(), s.Establishment, portal.DocumentFilter{Held: true})
	if err != nil || len(held) != 1 || held[0].ID != id || held[0].PatientName != doc.PatientName {
		t.Errorf("Documents(held) as the care team = %+v, %v; want the document with its patient's name", held, err)
	}
}
