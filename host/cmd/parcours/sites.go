package main

import (
	"log/slog"
	"net/http"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
)

// sites builds, from the configuration file, the establishments the host
// serves and the backend that routes each one's calls to its data: the
// SQLite store, or its FHIR server. extraOrigins (the demo page) are
// allowed for every establishment.
func (c siteConfig) sites(store *sqlite.Store, getenv func(string) string, extraOrigins []string, log *slog.Logger) (*multi.Backend, []host.Establishment, error) {
	var (
		ests   []multi.Establishment
		served []host.Establishment
	)
	for _, e := range c.Establishments {
		me := multi.Establishment{ID: e.ID, Name: e.Name, UrgentHelp: e.UrgentHelp, Services: e.Services}
		switch e.Backend.Type {
		case backendSQLite:
			me.Booking, me.Directory = store, store
		case backendFHIR:
			var tr http.RoundTripper = fhir.DefaultTransport()
			if e.Backend.TokenEnv != "" {
				tr = bearer{token: getenv(e.Backend.TokenEnv), next: tr}
			}
			b, err := fhir.New(fhir.Config{BaseURL: e.Backend.URL, Transport: tr, TimeZone: e.Backend.TimeZone,
				Logger: log.With("establishment", e.ID, "backend", "fhir")})
			if err != nil {
				return nil, nil, err
			}
			me.Booking, me.Directory = b, b
		}
		ests = append(ests, me)
		served = append(served, host.Establishment{ID: e.ID, Origins: append(append([]string(nil), e.Origins...), extraOrigins...), Theme: e.Theme})
	}
	b, err := multi.New(multi.Config{Establishments: ests, Logger: log})
	return b, served, err
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
