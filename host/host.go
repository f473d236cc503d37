// Package host is the Parcours edge host: one http.Handler that serves the
// widgets (loader, iframe documents, Wasm), speaks the JSON API (/api/v1) to
// them and enforces identity, CORS, CSP and request limits in front of a
// hospital backend.
//
// The same handler runs in the standalone server (host/cmd/parcours) and, in
// a later step, on Cloudflare Workers. Runtime capabilities arrive through
// Config as standard interfaces: the backend as portal services, a clock, a
// *slog.Logger, an fs.FS of built assets.
package host

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/plugin"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Config configures a host. The zero value of every optional field is a
// documented default; New copies the Config, so later changes have no effect.
type Config struct {
	// Booking is the appointment service of the backend. Required.
	Booking portal.Booking
	// Directory finds patients for sessions. Required.
	Directory portal.Directory
	// Questionnaires stores the questionnaires the establishments offer and
	// what patients answer to them (FHIR R4 Questionnaire,
	// QuestionnaireResponse, RiskAssessment). Optional: nil answers every
	// questionnaire route not_found. The host scores every submission itself
	// with sdk/questionnaire; the store only stores.
	Questionnaires portal.Questionnaires
	// Messaging is secure messaging between patients and the care teams of
	// the services that follow them (threads, messages, attachments; see
	// docs/api.md, "Messaging"). Optional: nil answers every messaging
	// route not_found. The host bounds a message's request body from the
	// store's attachment limit: MaxAttachmentSize() int64 when the store
	// has that method (host/backend/sqlite's does), else
	// portal.DefaultMaxAttachmentSize.
	Messaging portal.Messaging
	// Documents is the documents and results of patients' care: reports,
	// letters, images, lab results and the patients' own files, with the
	// results held back until a practitioner releases them (see
	// docs/api.md, "Documents", and docs/documents.md). Optional: nil
	// answers every documents route not_found. The host bounds an upload's
	// request body from the store's file limit: MaxDocumentSize() int64
	// when the store has that method (host/backend/sqlite's does), else
	// portal.DefaultMaxDocumentSize.
	Documents portal.Documents
	// Consents is the patients' access grants: a patient lets a practitioner
	// outside their care relationships (a city doctor) see their documents,
	// and revokes it (see docs/api.md, "Grants", and docs/security.md,
	// "Access grants"). Optional: nil answers every grants route not_found.
	// The grants take effect in Documents, which must be of the same store.
	Consents portal.Consents
	// CareTeam finds practitioners, for the care-team sessions (the demo
	// sign-in of the inbox, POST /api/v1/demo/practitioner-session).
	// Optional: nil turns the practitioner sign-in off (not_found).
	CareTeam portal.CareTeamDirectory
	// MessagesPerMinute bounds the messages one person (a patient or a
	// practitioner) may write, threads started included: a token bucket
	// of that many tokens refilled at that rate, so a burst of that many
	// then one every 60/N seconds. Every attempt spends a token, refused
	// ones too, except a retry of a message already stored. Beyond, 429
	// rate_limited with Retry-After. Default 10. The buckets, like every
	// limit's, are in State.
	MessagesPerMinute int
	// UploadsPerHour bounds the documents one patient may upload, the same
	// way (a burst of that many, then one every 60/N minutes; a retry of a
	// stored upload is free). Beyond, 429 rate_limited with Retry-After.
	// Default 20.
	UploadsPerHour int

	// BookingsPerHour bounds the booking attempts of one patient (every
	// attempt, refused ones and retries too, through the API or the
	// widget's form): a burst of that many, then one every 60/N minutes;
	// beyond, 429 rate_limited with Retry-After. Default 20.
	BookingsPerHour int
	// MaxFutureAppointments bounds the appointments to come one patient may
	// hold, across the establishments; a booking beyond is refused
	// (booking_refused). Default 20.
	MaxFutureAppointments int

	// Establishments lists the establishments this host serves and, for each,
	// the origins of the hospital pages allowed to embed its widgets. At least one.
	Establishments []Establishment

	// Assets holds the built browser files (parcours.wasm and wasm_exec.js,
	// optionally with .br, .zst and .gz siblings), as written by
	// `go run ./wasm/cmd/build-web`. Nil serves the widget documents without
	// their Wasm: the server-rendered first paint only.
	Assets fs.FS
	// AssetPaths, instead of Assets, names the paths of the browser files
	// (WasmFiles, each at its AssetPath) when something in front of the
	// host serves them, such as a Worker's static assets
	// (host/cmd/parcours-worker): the widget documents load them from
	// there and the host serves none of them.
	AssetPaths map[string]string

	// IdentityProviders are the OpenID Connect providers people sign in
	// with (see IdentityProvider and docs/security.md). Each needs
	// Accounts. None leaves only the demo sign-in, when on.
	IdentityProviders []IdentityProvider
	// Accounts links a provider's signed-in people to the backend's
	// patients and practitioners. Required with IdentityProviders.
	Accounts portal.Accounts
	// PublicURL is the host's address as browsers reach it
	// (https://portail.chu-exemple.fr): the providers' callback is
	// PublicURL/auth/callback, and an https PublicURL makes the session
	// cookie Secure, __Host- and partitioned even when a proxy in front
	// terminates TLS.
	PublicURL string
	// SignInsPerMinute bounds the sign-ins one client address may start:
	// a burst of that many, then one every 60/N seconds; beyond, 429 with
	// Retry-After. Default 20.
	SignInsPerMinute int
	// WritesPerAddressPerMinute bounds the writes from one client address,
	// whoever is signed in: bookings, messages, uploads, grants, RPPS
	// look-ups and questionnaire submissions together, on top of each person's own limits, so that one
	// machine cannot spread its writes over many accounts. A burst of that
	// many, then one every 60/N seconds; beyond, 429 with Retry-After.
	// Default 120: a hospital's guest Wi-Fi puts many patients behind one
	// address.
	WritesPerAddressPerMinute int
	// ClientAddressHeader names the request header that carries the
	// client's address when the host runs behind a proxy (a load balancer,
	// Cloudflare: "CF-Connecting-IP"; nginx: "X-Real-IP", or
	// "X-Forwarded-For", of which the last address is taken, the one the
	// nearest proxy added). Set it only when the proxy is the sole way in:
	// a client reaching the host directly could write any address there.
	// Empty (default): the connection's address. The address keys the
	// per-address rate limits and is written to the audit.
	ClientAddressHeader string

	// Practitioners finds health professionals by RPPS number, for the
	// patient granting access to one (GET /api/v1/practitioners/rpps/{rpps}).
	// The id it answers is the one a grant names: on a host whose
	// establishments have directories of their own (different backends),
	// it must be a portal.PractitionerLookupIn (multi.Consents), asked for
	// the establishment the grant goes through; any other is taken for
	// one directory whose ids every establishment shares.
	// Optional: nil answers that route not_found.
	Practitioners portal.PractitionerLookup

	// Audit, when set, receives an audit record of every API request that
	// reads or writes health data or a session, refusals included, and of
	// every sign-in (see docs/security.md, "Audit").
	Audit portal.AuditLog

	// DemoSignIn turns on the demo sign-in (pick a fictional patient). Off by
	// default; the parcours command refuses it on a non-loopback address.
	DemoSignIn bool

	// SessionIdle and SessionMax bound a session: 30 minutes without a
	// request, 12 hours in all, by default.
	SessionIdle, SessionMax time.Duration

	// State keeps sessions, rate-limit buckets and sign-ins under way (see
	// State). Default: NewMemoryState, this process's memory, which starts
	// no goroutine. Hosts that run as many instances must share one
	// (Cloudflare Workers: host/cloudflare's DurableState).
	State State

	// MaxBodyBytes bounds request bodies; default 16 KiB.
	MaxBodyBytes int64

	// Logger receives operational logs; default slog.Default(). Logs never
	// carry health data.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// AfterFunc is the timer of the host's timeouts on the request path
	// (PreloadTimeout, the audit write's): nil is Go's (time.AfterFunc). On
	// Cloudflare Workers, cloudflare.AfterFunc: a JS timer of the request
	// (see host/internal/deadline).
	AfterFunc func(d time.Duration, f func()) (stop func() bool)

	// Plugins, when set, are called at the hook points of host/plugin: before
	// a booking (which a plugin may refuse), after a booking and after a
	// cancellation. Nil means none. Host.Close closes it when it is an
	// io.Closer (host/plugin/wazero's Set is).
	Plugins plugin.Plugins

	// Links are shown on the host's home page, for example the demo
	// hospital page: text -> URL.
	Links []Link
}

