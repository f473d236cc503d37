package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirserver"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/notify"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// routed is what the configuration file gives the host: the establishments
// it serves, and the routers that send each one's calls to its data.
type routed struct {
	booking        *multi.Backend
	documents      *multi.Documents
	questionnaires *multi.Questionnaires
	messaging      *multi.Messaging // nil when no establishment takes messages
	consents       *multi.Consents  // the access grants and the RPPS look-up
	careTeam       *multi.CareTeam  // names a signed-in practitioner: the store's, then each FHIR server's
	served         []host.Establishment
	// outboxes are the FHIR establishments' notification outboxes, each
	// with where its notifications go.
	outboxes []outbox
}

// outbox is a messaging notification outbox and its addresses.
type outbox struct {
	establishment string
	notifications portal.Notifications
	contacts      portal.Contacts
}

// addSenders appends to senders one notification sender per FHIR
// establishment's outbox, with the SMTP settings of o (none without -smtp).
func (r routed) addSenders(senders []*notify.Sender, o smtpOptions, log *slog.Logger) ([]*notify.Sender, error) {
	for _, ob := range r.outboxes {
		s, err := o.sender(ob.notifications, ob.contacts, log.With("establishment", ob.establishment))
		if err != nil || s == nil {
			return senders, err
		}
		senders = append(senders, s)
	}
	return senders, nil
}

// sites builds, from the configuration file, the establishments the host
// serves and the routers to their data: the SQLite store, or their FHIR
// server. extraOrigins (the demo page) are allowed for every establishment.
//
// messaging is the SQLite store's messaging (with its attachment
// directory).
func (c siteConfig) sites(store *sqlite.Store, messaging portal.Messaging, getenv func(string) string, extraOrigins []string, log *slog.Logger) (routed, error) {
	var (
		ests []multi.Establishment
		docs []multi.DocumentsEstablishment
		qs   []multi.QuestionnairesEstablishment
		msgs []multi.MessagingEstablishment
		cons []multi.ConsentsEstablishment
		team = []portal.CareTeamDirectory{store}
		out  routed
	)
	for _, e := range c.Establishments {
		me := multi.Establishment{ID: e.ID, Name: e.Name, UrgentHelp: e.UrgentHelp, Services: e.Services}
		switch e.Backend.Type {
		case backendSQLite:
			me.Booking, me.Directory = store, store
			docs = append(docs, multi.DocumentsEstablishment{ID: e.ID, Documents: store.Documents(sqlite.WithReleaseDelay(e.ID, e.releaseDelay()))})
			qs = append(qs, multi.QuestionnairesEstablishment{ID: e.ID, Questionnaires: store})
			msgs = append(msgs, multi.MessagingEstablishment{ID: e.ID, Messaging: messaging})
			cons = append(cons, multi.ConsentsEstablishment{ID: e.ID, Consents: store, Lookup: store})
		case backendFHIR:
			var tr http.RoundTripper = fhir.DefaultTransport()
			if e.Backend.TokenEnv != "" {
				tr = fhir.Bearer(getenv(e.Backend.TokenEnv), tr)
			}
			b, err := fhir.New(fhir.Config{BaseURL: e.Backend.URL, Transport: tr, TimeZone: e.Backend.TimeZone,
				ReleaseDelays: map[string]time.Duration{e.ID: e.releaseDelay()},
				Logger:        log.With("establishment", e.ID, "backend", "fhir")})
			if err != nil {
				return out, err
			}
			me.Booking, me.Directory = b, b
			docs = append(docs, multi.DocumentsEstablishment{ID: e.ID, Documents: b})
			qs = append(qs, multi.QuestionnairesEstablishment{ID: e.ID, Questionnaires: b})
			msgs = append(msgs, multi.MessagingEstablishment{ID: e.ID, Messaging: b})
			cons = append(cons, multi.ConsentsEstablishment{ID: e.ID, Consents: b, Lookup: b})
			team = append(team, b)
			out.outboxes = append(out.outboxes, outbox{establishment: e.ID, notifications: b.Outbox(e.ID), contacts: b})
		}
		ests = append(ests, me)
		out.served = append(out.served, host.Establishment{ID: e.ID, Origins: append(append([]string(nil), e.Origins...), extraOrigins...), Theme: e.Theme})
	}
	var err error
	if out.booking, err = multi.New(multi.Config{Establishments: ests, Logger: log}); err != nil {
		return out, err
	}
	if out.documents, err = multi.NewDocuments(docs, 0); err != nil {
		return out, err
	}
	if out.questionnaires, err = multi.NewQuestionnaires(qs, 0); err != nil {
		return out, err
	}
	if out.consents, err = multi.NewConsents(cons, 0); err != nil {
		return out, err
	}
	if out.careTeam, err = multi.NewCareTeam(team, 0); err != nil {
		return out, err
	}
	if len(msgs) > 0 {
		out.messaging, err = multi.NewMessaging(msgs, 0)
	}
	return out, err
}

// apply puts the routers in the host's configuration.
func (r routed) apply(cfg *host.Config) {
	cfg.Booking, cfg.Directory, cfg.Documents, cfg.Questionnaires, cfg.Establishments = r.booking, r.booking, r.documents, r.questionnaires, r.served
	cfg.Consents, cfg.Practitioners, cfg.CareTeam = r.consents, r.consents, r.careTeam
	if r.messaging != nil {
		cfg.Messaging = r.messaging
	}
}

// startFHIRDemo starts the demo's FHIR server and loads its establishment,
// CH Nord (fhir.StartDemoServer).
func startFHIRDemo(ctx context.Context, log *slog.Logger) (*fhirserver.Server, error) {
	if err := fhirserver.Available(); err != nil {
		return nil, err
	}
	return fhir.StartDemoServer(ctx, 0, log)
}
