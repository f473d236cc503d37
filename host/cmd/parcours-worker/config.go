package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/internal/deadline"
	"github.com/parcours-sante/parcours/host/internal/loopback"
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
//
// "establishments", a list of the same objects, serves several
// establishments of the one FHIR server (a hospital group); it adds to
// "establishment". "identity_providers" are the OpenID Connect providers
// people sign in with (see host.ProviderSetting). "test_clock" is for tests
// only (see testClock). A field the Worker does not know is refused: a
// misspelt one would otherwise be silently ignored.
type config struct {
	PublicURL      string          `json:"public_url"`
	FHIRURL        string          `json:"fhir_url"`
	TimeZone       string          `json:"time_zone"`
	Establishment  establishment   `json:"establishment"`
	Establishments []establishment `json:"establishments"`
	DemoSignIn     bool            `json:"demo_sign_in"`
	TestClock      bool            `json:"test_clock"`
	// StateJurisdiction keeps the Durable Objects of the host's State
	// (sessions, rate limits) in that jurisdiction: "eu" in production
	// for a French establishment. workerd (a local run) has none: leave it
	// out there.
	StateJurisdiction string `json:"state_jurisdiction"`
	// FHIRCallTimeout bounds each call to the FHIR server ("5s"; default
	// fhir.DefaultCallTimeout, 10 s), on a JS timer of the request.
	FHIRCallTimeout string `json:"fhir_call_timeout"`
	// IdentityProviders are the OpenID Connect providers people sign in
	// with (host.Config.IdentityProviders); their accounts are linked on
	// the FHIR server (fhir.SystemAccountPrefix). They need public_url:
	// the callback is public_url + "/auth/callback".
	IdentityProviders []host.ProviderSetting `json:"identity_providers"`
	// MessagesPerMinute and UploadsPerHour are host.Config's limits of
	// the same names (0: the host's defaults, 10 and 20).
	MessagesPerMinute int `json:"messages_per_minute"`
	UploadsPerHour    int `json:"uploads_per_hour"`
	// MaxDocumentSize is the largest document or attachment accepted, in
	// bytes (fhir.Config.MaxDocumentSize; 0: 10 MiB).
	MaxDocumentSize int64 `json:"max_document_size"`
}

// establishment is one establishment of PARCOURS_CONFIG. Its name is the
// FHIR server's (its Organization): unlike the standalone host's file, no
// "name" here (refused as an unknown field rather than ignored).
type establishment struct {
	ID      string   `json:"id"`
	Origins []string `json:"origins"`
	// ReleaseDelay releases a sensitive document by itself that long
	// after it was filed ("720h") if no practitioner released it before
	// (fhir.Config.ReleaseDelays); empty: only a practitioner releases.
	ReleaseDelay string `json:"release_delay"`
}

// oidcCallTimeout bounds each call to an identity provider.
const oidcCallTimeout = 10 * time.Second

// maxIdPAnswer bounds an identity provider's answer (a discovery
// document, a key set, tokens: a few kilobytes).
const maxIdPAnswer = 1 << 20

// idpTransport is the identity providers' transport: next (the Worker's
// fetch) with each call bounded by d on after's timer, a JS timer of the
// request on Workers (host/internal/deadline), never a Go timer. The
// answer is read whole before the timer stops.
type idpTransport struct {
	next  http.RoundTripper
	after deadline.AfterFunc
	d     time.Duration
}

func (t idpTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := deadline.WithTimeout(r.Context(), t.after, t.d)
	defer cancel()
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIdPAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("identity provider %s: %w", r.URL.Redacted(), err)
	}
	if len(body) > maxIdPAnswer {
		return nil, fmt.Errorf("identity provider %s: answer over %d bytes", r.URL.Redacted(), maxIdPAnswer)
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return resp, nil
}

