package portaltest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// AccountsFixture is an implementation of portal.Accounts under test, with
// the links it holds.
type AccountsFixture struct {
	// Accounts is the implementation.
	Accounts portal.Accounts
	// Linked are accounts it links, with the person each is linked to:
	// at least one patient and one practitioner, all at one provider.
	Linked []LinkedAccount
}

// LinkedAccount is an identity provider's account and the person it is
// linked to.
type LinkedAccount struct {
	Provider, Subject string
	// Person has exactly one of Patient and Practitioner set.
	Person portal.Subject
}

// RunAccountsTests runs the conformance suite of portal.Accounts, each test
// on a fixture of its own from newFixture. Beyond the comments of
// portal.Accounts, the suite requires that subjects be matched exactly (an
// OIDC "sub" is case-sensitive) and per provider: the same subject at
// another provider is someone else.
func RunAccountsTests(t *testing.T, newFixture func(t *testing.T) AccountsFixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, fx AccountsFixture)
	}{
		{"LinkedAccounts", testAccountsLinked},
		{"UnknownSubject", testAccountsUnknown},
		{"OtherProvider", testAccountsOtherProvider},
		{"ExactSubject", testAccountsExact},
		{"Concurrent", testAccountsConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			checkAccountsFixture(t, fx)
			tc.run(t, fx)
		})
	}
}

func checkAccountsFixture(t *testing.T, fx AccountsFixture) {
	t.Helper()
	if fx.Accounts == nil {
		t.Fatal("fixture: Accounts is required")
	}
	var patients, practitioners int
	for _, a := range fx.Linked {
		switch {
		case a.Provider == "" || a.Subject == "" || a.Provider != fx.Linked[0].Provider:
			t.Fatalf("fixture: account %+v: want a subject at the one provider %q", a, fx.Linked[0].Provider)
		case a.Person.Patient != "" && a.Person.Practitioner == "":
			patients++
		case a.Person.Practitioner != "" && a.Person.Patient == "":
			practitioners++
		default:
			t.Fatalf("fixture: account %+v: want exactly one of Patient and Practitioner", a)
		}
	}
	if patients == 0 || practitioners == 0 {
		t.Fatalf("fixture: %d linked patients and %d linked practitioners, want at least one of each", patients, practitioners)
	}
}

func testAccountsLinked(t *testing.T, fx AccountsFixture) {
	for _, a := range fx.Linked {
		got, err := fx.Accounts.Account(context.Background(), a.Provider, a.Subject)
		if err != nil || got != a.Person {
			t.Errorf("Account(%q, %q) = %+v, %v; want %+v", a.Provider, a.Subject, got, err, a.Person)
		}
	}
}

func wantNoAccount(t *testing.T, fx AccountsFixture, provider, subject string) {
	t.Helper()
	got, err := fx.Accounts.Account(context.Background(), provider, subject)
	if !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("Account(%q, %q) = %+v, %v; want %s", provider, subject, got, err, portal.ErrNotFound)
	}
}

func testAccountsUnknown(t *testing.T, fx AccountsFixture) {
	provider := fx.Linked[0].Provider
	wantNoAccount(t, fx, provider, "conformance-unknown-"+strings.ToLower(newKey()))
	wantNoAccount(t, fx, provider, "")
}

func testAccountsOtherProvider(t *testing.T, fx AccountsFixture) {
	for _, a := range fx.Linked[:2] {
		wantNoAccount(t, fx, a.Provider+"-other", a.Subject)
		wantNoAccount(t, fx, "", a.Subject)
	}
}

func testAccountsExact(t *testing.T, fx AccountsFixture) {
	for _, a := range fx.Linked {
		if up := strings.ToUpper(a.Subject); up != a.Subject {
			wantNoAccount(t, fx, a.Provider, up)
		}
		wantNoAccount(t, fx, a.Provider, a.Subject+"0")
		wantNoAccount(t, fx, a.Provider, a.Subject[:len(a.Subject)-1])
		wantNoAccount(t, fx, a.Provider, " "+a.Subject)
	}
}

func testAccountsConcurrent(t *testing.T, fx AccountsFixture) {
	var wg sync.WaitGroup
	for range 4 {
		for _, a := range fx.Linked {
			wg.Go(func() {
				got, err := fx.Accounts.Account(context.Background(), a.Provider, a.Subject)
				if err != nil || got != a.Person {
					t.Errorf("concurrent Account(%q, %q) = %+v, %v; want %+v", a.Provider, a.Subject, got, err, a.Person)
				}
			})
		}
	}
	wg.Wait()
}
