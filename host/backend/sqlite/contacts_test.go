package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

func TestContactsRecipient(t *testing.T) {
	ctx := context.Background()
	s := openSeeded(t, ":memory:", portaltest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)))
	c := s.Contacts()
	recipient := func(n portal.Notification) string {
		t.Helper()
		email, ok, err := c.Recipient(ctx, n)
		if err != nil || ok != (email != "") {
			t.Fatalf("Recipient(%+v) = %q, %v, %v", n, email, ok, err)
		}
		return email
	}
	// The thread decides, not the notification's copy of its fields.
	patient := portal.Notification{Thread: sqlite.DemoThreadMaternite, Recipient: portal.AuthorPatient, Patient: "someone-else"}
	team := portal.Notification{Thread: sqlite.DemoThreadMaternite, Recipient: portal.AuthorPractitioner, Service: sqlite.ServiceDiabetologie}
	if got := recipient(patient); got != "camille.durand@example.test" {
		t.Errorf("patient's address = %q", got)
	}
	if got := recipient(team); got != "maternite@chu-exemple.example.org" {
		t.Errorf("team's address = %q", got)
	}
	if got := recipient(portal.Notification{Thread: "thr-unknown", Recipient: portal.AuthorPatient}); got != "" {
		t.Errorf("unknown thread's address = %q, want none", got)
	}
	if _, _, err := c.Recipient(ctx, portal.Notification{Thread: sqlite.DemoThreadMaternite, Recipient: "nurse"}); portal.Code(err) != portal.ErrInvalid {
		t.Errorf("unknown side: %v, want ErrInvalid", err)
	}

	if err := c.SetPatient(ctx, sqlite.DemoPatientCamilleDurand, "c.durand@example.test"); err != nil {
		t.Fatal(err)
	}
	if got := recipient(patient); got != "c.durand@example.test" {
		t.Errorf("changed address = %q", got)
	}
	if err := c.SetPatient(ctx, sqlite.DemoPatientCamilleDurand, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.SetService(ctx, sqlite.DemoEstablishment, sqlite.ServiceMaternite, ""); err != nil {
		t.Fatal(err)
	}
	if got, got2 := recipient(patient), recipient(team); got != "" || got2 != "" {
		t.Errorf("removed addresses = %q, %q", got, got2)
	}
	// Seeding again keeps what was changed.
	if err := s.Seed(ctx, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPatient(ctx, sqlite.DemoPatientCamilleDurand, "c.durand@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(ctx, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if got := recipient(patient); got != "c.durand@example.test" {
		t.Errorf("after a second seed, address = %q", got)
	}
}

func TestContactsRefuseBadInput(t *testing.T) {
	ctx := context.Background()
	c := openSeeded(t, ":memory:", portaltest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))).Contacts()
	for _, email := range []string{"not an address", "Camille <c@example.test>", "c@example.test\r\nBcc: x@example.test",
		"c@example.test, d@example.test", "@example.test", string(make([]byte, 300)) + "@example.test"} {
		if err := c.SetPatient(ctx, sqlite.DemoPatientCamilleDurand, email); portal.Code(err) != portal.ErrInvalid {
			t.Errorf("SetPatient(%q) = %v, want ErrInvalid", email, err)
		}
		if err := c.SetService(ctx, sqlite.DemoEstablishment, sqlite.ServiceMaternite, email); portal.Code(err) != portal.ErrInvalid {
			t.Errorf("SetService(%q) = %v, want ErrInvalid", email, err)
		}
	}
	if err := c.SetPatient(ctx, "", "c@example.test"); portal.Code(err) != portal.ErrInvalid {
		t.Errorf("SetPatient without patient = %v, want ErrInvalid", err)
	}
	if err := c.SetService(ctx, sqlite.DemoEstablishment, "psychiatrie", "psy@example.org"); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("SetService of an unknown service = %v, want ErrNotFound", err)
	}
}
