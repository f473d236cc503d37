package idp

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Attempt limits of the sign-in pages (wrong passwords and wrong codes
// count alike), over a sliding window measured with Config.Now.
const (
	// attemptWindow is the window of the limits.
	attemptWindow = 15 * time.Minute
	// maxAccountFailures wrong attempts per sign-in name (existing or not,
	// so the lockout tells nothing about which accounts exist) lock that
	// name until the oldest failure leaves the window.
	maxAccountFailures = 5
	// maxIPFailures wrong attempts per client address (the connection's
	// address: no proxy header is trusted) lock that address likewise.
	maxIPFailures = 20
	// maxFormBytes bounds a sign-in form's body.
	maxFormBytes = 8 << 10
	// csrfCookieMaxAge is the CSRF cookie's lifetime, the authorization
	// request's.
	csrfCookieMaxAge = int(authRequestLifetime / time.Second)
)

// limiter counts failures per key in a sliding window.
type limiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

func newLimiter() *limiter { return &limiter{fails: map[string][]time.Time{}} }

// recent returns the key's failures still in the window; called with mu held.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= attemptWindow {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = f
	return f
}

func (l *limiter) blocked(key string, max int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, now)) >= max
}

func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 100_000 { // bound memory: forget expired keys
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	l.fails[key] = append(l.recent(key, now), now)
}

// totpCode is the RFC 6238 code (SHA-1, 6 digits, 30 s) of a time step.
func totpCode(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
}

// equalSecret compares two secrets in constant time, lengths included.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// normalizeName is the sign-in name as looked up and rate limited.
func normalizeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normalizeCode drops the spaces a user may type in a code and returns
// it if it is exactly six ASCII digits.
func normalizeCode(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '-' {
			return -1
		}
		return r
	}, s)
	if len(s) != 6 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s, true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func csrfCookieName(id string) string { return "idp_csrf_" + id }

// validID reports whether id looks like one of the storage's request ids
// (base64url), so it can name a cookie.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pageCSRF returns the request's CSRF token for a sign-in page and sets
// its cookie. The first page of a request draws the token; later pages
// (an error, the one-time-code step) are only served to the browser
// holding it, so the sign-in started in one browser cannot be continued
// from another, even by someone who learnt the request id.
func (p *Provider) pageCSRF(w http.ResponseWriter, r *http.Request, id string) (string, error) {
	var tok string
	err := p.store.update(id, func(a *authRequest) error {
		if a.CSRF == "" {
			a.CSRF = randomToken()
		} else if c, err := r.Cookie(csrfCookieName(id)); err != nil || !equalSecret(c.Value, a.CSRF) {
			return errCSRF
		}
		tok = a.CSRF
		return nil
	})
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookieName(id), Value: tok, Path: "/login", MaxAge: csrfCookieMaxAge,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode,
	})
	return tok, nil
}

var errCSRF = errors.New("idp: CSRF token missing or wrong")

func (p *Provider) csrfError(w http.ResponseWriter, r *http.Request, a *authRequest, err error) {
	if errors.Is(err, errCSRF) {
		p.log.WarnContext(r.Context(), "idp: sign-in page refused: CSRF cookie", "ip", clientIP(r))
		p.errorPage(w, r, a, http.StatusForbidden, msgCSRF)
		return
	}
	p.errorPage(w, r, nil, http.StatusBadRequest, msgExpired)
}

// checkCSRF compares the form's token with the cookie's and the stored one.
func checkCSRF(r *http.Request, a *authRequest) bool {
	form := r.PostForm.Get("csrf")
	c, err := r.Cookie(csrfCookieName(a.ID))
	if form == "" || a.CSRF == "" || err != nil {
		return false
	}
	ok1 := equalSecret(form, c.Value)
	ok2 := equalSecret(form, a.CSRF)
	return ok1 && ok2
}

