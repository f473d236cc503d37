package host_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// seedTime is a Monday morning in Paris, before the day's first slot.
var seedTime = time.Date(2026, 11, 23, 8, 0, 0, 0, mustLoad("Europe/Paris"))

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// testHost is a real host on a real, seeded SQLite database, over real HTTP.
type testHost struct {
	URL     string
	Store   *sqlite.Store
	Clock   *portaltest.Clock
	Handler *host.Host
}

const pageOrigin = "https://www.chu-exemple.fr"

type hostConfig = host.Config

func newTestHost(t testing.TB) *testHost { return newTestHostWith(t, nil) }

// newTestHostWith lets a test change the configuration before New.
func newTestHostWith(t testing.TB, configure func(*hostConfig)) *testHost {
	t.Helper()
	ctx := context.Background()
	clock := portaltest.NewClock(seedTime)
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "host.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, seedTime); err != nil {
		t.Fatal(err)
	}
	cfg := host.Config{
		Booking:        store,
		Directory:      store,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: []string{pageOrigin}}},
		DemoSignIn:     true,
		Now:            clock.Now,
		// The conformance suite moves the clock days ahead to make slots
		// past; sessions must outlive that (their expiry is tested apart).
		SessionIdle: 365 * 24 * time.Hour,
		SessionMax:  365 * 24 * time.Hour,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	if configure != nil {
		configure(&cfg)
	}
	h, err := host.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testHost{URL: srv.URL, Store: store, Clock: clock, Handler: h}
}

// signedIn returns a client of th with its own session as patient.
func (th *testHost) signedIn(t testing.TB, patient string) *client.Client {
	t.Helper()
	c := client.New(th.URL)
	if _, err := c.DemoSignIn(context.Background(), patient); err != nil {
		t.Fatalf("demo sign-in as %s: %v", patient, err)
	}
	return c
}

// TestClientConformance runs the booking conformance suite through the HTTP
// client, a real host and the SQLite backend: what a widget sees.
func TestClientConformance(t *testing.T) {
	portaltest.RunBookingTests(t, func(t *testing.T) portaltest.BookingFixture {
		th := newTestHost(t)
		return portaltest.BookingFixture{
			As:            func(t *testing.T, patient string) portal.Booking { return th.signedIn(t, patient) },
			Anonymous:     client.New(th.URL),
			Establishment: sqlite.DemoEstablishment,
			Service:       sqlite.ServiceMaternite,
			OtherService:  sqlite.ServiceDiabetologie,
			Patients:      []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard},
			SetNow:        th.Clock.Set,
			Now:           th.Clock.Now,
		}
	})
}

// TestConsentClientConformance runs the consent conformance suite through
// the HTTP client, a real host and the SQLite backend: Lucas Bernard
// (diabetology, with the held biopsy report of the demo) grants Claire
// Martin, a midwife of maternity, access to his documents.
func TestConsentClientConformance(t *testing.T) {
	portaltest.RunConsentTests(t, func(t *testing.T) portaltest.ConsentFixture {
		th := newDocumentsHost(t, 0, func(cfg *hostConfig) { cfg.Consents = cfg.Booking.(*sqlite.Store) })
		list, err := th.signedIn(t, sqlite.DemoPatientLucasBernard).Documents(context.Background(), sqlite.DemoEstablishment, portal.DocumentFilter{})
		if err != nil || len(list) == 0 {
			t.Fatalf("Lucas Bernard's documents: %d, %v", len(list), err)
		}
		return portaltest.ConsentFixture{
			AsPatient:      func(t *testing.T, p string) portal.Consents { return th.signedIn(t, p) },
			AsPractitioner: func(t *testing.T, p string) portal.Consents { return th.practitioner(t, p) },
			Anonymous:      client.New(th.URL),
			Documents:      func(t *testing.T, p string) portal.Documents { return th.practitioner(t, p) },
			Establishment:  sqlite.DemoEstablishment,
			Patient:        sqlite.DemoPatientLucasBernard,
			OtherPatient:   sqlite.DemoPatientCamilleDurand,
			Practitioner:   sqlite.DemoPractitionerClaireMartin,
			Released:       list[0].ID,
			Held:           sqlite.DemoDocumentBiopsy,
		}
	})
}

// TestLookupConformance runs the practitioner look-up suite through the
// host's HTTP API; the client refuses a malformed number before sending, so
// TestAuthorizationMatrix sends one to the host too.
func TestLookupConformance(t *testing.T) {
	portaltest.RunLookupTests(t, func(t *testing.T) portaltest.LookupFixture {
		th := newDocumentsHost(t, 0, func(cfg *hostConfig) { cfg.Practitioners = cfg.Booking.(*sqlite.Store) })
		doctor, err := th.Store.Practitioner(context.Background(), sqlite.DemoPractitionerPaulMercier)
		if err != nil {
			t.Fatal(err)
		}
		return portaltest.LookupFixture{
			AsPatient:      func(t *testing.T, p string) portal.PractitionerLookup { return th.signedIn(t, p) },
			AsPractitioner: func(t *testing.T, p string) portal.PractitionerLookup { return th.practitioner(t, p) },
			Anonymous:      client.New(th.URL),
			Patient:        sqlite.DemoPatientLucasBernard,
			Practitioner:   doctor,
		}
	})
}
