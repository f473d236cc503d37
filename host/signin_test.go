package host_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/idp"
	"github.com/parcours-sante/parcours/host/internal/syncbuf"
	"github.com/parcours-sante/parcours/host/oidc"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// idpKey is shared by the tests' providers: generating it is the slowest
// part of starting one.
var idpKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// signInEnv is a host whose sign-in goes to a real OpenID provider
// (host/idp) over loopback HTTP, with the demo accounts plus one account
// linked to nothing.
type signInEnv struct {
	host, idp string
	store     *sqlite.Store
	logs      *syncbuf.Buffer
	handler   *host.Host
}

const unlinkedEmail = "inconnu@example.test"

func newSignInEnv(t *testing.T, configure func(*host.Config)) *signInEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/signin.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &signInEnv{host: "http://" + hostLn.Addr().String(), idp: "http://" + idpLn.Addr().String(), store: store, logs: &syncbuf.Buffer{}}
	// Every log line of the host and of the provider, at debug level: the
	// tests scan them for secrets.
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	users := append(idp.UsersFromDemo(demoid.Accounts), idp.User{
		Subject: "fc-unlinked", Password: demoid.Password, GivenName: "Inconnu", FamilyName: "Sans Dossier", Email: unlinkedEmail,
	})
	p, err := idp.New(idp.Config{
		Issuer:     e.idp,
		Clients:    []idp.Client{{ID: "parcours-test", RedirectURIs: []string{e.host + "/auth/callback"}}},
		Users:      users,
		Logger:     log,
		SigningKey: idpKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv := &httptest.Server{Listener: idpLn, Config: &http.Server{Handler: p}}
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)
	cfg := host.Config{
		Booking: store, Directory: store, Documents: store.Documents(), Messaging: store.Messaging(), CareTeam: store,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: []string{pageOrigin}}},
		IdentityProviders: []host.IdentityProvider{{Name: demoid.Provider,
			OIDC: oidc.Config{Issuer: e.idp, ClientID: "parcours-test"}}},
		PublicURL: e.host,
		Accounts:  store,
		Audit:     store,
		Logger:    log,
	}
	if configure != nil {
		configure(&cfg)
	}
	h, err := host.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	e.handler = h
	hostSrv := &httptest.Server{Listener: hostLn, Config: &http.Server{Handler: h}}
	hostSrv.Start()
	t.Cleanup(hostSrv.Close)
	return e
}

// browser is one browser: its own cookie jar, following redirects.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), header: resp.Header}
}

