// Package fhir is the Parcours backend for any FHIR R4 server over its REST
// API (https://hl7.org/fhir/R4/http.html), in JSON (application/fhir+json).
//
// A Backend implements portal.Booking and portal.Directory on the FHIR
// scheduling resources:
//
//   - an establishment is an Organization (https://hl7.org/fhir/R4/organization.html),
//     its id the Organization's logical id, its time zone the HL7 extension
//     http://hl7.org/fhir/StructureDefinition/timezone (Config.TimeZone when absent);
//   - a service is a HealthcareService (https://hl7.org/fhir/R4/healthcareservice.html)
//     provided by it, with its practitioners found through PractitionerRole
//     (https://hl7.org/fhir/R4/practitionerrole.html) and Practitioner;
//   - a bookable period is a Slot (https://hl7.org/fhir/R4/slot.html) of a
//     Schedule (https://hl7.org/fhir/R4/schedule.html) whose actors are one
//     Practitioner and the HealthcareService;
//   - a booking is an Appointment (https://hl7.org/fhir/R4/appointment.html)
//     referencing the Slot, the Patient, the Practitioner and the
//     HealthcareService;
//   - a patient is a Patient (https://hl7.org/fhir/R4/patient.html), identified
//     in France by the INS (see INSNIR).
//
// Booking never lets two patients hold one slot, on servers without atomic
// transactions too: the Slot is read, updated from free to busy with
// If-Match on the version read (https://hl7.org/fhir/R4/http.html#concurrency;
// a 412 means someone else was first), then the Appointment is made by a
// conditional create (If-None-Exist, https://hl7.org/fhir/R4/http.html#ccreate)
// on an identifier derived from the patient and the request's idempotency
// key, so that a retried booking finds the appointment it made. If that
// create fails, the Slot is put back.
//
// Every call has a timeout, reads and conditional creates are retried with
// backoff, and a circuit breaker stops calling a server that keeps failing.
// Failures become portal error codes through one table (see errors.go); the
// server's diagnostics go to the logger, never into an error a patient sees.
// docs/fhir.md describes the mapping and what the server must support.
package fhir

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // establishments' time zones on machines without zoneinfo

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Config configures a Backend. New copies it; changing a Config afterwards
// changes nothing. The zero value of each field but BaseURL means its
// documented default.
type Config struct {
	// BaseURL is the FHIR server's service base URL
	// (https://hl7.org/fhir/R4/http.html#root), such as
	// https://fhir.chu-exemple.fr/fhir/R4. Required, http or https.
	BaseURL string

	// Transport sends the requests. Authentication (a SMART backend
	// services token, mutual TLS) belongs here. Default: a clone of
	// http.DefaultTransport keeping MaxIdleConnsPerHost (64) idle
	// connections to the server instead of 2. An *http.Transport that
	// leaves compression on asks for gzip and inflates responses itself.
	Transport http.RoundTripper

	// Logger receives failed calls with the server's diagnostics, and
	// the circuit breaker's changes. Default: discard. An INS is never
	// logged: query strings are not, and diagnostics are redacted.
	Logger *slog.Logger

	// Now is the clock of booking decisions: a slot or appointment
	// that starts at or before Now is past, and Created and Cancelled
	// record it. The FHIR server's own clock is never used for these.
	// Default: time.Now.
	Now func() time.Time

	// TimeZone is the IANA time zone of an Organization without the
	// timezone extension. Default: "Europe/Paris".
	TimeZone string

	// CallTimeout bounds each HTTP attempt, within the deadline of the
	// caller's context. Default: 10 s.
	CallTimeout time.Duration

	// Retries is how many times a failed read (GET) or conditional
	// create is tried again, on a network error, a timeout, 408, 429 or
	// 5xx, with exponential backoff from RetryBackoff (jittered, at most
	// 2 s per wait, never past the context's deadline). Other writes are
	// never retried. Default: 2; negative: none.
	Retries int
	// RetryBackoff is the first wait between attempts. Default: 100 ms.
	RetryBackoff time.Duration

	// AfterFunc is the timer of the timeouts and waits above: nil is Go's
	// (time.AfterFunc). On Cloudflare Workers, cloudflare.AfterFunc: a JS
	// timer of the request (see host/internal/deadline).
	AfterFunc func(d time.Duration, f func()) (stop func() bool)

	// BreakerFailures is the number of consecutive failed calls
	// (network errors, timeouts, 408, 429, 5xx) after which the circuit
	// breaker opens: calls then fail at once with
	// portal.ErrBackendUnavailable, without a request, for
	// BreakerCoolDown; then one trial call goes through, and its success
	// closes the breaker. Default: 5; negative: no breaker.
	BreakerFailures int
	// BreakerCoolDown is how long an open breaker refuses calls.
	// Default: 30 s.
	BreakerCoolDown time.Duration
	// BreakerNow is the breaker's clock. It is apart from Now so that a
	// demonstration's fixed clock never keeps the breaker open.
	// Default: time.Now.
	BreakerNow func() time.Time

	// PageSize is the _count of searches; further pages are followed
	// through the Bundle's next link. Default: 500.
	PageSize int
	// MaxResponseBytes bounds a response body. Default: 16 MiB.
	MaxResponseBytes int64

	// Documents and results (documents.go).

	// MaxDocumentSize is the largest file accepted, in bytes, a
	// document's own or one of its images (ErrAttachmentTooLarge beyond).
	// Default: portal.DefaultMaxDocumentSize (10 MiB); lowered so that a
	// Binary of that size (base64, 4/3 larger) fits in MaxResponseBytes.
	MaxDocumentSize int64
	// ReleaseDelays maps an establishment (Organization id) to the delay
	// after which a sensitive document filed there is released to its
	// patient if no practitioner released it before
	// (portal.Document.ReleaseDue), as sqlite.WithReleaseDelay. An
	// establishment absent, or with a delay <= 0, has none: only a
	// practitioner releases. The delay in force at filing is recorded on
	// the document. Default: none. New copies the map.
	ReleaseDelays map[string]time.Duration

	// OrganizationTTL is how long an establishment's Organization (its
	// name, time zone and active flag: reference data, never a patient's)
	// read from the server is reused, by Config.Now, instead of read
	// again on every request that names the establishment or one of its
	// services. A change on the server shows within it. Default: 1 minute;
	// negative: read every time.
	OrganizationTTL time.Duration
}

