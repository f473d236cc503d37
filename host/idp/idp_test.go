package idp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/idp"
	"github.com/parcours-sante/parcours/host/internal/syncbuf"
)

const (
	clientID    = "parcours-test"
	redirectURI = "http://127.0.0.1:1/auth/callback"
	logoutURI   = "http://127.0.0.1:1/"
	patient     = "camille.durand@example.test"
	doctor      = "claire.martin@chu-exemple.example.org"
	doctorTOTP  = "VLIAIQ4L6PNCAIQQF7GVWKX3UZV635VK"
)

// TestMain silences zitadel's protocol logs (it logs to slog.Default).
// Every log line of the tests, the provider's and zitadel's, is kept to
// check that no secret is ever logged.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	os.Exit(m.Run())
}

var logs syncbuf.Buffer

// noSecretLogged fails if any of the secrets is in the logs.
func noSecretLogged(t *testing.T, secrets ...string) {
	t.Helper()
	all := logs.String()
	if !strings.Contains(all, "idp: signed in") {
		t.Fatal("the logs were not captured")
	}
	for _, s := range secrets {
		if s != "" && regexp.MustCompile(`(^|[^0-9A-Za-z])`+regexp.QuoteMeta(s)+`([^0-9A-Za-z]|$)`).MatchString(all) {
			t.Errorf("secret %q logged", s)
		}
	}
}

// testKey is shared by every provider of the tests: RSA key generation
// is the slowest part of New.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a provider on a loopback server and a relying party driving it:
// a browser-like client (cookie jar, redirects followed within the
// provider) and golang.org/x/oauth2 + go-oidc for the protocol.
type env struct {
	clock    *clock
	issuer   string
	browser  *http.Client
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	ctx      context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	clk := &clock{t: time.Now()}
	p, err := idp.New(idp.Config{
		Issuer:     issuer,
		Clients:    []idp.Client{{ID: clientID, RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{logoutURI}}},
		Users:      idp.UsersFromDemo(demoid.Accounts),
		Now:        clk.Now,
		SigningKey: testKey(),
		Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if "http://"+req.URL.Host != issuer {
				return http.ErrUseLastResponse // stop at the relying party
			}
			return nil
		}}
	ctx := oidc.ClientContext(context.Background(), srv.Client())
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		clock: clk, issuer: issuer, browser: browser, ctx: ctx,
		oauth: &oauth2.Config{ClientID: clientID, RedirectURL: redirectURI, Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
	}
}

type page struct {
	status int
	header http.Header
	body   string
	loc    *url.URL // Location of a redirect to the relying party
}

func (e *env) do(t *testing.T, req *http.Request) page {
	t.Helper()
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pg := page{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if loc := resp.Header.Get("Location"); loc != "" {
		pg.loc, _ = resp.Location()
	}
	return pg
}

func (e *env) get(t *testing.T, u string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	return e.do(t, req)
}

var (
	formRe   = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// form reads the page's form: its action and hidden fields.
func form(t *testing.T, pg page) (string, url.Values) {
	t.Helper()
	m := formRe.FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatalf("no form in page (status %d):\n%s", pg.status, pg.body)
	}
	v := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(pg.body, -1) {
		v.Set(h[1], html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), v
}

func (e *env) post(t *testing.T, action string, v url.Values) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.issuer+action, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(t, req)
}

// flow is one authorization request.
type flow struct {
	verifier, state, nonce string
	login                  page
}

func (e *env) start(t *testing.T, extra ...oauth2.AuthCodeOption) *flow {
	t.Helper()
	f := &flow{verifier: oauth2.GenerateVerifier(), state: rand.Text(), nonce: rand.Text()}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)}, extra...)
	f.login = e.get(t, e.oauth.AuthCodeURL(f.state, opts...))
	if f.login.status != http.StatusOK {
		t.Fatalf("authorize: status %d, want the sign-in page: %s", f.login.status, f.login.body)
	}
	return f
}

func (e *env) password(t *testing.T, pg page, user, pw string) page {
	t.Helper()
	action, v := form(t, pg)
	v.Set("username", user)
	v.Set("password", pw)
	return e.post(t, action, v)
}

func (e *env) otp(t *testing.T, pg page, code string) page {
	t.Helper()
	action, v := form(t, pg)
	v.Set("code", code)
	return e.post(t, action, v)
}

