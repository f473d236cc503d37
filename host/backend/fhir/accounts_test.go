package fhir_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// accountFixture writes, under fresh ids, two Patients and a Practitioner,
// each linked to an account of a provider of its own, and a Patient with
// an account of another provider, and returns the backend and the links.
func accountFixture(t *testing.T) (*fhir.Backend, []portaltest.LinkedAccount) {
	t.Helper()
	b := newBackend(t, serverURL(t), time.Now)
	sfx := randomSuffix()
	provider := "conformance-" + sfx
	system := fhir.SystemAccountPrefix + provider
	links := []portaltest.LinkedAccount{
		{Provider: provider, Subject: "fc-" + sfx + "-a", Person: portal.Subject{Patient: "pat-acc-1-" + sfx}},
		{Provider: provider, Subject: "psc-" + sfx + "-b", Person: portal.Subject{Practitioner: "pr-acc-1-" + sfx}},
		// A subject with characters a token search escapes (not '|',
		// which Medplum splits on whatever the escape).
		{Provider: provider, Subject: "fc-" + sfx + ",$\\c", Person: portal.Subject{Patient: "pat-acc-2-" + sfx}},
	}
	var bb bundleBuilder
	for _, l := range links {
		typ, id := "Patient", l.Person.Patient
		if id == "" {
			typ, id = "Practitioner", l.Person.Practitioner
		}
		bb.put(map[string]any{"resourceType": typ, "id": id,
			"identifier": []any{map[string]any{"system": system, "value": l.Subject}},
			"name":       []any{map[string]any{"family": "Compte-" + sfx}}})
	}
	// The practitioner's subject at another provider: someone else.
	bb.put(map[string]any{"resourceType": "Patient", "id": "pat-acc-3-" + sfx,
		"identifier": []any{map[string]any{"system": fhir.SystemAccountPrefix + "elsewhere-" + sfx, "value": links[1].Subject}}})
	for _, body := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), body); err != nil {
			t.Fatal(err)
		}
	}
	return b, links
}

func TestAccountsConformance(t *testing.T) {
	portaltest.RunAccountsTests(t, func(t *testing.T) portaltest.AccountsFixture {
		b, links := accountFixture(t)
		return portaltest.AccountsFixture{Accounts: b, Linked: links}
	})
}

// TestAccountOnTwoRecords: an account on two records is refused, whichever
// kinds they are.
func TestAccountOnTwoRecords(t *testing.T) {
	b, links := accountFixture(t)
	system := fhir.SystemAccountPrefix + links[0].Provider
	var bb bundleBuilder
	bb.put(map[string]any{"resourceType": "Practitioner", "id": "pr-dup-" + randomSuffix(),
		"identifier": []any{map[string]any{"system": system, "value": links[0].Subject}}})
	for _, body := range bb.transactions(t) {
		if _, err := b.LoadBundle(t.Context(), body); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := b.Account(t.Context(), links[0].Provider, links[0].Subject); !portal.IsCode(err, portal.ErrInternal) {
		t.Errorf("Account of a subject on a Patient and a Practitioner = %+v, %v; want %s", got, err, portal.ErrInternal)
	}
}

// TestSeedDemoAccounts: the FHIR demo's patients carry the demo accounts
// of the same people in the SQLite demo, and so does the city doctor, in
// both demos; the hospital practitioners' accounts are not here.
func TestSeedDemoAccounts(t *testing.T) {
	b, err := fhir.New(fhir.Config{BaseURL: fhirtest.Start(t), Transport: testTransport})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.SeedDemo(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, a := range demoid.Accounts {
		got, err := b.Account(ctx, demoid.Provider, a.Subject)
		switch {
		case a.Kind == demoid.Patient:
			if err != nil || got != (portal.Subject{Patient: a.Person}) {
				t.Errorf("Account(%s, %s) = %+v, %v; want patient %s", demoid.Provider, a.Subject, got, err, a.Person)
			}
		case a.Person == fhir.DemoCityDoctor:
			if err != nil || got != (portal.Subject{Practitioner: a.Person}) {
				t.Errorf("Account(%s, %s) = %+v, %v; want practitioner %s", demoid.Provider, a.Subject, got, err, a.Person)
			}
		default:
			if !portal.IsCode(err, portal.ErrNotFound) {
				t.Errorf("Account(%s, %s) = %+v, %v; want %s", demoid.Provider, a.Subject, got, err, portal.ErrNotFound)
			}
		}
	}
}