func (b *browser) get(u string) page {
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)
var formRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// submit posts the page's form with its hidden fields and the given ones.
func (b *browser) submit(pg page, fields url.Values) page {
	b.t.Helper()
	m := formRE.FindStringSubmatch(pg.body)
	if m == nil {
		b.t.Fatalf("no form at %s (%d):\n%s", pg.url, pg.status, pg.body)
	}
	v := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(pg.body, -1) {
		v.Set(h[1], html.UnescapeString(h[2]))
	}
	for k, vs := range fields {
		v[k] = vs
	}
	action, _ := pg.url.Parse(html.UnescapeString(m[1]))
	req, _ := http.NewRequest("POST", action.String(), strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn goes through the provider's pages from the host's sign-in URL
// and returns the last page (the host's, after the callback).
func (b *browser) signIn(start, email string, totpSecret string) page {
	b.t.Helper()
	pg := b.get(start)
	if pg.status != 200 || !strings.Contains(pg.body, `name="password"`) {
		b.t.Fatalf("sign-in page: %d %s\n%s", pg.status, pg.url, pg.body)
	}
	pg = b.submit(pg, url.Values{"username": {email}, "password": {demoid.Password}})
	if totpSecret != "" {
		code, err := totp.GenerateCode(totpSecret, time.Now())
		if err != nil {
			b.t.Fatal(err)
		}
		pg = b.submit(pg, url.Values{"code": {code}})
	}
	return pg
}

func (b *browser) session(base string) client.SessionBody {
	b.t.Helper()
	pg := b.get(base + "/api/v1/session")
	var s client.SessionBody
	if pg.status != 200 || json.Unmarshal([]byte(pg.body), &s) != nil {
		b.t.Fatalf("session: %d %s", pg.status, pg.body)
	}
	return s
}

func (b *browser) cookie(base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func challenge(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func TestSignInTopLevel(t *testing.T) {
	e := newSignInEnv(t, nil)
	b := newBrowser(t)
	ret := "/w/booking?establishment=chu-exemple"
	pg := b.signIn(e.host+"/auth/signin?provider=demo&return="+url.QueryEscape(ret), "camille.durand@example.test", "")
	if pg.status != 200 || pg.url.String() != e.host+ret {
		t.Fatalf("after the callback: %d at %s, want the widget at %s", pg.status, pg.url, ret)
	}
	if s := b.session(e.host); s.Patient == nil || s.Patient.ID != sqlite.DemoPatientCamilleDurand {
		t.Fatalf("session %+v, want Camille Durand", s)
	}
	if b.cookie(e.host, "parcours_login") != "" {
		t.Error("the binding cookie outlived the callback")
	}
	// Audit: the sign-in is recorded with its person.
	events, err := e.store.AuditEvents(context.Background(), portal.AuditQuery{Patient: sqlite.DemoPatientCamilleDurand})
	if err != nil {
		t.Fatal(err)
	}
	if !hasAudit(events, "signIn", portal.AuditSuccess, sqlite.DemoPatientCamilleDurand) {
		t.Errorf("no successful signIn audit record for Camille Durand: %+v", events)
	}
}

func hasAudit(events []portal.AuditEvent, op string, outcome portal.AuditOutcome, agent string) bool {
	for _, e := range events {
		if e.Operation == op && e.Outcome == outcome && e.Agent == agent {
			return true
		}
	}
	return false
}

// TestSignInPractitionerSecondFactor: a practitioner's account needs the
// one-time code; the session is a practitioner's.
func TestSignInPractitionerSecondFactor(t *testing.T) {
	e := newSignInEnv(t, nil)
	b := newBrowser(t)
	var claire demoid.Account
	for _, a := range demoid.Accounts {
		if a.Person == sqlite.DemoPractitionerClaireMartin {
			claire = a
		}
	}
	pg := b.signIn(e.host+"/auth/signin?provider=demo&return=/w/inbox", claire.Email, claire.TOTPSecret)
	if pg.status != 200 {
		t.Fatalf("after the callback: %d %s", pg.status, pg.body)
	}
	if s := b.session(e.host); s.Practitioner == nil || s.Practitioner.ID != sqlite.DemoPractitionerClaireMartin || s.Patient != nil {
		t.Fatalf("session %+v, want Claire Martin, practitioner", s)
	}
}

// TestSignInPopupHandoff: the frame's flow. The popup's browser context
// ends on the "signed in" page without a host session; the frame, another
// cookie jar (its partition), takes the session with its verifier, once.
func TestSignInPopupHandoff(t *testing.T) {
	e := newSignInEnv(t, nil)
	popup, frame, thief := newBrowser(t), newBrowser(t), newBrowser(t)
	verifier := strings.Repeat("v", 20) + base64.RawURLEncoding.EncodeToString([]byte("a frame's secret of 256 bits!!"))
	pg := popup.signIn(e.host+"/auth/signin?provider=demo&return=/w/booking&handoff="+challenge(verifier), "lucas.bernard@example.test", "")
	if pg.status != 200 || !strings.Contains(pg.body, "data-parcours-signed-in") || !strings.Contains(pg.body, `src="/auth/signin.js"`) {
		t.Fatalf("popup's last page: %d %s", pg.status, pg.body)
	}
	if s := popup.session(e.host); s.Patient != nil {
		t.Fatalf("the popup got the session itself: %+v", s)
	}
	redeem := func(b *browser, v string) int {
		req, _ := http.NewRequest("POST", e.host+"/api/v1/session/handoff", strings.NewReader(fmt.Sprintf(`{"verifier":%q}`, v)))
		req.Header.Set("Content-Type", "application/json")
		return b.do(req).status
	}
	if s := redeem(thief, verifier[:len(verifier)-1]+"w"); s != 404 {
		t.Errorf("a wrong verifier: %d, want 404", s)
	}
	if s := redeem(frame, verifier); s != 204 {
		t.Fatalf("the frame's verifier: %d, want 204", s)
	}
	if s := frame.session(e.host); s.Patient == nil || s.Patient.ID != sqlite.DemoPatientLucasBernard {
		t.Fatalf("frame session %+v, want Lucas Bernard", s)
	}
	if s := redeem(thief, verifier); s != 404 {
		t.Errorf("the same verifier again: %d, want 404 (single use)", s)
	}
	if s := thief.session(e.host); s.Patient != nil {
		t.Errorf("the thief got a session: %+v", s)
	}
	// A malformed handoff challenge is refused before the provider.
	if pg := newBrowser(t).get(e.host + "/auth/signin?provider=demo&handoff=short"); pg.status != 400 {
		t.Errorf("malformed handoff: %d, want 400", pg.status)
	}
}

// TestSignInCallbackRefusals: the state must be a pending sign-in of this
// very browser, used once; a provider error, an unknown provider and an
// account linked to no record are refused with a page and no session.
func TestSignInCallbackRefusals(t *testing.T) {
	e := newSignInEnv(t, nil)
	// Stop at the host's callback: take the provider's redirect by hand.
	capture := func(b *browser, start, email string) string {
		b.hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.URL.Path == "/auth/callback" {
				return http.ErrUseLastResponse
			}
			return nil
		}
		defer func() { b.hc.CheckRedirect = nil }()
		pg := b.get(start)
		pg = b.submit(pg, url.Values{"username": {email}, "password": {demoid.Password}})
		loc := pg.header.Get("Location")
		if !strings.Contains(loc, "/auth/callback?") {
			t.Fatalf("no redirect to the callback: %d %q %s", pg.status, loc, pg.body)
		}
		return loc
	}
	start := e.host + "/auth/signin?provider=demo"
	victim, attacker := newBrowser(t), newBrowser(t)
	callback := capture(attacker, start, "camille.durand@example.test")
	// Login CSRF: the attacker's callback in the victim's browser.
	if pg := victim.get(callback); pg.status != 400 || victim.session(e.host).Patient != nil {
		t.Errorf("another browser's callback: %d, session %+v; want 400 and none", pg.status, victim.session(e.host))
	}
	// Used once: the attacker's own browser cannot use it any more.
	if pg := attacker.get(callback); pg.status != 400 || attacker.session(e.host).Patient != nil {
		t.Errorf("a callback used twice: %d", pg.status)
	}
	b := newBrowser(t)
	cb := capture(b, start, "camille.durand@example.test")
	u, _ := url.Parse(cb)
	q := u.Query()
	for name, mutate := range map[string]func(url.Values){
		"no state": func(v url.Values) { v.Del("state") },
		"wrong state": func(v url.Values) {
			// Another first character: a state may itself start with "x".
			st := v.Get("state")
			first := "x"
			if st[0] == 'x' {
				first = "y"
			}
			v.Set("state", first+st[1:])
		},
	} {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		mutate(v)
		if pg := b.get(e.host + "/auth/callback?" + v.Encode()); pg.status != 400 {
			t.Errorf("%s: %d, want 400", name, pg.status)
		}
	}
	if pg := b.get(cb); pg.status != 200 || b.session(e.host).Patient == nil {
		t.Errorf("the right callback after refused ones: %d", pg.status)
	}

	// The provider's error answer.
	b = newBrowser(t)
	cb = capture(b, start, "camille.durand@example.test")
	u, _ = url.Parse(cb)
	q = u.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	if pg := b.get(e.host + "/auth/callback?" + q.Encode()); pg.status != 401 || b.session(e.host).Patient != nil {
		t.Errorf("provider error: %d", pg.status)
	}
	// A code that is not the provider's.
	b = newBrowser(t)
	cb = capture(b, start, "camille.durand@example.test")
	u, _ = url.Parse(cb)
	q = u.Query()
	q.Set("code", "forged-code")
	if pg := b.get(e.host + "/auth/callback?" + q.Encode()); pg.status != 401 || b.session(e.host).Patient != nil {
		t.Errorf("forged code: %d %s", pg.status, pg.body)
	}
	// An account linked to no record.
	b = newBrowser(t)
	if pg := b.signIn(start, unlinkedEmail, ""); pg.status != 403 || !strings.Contains(pg.body, "admissions") || b.session(e.host).Patient != nil {
		t.Errorf("unlinked account: %d %s", pg.status, pg.body)
	}
	// An unknown provider.
	if pg := newBrowser(t).get(e.host + "/auth/signin?provider=nowhere"); pg.status != 404 {
		t.Errorf("unknown provider: %d", pg.status)
	}
	// The refusals are audited, without a person.
	events, _ := e.store.AuditEvents(context.Background(), portal.AuditQuery{})
	denied := 0
	for _, ev := range events {
		if ev.Operation == "signIn" && ev.Outcome == portal.AuditDenied {
			denied++
		}
	}
	if denied < 6 {
		t.Errorf("%d refused sign-ins audited, want at least 6", denied)
	}
}

// TestSignInAuthorizationRequest: the host asks for the code flow with
// PKCE S256, a state and a nonce, and its exact callback.
func TestSignInAuthorizationRequest(t *testing.T) {
	e := newSignInEnv(t, nil)
	b := newBrowser(t)
	b.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	pg := b.get(e.host + "/auth/signin?provider=demo")
	if pg.status != http.StatusSeeOther {
		t.Fatalf("sign-in start: %d", pg.status)
	}
	loc, _ := url.Parse(pg.header.Get("Location"))
	q := loc.Query()
	for k, want := range map[string]string{
		"response_type": "code", "code_challenge_method": "S256", "client_id": "parcours-test",
		"redirect_uri": e.host + "/auth/callback", "ui_locales": "fr",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("%s = %q: want 256 bits", k, q.Get(k))
		}
	}
	if !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("scope %q", q.Get("scope"))
	}
	if !strings.HasPrefix(loc.String(), e.idp+"/") {
		t.Errorf("redirect to %s, want the provider", loc)
	}
	if pg.header.Get("Referrer-Policy") != "no-referrer" || pg.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", pg.header)
	}
}