// DefaultWritesPerAddressPerMinute is Config.WritesPerAddressPerMinute's
// default.
const DefaultWritesPerAddressPerMinute = 120

// DefaultBookingsPerHour is Config.BookingsPerHour's default.
const DefaultBookingsPerHour = 20

// DefaultMaxFutureAppointments is Config.MaxFutureAppointments' default.
const DefaultMaxFutureAppointments = 20

// Link is a labelled address for the home page.
type Link struct {
	Text, URL string
}

// Establishment is an establishment served by the host and the origins
// (scheme://host[:port]) of the pages allowed to embed its widgets.
type Establishment struct {
	ID      string
	Origins []string
	// Theme is the establishment's default theme of its widgets: values of
	// the custom properties ThemeKeys names (without the --parcours-
	// prefix), each a plain CSS colour, length or font list. A page's own
	// theme attributes win over it.
	Theme map[string]string
}

// Host is the edge host's handler.
type Host struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessionStore
	assets   *assetSet
	origins  map[string][]string          // every served establishment -> its allowed embedding origins
	themes   map[string]map[string]string // establishment -> its default theme
	allowed  map[string]bool              // every allowed origin, for CORS
	routes   []route
	handler  http.Handler
	// messageLimit bounds a message request's body (0 without
	// Config.Messaging); messageRate counts the messages of each person.
	messageLimit int64
	messageRate  *rateLimiter
	// documentLimit bounds an upload's body (0 without Config.Documents).
	documentLimit int64
	uploadRate    *rateLimiter
	// signin is the relying party of Config.IdentityProviders (nil
	// without); signInRate counts the sign-ins started per address.
	signin     *signIn
	signInRate *rateLimiter
	bookRate   *rateLimiter // bookings per patient
	submitRate *rateLimiter // questionnaire submissions per patient
	// addressRate counts the writes per client address; lookupRate, the
	// RPPS look-ups per patient.
	addressRate *rateLimiter
	lookupRate  *rateLimiter
	publicHTTPS bool
}

