package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// demoLinks are the demo accounts as portaltest expects them.
func demoLinks() []portaltest.LinkedAccount {
	var out []portaltest.LinkedAccount
	for _, a := range demoid.Accounts {
		who := portal.Subject{Patient: a.Person}
		if a.Kind == demoid.Practitioner {
			who = portal.Subject{Practitioner: a.Person}
		}
		out = append(out, portaltest.LinkedAccount{Provider: demoid.Provider, Subject: a.Subject, Person: who})
	}
	return out
}

// TestAccountsConformance runs the suite on the seeded demo: every demo
// account resolves to its person.
func TestAccountsConformance(t *testing.T) {
	portaltest.RunAccountsTests(t, func(t *testing.T) portaltest.AccountsFixture {
		s, _ := seededCopy(t, portaltest.NewClock(seedTime))
		return portaltest.AccountsFixture{Accounts: s, Linked: demoLinks()}
	})
}

func TestLinkAccount(t *testing.T) {
	ctx := context.Background()
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	camille := portal.Subject{Patient: sqlite.DemoPatientCamilleDurand}
	lucas := portal.Subject{Patient: sqlite.DemoPatientLucasBernard}
	claire := portal.Subject{Practitioner: sqlite.DemoPractitionerClaireMartin}

	if err := s.LinkAccount(ctx, "franceconnect", "fc-sub-1", camille); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkAccount(ctx, "franceconnect", "fc-sub-1", camille); err != nil {
		t.Errorf("linking again to the same person: %v", err)
	}
	if err := s.LinkAccount(ctx, "prosanteconnect", "psc-sub-1", claire); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		provider, subject string
		want              portal.Subject
	}{{"franceconnect", "fc-sub-1", camille}, {"prosanteconnect", "psc-sub-1", claire}} {
		if got, err := s.Account(ctx, tc.provider, tc.subject); err != nil || got != tc.want {
			t.Errorf("Account(%s, %s) = %+v, %v; want %+v", tc.provider, tc.subject, got, err, tc.want)
		}
	}

	refused := []struct {
		name              string
		provider, subject string
		who               portal.Subject
		code              portal.ErrorCode
	}{
		{"LinkedToSomeoneElse", "franceconnect", "fc-sub-1", lucas, portal.ErrInvalid},
		{"NoProvider", "", "fc-sub-2", lucas, portal.ErrInvalid},
		{"NoSubject", "franceconnect", "", lucas, portal.ErrInvalid},
		{"NoOne", "franceconnect", "fc-sub-2", portal.Subject{}, portal.ErrInvalid},
		{"BothKinds", "franceconnect", "fc-sub-2",
			portal.Subject{Patient: sqlite.DemoPatientLucasBernard, Practitioner: sqlite.DemoPractitionerClaireMartin}, portal.ErrInvalid},
		{"UnknownPatient", "franceconnect", "fc-sub-2", portal.Subject{Patient: "pat-nobody"}, portal.ErrNotFound},
		{"UnknownPractitioner", "prosanteconnect", "psc-sub-2", portal.Subject{Practitioner: "pr-nobody"}, portal.ErrNotFound},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.LinkAccount(ctx, tc.provider, tc.subject, tc.who); !portal.IsCode(err, tc.code) {
				t.Errorf("LinkAccount = %v, want %s", err, tc.code)
			}
		})
	}
	if got, err := s.Account(ctx, "franceconnect", "fc-sub-1"); err != nil || got != camille {
		t.Errorf("after the refusals, Account = %+v, %v; want %+v", got, err, camille)
	}

	// Unlinked, the account finds no one and may be linked to another.
	if err := s.UnlinkAccount(ctx, "franceconnect", "fc-sub-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account(ctx, "franceconnect", "fc-sub-1"); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("Account after UnlinkAccount: %v, want %s", err, portal.ErrNotFound)
	}
	if err := s.UnlinkAccount(ctx, "franceconnect", "fc-sub-1"); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("UnlinkAccount again: %v, want %s", err, portal.ErrNotFound)
	}
	if err := s.LinkAccount(ctx, "franceconnect", "fc-sub-1", lucas); err != nil {
		t.Errorf("relinking after UnlinkAccount: %v", err)
	}
}

// TestDemoAccounts: the seed links every demo account and gives each demo
// patient its INS, qualified, of system NIR; seeding again changes nothing.
func TestDemoAccounts(t *testing.T) {
	ctx := context.Background()
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	for range 2 {
		for _, a := range demoid.Accounts {
			got, err := s.Account(ctx, demoid.Provider, a.Subject)
			if err != nil || (got.Patient+got.Practitioner) != a.Person {
				t.Errorf("Account(%s, %s) = %+v, %v; want %s", demoid.Provider, a.Subject, got, err, a.Person)
			}
			ins, err := s.PatientINS(ctx, a.Person)
			if a.Kind == demoid.Practitioner {
				continue
			}
			want := portal.INS{Value: a.INS, System: portal.INSSystemNIRTest, Status: portal.INSQualified}
			if err != nil || ins != want {
				t.Errorf("PatientINS(%s) = %#v, %v; want %#v", a.Person, ins, err, want)
			}
		}
		if err := s.Seed(ctx, seedTime); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, path)
	var patients int
	for _, a := range demoid.Accounts {
		if a.Kind == demoid.Patient {
			patients++
		}
	}
	if n := count(t, db, `SELECT COUNT(*) FROM accounts`); n != len(demoid.Accounts) {
		t.Errorf("%d accounts after seeding twice, want %d", n, len(demoid.Accounts))
	}
	if n := count(t, db, `SELECT COUNT(*) FROM patient_ins`); n != patients {
		t.Errorf("%d INS after seeding twice, want %d", n, patients)
	}
}

