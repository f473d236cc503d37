package wazeroplugin_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	wazeroplugin "github.com/parcours-sante/parcours/host/plugin/wazero"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// bookingRuleReason is the French reason of examples/plugins/booking-rule.
const bookingRuleReason = "Vous avez déjà une inscription en maternité à venir. Une seule inscription est possible par grossesse : pour la modifier, contactez la maternité."

// newHost runs a real host on a seeded SQLite database with the plugins of
// set, over real HTTP.
func newHost(t *testing.T, set *wazeroplugin.Set) (string, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "host.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{
		Booking:        store,
		Directory:      store,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: []string{"https://www.chu-exemple.fr"}}},
		DemoSignIn:     true,
		Plugins:        set,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, store
}

func signIn(t *testing.T, base, lang string) *client.Client {
	t.Helper()
	c := client.New(base, client.WithLanguage(lang))
	if _, err := c.DemoSignIn(context.Background(), sqlite.DemoPatientCamilleDurand); err != nil {
		t.Fatal(err)
	}
	return c
}

// freeSlots returns n free slots of service.
func freeSlots(t *testing.T, c *client.Client, service string, n int) []portal.Slot {
	t.Helper()
	now := time.Now()
	slots, err := c.FreeSlots(context.Background(), portal.SlotQuery{Establishment: sqlite.DemoEstablishment, Service: service, From: now, To: now.AddDate(0, 0, 30)})
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) < n {
		t.Fatalf("%d free slots of %s, want %d", len(slots), service, n)
	}
	return slots[:n]
}

func book(c *client.Client, s portal.Slot, key string) (portal.Appointment, error) {
	return c.Book(context.Background(), portal.BookRequest{Establishment: sqlite.DemoEstablishment, Service: s.Service, Slot: s.ID, IdempotencyKey: key})
}

// TestBookingRuleInHost: the booking-rule example refuses a second maternity
// registration with its own reason, books nothing, and lets other services
// through.
func TestBookingRuleInHost(t *testing.T) {
	set, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "booking-rule"})
	base, _ := newHost(t, set)
	c := signIn(t, base, "fr")
	ctx := context.Background()

	mat := freeSlots(t, c, sqlite.ServiceMaternite, 2)
	first, err := book(c, mat[0], "key-maternite-1")
	if err != nil {
		t.Fatalf("first maternity booking: %v", err)
	}
	// A retry of the first booking is answered with it, not refused.
	if again, err := book(c, mat[0], "key-maternite-1"); err != nil || again.ID != first.ID {
		t.Fatalf("retry of the first booking = %v, %v", again.ID, err)
	}

	_, err = book(c, mat[1], "key-maternite-2")
	if !portal.IsCode(err, portal.ErrBookingRefused) {
		t.Fatalf("second maternity booking = %v, want booking_refused", err)
	}
	if got := portal.PatientMessage(err, "fr"); got != bookingRuleReason {
		t.Errorf("patient message = %q, want the plugin's reason %q", got, bookingRuleReason)
	}
	list, err := c.Appointments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != first.ID {
		t.Fatalf("appointments after the refusal = %+v, want only the first", list)
	}

	// In English, the English reason.
	en := signIn(t, base, "en")
	_, err = book(en, mat[1], "key-maternite-3")
	if got := portal.PatientMessage(err, "en"); !strings.HasPrefix(got, "You already have an upcoming maternity registration") {
		t.Errorf("English patient message = %q", got)
	}

	dia := freeSlots(t, c, sqlite.ServiceDiabetologie, 1)
	if _, err := book(c, dia[0], "key-diabeto-1"); err != nil {
		t.Fatalf("diabetology booking = %v, want it allowed", err)
	}

	// Once the first registration is cancelled, a new one is allowed.
	if _, err := c.Cancel(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := book(c, mat[1], "key-maternite-4"); err != nil {
		t.Fatalf("maternity booking after cancelling the first = %v", err)
	}
}

