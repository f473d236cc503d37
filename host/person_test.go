package host_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
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

// TestFormPostForAReplacedSession: the same, before the Wasm runs. Camille's
// booking form, drawn for her, is posted after Lucas signed in in another
// tab: nothing is booked for Lucas and the page says why.
func TestFormPostForAReplacedSession(t *testing.T) {
	th := newTestHost(t)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	c := &formClient{t: t, base: th.URL, hc: hc}
	p := c.get("/w/booking?establishment=chu-exemple&service=maternite&lang=fr")
	slot := strings.TrimPrefix(p.buttons("choose-slot:")[0], "choose-slot:")
	p = c.post(p, "choose-slot:"+slot)
	p = c.post(p, "sign-in", "demo", sqlite.DemoPatientCamilleDurand)
	p.want("Connecté(e) : Camille DURAND", `value="confirm"`)

	other := client.New(th.URL, client.WithHTTPClient(hc)) // another tab
	if _, err := other.DemoSignIn(context.Background(), sqlite.DemoPatientLucasBernard); err != nil {
		t.Fatal(err)
	}
	p = c.post(p, "confirm")
	p.want("Une autre personne s'est connectée sur cet appareil")
	for _, who := range []string{sqlite.DemoPatientLucasBernard, sqlite.DemoPatientCamilleDurand} {
		list, err := portaltest.AsPatient(th.Store, who).Appointments(t.Context())
		if err != nil || len(list) != 0 {
			t.Fatalf("%s's appointments %+v, %v; want none", who, list, err)
		}
	}
}

// TestQuestionnaireFormPostForAReplacedSession: Inès's answers, posted from a
// page drawn for her after Lucas signed in in another tab, are not saved as
// Lucas's draft.
func TestQuestionnaireFormPostForAReplacedSession(t *testing.T) {
	th := newTestHostWith(t, func(c *host.Config) { c.Questionnaires = c.Booking.(*sqlite.Store) })
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	c := &formClient{t: t, base: th.URL, hc: hc}
	p := c.get("/w/questionnaire?establishment=chu-exemple&questionnaire=maternite-inscription&lang=fr")
	p = c.post(p, "sign-in", "demo", sqlite.DemoPatientInesMoreau)
	p = c.post(p, "begin")
	p.want(`name="mat-age"`)

	other := client.New(th.URL, client.WithHTTPClient(hc)) // another tab
	if _, err := other.DemoSignIn(context.Background(), sqlite.DemoPatientLucasBernard); err != nil {
		t.Fatal(err)
	}
	p = c.postFields(p, "next", url.Values{"mat-age": {"32"}, "mat-multiple": {"1"}, "mat-imc": {"1"}})
	p.want("Une autre personne s'est connectée sur cet appareil")
	lucas := portal.WithSubject(t.Context(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
	if d, err := th.Store.Draft(lucas, sqlite.DemoEstablishment, sqlite.DemoQuestionnaireMaternite); err == nil {
		t.Fatalf("Inès's answers saved as Lucas's draft: %s", d.Response)
	}
}
