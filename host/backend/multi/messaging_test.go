package multi_test

import (
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// TestMessagingConformance: behind the router, the SQLite messaging passes
// the messaging suite, thread and message ids prefixed by their
// establishment (the outbox is each backend's own: not routed).
func TestMessagingConformance(t *testing.T) {
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	portaltest.RunMessagingTests(t, func(t *testing.T) portaltest.MessagingFixture {
		clock := portaltest.NewClock(start)
		s := seeded(t, clock)
		link(t, s, clock, documentsPatients...)
		m, err := multi.NewMessaging([]multi.MessagingEstablishment{
			{ID: sqlite.DemoEstablishment, Messaging: s.Messaging(sqlite.WithMaxAttachmentSize(64 << 10))},
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return portaltest.MessagingFixture{
			AsPatient:         func(t *testing.T, p string) portal.Messaging { return portaltest.AsPatientMessaging(m, p) },
			AsPractitioner:    func(t *testing.T, p string) portal.Messaging { return portaltest.AsPractitionerMessaging(m, p) },
			Anonymous:         m,
			Establishment:     sqlite.DemoEstablishment,
			Service:           sqlite.ServiceMaternite,
			OtherService:      sqlite.ServiceDiabetologie,
			Patients:          documentsPatients,
			Unlinked:          sqlite.DemoPatientInesMoreau,
			Practitioners:     []string{sqlite.DemoPractitionerClaireMartin, "pr-sophie-lefebvre"},
			Outsider:          "pr-julien-roux",
			MaxAttachmentSize: 64 << 10,
			SetNow:            clock.Set,
			Now:               clock.Now,
		}
	})
}