// code reads the authorization response at the relying party.
func (f *flow) code(t *testing.T, pg page) string {
	t.Helper()
	if pg.loc == nil || !strings.HasPrefix(pg.loc.String(), redirectURI+"?") {
		t.Fatalf("want a redirect to the relying party, got status %d, Location %v:\n%s", pg.status, pg.loc, pg.body)
	}
	q := pg.loc.Query()
	if q.Get("state") != f.state {
		t.Fatalf("state %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", pg.loc)
	}
	return q.Get("code")
}

func (e *env) exchange(t *testing.T, f *flow, code string) (*oidc.IDToken, error) {
	t.Helper()
	tok, err := e.oauth.Exchange(e.ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := e.verifier.Verify(e.ctx, raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != f.nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, f.nonce)
	}
	return idt, nil
}

type claims struct {
	Sub        string   `json:"sub"`
	GivenName  string   `json:"given_name"`
	FamilyName string   `json:"family_name"`
	Email      string   `json:"email"`
	AMR        []string `json:"amr"`
	ACR        string   `json:"acr"`
	AuthTime   int64    `json:"auth_time"`
	Nonce      string   `json:"nonce"`
}

func wantGrantError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Fatalf("exchange error %v, want %s", err, code)
	}
}

func TestPatientSignIn(t *testing.T) {
	e := newEnv(t)
	f := e.start(t)
	if !strings.Contains(f.login.body, `lang="fr"`) || !strings.Contains(f.login.body, "Connexion") {
		t.Errorf("sign-in page is not French first:\n%s", f.login.body)
	}
	for _, s := range []string{`autocomplete="username"`, `autocomplete="current-password"`, `<label for="username">`, `<label for="password">`} {
		if !strings.Contains(f.login.body, s) {
			t.Errorf("sign-in page lacks %s", s)
		}
	}
	if strings.Contains(f.login.body, "Démonstration") {
		t.Error("demo hints shown without DemoHints")
	}
	code := f.code(t, e.password(t, f.login, "  Camille.Durand@example.test ", demoid.Password))
	idt, err := e.exchange(t, f, code)
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	want := claims{Sub: "fc-7f3a9c21", GivenName: "Camille", FamilyName: "Durand", Email: patient,
		AMR: []string{"pwd"}, ACR: idp.ACRPatient, AuthTime: e.clock.Now().Unix(), Nonce: f.nonce}
	if c.Sub != want.Sub || c.GivenName != want.GivenName || c.FamilyName != want.FamilyName || c.Email != want.Email ||
		!slices.Equal(c.AMR, want.AMR) || c.ACR != want.ACR || c.AuthTime != want.AuthTime || c.Nonce != want.Nonce {
		t.Errorf("claims %+v, want %+v", c, want)
	}
}

func TestPractitionerTOTP(t *testing.T) {
	e := newEnv(t)
	f := e.start(t)
	otpPage := e.password(t, f.login, doctor, demoid.Password)
	if otpPage.status != http.StatusOK || !strings.Contains(otpPage.body, `autocomplete="one-time-code"`) ||
		!strings.Contains(otpPage.body, `inputmode="numeric"`) {
		t.Fatalf("want the one-time-code page, got %d:\n%s", otpPage.status, otpPage.body)
	}
	good, err := totp.GenerateCode(doctorTOTP, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if good == wrong {
		wrong = "111111"
	}
	bad := e.otp(t, otpPage, wrong)
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, `role="alert"`) ||
		!strings.Contains(bad.body, `aria-describedby="form-error"`) || bad.loc != nil {
		t.Fatalf("wrong code: status %d:\n%s", bad.status, bad.body)
	}
	code := f.code(t, e.otp(t, bad, good))
	idt, err := e.exchange(t, f, code)
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	_ = idt.Claims(&c)
	if c.Sub != "psc-4e1f0a77" || !slices.Equal(c.AMR, []string{"pwd", "otp"}) || c.ACR != idp.ACRPractitioner {
		t.Errorf("claims %+v", c)
	}
	defer func() { noSecretLogged(t, demoid.Password, doctorTOTP, good, wrong, code) }()

	// Another browser knowing the request id cannot take over the
	// one-time-code step of a sign-in whose password was given.
	f3 := e.start(t)
	otp3 := e.password(t, f3.login, doctor, demoid.Password)
	_, v := form(t, otp3)
	jar, _ := cookiejar.New(nil)
	other := &env{issuer: e.issuer, browser: &http.Client{Jar: jar, CheckRedirect: e.browser.CheckRedirect}}
	if pg := other.get(t, e.issuer+"/login/otp?id="+v.Get("id")); pg.status != http.StatusForbidden || strings.Contains(pg.body, "<form") {
		t.Fatalf("one-time-code page for another browser: status %d", pg.status)
	}
	if pg := other.get(t, e.issuer+"/login?id="+v.Get("id")); pg.status != http.StatusForbidden || strings.Contains(pg.body, "<form") {
		t.Fatalf("sign-in page for another browser: status %d", pg.status)
	}

	// The same code, in a second sign-in within its validity: refused.
	f2 := e.start(t)
	otp2 := e.password(t, f2.login, doctor, demoid.Password)
	replay := e.otp(t, otp2, good)
	if replay.status != http.StatusUnauthorized || replay.loc != nil || !strings.Contains(replay.body, "Code incorrect ou déjà utilisé.") {
		t.Fatalf("replayed code: status %d, Location %v", replay.status, replay.loc)
	}
	// The next step's code is accepted (±1 step skew).
	next, _ := totp.GenerateCode(doctorTOTP, e.clock.Now().Add(30*time.Second))
	f2.code(t, e.otp(t, replay, next))
}