// identityProviders checks c's providers, each problem named by its field,
// and returns them for host.Config, their secrets read with secret.
func (c config) identityProviders(secret func(name string) string, tr http.RoundTripper, after deadline.AfterFunc, now func() time.Time) ([]host.IdentityProvider, error) {
	var errs []error
	if len(c.IdentityProviders) > 0 {
		if !host.ValidPublicURL(c.PublicURL) {
			errs = append(errs, fmt.Errorf("PARCOURS_CONFIG: public_url %q: identity providers need the Worker's public https://host[:port] (their callback is public_url/auth/callback; http only on a loopback address)", c.PublicURL))
		}
	}
	host.CheckProviderSettings(c.IdentityProviders, secret, "the Worker secret", func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("PARCOURS_CONFIG: %s: %s", field, fmt.Sprintf(format, args...)))
	})
	// Discovery, the keys and the code exchange go through the Worker's
	// fetch, each call bounded by oidcCallTimeout on a JS timer of the
	// request (idpTransport). The secret is a Worker secret (`wrangler
	// secret put PSC_CLIENT_SECRET`).
	client := &http.Client{Transport: idpTransport{next: tr, after: after, d: oidcCallTimeout}}
	var out []host.IdentityProvider
	for _, p := range c.IdentityProviders {
		ip := p.Provider(secret)
		ip.OIDC.HTTPClient, ip.OIDC.Now = client, now
		out = append(out, ip)
	}
	return out, errors.Join(errs...)
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

// build makes the host of raw, a PARCOURS_CONFIG, on p. secret reads the
// Worker's secrets by name ("" when unset): FHIR_TOKEN, a bearer token for
// the FHIR server's calls, and the identity providers' client secrets.
// assets (assets.json) is the JSON map of the browser files' paths in the
// Worker's static assets (internal/workerassets writes it; assets.mjs
// serves them): the widget documents load the Wasm from there. Without
// it the widgets have their server-rendered first paint only.
func build(raw, assets []byte, secret func(name string) string, p platform) (http.Handler, error) {
	var c config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("PARCOURS_CONFIG: %w", err)
	}
	var paths map[string]string
	if len(assets) > 0 {
		if err := json.Unmarshal(assets, &paths); err != nil {
			return nil, fmt.Errorf("assets.json: %w", err)
		}
	}
	var ests []host.Establishment
	delays := map[string]time.Duration{}
	for _, e := range append([]establishment{c.Establishment}, c.Establishments...) {
		if e.ID == "" {
			continue
		}
		ests = append(ests, host.Establishment{ID: e.ID, Origins: e.Origins})
		if e.ReleaseDelay != "" {
			d, err := time.ParseDuration(e.ReleaseDelay)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("PARCOURS_CONFIG: establishment %s: release_delay %q: want a positive duration such as \"720h\"", e.ID, e.ReleaseDelay)
			}
			delays[e.ID] = d
		}
	}
	if c.FHIRURL == "" || len(ests) == 0 {
		return nil, fmt.Errorf("PARCOURS_CONFIG: fhir_url and establishment.id are required")
	}
	// The test switches need a Worker that only this machine reaches: a
	// public_url on loopback, the standalone host's rule for -demo-signin.
	u, err := url.Parse(c.PublicURL)
	onLoopback := err == nil && u.Scheme == "http" && loopback.Host(u.Hostname())
	if c.DemoSignIn && !onLoopback {
		return nil, fmt.Errorf("PARCOURS_CONFIG: demo_sign_in lets anyone act as a demo patient of the FHIR server: it is for tests on loopback only, and public_url %q is not http://127.0.0.1:PORT or http://localhost:PORT", c.PublicURL)
	}
	var clock *testClock
	if c.TestClock {
		if !onLoopback {
			return nil, fmt.Errorf("PARCOURS_CONFIG: test_clock lets any client set the Worker's clock: it is for tests on loopback only, and public_url %q is not http://127.0.0.1:PORT or http://localhost:PORT", c.PublicURL)
		}
		clock = &testClock{}
	}
	if c.StateJurisdiction != "" && c.StateJurisdiction != "eu" && c.StateJurisdiction != "fedramp" {
		return nil, fmt.Errorf("PARCOURS_CONFIG: state_jurisdiction %q: \"eu\", \"fedramp\" or none", c.StateJurisdiction)
	}
	var callTimeout time.Duration
	if c.FHIRCallTimeout != "" {
		d, err := time.ParseDuration(c.FHIRCallTimeout)
		if err != nil || d <= 0 || d > time.Minute {
			return nil, fmt.Errorf("PARCOURS_CONFIG: fhir_call_timeout %q: a duration such as \"5s\", at most a minute", c.FHIRCallTimeout)
		}
		callTimeout = d
	}
	if c.MessagesPerMinute < 0 || c.UploadsPerHour < 0 || c.MaxDocumentSize < 0 {
		return nil, fmt.Errorf("PARCOURS_CONFIG: messages_per_minute, uploads_per_hour and max_document_size are positive (0 or none: the defaults)")
	}
	var st host.State
	if p.state != nil {
		st = p.state(c.StateJurisdiction)
	}
	tr := p.transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	// The identity providers' tokens are checked against the real time,
	// the provider's, even under the test clock: the suites move the
	// portal's time days ahead, never the provider's.
	idps, err := c.identityProviders(secret, tr, p.afterFunc, time.Now)
	if err != nil {
		return nil, err
	}
	if token := secret("FHIR_TOKEN"); token != "" {
		tr = fhir.Bearer(token, tr)
	}
	log := slog.Default()
	fc := fhir.Config{BaseURL: c.FHIRURL, Transport: tr, TimeZone: c.TimeZone, AfterFunc: p.afterFunc, CallTimeout: callTimeout,
		MaxDocumentSize: c.MaxDocumentSize, ReleaseDelays: delays, Logger: log.With("backend", "fhir")}
	hc := host.Config{
		Establishments: ests,
		AssetPaths:     paths,
		PublicURL:      c.PublicURL,
		DemoSignIn:     c.DemoSignIn,
		// Shared by every isolate, in every location: a limit counted
		// per isolate could be bypassed by reaching another one.
		State:             st,
		AfterFunc:         p.afterFunc,
		Logger:            log,
		IdentityProviders: idps,
		MessagesPerMinute: c.MessagesPerMinute,
		UploadsPerHour:    c.UploadsPerHour,
	}
	if clock != nil {
		fc.Now, hc.Now = clock.Now, clock.Now
		// The conformance suites move the clock days ahead: sessions
		// must outlive that.
		hc.SessionIdle, hc.SessionMax = 365*24*time.Hour, 365*24*time.Hour
	}
	b, err := fhir.New(fc)
	if err != nil {
		return nil, err
	}
	hc.Booking, hc.Directory, hc.Questionnaires, hc.Messaging, hc.Documents = b, b, b, b, b
	// Grants are FHIR Consents, the RPPS look-up a Practitioner search,
	// every access to health data an AuditEvent on the same server, and
	// the identity providers' accounts are linked by an identifier of the
	// Patient or Practitioner (fhir.SystemAccountPrefix).
	hc.Consents, hc.Practitioners, hc.Audit, hc.Accounts = b, b, b, b
	// A signed-in practitioner's session is named from their Practitioner
	// (the inbox widget needs it).
	hc.CareTeam = b
	h, err := host.New(hc)
	if err != nil {
		return nil, err
	}
	if clock != nil {
		return clock.handler(h), nil
	}
	return h, nil
}

