package portaltest

import (
	"context"
	"slices"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// ConsentFixture is a fresh implementation of portal.Consents under test,
// with the portal.Documents of the same data, to check a grant's effect.
// RunConsentTests makes one per test.
//
// Fresh means that Patient and OtherPatient have granted no access yet.
type ConsentFixture struct {
	// AsPatient returns the service acting as the given patient (a backend:
	// AsPatientConsents; the HTTP client: a client signed in as them).
	AsPatient func(t *testing.T, patient string) portal.Consents
	// AsPractitioner returns the service acting as the given practitioner.
	AsPractitioner func(t *testing.T, practitioner string) portal.Consents
	// Anonymous is the service with no signed-in subject.
	Anonymous portal.Consents
	// Documents returns the documents service of the same data acting as
	// the given practitioner.
	Documents func(t *testing.T, practitioner string) portal.Documents
	// Establishment is where grants are given.
	Establishment string
	// Patient and OtherPatient are two distinct patients.
	Patient, OtherPatient string
	// Practitioner is a practitioner of none of the services of Patient's
	// documents.
	Practitioner string
	// Released is a document of Patient that Patient sees; Held, a held
	// document of Patient.
	Released, Held string
}

// RunConsentTests runs the conformance suite of portal.Consents, each test
// on a fixture of its own from newFixture. Errors are compared by code
// (portal.Code) and times with time.Time.Equal, so that an implementation
// reached over JSON passes as a backend does.
func RunConsentTests(t *testing.T, newFixture func(t *testing.T) ConsentFixture) {
	t.Run("GrantListRevoke", func(t *testing.T) { testGrantListRevoke(t, newFixture(t)) })
	t.Run("UnknownPractitioner", func(t *testing.T) { testGrantUnknown(t, newFixture(t)) })
	t.Run("OtherPatientsGrant", func(t *testing.T) { testOtherPatientsGrant(t, newFixture(t)) })
	t.Run("OnlyPatients", func(t *testing.T) { testConsentsOnlyPatients(t, newFixture(t)) })
	t.Run("EffectOnDocuments", func(t *testing.T) { testGrantEffect(t, newFixture(t)) })
}

func wantGrantCode(t *testing.T, what string, err error, code portal.ErrorCode) {
	t.Helper()
	if portal.Code(err) != code {
		t.Errorf("%s: error %v, want %s", what, err, code)
	}
}

func grantAccess(t *testing.T, c portal.Consents, est, practitioner string) portal.Grant {
	t.Helper()
	g, err := c.GrantAccess(context.Background(), est, practitioner)
	if err != nil {
		t.Fatalf("GrantAccess(%s, %s): %v", est, practitioner, err)
	}
	return g
}

func testGrantListRevoke(t *testing.T, fx ConsentFixture) {
	ctx := context.Background()
	c := fx.AsPatient(t, fx.Patient)
	if gs, err := c.Grants(ctx); err != nil || len(gs) != 0 {
		t.Fatalf("Grants before any = %+v, %v; want none", gs, err)
	}
	g := grantAccess(t, c, fx.Establishment, fx.Practitioner)
	if g.ID == "" || g.Patient != fx.Patient || g.Practitioner != fx.Practitioner || g.PractitionerName == "" ||
		g.Establishment != fx.Establishment || g.Granted.IsZero() || g.Revoked != nil || !g.Active() {
		t.Errorf("GrantAccess = %+v", g)
	}
	// Idempotent while active.
	if again := grantAccess(t, c, fx.Establishment, fx.Practitioner); again.ID != g.ID || !again.Granted.Equal(g.Granted) {
		t.Errorf("GrantAccess again = %+v, want the active grant %s", again, g.ID)
	}
	gs, err := c.Grants(ctx)
	if err != nil || len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("Grants = %+v, %v; want %s", gs, err, g.ID)
	}
	r, err := c.RevokeAccess(ctx, g.ID)
	if err != nil || r.ID != g.ID || r.Revoked == nil || r.Active() {
		t.Fatalf("RevokeAccess = %+v, %v; want it revoked", r, err)
	}
	r2, err := c.RevokeAccess(ctx, g.ID)
	if err != nil || r2.Revoked == nil || !r2.Revoked.Equal(*r.Revoked) {
		t.Errorf("RevokeAccess again = %+v, %v; want the grant revoked at %s", r2, err, r.Revoked)
	}
	// A new grant after revocation is a new one; the revoked one stays.
	n := grantAccess(t, c, fx.Establishment, fx.Practitioner)
	if n.ID == g.ID || !n.Active() {
		t.Errorf("GrantAccess after revocation = %+v, want a new active grant", n)
	}
	if gs, err := c.Grants(ctx); err != nil || len(gs) != 2 {
		t.Errorf("Grants = %+v, %v; want the revoked grant and the new one", gs, err)
	}
}

