package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirserver"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
)

// routed is what the configuration file gives the host: the establishments
// it serves, and the routers that send each one's calls to its data.
type routed struct {
	booking        *multi.Backend
	documents      *multi.Documents
	questionnaires *multi.Questionnaires
	served         []host.Establishment
}

// sites builds, from the configuration file, the establishments the host
// serves and the routers to their data: the SQLite store, or their FHIR
// server. extraOrigins (the demo page) are allowed for every establishment.
func (c siteConfig) sites(store *sqlite.Store, getenv func(string) string, extraOrigins []string, log *slog.Logger) (routed, error) {
	var (
		ests []multi.Establishment
		docs []multi.DocumentsEstablishment
		qs   []multi.QuestionnairesEstablishment
		out  routed
	)
	for _, e := range c.Establishments {
		me := multi.Establishment{ID: e.ID, Name: e.Name, UrgentHelp: e.UrgentHelp, Services: e.Services}
		switch e.Backend.Type {
		case backendSQLite:
			me.Booking, me.Directory = store, store
			docs = append(docs, multi.DocumentsEstablishment{ID: e.ID, Documents: store.Documents(sqlite.WithReleaseDelay(e.ID, e.releaseDelay()))})
			qs = append(qs, multi.QuestionnairesEstablishment{ID: e.ID, Questionnaires: store})
		case backendFHIR:
			var tr http.RoundTripper = fhir.DefaultTransport()
			if e.Backend.TokenEnv != "" {
				tr = bearer{token: getenv(e.Backend.TokenEnv), next: tr}
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
	out.questionnaires, err = multi.NewQuestionnaires(qs, 0)
	return out, err
}

// startFHIRDemo starts the demo's FHIR server and loads its establishment,
// CH Nord (fhir.SeedDemo).
func startFHIRDemo(ctx context.Context, log *slog.Logger) (*fhirserver.Server, error) {
	if err := fhirserver.Available(); err != nil {
		return nil, err
	}
	s, err := fhirserver.Start(ctx)
	if err != nil {
		return nil, err
	}
	b, err := fhir.New(fhir.Config{BaseURL: s.Base, Logger: log})
	if err == nil {
		err = b.SeedDemo(ctx, time.Now())
	}
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("seeding the FHIR demo: %w", err)
	}
	return s, nil
}

// bearer sends a FHIR server the host's token: the credentials of the
// host as a client of the hospital's server, from the environment.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
