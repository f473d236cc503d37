// Command parcours runs the Parcours edge host.
//
//	parcours serve    the standalone host (flags or PARCOURS_* environment)
//	parcours demo     the host on an embedded, seeded SQLite database with the
//	                  demo sign-in, plus a sample hospital page on another origin
//	parcours snippet  print the embed code (script tag with SRI + element)
//	parcours questionnaire check|score  support report and scoring of FHIR
//	                  Questionnaires (docs/questionnaires.md)
//
// Run `parcours <command> -h` for the flags of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	hospitalsite "github.com/parcours-sante/parcours/examples/hospital-site"
	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/notify"
	"github.com/parcours-sante/parcours/host/oidc"
	"github.com/parcours-sante/parcours/sdk/portal"

	"github.com/parcours-sante/parcours/host/internal/loopback"
)

const usage = `parcours: the Parcours edge host

usage:
  parcours serve   [flags]   run the host
  parcours demo    [flags]   run the demo (seeded database, demo sign-in, sample hospital page)
  parcours snippet [flags]   print the embed snippet for a hospital page
  parcours questionnaire check|score ...   support report / scoring of a FHIR Questionnaire
  parcours audit export|verify ...        export the audit log (FHIR NDJSON) / check its hash chain

Run "parcours <command> -h" for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:], false, os.Stdout)
	case "demo":
		err = serve(ctx, os.Args[2:], true, os.Stdout)
	case "snippet":
		err = snippet(os.Args[2:], os.Stdout)
	case "questionnaire":
		err = questionnaireCmd(os.Args[2:], os.Stdout)
		if errors.Is(err, errRefused) {
			os.Exit(1)
		}
	case "audit":
		err = auditCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "parcours: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "parcours:", err)
		os.Exit(1)
	}
}

// options are the settings of serve and demo.
type options struct {
	addr       string
	siteAddr   string
	idpAddr    string // the demo identity provider's listen address
	db         string
	attachDir  string // the attachment directory; "" keeps attachments in the database
	assets     string
	origins    string
	config     string // the configuration file of the establishments; "" for the demo establishment alone
	publicURL  string // host.Config.PublicURL
	demoSignIn bool
	seed       bool
	logLevel   string
	perMinute  int // host.Config.MessagesPerMinute (0: its default)
	perHour    int // host.Config.UploadsPerHour (0: its default)
	// perAddress is host.Config.WritesPerAddressPerMinute (0: its default);
	// addrHeader, host.Config.ClientAddressHeader.
	perAddress int
	addrHeader string
	// releaseDelay releases a sensitive document by itself that long after
	// it was filed (sqlite.WithReleaseDelay); 0: only a practitioner does.
	releaseDelay time.Duration
	plugins      pluginOptions
	smtp         smtpOptions
}

// smtpOptions configure the e-mails of messaging notifications; without an
// SMTP address none is sent.
type smtpOptions struct {
	addr, from, user, hello string
	startTLS                bool
	patientLink, teamLink   string
	lease, interval         time.Duration
}

func (o *smtpOptions) register(fset *flag.FlagSet) {
	fset.StringVar(&o.addr, "smtp", env("PARCOURS_SMTP", ""), "host:port of the SMTP server for message notifications; empty sends none (env PARCOURS_SMTP)")
	fset.StringVar(&o.from, "smtp-from", env("PARCOURS_SMTP_FROM", ""), "sender of the notifications, e.g. \"Parcours <ne-pas-repondre@chu.example>\" (env PARCOURS_SMTP_FROM)")
	fset.BoolVar(&o.startTLS, "smtp-starttls", env("PARCOURS_SMTP_STARTTLS", "1") == "1", "require STARTTLS (env PARCOURS_SMTP_STARTTLS=0 turns it off, for a relay on loopback)")
	fset.StringVar(&o.user, "smtp-user", env("PARCOURS_SMTP_USER", ""), "SMTP user (PLAIN, requires STARTTLS); the password comes from env PARCOURS_SMTP_PASSWORD only (env PARCOURS_SMTP_USER)")
	fset.StringVar(&o.hello, "smtp-hello", env("PARCOURS_SMTP_HELLO", ""), "name given in EHLO (env PARCOURS_SMTP_HELLO; default localhost)")
	fset.StringVar(&o.patientLink, "notify-patient-link", env("PARCOURS_NOTIFY_PATIENT_LINK", ""), "URL of the patient portal put in patients' notifications; empty: no link (env PARCOURS_NOTIFY_PATIENT_LINK)")
	fset.StringVar(&o.teamLink, "notify-team-link", env("PARCOURS_NOTIFY_TEAM_LINK", ""), "URL of the care-team inbox put in care teams' notifications; empty: no link (env PARCOURS_NOTIFY_TEAM_LINK)")
	fset.DurationVar(&o.lease, "notify-lease", notify.DefaultLease, "how long a claimed notification waits before it is tried again if not acknowledged, at least 1s (env PARCOURS_NOTIFY_LEASE)")
	fset.DurationVar(&o.interval, "notify-interval", notify.DefaultInterval, "pause of the notification sender once the outbox is empty or after a failure (env PARCOURS_NOTIFY_INTERVAL)")
}

// sender returns the notification sender the options describe, or nil
// without an SMTP address.
func (o smtpOptions) sender(outbox portal.Notifications, contacts portal.Contacts, log *slog.Logger) (*notify.Sender, error) {
	if o.addr == "" {
		return nil, nil
	}
	if o.from == "" {
		return nil, errors.New("-smtp needs -smtp-from (env PARCOURS_SMTP_FROM)")
	}
	s := &notify.Sender{
		Store:    outbox,
		Contacts: contacts,
		SMTP: notify.SMTP{
			Addr: o.addr, From: o.from, StartTLS: o.startTLS, Hello: o.hello,
			Username: o.user, Password: os.Getenv("PARCOURS_SMTP_PASSWORD"),
		},
		PatientLink: o.patientLink,
		TeamLink:    o.teamLink,
		Lease:       o.lease,
		Interval:    o.interval,
		Logger:      log,
	}
	// A mistake stops the start, not the first notification.
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parseOptions(args []string, demo bool, out io.Writer) (options, error) {
	name := "serve"
	if demo {
		name = "demo"
	}
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(out)
	port := env("PORT", "8080")
	var o options
	db := "parcours.db"
	if demo {
		db = "build/demo.db"
	}
	fset.StringVar(&o.addr, "addr", env("PARCOURS_ADDR", "127.0.0.1:"+port), "listen address of the host (env PARCOURS_ADDR; PORT sets the port)")
	fset.StringVar(&o.db, "db", env("PARCOURS_DB", db), "SQLite database file (env PARCOURS_DB)")
	fset.StringVar(&o.attachDir, "attachments", env("PARCOURS_ATTACHMENTS", ""), "directory of the message attachments' files (created with mode 0700; back it up with the database); empty keeps them in the database (env PARCOURS_ATTACHMENTS)")
	fset.StringVar(&o.assets, "assets", env("PARCOURS_ASSETS", "build/web"), "directory of the built Wasm files, from make web (env PARCOURS_ASSETS)")
	fset.StringVar(&o.origins, "origins", env("PARCOURS_ORIGINS", ""), "comma-separated origins of the hospital pages allowed to embed the widgets (env PARCOURS_ORIGINS)")
	fset.StringVar(&o.config, "config", env("PARCOURS_CONFIG", ""), "configuration file of the establishments served, each with its backend (SQLite or a FHIR server) and embedding origins; see docs/operations.md (env PARCOURS_CONFIG)")
	fset.StringVar(&o.publicURL, "public-url", env("PARCOURS_PUBLIC_URL", ""), "the host's address as browsers reach it, https://… in production (behind a TLS-terminating proxy it makes the session cookie Secure, __Host- and partitioned); the identity providers' callback is this URL + /auth/callback (env PARCOURS_PUBLIC_URL)")
	o.plugins.register(fset)
	o.smtp.register(fset)
	fset.StringVar(&o.logLevel, "log-level", env("PARCOURS_LOG_LEVEL", "info"), "debug, info, warn or error (env PARCOURS_LOG_LEVEL)")
	fset.IntVar(&o.perMinute, "messages-per-minute", 0, "messages one person may write per minute (burst and refill); 0 is 10 (env PARCOURS_MESSAGES_PER_MINUTE)")
	fset.IntVar(&o.perHour, "uploads-per-hour", 0, "documents one patient may upload per hour (burst and refill); 0 is 20 (env PARCOURS_UPLOADS_PER_HOUR)")
	fset.IntVar(&o.perAddress, "writes-per-address-per-minute", 0, "writes (bookings, messages, uploads, grants) and RPPS look-ups one client address may make per minute, across accounts; 0 is 120 (env PARCOURS_WRITES_PER_ADDRESS_PER_MINUTE)")
	fset.StringVar(&o.addrHeader, "client-address-header", env("PARCOURS_CLIENT_ADDRESS_HEADER", ""), "behind a proxy that is the only way in, the header carrying the client's address: CF-Connecting-IP, X-Real-IP, or X-Forwarded-For (its last address); empty: the connection's (env PARCOURS_CLIENT_ADDRESS_HEADER)")
	fset.DurationVar(&o.releaseDelay, "release-delay", 0, "a sensitive result is shown to its patient that long after it was filed if no practitioner released it before, e.g. 720h; 0 (the default): only a practitioner releases it (env PARCOURS_RELEASE_DELAY)")
	// Flags whose default may come from the environment and needs parsing.
	for name, v := range map[string]string{
		"notify-lease":                  "PARCOURS_NOTIFY_LEASE",
		"notify-interval":               "PARCOURS_NOTIFY_INTERVAL",
		"messages-per-minute":           "PARCOURS_MESSAGES_PER_MINUTE",
		"uploads-per-hour":              "PARCOURS_UPLOADS_PER_HOUR",
		"writes-per-address-per-minute": "PARCOURS_WRITES_PER_ADDRESS_PER_MINUTE",
		"release-delay":                 "PARCOURS_RELEASE_DELAY",
	} {
		if s := os.Getenv(v); s != "" {
			if err := fset.Set(name, s); err != nil {
				return o, fmt.Errorf("%s: %w", v, err)
			}
		}
	}
	if demo {
		fset.StringVar(&o.siteAddr, "site-addr", env("PARCOURS_SITE_ADDR", "127.0.0.1:"+env("SITE_PORT", "8081")), "listen address of the sample hospital page (env PARCOURS_SITE_ADDR; SITE_PORT sets the port)")
		fset.StringVar(&o.idpAddr, "idp-addr", env("PARCOURS_IDP_ADDR", "127.0.0.1:"+env("IDP_PORT", "8082")), "listen address of the demo identity provider, an OpenID Connect provider of the demo accounts (env PARCOURS_IDP_ADDR; IDP_PORT sets the port)")
		fset.BoolVar(&o.demoSignIn, "demo-signin", env("PARCOURS_DEMO_SIGNIN", "") == "1", "also offer the picker of fictional patients, without the identity provider (env PARCOURS_DEMO_SIGNIN=1)")
		o.seed = true
	} else {
		fset.BoolVar(&o.demoSignIn, "demo-signin", env("PARCOURS_DEMO_SIGNIN", "") == "1", "enable the demo sign-in (loopback addresses only; env PARCOURS_DEMO_SIGNIN=1)")
		fset.BoolVar(&o.seed, "seed", env("PARCOURS_SEED", "") == "1", "load the demo data (idempotent; env PARCOURS_SEED=1)")
	}
	if err := fset.Parse(args); err != nil {
		return o, err
	}
	if fset.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fset.Arg(0))
	}
	if o.perMinute < 0 {
		return o, errors.New("-messages-per-minute must not be negative")
	}
	if o.config != "" && o.origins != "" {
		return o, errors.New("-origins and -config: give the origins of each establishment in the configuration file")
	}
	if o.config != "" && o.releaseDelay != 0 {
		return o, errors.New("-release-delay and -config: give each establishment's release_delay in the configuration file")
	}
	if o.perHour < 0 {
		return o, errors.New("-uploads-per-hour must not be negative")
	}
	if o.perAddress < 0 {
		return o, errors.New("-writes-per-address-per-minute must not be negative")
	}
	if o.releaseDelay < 0 {
		return o, errors.New("-release-delay must not be negative")
	}
	return o, nil
}

// CheckDemoAddr refuses the demo sign-in on anything but a loopback address:
// it lets anyone act as a patient.
func CheckDemoAddr(addr string) error {
	ok, err := loopback.Addr(addr)
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("the demo sign-in lets anyone act as a patient: refusing it on %q (use a loopback address such as 127.0.0.1)", addr)
}

func newLogger(level string, out io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: l})), nil
}

func serve(ctx context.Context, args []string, demo bool, out io.Writer) error {
	o, err := parseOptions(args, demo, out)
	if err != nil {
		return err
	}
	if o.demoSignIn {
		if err := CheckDemoAddr(o.addr); err != nil {
			return err
		}
	}
	log, err := newLogger(o.logLevel, os.Stderr)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(o.db); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	store, err := sqlite.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer store.Close()
	if o.seed {
		if err := store.Seed(ctx, time.Now()); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
	}
	sender, err := o.smtp.sender(store.Messaging(), store.Contacts(), log)
	if err != nil {
		return err
	}
	var senders []*notify.Sender
	if sender != nil {
		senders = append(senders, sender)
	}
	messaging := store.Messaging(sqlite.WithAttachmentDir(o.attachDir))
	if err := messaging.CheckAttachmentDir(); err != nil {
		return err
	}
	// Files a crash left between an attachment's file and its commit.
	if n, err := messaging.SweepAttachmentFiles(ctx, time.Hour); err != nil {
		log.Warn("sweeping orphan attachment files", "dir", o.attachDir, "err", err)
	} else if n > 0 {
		log.Info("orphan attachment files removed", "dir", o.attachDir, "count", n)
	}

	// Listen first so that the origins are known (a port of 0 picks one).
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	hostOrigin := "http://" + ln.Addr().String()
	var siteLn net.Listener
	origins := splitList(o.origins)
	if demo {
		if siteLn, err = net.Listen("tcp", o.siteAddr); err != nil {
			return err
		}
		defer siteLn.Close()
		origins = append(origins, "http://"+siteLn.Addr().String())
	}

	var assets fs.FS
	if _, err := os.Stat(filepath.Join(o.assets, "parcours.wasm")); err == nil {
		assets = os.DirFS(o.assets)
	} else {
		log.Warn("no Wasm assets: widgets show their first paint only; run `make web`", "dir", o.assets)
	}
	var banner strings.Builder
	plugins, stopPlugins, err := loadPlugins(ctx, o.plugins, demo, log, &banner)
	if err != nil {
		return err
	}
	defer stopPlugins()
	cfg := host.Config{
		Booking:        store,
		Directory:      store,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: origins}},
		Questionnaires: store,
		Messaging:      messaging,
		Documents:      store.Documents(sqlite.WithReleaseDelay(sqlite.DemoEstablishment, o.releaseDelay)),
		Consents:       store,
		Practitioners:  store,
		CareTeam:       store,
		Assets:         assets,
		DemoSignIn:     o.demoSignIn,
		Logger:         log,
		PublicURL:      o.publicURL,
		// The people the identity providers sign in are linked to the
		// records in the SQLite store, and the audit of every
		// establishment's health data goes to it (docs/security.md).
		Accounts: store,
		Audit:    store,
	}
	cfg.MessagesPerMinute, cfg.UploadsPerHour = o.perMinute, o.perHour
	cfg.WritesPerAddressPerMinute, cfg.ClientAddressHeader = o.perAddress, o.addrHeader
	if demo && o.config == "" {
		// The demo's second establishment, on a FHIR server, when node and
		// the server's npm packages are here (`make demo` installs them).
		nord, err := startFHIRDemo(ctx, log)
		if err != nil {
			log.Info("demo: CH Nord (the second establishment, on a FHIR server) is off; the demo runs on SQLite alone", "reason", err)
			fmt.Fprintf(&banner, "  (CH Nord, the second establishment on a FHIR server, is off: %v)\n", err)
		} else {
			defer nord.Stop()
			sites := siteConfig{Establishments: []establishmentConfig{
				{ID: sqlite.DemoEstablishment, Backend: backendConfig{Type: backendSQLite}},
				{ID: fhir.DemoEstablishment, Backend: backendConfig{Type: backendFHIR, URL: nord.Base}},
			}}
			if o.releaseDelay > 0 {
				sites.Establishments[0].ReleaseDelay = o.releaseDelay.String()
			}
			r, err := sites.sites(store, messaging, os.Getenv, origins, log)
			if err != nil {
				return err
			}
			r.apply(&cfg)
			if senders, err = r.addSenders(senders, o.smtp, log); err != nil {
				return err
			}
			fmt.Fprintf(&banner, "  CH Nord, the second establishment, is served from a FHIR server: %s\n", nord.Base)
		}
	}
	if o.config != "" {
		// Several establishments, each on its own backend: every call is
		// routed to its establishment's.
		sites, err := loadSiteConfig(o.config, os.Getenv)
		if err != nil {
			return err
		}
		r, err := sites.sites(store, messaging, os.Getenv, origins, log)
		if err != nil {
			return err
		}
		r.apply(&cfg)
		if senders, err = r.addSenders(senders, o.smtp, log); err != nil {
			return err
		}
		if sites.PublicURL != "" {
			cfg.PublicURL = sites.PublicURL
		}
		cfg.IdentityProviders = sites.identityProviders(os.Getenv)
		log.Info("establishments from the configuration file", "file", o.config, "establishments", r.booking.Establishments())
	}
	if plugins != nil {
		cfg.Plugins = plugins // closed by h.Close
	}
	if demo {
		// The demo's identity provider: a real OpenID Connect provider of
		// the demo accounts, on its own origin.
		idpLn, err := net.Listen("tcp", o.idpAddr)
		if err != nil {
			return err
		}
		defer idpLn.Close()
		idpURL, err := startDemoIdP(idpLn, hostOrigin, log)
		if err != nil {
			return err
		}
		cfg.IdentityProviders = []host.IdentityProvider{{Name: demoid.Provider, OIDC: oidc.Config{Issuer: idpURL, ClientID: demoClientID}}}
		cfg.PublicURL = hostOrigin
		fmt.Fprintf(&banner, "  sign-in: the demo identity provider %s (every account's password: %s; practitioners add the one-time code the sign-in page shows)\n", idpURL, demoid.Password)
		cfg.Links = []host.Link{{Text: "Page de démonstration d'un site hospitalier (CHU Exemple)", URL: "http://" + siteLn.Addr().String() + "/"}}
	}
	h, err := host.New(cfg)
	if err != nil {
		if plugins != nil {
			plugins.Close()
		}
		return err
	}
	defer h.Close()

	servers := []*http.Server{newServer(h, log)}
	listeners := []net.Listener{ln}
	if demo {
		site := hospitalsite.Handler(hospitalsite.Config{HostOrigin: hostOrigin, LoaderSRI: host.LoaderSRI()})
		servers = append(servers, newServer(site, log))
		listeners = append(listeners, siteLn)
		siteURL := "http://" + siteLn.Addr().String()
		fmt.Fprintf(out, "Parcours demo\n  hospital page: %s/   (English: %s/en/)\n  questionnaire: %s/inscription/\n  messages:      %s/messagerie/   (care team: %s/equipe/)\n  documents:     %s/documents/\n  my record:     %s/acces/   (who read it; access for a GP: RPPS 10000009992)\n  regional page: %s/region/   (every establishment)\n  host:          %s/\n  database:      %s\n%s\nEmbed snippet:\n%s\nPress Ctrl+C to stop.\n",
			siteURL, siteURL, siteURL, siteURL, siteURL, siteURL, siteURL, siteURL, hostOrigin, o.db, banner.String(), host.Snippet(hostOrigin, sqlite.DemoEstablishment, sqlite.ServiceMaternite, "fr"))
	} else {
		fmt.Fprintf(out, "Parcours host listening on %s\n%s", hostOrigin, banner.String())
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	senderCtx, stopSender := context.WithCancel(ctx)
	senderDone := make(chan struct{})
	var sending sync.WaitGroup
	for _, s := range senders {
		// One sender per outbox: the SQLite store's, and each FHIR
		// establishment's.
		sending.Go(func() { s.Run(senderCtx) }) // settings checked above: returns on cancel
	}
	go func() { sending.Wait(); close(senderDone) }()
	if len(senders) == 0 {
		log.Info("no SMTP server (-smtp): message notifications stay in the outbox")
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shutdownCtx)
	}
	// Stop the sender after the servers, before the store closes; what it
	// claimed and did not deliver comes back after the lease.
	stopSender()
	<-senderDone
	return serveErr
}

func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func snippet(args []string, out io.Writer) error {
	fset := flag.NewFlagSet("snippet", flag.ContinueOnError)
	fset.SetOutput(out)
	base := fset.String("host", env("PARCOURS_PUBLIC_URL", "http://127.0.0.1:"+env("PORT", "8080")), "public origin of the Parcours host")
	est := fset.String("establishment", sqlite.DemoEstablishment, "establishment id")
	service := fset.String("service", "", "service id to preselect (optional)")
	quest := fset.String("questionnaire", "", "a questionnaire id: embed <parcours-questionnaire> instead of <parcours-booking>")
	widget := fset.String("widget", "", "booking (default), questionnaire, messages, inbox, documents or access")
	lang := fset.String("lang", "fr", "fr or en")
	pageOrigin := fset.String("page", "", "origin of the page that embeds the widget (https://www.chu-exemple.fr): the element then carries its frame, requested while the page is parsed")
	theme := fset.String("theme", "", "with -page: the --parcours-* properties the page's CSS gives the element, as name=value,… (primary=#5b2a86,radius=6px)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *widget == "" && *quest != "" {
		*widget = "questionnaire"
	}
	e := host.Embed{Base: *base, Widget: *widget, Page: *pageOrigin}
	switch *widget {
	case "", "booking":
		e.Widget = "booking"
		e.Attrs = [][2]string{{"establishment", *est}, {"service", *service}}
	case "questionnaire":
		if *quest == "" {
			return errors.New("snippet: -widget questionnaire needs -questionnaire ID")
		}
		e.Attrs = [][2]string{{"establishment", *est}, {"questionnaire", *quest}}
	case "messages":
		e.Attrs = [][2]string{{"establishment", *est}, {"service", *service}}
	case "inbox", "documents", "access":
		e.Attrs = [][2]string{{"establishment", *est}}
	default:
		return fmt.Errorf("snippet: unknown widget %q (booking, questionnaire, messages, inbox, documents or access)", *widget)
	}
	e.Attrs = append(e.Attrs, [2]string{"lang", *lang})
	for _, kv := range splitList(*theme) {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || value == "" {
			return fmt.Errorf("snippet: -theme %q: want name=value,…", *theme)
		}
		e.Theme = append(e.Theme, [2]string{name, value})
	}
	if len(e.Theme) > 0 && e.Page == "" {
		return errors.New("snippet: -theme goes with -page (it is for the frame's address)")
	}
	html, err := e.HTML()
	if err != nil {
		return fmt.Errorf("snippet: %w", err)
	}
	fmt.Fprint(out, html)
	return nil
}
