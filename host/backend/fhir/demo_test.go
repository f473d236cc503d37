package fhir_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// TestSeedDemo: the demo's second establishment has bookable slots in the
// next days and a report for Lucas Bernard, as the demo promises.
func TestSeedDemo(t *testing.T) {
	base := fhirtest.Start(t)
	now := time.Now()
	b, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.SeedDemo(ctx, now); err != nil {
		t.Fatal(err)
	}
	est, err := b.Establishment(ctx, fhir.DemoEstablishment)
	if err != nil || est.Name != "Centre hospitalier Nord" || est.UrgentHelp.EN == "" {
		t.Fatalf("establishment %+v %v", est, err)
	}
	slots, err := b.FreeSlots(ctx, portal.SlotQuery{Establishment: fhir.DemoEstablishment, Service: fhir.DemoCardiology, From: now, To: now.AddDate(0, 0, 14)})
	if err != nil || len(slots) < 30 {
		t.Fatalf("%d free cardiology slots, %v", len(slots), err)
	}
	pat := portaltest.AsPatient(b, "pat-lucas-bernard")
	if _, err := pat.Book(ctx, portal.BookRequest{Establishment: fhir.DemoEstablishment, Service: fhir.DemoCardiology, Slot: slots[0].ID, IdempotencyKey: "demo-test-1"}); err != nil {
		t.Fatalf("booking in the demo establishment: %v", err)
	}
	docs, err := portaltest.AsPatientDocuments(b, "pat-lucas-bernard").Documents(ctx, fhir.DemoEstablishment, portal.DocumentFilter{})
	if err != nil || len(docs) != 1 || docs[0].ContentType != portal.ContentTypeText {
		t.Fatalf("Lucas's documents in CH Nord: %+v %v", docs, err)
	}
	// The city doctor, found by his RPPS number, sees Lucas's report once
	// Lucas grants him access, and no more once he revokes it.
	lucas := portal.WithSubject(ctx, portal.Subject{Patient: "pat-lucas-bernard"})
	doctor, err := b.PractitionerByRPPS(lucas, fhir.DemoCityDoctorRPPS)
	if err != nil || doctor.ID != fhir.DemoCityDoctor || doctor.Name != "Paul Mercier" {
		t.Fatalf("PractitionerByRPPS(city doctor) = %+v, %v", doctor, err)
	}
	cityDocs := portaltest.AsPractitionerDocuments(b, fhir.DemoCityDoctor)
	filter := portal.DocumentFilter{Patient: "pat-lucas-bernard"}
	if got, err := cityDocs.Documents(ctx, fhir.DemoEstablishment, filter); err != nil || len(got) != 0 {
		t.Fatalf("city doctor before a grant: %+v %v", got, err)
	}
	g, err := b.GrantAccess(lucas, fhir.DemoEstablishment, doctor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cityDocs.Documents(ctx, fhir.DemoEstablishment, filter); err != nil || len(got) != 1 {
		t.Fatalf("city doctor granted: %+v %v", got, err)
	}
	if _, err := b.RevokeAccess(lucas, g.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := cityDocs.Documents(ctx, fhir.DemoEstablishment, filter); err != nil || len(got) != 0 {
		t.Fatalf("city doctor after revocation: %+v %v", got, err)
	}
	demo, err := b.DemoPatients(ctx)
	if err != nil || len(demo) != 3 {
		t.Errorf("demo patients %+v %v", demo, err)
	}
}