// TestClockPath is the route of the test clock: PUT an RFC 3339 time to
// set the Worker's clock, GET it to read it.
const TestClockPath = "/_test/clock"

// testClock is the settable clock of "test_clock": true, given to the host
// and the FHIR backend so that the conformance suites, run against the
// Worker under workerd, can move time as they do against httptest. It is
// the real time until first set. One Go instance serves concurrent
// requests: the time is one atomic word, so a request reads either the
// old or the new time, never a torn one; the suites set it only between
// their requests.
//
// Safety: build refuses test_clock unless public_url is a loopback
// address, and the route answers only requests addressed to a loopback
// host (on Cloudflare a request's URL carries the zone's host name, never
// 127.0.0.1), so a deployed Worker never exposes it.
type testClock struct{ nanos atomic.Int64 }

func (c *testClock) Now() time.Time {
	if n := c.nanos.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Now()
}

func (c *testClock) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != TestClockPath || !loopback.Host(r.URL.Hostname()) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodPut:
			b, err := io.ReadAll(io.LimitReader(r.Body, 64))
			t, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
			if err = errors.Join(err, perr); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			c.nanos.Store(t.UnixNano())
		case http.MethodGet:
		default:
			http.Error(w, "PUT or GET", http.StatusMethodNotAllowed)
			return
		}
		io.WriteString(w, c.Now().Format(time.RFC3339Nano))
	})
}
