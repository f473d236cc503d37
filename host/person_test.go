package host_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestWriteForAReplacedSession: two tabs of one browser share the host's
// session. Camille's widget is open in one; Lucas signs in in the other.
// Camille's widget, which still shows her, must not book for Lucas: the
// host refuses the write (session_changed) and nothing is booked; once the
// widget has read the session again, it acts as Lucas, knowingly.
func TestWriteForAReplacedSession(t *testing.T) {
	th := newTestHost(t)
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	camilleTab := client.New(th.URL, client.WithHTTPClient(hc))
	lucasTab := client.New(th.URL, client.WithHTTPClient(hc))
	if _, err := camilleTab.DemoSignIn(ctx, sqlite.DemoPatientCamilleDurand); err != nil {
		t.Fatal(err)
	}
	q := portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, From: seedTime, To: seedTime.AddDate(0, 0, 7)}
	slots, err := camilleTab.FreeSlots(ctx, q)
	if err != nil || len(slots) < 2 {
		t.Fatalf("slots: %d, %v", len(slots), err)
	}
	if _, err := lucasTab.DemoSignIn(ctx, sqlite.DemoPatientLucasBernard); err != nil {
		t.Fatal(err)
	}
	book := func(c *client.Client, slot portal.Slot, key string) (portal.Appointment, error) {
		return c.Book(ctx, portal.BookRequest{Establishment: sqlite.DemoEstablishment, Slot: slot.ID, Service: sqlite.ServiceMaternite, IdempotencyKey: key})
	}
	if apt, err := book(camilleTab, slots[0], "person-key-0001"); !portal.IsCode(err, portal.ErrSessionChanged) {
		t.Fatalf("Camille's tab booked %+v, %v; want session_changed", apt, err)
	}
	mine, err := lucasTab.Appointments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range mine {
		if a.Slot == slots[0].ID {
			t.Fatalf("Lucas got the appointment Camille's tab asked for: %+v", a)
		}
	}
	// The other tab acts for the session's person.
	if _, err := book(lucasTab, slots[1], "person-key-0002"); err != nil {
		t.Fatalf("Lucas's tab: %v", err)
	}
	// Camille's tab reads the session again: it now knows it is Lucas's.
	if p, err := camilleTab.CurrentPatient(ctx); err != nil || p == nil || p.ID != sqlite.DemoPatientLucasBernard {
		t.Fatalf("session %v, %v", p, err)
	}
	if _, err := book(camilleTab, slots[0], "person-key-0003"); err != nil {
		t.Fatalf("after reading the session: %v", err)
	}
}