func TestAuthorizeRefused(t *testing.T) {
	e := newEnv(t)
	base, _ := url.Parse(e.oauth.Endpoint.AuthURL)
	for _, tc := range []struct {
		name   string
		params map[string]string
		// errorRedirect: an invalid_request redirect to the registered
		// URI; otherwise an error page and no redirect at all.
		errorRedirect bool
		wantErr       string // default invalid_request
	}{
		{"prompt=none", map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S256", "prompt": "none"}, true, "login_required"},
		{"plain PKCE", map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "plain"}, true, ""},
		{"PKCE without method (plain)", map[string]string{"code_challenge": strings.Repeat("a", 43)}, true, ""},
		{"no code_challenge", map[string]string{}, true, ""},
		{"S256 without challenge", map[string]string{"code_challenge_method": "S256"}, true, ""},
		{"form_post", map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S256", "response_mode": "form_post"}, true, ""},
		{"unregistered redirect_uri", map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S256",
			"redirect_uri": "http://127.0.0.1:1/evil"}, false, ""},
		{"foreign redirect_uri", map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S256",
			"redirect_uri": "https://evil.example/auth/callback"}, false, ""},
		{"unknown client", map[string]string{"code_challenge": strings.Repeat("a", 43), "code_challenge_method": "S256",
			"client_id": "nobody"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
				"scope": {"openid profile"}, "state": {"st4te"}, "nonce": {"n0nce"}}
			for k, v := range tc.params {
				q.Set(k, v)
			}
			u := *base
			u.RawQuery = q.Encode()
			pg := e.get(t, u.String())
			if tc.errorRedirect {
				want := tc.wantErr
				if want == "" {
					want = "invalid_request"
				}
				if pg.loc == nil || !strings.HasPrefix(pg.loc.String(), redirectURI+"?") ||
					pg.loc.Query().Get("error") != want || pg.loc.Query().Get("state") != "st4te" {
					t.Fatalf("want an invalid_request redirect, got %d %v: %s", pg.status, pg.loc, pg.body)
				}
				return
			}
			if pg.loc != nil || pg.status != http.StatusBadRequest {
				t.Fatalf("want an error page, got %d, Location %v", pg.status, pg.loc)
			}
		})
	}
}