// New returns the host's handler for cfg, or an error naming what is wrong
// with cfg.
func New(cfg Config) (*Host, error) {
	if cfg.Booking == nil || cfg.Directory == nil {
		return nil, errors.New("host: Config.Booking and Config.Directory are required")
	}
	if len(cfg.Establishments) == 0 {
		return nil, errors.New("host: Config.Establishments needs at least one establishment")
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MessagesPerMinute <= 0 {
		cfg.MessagesPerMinute = DefaultMessagesPerMinute
	}
	if cfg.UploadsPerHour <= 0 {
		cfg.UploadsPerHour = DefaultUploadsPerHour
	}
	if cfg.BookingsPerHour <= 0 {
		cfg.BookingsPerHour = DefaultBookingsPerHour
	}
	if cfg.MaxFutureAppointments <= 0 {
		cfg.MaxFutureAppointments = DefaultMaxFutureAppointments
	}
	if cfg.SignInsPerMinute <= 0 {
		cfg.SignInsPerMinute = DefaultSignInsPerMinute
	}
	if cfg.WritesPerAddressPerMinute <= 0 {
		cfg.WritesPerAddressPerMinute = DefaultWritesPerAddressPerMinute
	}
	if cfg.ClientAddressHeader != "" && !validHeaderName(cfg.ClientAddressHeader) {
		return nil, fmt.Errorf("host: ClientAddressHeader %q is not a header name", cfg.ClientAddressHeader)
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("host: PublicURL %q must be scheme://host[:port]", cfg.PublicURL)
		}
	}
	if len(cfg.IdentityProviders) > 0 && cfg.Accounts == nil {
		return nil, errors.New("host: Config.IdentityProviders need Config.Accounts")
	}
	h := &Host{
		cfg:     cfg,
		log:     cfg.Logger,
		mux:     http.NewServeMux(),
		origins: map[string][]string{},
		themes:  map[string]map[string]string{},
		allowed: map[string]bool{},
	}
	for _, e := range cfg.Establishments {
		if e.ID == "" {
			return nil, errors.New("host: an establishment has no ID")
		}
		h.origins[e.ID] = nil // served, even with no embedding origin
		for k, v := range e.Theme {
			if err := CheckTheme(k, v); err != nil {
				return nil, fmt.Errorf("host: establishment %s: theme %s: %w", e.ID, k, err)
			}
		}
		if len(e.Theme) > 0 {
			h.themes[e.ID] = e.Theme
		}
		for _, o := range e.Origins {
			norm, err := NormalizeOrigin(o)
			if err != nil {
				return nil, fmt.Errorf("host: establishment %s: %w", e.ID, err)
			}
			h.origins[e.ID] = append(h.origins[e.ID], norm)
			h.allowed[norm] = true
		}
	}
	if cfg.State == nil {
		cfg.State = NewMemoryState(cfg.Now, 0)
		h.cfg.State = cfg.State
	}
	h.sessions = &sessionStore{st: cfg.State, idle: cfg.SessionIdle, max: cfg.SessionMax, now: cfg.Now}
	h.publicHTTPS = strings.HasPrefix(cfg.PublicURL, "https://")
	if len(cfg.IdentityProviders) > 0 {
		si, err := newSignIn(cfg)
		if err != nil {
			return nil, err
		}
		h.signin = si
	}
	h.signInRate = newRateLimiter("signin", cfg.SignInsPerMinute, time.Minute, cfg.State, cfg.Now)
	h.bookRate = newRateLimiter("book", cfg.BookingsPerHour, time.Hour, cfg.State, cfg.Now)
	h.submitRate = newRateLimiter("submit", SubmissionsPerHour, time.Hour, cfg.State, cfg.Now)
	h.addressRate = newRateLimiter("address", cfg.WritesPerAddressPerMinute, time.Minute, cfg.State, cfg.Now)
	h.lookupRate = newRateLimiter("lookup", LookupsPerMinute, time.Minute, cfg.State, cfg.Now)
	if cfg.Messaging != nil {
		h.messageLimit = messageBodyLimit(maxAttachmentSize(cfg.Messaging))
		h.messageRate = newRateLimiter("message", cfg.MessagesPerMinute, time.Minute, cfg.State, cfg.Now)
	}
	if cfg.Documents != nil {
		h.documentLimit = documentBodyLimit(maxDocumentSize(cfg.Documents))
		h.uploadRate = newRateLimiter("upload", cfg.UploadsPerHour, time.Hour, cfg.State, cfg.Now)
	}
	assets, err := loadAssets(cfg.Assets, cfg.AssetPaths)
	if err != nil {
		return nil, err
	}
	h.assets = assets
	h.routes = h.apiRoutes()
	h.register()
	h.handler = h.recoverer(h.transportSecurity(h.mux))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// Close closes Config.Plugins when it is an io.Closer.
func (h *Host) Close() error {
	if c, ok := h.cfg.Plugins.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// NormalizeOrigin checks that s is a bare origin (scheme://host[:port], no
// path, query or user) and returns it in lower case.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port])", s)
	}
	host, port := u.Hostname(), u.Port()
	if !validHost(host) || (port != "" && !validPort(port)) {
		return "", fmt.Errorf("%q is not an origin: the host must be a DNS name or an IP address", s)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// validHost accepts an IP address or an ASCII DNS name (internationalised
// names must be given in their punycode form, as browsers send them). It
// keeps anything that could add a directive to a CSP out of the origins.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i] | 0x20
			if !(c >= 'a' && c <= 'z' || label[i] >= '0' && label[i] <= '9' || label[i] == '-') {
				return false
			}
		}
	}
	return true
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536 && strconv.Itoa(n) == p
}