// loginRequest reads the authorization request a sign-in page is for.
func (p *Provider) loginRequest(id string) (*authRequest, bool) {
	if !validID(id) {
		return nil, false
	}
	return p.store.request(id)
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	a, ok := p.loginRequest(r.URL.Query().Get("id"))
	if !ok {
		p.errorPage(w, r, nil, http.StatusBadRequest, msgExpired)
		return
	}
	switch a.Step {
	case stepOTP:
		http.Redirect(w, r, "/login/otp?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
		return
	case stepDone:
		p.errorPage(w, r, a, http.StatusBadRequest, msgExpired)
		return
	}
	hint := a.LoginHint
	if len(hint) > 320 {
		hint = ""
	}
	p.renderLogin(w, r, a, http.StatusOK, "", hint)
}

func (p *Provider) renderLogin(w http.ResponseWriter, r *http.Request, a *authRequest, status int, errMsg msgKey, username string) {
	tok, err := p.pageCSRF(w, r, a.ID)
	if err != nil {
		p.csrfError(w, r, a, err)
		return
	}
	d := p.newPage(r, a, pageLogin)
	d.ID, d.CSRF, d.Username, d.Error = a.ID, tok, username, d.T[errMsg]
	p.render(w, a, status, d)
}

func (p *Provider) renderOTP(w http.ResponseWriter, r *http.Request, a *authRequest, u *User, status int, errMsg msgKey) {
	tok, err := p.pageCSRF(w, r, a.ID)
	if err != nil {
		p.csrfError(w, r, a, err)
		return
	}
	d := p.newPage(r, a, pageOTP)
	d.ID, d.CSRF, d.Error = a.ID, tok, d.T[errMsg]
	if p.cfg.DemoHints {
		d.DemoCode, _ = totpCode(u.TOTPSecret, p.cfg.Now().Unix()/30)
	}
	p.render(w, a, status, d)
}

// postedRequest parses a sign-in form and checks its request and CSRF
// token; it answers the error itself and returns false.
func (p *Provider) postedRequest(w http.ResponseWriter, r *http.Request) (*authRequest, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, nil, http.StatusBadRequest, msgBadRequest)
		return nil, false
	}
	a, ok := p.loginRequest(r.PostForm.Get("id"))
	if !ok {
		p.errorPage(w, r, nil, http.StatusBadRequest, msgExpired)
		return nil, false
	}
	if !checkCSRF(r, a) {
		p.log.WarnContext(r.Context(), "idp: sign-in form refused: CSRF token", "ip", clientIP(r))
		p.errorPage(w, r, a, http.StatusForbidden, msgCSRF)
		return nil, false
	}
	return a, true
}

