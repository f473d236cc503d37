package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
)

// config is PARCOURS_CONFIG, the Worker's JSON var:
//
//	{"public_url": "https://rdv.chu-exemple.fr",
//	 "fhir_url": "https://fhir.chu-exemple.fr/fhir/R4",
//	 "time_zone": "Europe/Paris",
//	 "establishment": {"id": "chu-exemple", "name": "CHU Exemple",
//	                   "origins": ["https://www.chu-exemple.fr"]},
//	 "state_jurisdiction": "eu",
//	 "demo_sign_in": false}
type config struct {
	PublicURL     string `json:"public_url"`
	FHIRURL       string `json:"fhir_url"`
	TimeZone      string `json:"time_zone"`
	Establishment struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Origins []string `json:"origins"`
	} `json:"establishment"`
	// StateJurisdiction keeps the Durable Objects of the host's State
	// (sessions, rate limits) in that jurisdiction: "eu" in production
	// for a French establishment. workerd (a local run) has none: leave it
	// out there.
	StateJurisdiction string `json:"state_jurisdiction"`
	DemoSignIn        bool   `json:"demo_sign_in"`
}

// platform is what the Workers runtime gives the host (main_js.go); a nil
// field is Go's own, for the tests on linux.
type platform struct {
	// transport reaches the FHIR server.
	transport http.RoundTripper
	// state makes the host's State for the configuration's jurisdiction
	// (nil: in memory).
	state func(jurisdiction string) host.State
	// afterFunc is the timer of the timeouts on the request path.
	afterFunc func(d time.Duration, f func()) (stop func() bool)
}

// build makes the host of raw, a PARCOURS_CONFIG, on p, with the FHIR
// server's calls bearer-authenticated when token is set.
func build(raw []byte, token string, p platform) (http.Handler, error) {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("PARCOURS_CONFIG: %w", err)
	}
	if c.FHIRURL == "" || c.Establishment.ID == "" {
		return nil, fmt.Errorf("PARCOURS_CONFIG: fhir_url and establishment.id are required")
	}
	if c.StateJurisdiction != "" && c.StateJurisdiction != "eu" && c.StateJurisdiction != "fedramp" {
		return nil, fmt.Errorf("PARCOURS_CONFIG: state_jurisdiction %q: \"eu\", \"fedramp\" or none", c.StateJurisdiction)
	}
	var st host.State
	if p.state != nil {
		st = p.state(c.StateJurisdiction)
	}
	tr := p.transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	if token != "" {
		tr = bearer{token: token, next: tr}
	}
	log := slog.Default()
	b, err := fhir.New(fhir.Config{BaseURL: c.FHIRURL, Transport: tr, TimeZone: c.TimeZone, AfterFunc: p.afterFunc,
		Logger: log.With("establishment", c.Establishment.ID, "backend", "fhir")})
	if err != nil {
		return nil, err
	}
	return host.New(host.Config{
		Booking:        b,
		Directory:      b,
		Questionnaires: b,
		Messaging:      b,
		Documents:      b,
		// Grants are FHIR Consents, the RPPS look-up a Practitioner search,
		// and every access to health data an AuditEvent on the same server.
		Consents:       b,
		Practitioners:  b,
		Audit:          b,
		Establishments: []host.Establishment{{ID: c.Establishment.ID, Origins: c.Establishment.Origins}},
		PublicURL:      c.PublicURL,
		DemoSignIn:     c.DemoSignIn,
		// Shared by every isolate, in every location: a limit counted
		// per isolate could be bypassed by reaching another one.
		State:     st,
		AfterFunc: p.afterFunc,
		Logger:    log,
	})
}

// bearer sends the FHIR server the host's token.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