func TestCodeExchange(t *testing.T) {
	e := newEnv(t)
	signIn := func(t *testing.T) (*flow, string) {
		f := e.start(t)
		return f, f.code(t, e.password(t, f.login, patient, demoid.Password))
	}
	t.Run("wrong verifier", func(t *testing.T) {
		f, code := signIn(t)
		f.verifier = oauth2.GenerateVerifier()
		_, err := e.exchange(t, f, code)
		wantGrantError(t, err, "invalid_grant")
	})
	t.Run("no verifier", func(t *testing.T) {
		_, code := signIn(t)
		_, err := e.oauth.Exchange(e.ctx, code)
		if err == nil {
			t.Fatal("exchange without code_verifier succeeded")
		}
	})
	t.Run("reused", func(t *testing.T) {
		f, code := signIn(t)
		if _, err := e.exchange(t, f, code); err != nil {
			t.Fatal(err)
		}
		_, err := e.exchange(t, f, code)
		wantGrantError(t, err, "invalid_grant")
	})
	t.Run("expired", func(t *testing.T) {
		f, code := signIn(t)
		e.clock.Add(61 * time.Second)
		_, err := e.exchange(t, f, code)
		wantGrantError(t, err, "invalid_grant")
	})
	t.Run("just in time", func(t *testing.T) {
		f, code := signIn(t)
		e.clock.Add(59 * time.Second)
		if _, err := e.exchange(t, f, code); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWrongPasswordLockout(t *testing.T) {
	e := newEnv(t)
	f := e.start(t)
	pg := f.login
	// An unknown user gets the same generic error as a wrong password.
	pg = e.password(t, pg, "nobody@example.test", "wrong password")
	if pg.status != http.StatusUnauthorized || !strings.Contains(pg.body, "Adresse e-mail ou mot de passe incorrect.") {
		t.Fatalf("unknown user: status %d:\n%s", pg.status, pg.body)
	}
	for i := range 5 {
		pg = e.password(t, pg, patient, "wrong password")
		if pg.status != http.StatusUnauthorized || pg.loc != nil {
			t.Fatalf("attempt %d: status %d", i+1, pg.status)
		}
		if !strings.Contains(pg.body, "Adresse e-mail ou mot de passe incorrect.") || !strings.Contains(pg.body, `role="alert"`) {
			t.Fatalf("attempt %d: no generic error:\n%s", i+1, pg.body)
		}
	}
	// The 6th attempt, even with the right password, is refused.
	pg = e.password(t, pg, patient, demoid.Password)
	if pg.status != http.StatusTooManyRequests || !strings.Contains(pg.body, "Trop de tentatives") || pg.loc != nil {
		t.Fatalf("6th attempt: status %d:\n%s", pg.status, pg.body)
	}
	// Another account is not locked.
	f2 := e.start(t)
	f2.code(t, e.password(t, f2.login, "lucas.bernard@example.test", demoid.Password))
	// Once the window has passed, the account signs in again.
	e.clock.Add(15 * time.Minute)
	f3 := e.start(t)
	f3.code(t, e.password(t, f3.login, patient, demoid.Password))
}

func TestIPLimit(t *testing.T) {
	e := newEnv(t)
	f := e.start(t)
	pg := f.login
	for i := range 20 {
		pg = e.password(t, pg, "user"+string(rune('a'+i))+"@example.test", "wrong")
		if pg.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, pg.status)
		}
	}
	pg = e.password(t, pg, patient, demoid.Password)
	if pg.status != http.StatusTooManyRequests {
		t.Fatalf("21st attempt from one address: status %d", pg.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	f := e.start(t)
	action, v := form(t, f.login)
	v.Set("username", patient)
	v.Set("password", demoid.Password)

	noToken := url.Values{"id": {v.Get("id")}, "username": {patient}, "password": {demoid.Password}}
	if pg := e.post(t, action, noToken); pg.status != http.StatusForbidden || pg.loc != nil {
		t.Fatalf("no CSRF token: status %d", pg.status)
	}
	wrong := url.Values{"id": {v.Get("id")}, "csrf": {"x" + v.Get("csrf")}, "username": {patient}, "password": {demoid.Password}}
	if pg := e.post(t, action, wrong); pg.status != http.StatusForbidden || pg.loc != nil {
		t.Fatalf("wrong CSRF token: status %d", pg.status)
	}
	// Right token, no cookie (another browser): refused.
	other := &http.Client{CheckRedirect: e.browser.CheckRedirect}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+action, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := other.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF cookie: status %d", resp.StatusCode)
	}
	// The cookie.
	u, _ := url.Parse(e.issuer + "/login")
	var found bool
	for _, c := range e.browser.Jar.Cookies(u) {
		found = found || strings.HasPrefix(c.Name, "idp_csrf_")
	}
	if !found {
		t.Fatal("no CSRF cookie set on /login")
	}
	if sc := f.login.header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Path=/login") {
		t.Errorf("CSRF cookie attributes: %s", sc)
	}
	// The genuine form still works.
	f.code(t, e.post(t, action, v))
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	f := e.start(t)
	pages := map[string]page{
		"sign-in":   f.login,
		"error":     e.get(t, e.issuer+"/login?id=nope"),
		"discovery": e.get(t, e.issuer+"/.well-known/openid-configuration"),
		"jwks":      e.get(t, e.issuer+"/keys"),
		"css":       e.get(t, e.issuer+"/idp.css"),
	}
	for name, pg := range pages {
		csp := pg.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q", name, csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if got := pg.header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", name, h, got, want)
			}
		}
		if strings.Contains(strings.ToLower(pg.body), "<script") || strings.Contains(pg.body, " style=") || strings.Contains(pg.body, "<style") {
			t.Errorf("%s: inline script or style", name)
		}
	}
	// The sign-in page may submit to its relying party's origin (the
	// redirect that follows the form post), and only to it.
	if csp := f.login.header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "form-action 'self' http://127.0.0.1:1") {
		t.Errorf("sign-in CSP %q", csp)
	}
	if pages["error"].status != http.StatusBadRequest || !strings.Contains(pages["error"].body, `role="alert"`) {
		t.Errorf("unknown request: %d", pages["error"].status)
	}
}