func (p *Provider) loginPost(w http.ResponseWriter, r *http.Request) {
	a, ok := p.postedRequest(w, r)
	if !ok {
		return
	}
	if a.Step == stepOTP {
		http.Redirect(w, r, "/login/otp?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
		return
	}
	if a.Step != stepPassword {
		p.errorPage(w, r, a, http.StatusBadRequest, msgExpired)
		return
	}
	name := r.PostForm.Get("username")
	if len(name) > 320 {
		name = name[:320]
	}
	acct, ip := "acct:"+normalizeName(name), "ip:"+clientIP(r)
	now := p.cfg.Now()
	if p.limits.blocked(acct, maxAccountFailures, now) || p.limits.blocked(ip, maxIPFailures, now) {
		p.log.WarnContext(r.Context(), "idp: sign-in refused: too many attempts", "ip", clientIP(r))
		p.renderLogin(w, r, a, http.StatusTooManyRequests, msgTooMany, name)
		return
	}
	u, found := p.store.userByEmail(name)
	want := "\x00no such user"
	if found {
		want = u.Password
	}
	if !equalSecret(r.PostForm.Get("password"), want) || !found {
		p.limits.fail(acct, now)
		p.limits.fail(ip, now)
		p.log.InfoContext(r.Context(), "idp: sign-in failed: wrong e-mail or password", "ip", clientIP(r))
		p.renderLogin(w, r, a, http.StatusUnauthorized, msgCredentials, name)
		return
	}
	if !u.Practitioner {
		p.complete(w, r, a.ID, u, stepPassword, []string{"pwd"}, ACRPatient)
		return
	}
	err := p.store.update(a.ID, func(s *authRequest) error {
		if s.Step != stepPassword {
			return errNotFound
		}
		s.Step, s.Pending = stepOTP, u.Subject
		return nil
	})
	if err != nil {
		p.errorPage(w, r, nil, http.StatusBadRequest, msgExpired)
		return
	}
	http.Redirect(w, r, "/login/otp?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
}

func (p *Provider) otpPage(w http.ResponseWriter, r *http.Request) {
	a, ok := p.loginRequest(r.URL.Query().Get("id"))
	if !ok || a.Step == stepDone {
		p.errorPage(w, r, nil, http.StatusBadRequest, msgExpired)
		return
	}
	if a.Step != stepOTP {
		http.Redirect(w, r, "/login?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
		return
	}
	p.renderOTP(w, r, a, p.store.users[a.Pending], http.StatusOK, "")
}

func (p *Provider) otpPost(w http.ResponseWriter, r *http.Request) {
	a, ok := p.postedRequest(w, r)
	if !ok {
		return
	}
	if a.Step != stepOTP {
		p.errorPage(w, r, a, http.StatusBadRequest, msgExpired)
		return
	}
	u := p.store.users[a.Pending]
	acct, ip := "acct:"+normalizeName(u.Email), "ip:"+clientIP(r)
	now := p.cfg.Now()
	if p.limits.blocked(acct, maxAccountFailures, now) || p.limits.blocked(ip, maxIPFailures, now) {
		p.log.WarnContext(r.Context(), "idp: one-time code refused: too many attempts", "ip", clientIP(r))
		p.renderOTP(w, r, a, u, http.StatusTooManyRequests, msgTooMany)
		return
	}
	if !p.checkTOTP(u, r.PostForm.Get("code"), now) {
		p.limits.fail(acct, now)
		p.limits.fail(ip, now)
		p.log.InfoContext(r.Context(), "idp: one-time code refused", "sub", u.Subject, "ip", clientIP(r))
		p.renderOTP(w, r, a, u, http.StatusUnauthorized, msgCode)
		return
	}
	p.complete(w, r, a.ID, u, stepOTP, []string{"pwd", "otp"}, ACRPractitioner)
}

// checkTOTP accepts the code of the current 30 s step or of either
// neighbour (RFC 6238 §5.2), once: a step at or before the last one
// accepted for the user is refused.
func (p *Provider) checkTOTP(u *User, input string, now time.Time) bool {
	code, ok := normalizeCode(input)
	if !ok {
		return false
	}
	cur := now.Unix() / 30
	matched := int64(-1)
	for step := cur - 1; step <= cur+1; step++ {
		want, err := totpCode(u.TOTPSecret, step)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step
		}
	}
	if matched < 0 {
		return false
	}
	s := p.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, seen := s.usedStep[u.Subject]; seen && matched <= last {
		return false
	}
	s.usedStep[u.Subject] = matched
	return true
}

// complete marks the request signed in and answers the relying party
// with the code, through zitadel.
func (p *Provider) complete(w http.ResponseWriter, r *http.Request, id string, u *User, from step, amr []string, acr string) {
	var done *authRequest
	err := p.store.update(id, func(a *authRequest) error {
		if a.Step != from {
			return errors.New("idp: request not in the expected step")
		}
		a.Step, a.Subject, a.AuthTime, a.AMR, a.ACR = stepDone, u.Subject, p.cfg.Now(), amr, acr
		a.CSRF, a.Pending = "", ""
		done = a.clone()
		return nil
	})
	if err != nil {
		p.errorPage(w, r, nil, http.StatusBadRequest, msgExpired)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookieName(id), Value: "", Path: "/login", MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	p.log.InfoContext(r.Context(), "idp: signed in", slog.String("sub", u.Subject), slog.String("client", done.ClientID),
		slog.Any("amr", amr))
	op.AuthResponse(done, p.op, w, r)
}

func (p *Provider) loggedOut(w http.ResponseWriter, r *http.Request) {
	d := p.newPage(r, nil, pageLoggedOut)
	p.render(w, nil, http.StatusOK, d)
}

func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, a *authRequest, status int, msg msgKey) {
	d := p.newPage(r, a, pageError)
	d.Error = d.T[msg]
	p.render(w, nil, status, d)
}