func testGrantUnknown(t *testing.T, fx ConsentFixture) {
	ctx := context.Background()
	c := fx.AsPatient(t, fx.Patient)
	_, err := c.GrantAccess(ctx, fx.Establishment, "pr-nobody-at-all")
	wantGrantCode(t, "GrantAccess(unknown practitioner)", err, portal.ErrNotFound)
	_, err = c.GrantAccess(ctx, "no-such-establishment", fx.Practitioner)
	wantGrantCode(t, "GrantAccess(unknown establishment)", err, portal.ErrNotFound)
	_, err = c.RevokeAccess(ctx, "grt_unknown")
	wantGrantCode(t, "RevokeAccess(unknown)", err, portal.ErrNotFound)
	if gs, err := c.Grants(ctx); err != nil || len(gs) != 0 {
		t.Errorf("Grants = %+v, %v; want none", gs, err)
	}
}

func testOtherPatientsGrant(t *testing.T, fx ConsentFixture) {
	ctx := context.Background()
	owner := fx.AsPatient(t, fx.Patient)
	g := grantAccess(t, owner, fx.Establishment, fx.Practitioner)
	other := fx.AsPatient(t, fx.OtherPatient)
	_, err := other.RevokeAccess(ctx, g.ID)
	_, unknownErr := other.RevokeAccess(ctx, "grt_unknown")
	wantGrantCode(t, "RevokeAccess(another patient's grant)", err, portal.ErrNotFound)
	if portal.Code(err) != portal.Code(unknownErr) {
		t.Errorf("another patient's grant: %v; unknown id: %v; want the same answer", err, unknownErr)
	}
	if gs, err := other.Grants(ctx); err != nil || len(gs) != 0 {
		t.Errorf("other patient's Grants = %+v, %v; want none", gs, err)
	}
	gs, err := owner.Grants(ctx)
	if err != nil || len(gs) != 1 || !gs[0].Active() {
		t.Errorf("owner's Grants = %+v, %v; want the grant unchanged, active", gs, err)
	}
}

func testConsentsOnlyPatients(t *testing.T, fx ConsentFixture) {
	ctx := context.Background()
	g := grantAccess(t, fx.AsPatient(t, fx.Patient), fx.Establishment, fx.Practitioner)
	for _, tc := range []struct {
		name string
		c    portal.Consents
		code portal.ErrorCode
	}{
		{"Practitioner", fx.AsPractitioner(t, fx.Practitioner), portal.ErrForbidden},
		{"Anonymous", fx.Anonymous, portal.ErrUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Grants(ctx)
			wantGrantCode(t, "Grants", err, tc.code)
			_, err = tc.c.GrantAccess(ctx, fx.Establishment, fx.Practitioner)
			wantGrantCode(t, "GrantAccess", err, tc.code)
			_, err = tc.c.RevokeAccess(ctx, g.ID)
			wantGrantCode(t, "RevokeAccess", err, tc.code)
		})
	}
	if gs, err := fx.AsPatient(t, fx.Patient).Grants(ctx); err != nil || len(gs) != 1 || !gs[0].Active() {
		t.Errorf("Grants = %+v, %v; want the grant unchanged", gs, err)
	}
}