func TestEnglish(t *testing.T) {
	e := newEnv(t)
	f := e.start(t, oauth2.SetAuthURLParam("ui_locales", "en"), oauth2.SetAuthURLParam("login_hint", patient))
	if !strings.Contains(f.login.body, `value="`+patient+`"`) {
		t.Errorf("login_hint not prefilled")
	}
	if !strings.Contains(f.login.body, `lang="en"`) || !strings.Contains(f.login.body, "Password") {
		t.Fatalf("ui_locales=en: not English:\n%s", f.login.body)
	}
	pg := e.password(t, f.login, patient, "nope")
	if !strings.Contains(pg.body, "Incorrect e-mail address or password.") {
		t.Fatalf("English error:\n%s", pg.body)
	}
	// Accept-Language alone.
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/login?id=unknown", nil)
	req.Header.Set("Accept-Language", "en-GB,en;q=0.8,fr;q=0.5")
	if pg := e.do(t, req); !strings.Contains(pg.body, `lang="en"`) {
		t.Fatalf("Accept-Language en: %s", pg.body)
	}
}

func TestEndSession(t *testing.T) {
	e := newEnv(t)
	pg := e.get(t, e.issuer+"/end_session?client_id="+clientID+"&post_logout_redirect_uri="+url.QueryEscape(logoutURI)+"&state=bye")
	if pg.loc == nil || !strings.HasPrefix(pg.loc.String(), logoutURI) || pg.loc.Query().Get("state") != "bye" {
		t.Fatalf("end_session: %d %v %s", pg.status, pg.loc, pg.body)
	}
	pg = e.get(t, e.issuer+"/end_session?client_id="+clientID+"&post_logout_redirect_uri="+url.QueryEscape("https://evil.example/"))
	if pg.loc != nil {
		t.Fatalf("end_session redirected to an unregistered URI: %v", pg.loc)
	}
	pg = e.get(t, e.issuer+"/end_session")
	if pg.status != http.StatusOK || !strings.Contains(pg.body, "Vous êtes déconnecté") {
		t.Fatalf("end_session without client: %d %s", pg.status, pg.body)
	}
}