// Defaults of Config.
const (
	DefaultTimeZone         = "Europe/Paris"
	DefaultCallTimeout      = 10 * time.Second
	DefaultRetries          = 2
	DefaultRetryBackoff     = 100 * time.Millisecond
	DefaultBreakerFailures  = 5
	DefaultBreakerCoolDown  = 30 * time.Second
	DefaultPageSize         = 500
	DefaultMaxResponseBytes = 16 << 20
	DefaultOrganizationTTL  = time.Minute
	// MaxIdleConnsPerHost is what the default transport keeps open to
	// the server (net/http keeps 2, which serialises a busy host's calls
	// on new connections).
	MaxIdleConnsPerHost = 64
)

// maxBackoff caps one wait between attempts.
const maxBackoff = 2 * time.Second

// DefaultTransport is Config.Transport's default, for a transport that
// wraps it (one adding credentials): a clone of http.DefaultTransport
// keeping MaxIdleConnsPerHost idle connections to the server.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * MaxIdleConnsPerHost
	t.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	return t
}

// Bearer returns a transport that sends each request through next with
// the header "Authorization: Bearer token": the host's credentials as a
// client of the hospital's FHIR server (a static token from the
// environment, or a secret on Workers).
func Bearer(token string, next http.RoundTripper) http.RoundTripper {
	return bearer{token: token, next: next}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Transport == nil {
		c.Transport = DefaultTransport()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	if c.BreakerCoolDown <= 0 {
		c.BreakerCoolDown = DefaultBreakerCoolDown
	}
	if c.BreakerNow == nil {
		c.BreakerNow = time.Now
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.OrganizationTTL == 0 {
		c.OrganizationTTL = DefaultOrganizationTTL
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	// Documents and results.
	if c.MaxDocumentSize <= 0 {
		c.MaxDocumentSize = portal.DefaultMaxDocumentSize
	}
	c.MaxDocumentSize = min(c.MaxDocumentSize, documentSizeCap(c.MaxResponseBytes))
	c.ReleaseDelays = maps.Clone(c.ReleaseDelays)
	return c
}

// Backend is a Parcours backend on one FHIR R4 server. It is safe for
// concurrent use; one Backend per server shares one circuit breaker and one
// connection pool, so make one and keep it.
type Backend struct {
	cfg     Config
	base    *url.URL
	client  *http.Client
	breaker *breaker
	log     *slog.Logger

	mu   sync.Mutex
	locs map[string]*time.Location
	orgs map[string]cachedOrganization // by id (Config.OrganizationTTL)
}

var (
	_ portal.Booking   = (*Backend)(nil)
	_ portal.Directory = (*Backend)(nil)
	// Documents and results (documents.go, documents_filing.go).
	_ portal.Documents      = (*Backend)(nil)
	_ portal.DocumentFiling = (*Backend)(nil)
)

// New returns a Backend for the server at c.BaseURL. It makes no request:
// an unreachable server shows on the first call.
func New(c Config) (*Backend, error) {
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || c.BaseURL == "" {
		return nil, fmt.Errorf("fhir: BaseURL %q: want an http or https URL", c.BaseURL)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("fhir: BaseURL %q: want an http or https URL without query", c.BaseURL)
	}
	c = c.withDefaults()
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return nil, fmt.Errorf("fhir: TimeZone %q: %w", c.TimeZone, err)
	}
	b := &Backend{
		cfg:  c,
		base: base,
		// No Client.Timeout: each attempt has its own (CallTimeout).
		client: &http.Client{Transport: c.Transport},
		log:    c.Logger.With("fhir_server", base.Host),
		locs:   map[string]*time.Location{},
		orgs:   map[string]cachedOrganization{},
	}
	b.breaker = newBreaker(c.BreakerFailures, c.BreakerCoolDown, c.BreakerNow, b.log)
	return b, nil
}

// location returns the time zone named tz, or the default one when tz is
// empty or unknown (logged: the Organization's extension is wrong).
func (b *Backend) location(tz string) *time.Location {
	if tz == "" {
		tz = b.cfg.TimeZone
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.locs[tz]; ok {
		return l
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		b.log.Warn("fhir: unknown time zone in an Organization, using the default", "time_zone", tz, "default", b.cfg.TimeZone)
		l, _ = time.LoadLocation(b.cfg.TimeZone)
	}
	b.locs[tz] = l
	return l
}

// now is the booking clock (Config.Now).
func (b *Backend) now() time.Time { return b.cfg.Now() }