func testGrantEffect(t *testing.T, fx ConsentFixture) {
	ctx := context.Background()
	docs := fx.Documents(t, fx.Practitioner)
	list := func() []string {
		t.Helper()
		l, err := docs.Documents(ctx, fx.Establishment, portal.DocumentFilter{Patient: fx.Patient})
		if err != nil {
			t.Fatalf("Documents(patient): %v", err)
		}
		return ids(l)
	}
	contains := slices.Contains[[]string]
	sees := func(what string, want bool) {
		t.Helper()
		_, err := docs.Document(ctx, fx.Released)
		if want && err != nil || !want && portal.Code(err) != portal.ErrNotFound {
			t.Errorf("%s: Document(released) error %v, want seen %t", what, err, want)
		}
		if got := contains(list(), fx.Released); got != want {
			t.Errorf("%s: list has the released document: %t, want %t", what, got, want)
		}
	}
	sees("before any grant", false)
	others := func() []string {
		t.Helper()
		l, err := docs.Documents(ctx, fx.Establishment, portal.DocumentFilter{Patient: fx.OtherPatient})
		if err != nil {
			t.Fatalf("Documents(other patient): %v", err)
		}
		return ids(l)
	}
	othersBefore := others()

	c := fx.AsPatient(t, fx.Patient)
	g := grantAccess(t, c, fx.Establishment, fx.Practitioner)
	sees("granted", true)
	if _, _, err := docs.DocumentContent(ctx, fx.Released); err != nil {
		t.Errorf("granted: DocumentContent(released): %v", err)
	}
	// Held documents stay absent, and releasing stays with the service.
	_, err := docs.Document(ctx, fx.Held)
	wantGrantCode(t, "granted: Document(held)", err, portal.ErrNotFound)
	if contains(list(), fx.Held) {
		t.Errorf("granted: list has the held document")
	}
	_, err = docs.ReleaseDocument(ctx, fx.Held)
	wantGrantCode(t, "granted: ReleaseDocument(held)", err, portal.ErrNotFound)
	if l, err := docs.Documents(ctx, fx.Establishment, portal.DocumentFilter{Patient: fx.Patient, Held: true}); err != nil || len(l) != 0 {
		t.Errorf("granted: release view = %v, %v; want empty", ids(l), err)
	}
	// Another patient's documents are not granted.
	if got := others(); !slices.Equal(got, othersBefore) {
		t.Errorf("granted: other patient's documents = %v, want %v as before", got, othersBefore)
	}

	if _, err := c.RevokeAccess(ctx, g.ID); err != nil {
		t.Fatalf("RevokeAccess: %v", err)
	}
	sees("revoked", false)
}

// AsPatientConsents returns c acting as patient: every call carries
// portal.Subject{Patient: patient} in its context, as the edge host puts the
// signed-in patient there. Backends use it for ConsentFixture.AsPatient.
func AsPatientConsents(c portal.Consents, patient string) portal.Consents {
	return asSubjectConsents{c: c, subject: portal.Subject{Patient: patient}}
}

// AsPractitionerConsents returns c acting as practitioner, as
// AsPatientConsents does for a patient.
func AsPractitionerConsents(c portal.Consents, practitioner string) portal.Consents {
	return asSubjectConsents{c: c, subject: portal.Subject{Practitioner: practitioner}}
}

type asSubjectConsents struct {
	c       portal.Consents
	subject portal.Subject
}

var _ portal.Consents = asSubjectConsents{}

func (a asSubjectConsents) ctx(ctx context.Context) context.Context {
	return portal.WithSubject(ctx, a.subject)
}

func (a asSubjectConsents) Grants(ctx context.Context) ([]portal.Grant, error) {
	return a.c.Grants(a.ctx(ctx))
}

func (a asSubjectConsents) GrantAccess(ctx context.Context, est, practitioner string) (portal.Grant, error) {
	return a.c.GrantAccess(a.ctx(ctx), est, practitioner)
}

func (a asSubjectConsents) RevokeAccess(ctx context.Context, id string) (portal.Grant, error) {
	return a.c.RevokeAccess(a.ctx(ctx), id)
}