func TestPatientINS(t *testing.T) {
	ctx := context.Background()
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	const lucas = sqlite.DemoPatientLucasBernard
	nia := portal.INS{Value: "178058604501785", System: portal.INSSystemNIA, Status: portal.INSProvisional}
	// Lucas's seeded INS is that value under NIR; under NIA it is another
	// identifier, but one patient has one INS: it replaces his.
	if err := s.SetPatientINS(ctx, lucas, nia); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PatientINS(ctx, lucas); err != nil || got != nia {
		t.Errorf("PatientINS = %#v, %v; want %#v", got, err, nia)
	}
	corsica := portal.INS{Value: "185032A12345601", System: portal.INSSystemNIR, Status: portal.INSValidated}
	if !portal.ValidINS(corsica.Value) { // born in Corse-du-Sud (2A, counted as 19 for the key)
		t.Fatalf("test INS %s not valid", corsica.Value)
	}
	if err := s.SetPatientINS(ctx, lucas, corsica); err != nil {
		t.Errorf("a Corsican INS: %v", err)
	}

	camilleINS := portal.INS{Value: demoid.Accounts[0].INS, System: portal.INSSystemNIRTest, Status: portal.INSQualified}
	for _, tc := range []struct {
		name    string
		patient string
		ins     portal.INS
		code    portal.ErrorCode
	}{
		{"BadKey", lucas, portal.INS{Value: "178058604501786", System: portal.INSSystemNIR, Status: portal.INSQualified}, portal.ErrInvalid},
		{"TooShort", lucas, portal.INS{Value: "17805860450178", System: portal.INSSystemNIR, Status: portal.INSQualified}, portal.ErrInvalid},
		{"Empty", lucas, portal.INS{System: portal.INSSystemNIR, Status: portal.INSQualified}, portal.ErrInvalid},
		{"UnknownSystem", lucas, portal.INS{Value: "178058604501785", System: "urn:oid:1.2.3", Status: portal.INSQualified}, portal.ErrInvalid},
		{"UnknownStatus", lucas, portal.INS{Value: "178058604501785", System: portal.INSSystemNIR, Status: "qualified"}, portal.ErrInvalid},
		{"NoStatus", lucas, portal.INS{Value: "178058604501785", System: portal.INSSystemNIR}, portal.ErrInvalid},
		{"AnotherPatientsINS", lucas, camilleINS, portal.ErrInvalid},
		{"UnknownPatient", "pat-nobody", portal.INS{Value: "178058604501785", System: portal.INSSystemNIR, Status: portal.INSQualified}, portal.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.SetPatientINS(ctx, tc.patient, tc.ins)
			if !portal.IsCode(err, tc.code) {
				t.Errorf("SetPatientINS = %v, want %s", err, tc.code)
			}
			if err != nil && tc.ins.Value != "" && bytes.Contains([]byte(err.Error()), []byte(tc.ins.Value)) {
				t.Errorf("the error %q shows the INS", err)
			}
		})
	}
	if got, err := s.PatientINS(ctx, lucas); err != nil || got != corsica {
		t.Errorf("after the refusals, PatientINS = %#v, %v; want %#v", got, err, corsica)
	}
	if _, err := s.PatientINS(ctx, "pat-nobody"); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("PatientINS(unknown) = %v, want %s", err, portal.ErrNotFound)
	}
}

// fifteenDigits matches a whole INS.
var fifteenDigits = regexp.MustCompile(`[0-9AB]{15}`)

// TestINSMasked: an INS read from the store never shows whole when printed
// or logged.
func TestINSMasked(t *testing.T) {
	ctx := context.Background()
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	ins, err := s.PatientINS(ctx, sqlite.DemoPatientCamilleDurand)
	if err != nil {
		t.Fatal(err)
	}
	if ins.Value != demoid.Accounts[0].INS {
		t.Fatalf("PatientINS = %s, want the demo's", ins.Masked())
	}
	printed := []string{
		fmt.Sprint(ins), fmt.Sprintf("%v %+v %#v %s %q %x %d", ins, ins, ins, ins, ins, ins, ins),
		fmt.Sprint(struct{ INS portal.INS }{ins}), fmt.Sprintf("%+v", &ins),
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("ins", "ins", ins, "ptr", &ins)
	log.Info("ins", slog.Any("ins", ins))
	printed = append(printed, buf.String())
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("ins", "ins", ins)
	printed = append(printed, text.String())
	for _, p := range printed {
		if fifteenDigits.MatchString(p) {
			t.Errorf("a whole INS shows in %q", p)
		}
	}
	if !bytes.Contains(buf.Bytes(), []byte(ins.Masked())) {
		t.Errorf("the JSON log %q does not show the masked INS %q", buf.String(), ins.Masked())
	}
}