// TestSignInRotatesAndSignsOut: a sign-in replaces the browser's previous
// session (no fixation), and after sign-out the old cookie is worth
// nothing.
func TestSignInRotatesAndSignsOut(t *testing.T) {
	e := newSignInEnv(t, func(c *host.Config) { c.DemoSignIn = true })
	b := newBrowser(t)
	req, _ := http.NewRequest("POST", e.host+"/api/v1/demo/session", strings.NewReader(`{"patient":"pat-ines-moreau"}`))
	req.Header.Set("Content-Type", "application/json")
	if pg := b.do(req); pg.status != 200 {
		t.Fatalf("demo sign-in: %d", pg.status)
	}
	planted := b.cookie(e.host, "parcours_session")
	b.signIn(e.host+"/auth/signin?provider=demo", "camille.durand@example.test", "")
	fresh := b.cookie(e.host, "parcours_session")
	if fresh == "" || fresh == planted {
		t.Fatalf("the session was not rotated at sign-in")
	}
	stale := newBrowser(t)
	u, _ := url.Parse(e.host)
	stale.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "parcours_session", Value: planted}})
	if s := stale.session(e.host); s.Patient != nil {
		t.Errorf("the previous session still works: %+v", s)
	}
	req, _ = http.NewRequest("DELETE", e.host+"/api/v1/session", nil)
	if pg := b.do(req); pg.status != 204 {
		t.Fatalf("sign-out: %d", pg.status)
	}
	replay := newBrowser(t)
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "parcours_session", Value: fresh}})
	if s := replay.session(e.host); s.Patient != nil {
		t.Errorf("the session works after sign-out: %+v", s)
	}
}