// TestFailingPluginInHost: a plugin whose every answer is invalid makes
// bookings fail with backend_unavailable and the generic message under
// on_error refuse, books nothing, and the host keeps serving; under on_error
// allow the booking goes through.
func TestFailingPluginInHost(t *testing.T) {
	ctx := context.Background()
	t.Run("refuse", func(t *testing.T) {
		set, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "garbage"})
		base, _ := newHost(t, set)
		c := signIn(t, base, "fr")
		for i, s := range freeSlots(t, c, sqlite.ServiceConsultations, 3) {
			_, err := book(c, s, fmt.Sprintf("key-garbage-%d", i))
			if !portal.IsCode(err, portal.ErrBackendUnavailable) {
				t.Fatalf("booking %d = %v, want backend_unavailable", i, err)
			}
			if got := portal.PatientMessage(err, "fr"); got != portal.ErrBackendUnavailable.Message("fr") {
				t.Errorf("patient message = %q, want the generic one", got)
			}
		}
		if list, err := c.Appointments(ctx); err != nil || len(list) != 0 {
			t.Fatalf("appointments = %v, %v; want none", list, err)
		}
	})
	t.Run("allow", func(t *testing.T) {
		set, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "garbage", OnError: "allow"})
		base, _ := newHost(t, set)
		c := signIn(t, base, "fr")
		if _, err := book(c, freeSlots(t, c, sqlite.ServiceConsultations, 1)[0], "key-garbage-allow"); err != nil {
			t.Fatalf("booking under on_error allow = %v", err)
		}
	})
}

// TestSMSNotifyInHost: after a booking, the host posts the sms-notify
// plugin's message to a loopback gateway when granted, and nothing when not.
func TestSMSNotifyInHost(t *testing.T) {
	gw := newGateway(t)
	config := []byte(fmt.Sprintf(`{"url":%q,"signature":"CHU Exemple"}`, gw.URL+"/sms"))

	t.Run("granted", func(t *testing.T) {
		set, _ := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "sms-notify", Config: config, Grants: []string{"http:" + gw.URL}})
		base, _ := newHost(t, set)
		c := signIn(t, base, "fr")
		apt, err := book(c, freeSlots(t, c, sqlite.ServiceMaternite, 1)[0], "key-sms-1")
		if err != nil {
			t.Fatal(err)
		}
		gw.wait(t, 1)
		got := gw.received()
		want := fmt.Sprintf(`POST /sms application/json {"appointment":%q,"establishment":"chu-exemple","text":"Votre rendez-vous est confirmé. CHU Exemple"}`, apt.ID)
		if len(got) != 1 || got[0] != want {
			t.Fatalf("gateway got %q, want %q", got, want)
		}
		for _, health := range []string{"maternite", "Maternité", apt.Practitioner.Name} {
			if strings.Contains(got[0], health) {
				t.Errorf("the SMS carries %q", health)
			}
		}
		if _, err := c.Cancel(context.Background(), apt.ID); err != nil {
			t.Fatal(err)
		}
		gw.wait(t, 1)
		if got := gw.received(); len(got) != 2 || !strings.Contains(got[1], "Votre rendez-vous est annulé. CHU Exemple") {
			t.Fatalf("gateway got %q after the cancellation", got)
		}
		// Cancelling again changes nothing and sends nothing.
		if _, err := c.Cancel(context.Background(), apt.ID); err != nil {
			t.Fatal(err)
		}
		set.Close()
		if got := gw.received(); len(got) != 2 {
			t.Errorf("gateway got %d messages, want 2", len(got))
		}
	})
	t.Run("not granted", func(t *testing.T) {
		before := len(gw.received())
		set, logs := load(t, wazeroplugin.Config{}, wazeroplugin.PluginConfig{Name: "sms-notify", Config: config})
		base, _ := newHost(t, set)
		c := signIn(t, base, "fr")
		if _, err := book(c, freeSlots(t, c, sqlite.ServiceMaternite, 1)[0], "key-sms-2"); err != nil {
			t.Fatal(err)
		}
		set.Close() // waits for the queued after_booking
		if got := gw.received(); len(got) != before {
			t.Errorf("the gateway got %q without a grant", got[before:])
		}
		if !strings.Contains(logs.String(), "plugin effect refused") {
			t.Errorf("logs lack the refusal:\n%s", logs)
		}
	})
}