func TestDemoHints(t *testing.T) {
	srv := httptest.NewServer(nil)
	defer srv.Close()
	p, err := idp.New(idp.Config{Issuer: srv.URL, DemoHints: true, SigningKey: testKey(),
		Clients: []idp.Client{{ID: clientID, RedirectURIs: []string{redirectURI}}},
		Users:   idp.UsersFromDemo(demoid.Accounts)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	e := &env{issuer: srv.URL, oauth: &oauth2.Config{ClientID: clientID, RedirectURL: redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/authorize"}, Scopes: []string{"openid"}}}
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if "http://"+req.URL.Host != srv.URL {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	f := e.start(t)
	for _, s := range []string{"Démonstration", demoid.Password, patient, doctor} {
		if !strings.Contains(f.login.body, s) {
			t.Errorf("demo sign-in page lacks %q", s)
		}
	}
	otpPage := e.password(t, f.login, doctor, demoid.Password)
	m := regexp.MustCompile(`<code>(\d{6})</code>`).FindStringSubmatch(otpPage.body)
	if m == nil || !strings.Contains(otpPage.body, "Démonstration") {
		t.Fatalf("demo one-time-code page shows no code:\n%s", otpPage.body)
	}
	f.code(t, e.otp(t, otpPage, m[1]))
}

func TestNewValidation(t *testing.T) {
	ok := idp.Client{ID: "c", RedirectURIs: []string{"https://rp.example/cb"}}
	for _, tc := range []struct {
		name string
		cfg  idp.Config
	}{
		{"no issuer", idp.Config{Clients: []idp.Client{ok}}},
		{"http non-loopback issuer", idp.Config{Issuer: "http://idp.example", Clients: []idp.Client{ok}}},
		{"issuer with path", idp.Config{Issuer: "https://idp.example/x", Clients: []idp.Client{ok}}},
		{"issuer trailing slash", idp.Config{Issuer: "https://idp.example/", Clients: []idp.Client{ok}}},
		{"no client", idp.Config{Issuer: "https://idp.example"}},
		{"http non-loopback redirect", idp.Config{Issuer: "https://idp.example",
			Clients: []idp.Client{{ID: "c", RedirectURIs: []string{"http://rp.example/cb"}}}}},
		{"practitioner without TOTP", idp.Config{Issuer: "https://idp.example", Clients: []idp.Client{ok},
			Users: []idp.User{{Subject: "s", Password: "p", Email: "a@b.c", Practitioner: true}}}},
		{"duplicate e-mail", idp.Config{Issuer: "https://idp.example", Clients: []idp.Client{ok},
			Users: []idp.User{{Subject: "s", Password: "p", Email: "a@b.c"}, {Subject: "t", Password: "p", Email: "A@b.c"}}}},
		{"bad TOTP secret", idp.Config{Issuer: "https://idp.example", Clients: []idp.Client{ok},
			Users: []idp.User{{Subject: "s", Password: "p", Email: "a@b.c", TOTPSecret: "not base32!", Practitioner: true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SigningKey = testKey()
			if _, err := idp.New(tc.cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

// A confidential client authenticates with its secret (client_secret_basic).
func TestConfidentialClient(t *testing.T) {
	srv := httptest.NewServer(nil)
	defer srv.Close()
	p, err := idp.New(idp.Config{Issuer: srv.URL, SigningKey: testKey(),
		Clients: []idp.Client{{ID: "conf", Secret: "s3cret", RedirectURIs: []string{redirectURI}}},
		Users:   idp.UsersFromDemo(demoid.Accounts)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	jar, _ := cookiejar.New(nil)
	ctx := oidc.ClientContext(context.Background(), srv.Client())
	prov, err := oidc.NewProvider(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{issuer: srv.URL, ctx: ctx, browser: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if "http://"+req.URL.Host != srv.URL {
			return http.ErrUseLastResponse
		}
		return nil
	}}, oauth: &oauth2.Config{ClientID: "conf", ClientSecret: "s3cret", RedirectURL: redirectURI, Endpoint: prov.Endpoint(),
		Scopes: []string{"openid", "email"}}, verifier: prov.Verifier(&oidc.Config{ClientID: "conf"})}
	f := e.start(t)
	code := f.code(t, e.password(t, f.login, patient, demoid.Password))
	wrong := *e.oauth
	wrong.ClientSecret = "nope"
	if _, err := wrong.Exchange(ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Fatal("wrong client secret accepted")
	}
	f2 := e.start(t)
	code = f2.code(t, e.password(t, f2.login, patient, demoid.Password))
	if _, err := e.exchange(t, f2, code); err != nil {
		t.Fatal(err)
	}
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	var d struct {
		Issuer        string   `json:"issuer"`
		ResponseTypes []string `json:"response_types_supported"`
		GrantTypes    []string `json:"grant_types_supported"`
		PKCE          []string `json:"code_challenge_methods_supported"`
		Device        string   `json:"device_authorization_endpoint"`
		EndSession    string   `json:"end_session_endpoint"`
		JWKS          string   `json:"jwks_uri"`
	}
	pg := e.get(t, e.issuer+"/.well-known/openid-configuration")
	if err := json.Unmarshal([]byte(pg.body), &d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != e.issuer || !slices.Equal(d.ResponseTypes, []string{"code"}) || !slices.Equal(d.GrantTypes, []string{"authorization_code"}) ||
		!slices.Equal(d.PKCE, []string{"S256"}) || d.Device != "" || d.EndSession != e.issuer+"/end_session" || d.JWKS != e.issuer+"/keys" {
		t.Errorf("discovery: %+v", d)
	}
}