// TestSignInRateLimit: sign-ins started from one address are bounded.
func TestSignInRateLimit(t *testing.T) {
	e := newSignInEnv(t, func(c *host.Config) { c.SignInsPerMinute = 2 })
	b := newBrowser(t)
	b.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i := range 2 {
		if pg := b.get(e.host + "/auth/signin?provider=demo"); pg.status != http.StatusSeeOther {
			t.Fatalf("sign-in %d: %d", i+1, pg.status)
		}
	}
	pg := b.get(e.host + "/auth/signin?provider=demo")
	if pg.status != http.StatusTooManyRequests || pg.header.Get("Retry-After") == "" {
		t.Errorf("third sign-in in a minute: %d, Retry-After %q", pg.status, pg.header.Get("Retry-After"))
	}
}

// TestSignInLogsHoldNoSecret runs every sign-in path with the host and the
// provider logging at debug level, then looks for each secret that
// travelled in the logs: passwords, one-time codes and their seeds,
// cookies, the frame's verifier, codes and tokens, and the INS.
func TestSignInLogsHoldNoSecret(t *testing.T) {
	e := newSignInEnv(t, nil)
	var secrets []string
	b := newBrowser(t)
	b.signIn(e.host+"/auth/signin?provider=demo", "camille.durand@example.test", "")
	secrets = append(secrets, b.cookie(e.host, "parcours_session"))
	var claire demoid.Account
	for _, a := range demoid.Accounts {
		if a.Kind == demoid.Patient {
			secrets = append(secrets, a.INS)
		} else {
			secrets = append(secrets, a.TOTPSecret)
		}
		if a.Person == sqlite.DemoPractitionerClaireMartin {
			claire = a
		}
	}
	pro := newBrowser(t)
	pro.signIn(e.host+"/auth/signin?provider=demo", claire.Email, claire.TOTPSecret)
	secrets = append(secrets, pro.cookie(e.host, "parcours_session"))
	// A wrong password, a wrong code.
	w := newBrowser(t)
	pg := w.get(e.host + "/auth/signin?provider=demo")
	w.submit(pg, url.Values{"username": {"camille.durand@example.test"}, "password": {"Wrong-Password-42"}})
	secrets = append(secrets, "Wrong-Password-42", demoid.Password)
	// The popup flow.
	verifier := base64.RawURLEncoding.EncodeToString([]byte("the frame's verifier, 32 bytes!!"))
	popup := newBrowser(t)
	popup.hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" {
			secrets = append(secrets, req.URL.Query().Get("code"), req.URL.Query().Get("state"))
		}
		return nil
	}
	popup.signIn(e.host+"/auth/signin?provider=demo&handoff="+challenge(verifier), "lucas.bernard@example.test", "")
	secrets = append(secrets, verifier)
	frame := newBrowser(t)
	req, _ := http.NewRequest("POST", e.host+"/api/v1/session/handoff", strings.NewReader(fmt.Sprintf(`{"verifier":%q}`, verifier)))
	req.Header.Set("Content-Type", "application/json")
	frame.do(req)
	secrets = append(secrets, frame.cookie(e.host, "parcours_session"))

	logs := e.logs.String()
	if !strings.Contains(logs, "sign-in") {
		t.Fatalf("no sign-in logged at all: the scan would prove nothing:\n%s", logs)
	}
	for _, s := range secrets {
		if s == "" {
			t.Error("a secret of the scenario is empty: the scan would prove nothing")
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold a secret (%d characters, starting %q)", len(s), s[:3])
		}
	}
}