func (h *Host) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, r, portal.Errorf(portal.ErrInternal, "panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// transportSecurity adds HSTS to every answer given over HTTPS (one year;
// browsers then refuse plain HTTP to this host).
func (h *Host) transportSecurity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.secure(r) {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Host) register() {
	h.mux.HandleFunc("GET /{$}", h.home)
	h.mux.HandleFunc("GET /parcours.js", h.loader)
	h.mux.HandleFunc("GET /a/{file}", h.asset)
	// Widget documents are compressed: the first screen and its state are
	// about 40 KB raw, 5 KB gzipped, which is 170 ms on a slow phone link.
	// (No BREACH exposure: a cross-site request carries no session, the
	// cookie being SameSite=Lax, and a document holds no secret token.)
	document := compressed(http.HandlerFunc(h.widgetDocument))
	h.mux.Handle("GET /w/{widget}", document)
	// Form posts of the server-rendered widgets: same-origin only (the
	// session cookie is SameSite=Lax; this also refuses cross-origin posts).
	formCSRF := http.NewCrossOriginProtection()
	formCSRF.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.widgetError(w, r, http.StatusForbidden, requestLang(r))
	}))
	h.mux.Handle("POST /w/{widget}", formCSRF.Handler(document))
	h.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusNoContent)
	})
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok\n")
	})
	if h.signin != nil {
		h.mux.HandleFunc("GET /auth/signin", h.startSignIn)
		h.mux.HandleFunc("GET /auth/callback", h.signInCallback)
	}
	h.mux.HandleFunc("GET /auth/signin.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(signInScript)
	})
	api := h.apiHandler()
	h.mux.Handle("/api/", api)
}
