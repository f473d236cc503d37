package fhir_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// testRPPS returns a random well-formed RPPS number starting with 8, so
// that it never is the suites' unknown numbers.
func testRPPS(t testing.TB) string {
	t.Helper()
	body := fmt.Sprintf("8%09d", mrand.IntN(1_000_000_000))
	for c := '0'; c <= '9'; c++ {
		if v := body + string(c); portal.ValidRPPS(v) {
			return v
		}
	}
	t.Fatalf("no check digit for %s", body)
	return ""
}

// cityDoctor writes a Practitioner of no service with a fresh RPPS number.
func cityDoctor(t testing.TB, b *fhir.Backend, id string) portal.Practitioner {
	t.Helper()
	p := portal.Practitioner{ID: id, Name: "Dr Paul Ville " + id, RPPS: testRPPS(t)}
	var bb bundleBuilder
	bb.put(map[string]any{
		"resourceType": "Practitioner", "id": id, "active": true,
		"identifier": []any{map[string]any{"system": portal.SystemRPPS, "value": p.RPPS}},
		"name":       []any{map[string]any{"text": p.Name}},
	})
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), bundle); err != nil {
			t.Fatalf("seeding the city doctor: %v", err)
		}
	}
	return p
}

// consentFixture is documentsFixture's establishment with a city doctor of
// none of its services and two documents of the first patient: one
// released, one held.
func consentFixture(t *testing.T) portaltest.ConsentFixture {
	fx := documentsFixture(t, 0)
	b := fx.Filing.(*fhir.Backend)
	doctor := cityDoctor(t, b, "pr-ville-"+strings.ToLower(fx.Patients[0]))
	pdf := portal.NewFile{Name: "cr.pdf", ContentType: portal.ContentTypePDF, Content: []byte("%PDF-1.7\n% consent\n%%EOF\n")}
	file := func(title string, sensitive bool) string {
		d, err := b.FileDocument(t.Context(), portal.NewDocument{
			Establishment: fx.Establishment, Service: fx.Service, Patient: fx.Patients[0],
			Type: portal.DocConsultationReport, Title: title, Date: fx.Now().Add(-time.Hour), Author: "Dr Test",
			SourceID: title + "-" + fx.Patients[0], Sensitive: sensitive, File: pdf,
		})
		if err != nil {
			t.Fatalf("FileDocument(%s): %v", title, err)
		}
		return d.ID
	}
	return portaltest.ConsentFixture{
		AsPatient:      func(t *testing.T, p string) portal.Consents { return portaltest.AsPatientConsents(b, p) },
		AsPractitioner: func(t *testing.T, p string) portal.Consents { return portaltest.AsPractitionerConsents(b, p) },
		Anonymous:      b,
		Documents:      func(t *testing.T, p string) portal.Documents { return portaltest.AsPractitionerDocuments(b, p) },
		Establishment:  fx.Establishment,
		Patient:        fx.Patients[0],
		OtherPatient:   fx.Patients[1],
		Practitioner:   doctor.ID,
		Released:       file("released", false),
		Held:           file("held", true),
	}
}

func TestConsentConformance(t *testing.T) {
	t.Parallel()
	portaltest.RunConsentTests(t, consentFixture)
}

func TestLookupConformance(t *testing.T) {
	t.Parallel()
	portaltest.RunLookupTests(t, func(t *testing.T) portaltest.LookupFixture {
		base := serverURL(t)
		b := newBackend(t, base, time.Now)
		s := seed(t, b, time.Now(), 1)
		doctor := cityDoctor(t, b, "pr-ville-"+s.Establishment)
		return portaltest.LookupFixture{
			AsPatient: func(t *testing.T, p string) portal.PractitionerLookup {
				return lookupAs{b, portal.Subject{Patient: p}}
			},
			AsPractitioner: func(t *testing.T, p string) portal.PractitionerLookup {
				return lookupAs{b, portal.Subject{Practitioner: p}}
			},
			Anonymous:    b,
			Patient:      s.Patients[0],
			Practitioner: doctor,
		}
	})
}

type lookupAs struct {
	b       *fhir.Backend
	subject portal.Subject
}

func (l lookupAs) PractitionerByRPPS(ctx context.Context, rpps string) (portal.Practitioner, error) {
	return l.b.PractitionerByRPPS(portal.WithSubject(ctx, l.subject), rpps)
}

// TestLookupDuplicateRPPS: two Practitioners with one RPPS number are an
// error, never a guess.
func TestLookupDuplicateRPPS(t *testing.T) {
	t.Parallel()
	base := serverURL(t)
	b := newBackend(t, base, time.Now)
	s := seed(t, b, time.Now(), 1)
	one := cityDoctor(t, b, "pr-ville-a-"+s.Establishment)
	var bb bundleBuilder
	bb.put(map[string]any{
		"resourceType": "Practitioner", "id": "pr-ville-b-" + s.Establishment,
		"identifier": []any{map[string]any{"system": portal.SystemRPPS, "value": one.RPPS}},
		"name":       []any{map[string]any{"text": "Dr Homonyme"}},
	})
	for _, bundle := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), bundle); err != nil {
			t.Fatal(err)
		}
	}
	ctx := portal.WithSubject(t.Context(), portal.Subject{Patient: s.Patients[0]})
	if p, err := b.PractitionerByRPPS(ctx, one.RPPS); err == nil || portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("PractitionerByRPPS(shared number) = %+v, %v; want an error other than not found", p, err)
	}
}

// TestGrantConcurrent: concurrent grants to one practitioner make one
// Consent, and concurrent revocations revoke it once.
func TestGrantConcurrent(t *testing.T) {
	t.Parallel()
	fx := consentFixture(t)
	c := fx.AsPatient(t, fx.Patient)
	const n = 6
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			g, err := c.GrantAccess(context.Background(), fx.Establishment, fx.Practitioner)
			ids[i], errs[i] = g.ID, err
		})
	}
	wg.Wait()
	var first string
	for i := range n {
		if errs[i] != nil {
			// A server without atomic conditional creates may refuse
			// the losers; it must not make two grants.
			t.Logf("grant %d: %v", i, errs[i])
			continue
		}
		if first == "" {
			first = ids[i]
		} else if ids[i] != first {
			t.Errorf("grants %s and %s: want one", first, ids[i])
		}
	}
	gs, err := c.Grants(context.Background())
	if err != nil || len(gs) != 1 {
		t.Fatalf("Grants = %+v, %v; want one", gs, err)
	}
	revoked := make([]*time.Time, n)
	for i := range n {
		wg.Go(func() {
			g, err := c.RevokeAccess(context.Background(), gs[0].ID)
			if err != nil {
				t.Errorf("RevokeAccess %d: %v", i, err)
				return
			}
			revoked[i] = g.Revoked
		})
	}
	wg.Wait()
	gs, err = c.Grants(context.Background())
	if err != nil || len(gs) != 1 || gs[0].Active() {
		t.Fatalf("Grants after revocations = %+v, %v", gs, err)
	}
	for i, r := range revoked {
		if r != nil && !r.Equal(*gs[0].Revoked) {
			t.Errorf("revocation %d answered %s, the grant says %s", i, r, gs[0].Revoked)
		}
	}
}
