package host

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/oidc"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

// IdentityProvider is an OpenID Connect provider people sign in with:
// FranceConnect for patients, Pro Santé Connect for professionals, or the
// demo provider (host/idp). The host is its relying party (host/oidc).
type IdentityProvider struct {
	// Name names the provider in the account links (portal.Accounts) and
	// in the sign-in URL: lower-case letters, digits and dashes.
	Name string
	// Kind is who signs in there: portal.AuthorPatient or
	// portal.AuthorPractitioner, and then an account linked to a record
	// of the other kind is refused; empty lets the account's link decide
	// (a provider of both, such as the demo one).
	Kind portal.AuthorKind
	// Label is the sign-in button's text; default "Se connecter" for
	// patients, "Connexion professionnel de santé" for practitioners.
	Label portal.Text
	// OIDC is the registration at the provider. Its RedirectURL defaults
	// to Config.PublicURL + "/auth/callback".
	OIDC oidc.Config
}

// DefaultSignInsPerMinute is Config.SignInsPerMinute's default.
const DefaultSignInsPerMinute = 20

// Sign-in bounds.
const (
	// loginTTL is how long a started sign-in waits for its callback.
	loginTTL = 10 * time.Minute
	// handoffTTL is how long a completed sign-in waits for its frame.
	handoffTTL = 2 * time.Minute
)

// signIn is the host's relying-party side: the providers. The started
// sign-ins (keyed by their state) and the completed ones waiting for their
// widget frame (keyed by the SHA-256 of the frame's secret) are in the
// host's State, each to be taken once.
type signIn struct {
	providers map[string]*provider
	order     []string
}

type provider struct {
	IdentityProvider
	rp *oidc.RP
}

// pendingLogin is a started sign-in, as stored.
type pendingLogin struct {
	Provider string    `json:"provider"`
	Flow     oidc.Flow `json:"flow"`
	Binding  []byte    `json:"binding"` // SHA-256 of the browser's binding cookie
	Handoff  string    `json:"handoff"` // the frame's challenge, "" for a top-level sign-in
	Return   string    `json:"return"`  // where a top-level sign-in returns
	Lang     string    `json:"lang"`
	Expires  time.Time `json:"expires"`
}

// handoff is a completed sign-in waiting for its frame: the person signed
// in, whose session the frame opens when it redeems the handoff (so that
// no session token is ever stored).
type handoff struct {
	Kind    portal.AuthorKind `json:"kind"`
	Person  string            `json:"person"`
	Expires time.Time         `json:"expires"`
}

// putOnce stores v under key for ttl, to be taken once by takeOnce.
func putOnce(ctx context.Context, st State, key string, v any, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ok, err := st.Swap(ctx, key, 0, raw, ttl)
	if err == nil && !ok {
		err = fmt.Errorf("host: %s stored twice", key) // keys carry 256 random bits
	}
	return err
}

// takeOnce reads key into v and deletes it: found is false when there was
// none, or when another request took it first.
func takeOnce(ctx context.Context, st State, key string, v any) (found bool, err error) {
	raw, version, err := st.Get(ctx, key)
	if err != nil || raw == nil {
		return false, err
	}
	ok, err := st.Swap(ctx, key, version, nil, 0)
	if err != nil || !ok {
		return false, err
	}
	return json.Unmarshal(raw, v) == nil, nil
}

func newSignIn(cfg Config) (*signIn, error) {
	s := &signIn{providers: map[string]*provider{}}
	for _, ip := range cfg.IdentityProviders {
		if !validName(ip.Name) {
			return nil, fmt.Errorf("host: identity provider name %q: lower-case letters, digits and dashes", ip.Name)
		}
		if _, dup := s.providers[ip.Name]; dup {
			return nil, fmt.Errorf("host: identity provider %q listed twice", ip.Name)
		}
		if ip.Kind != "" && ip.Kind != portal.AuthorPatient && ip.Kind != portal.AuthorPractitioner {
			return nil, fmt.Errorf("host: identity provider %q: Kind must be patient, practitioner or empty", ip.Name)
		}
		if ip.OIDC.RedirectURL == "" {
			if cfg.PublicURL == "" {
				return nil, fmt.Errorf("host: identity provider %q: set Config.PublicURL or OIDC.RedirectURL", ip.Name)
			}
			ip.OIDC.RedirectURL = strings.TrimRight(cfg.PublicURL, "/") + "/auth/callback"
		}
		if ip.OIDC.Now == nil {
			ip.OIDC.Now = cfg.Now
		}
		rp, err := oidc.New(ip.OIDC)
		if err != nil {
			return nil, fmt.Errorf("host: identity provider %q: %w", ip.Name, err)
		}
		s.providers[ip.Name] = &provider{IdentityProvider: ip, rp: rp}
		s.order = append(s.order, ip.Name)
	}
	return s, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// SignInLinks returns the sign-in links a widget shows, for people of kind
// ("" for both), returning to the widget document at ret.
func (h *Host) SignInLinks(kind portal.AuthorKind, ret string) []widgets.SignInLink {
	if h.signin == nil {
		return nil
	}
	var out []widgets.SignInLink
	for _, name := range h.signin.order {
		p := h.signin.providers[name]
		if kind != "" && p.Kind != "" && p.Kind != kind {
			continue
		}
		label := p.Label
		if label.FR == "" {
			label = portal.Text{FR: "Se connecter", EN: "Sign in"}
			if p.Kind == portal.AuthorPractitioner {
				label = portal.Text{FR: "Connexion professionnel de santé", EN: "Healthcare professional sign-in"}
			}
		}
		q := url.Values{"provider": {name}}
		if ret != "" {
			q.Set("return", ret)
		}
		out = append(out, widgets.SignInLink{Kind: string(p.Kind), Label: [2]string{label.FR, label.EN}, URL: "/auth/signin?" + q.Encode()})
	}
	return out
}

// safeReturn accepts a path of this host: absolute, not scheme-relative,
// no backslash or control character.
func safeReturn(s string) string {
	if s == "" || len(s) > 2048 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return s
}

// validChallenge accepts a base64url SHA-256 (43 characters).
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func loginCookieName(secure bool) string {
	if secure {
		return "__Host-parcours_login"
	}
	return "parcours_login"
}

// startSignIn (GET /auth/signin?provider=&return=&handoff=) starts the
// authorization code flow: fresh state, nonce and PKCE verifier kept here,
// bound to this browser by a cookie, then a redirect to the provider.
func (h *Host) startSignIn(w http.ResponseWriter, r *http.Request) {
	lang := requestLang(r)
	q := r.URL.Query()
	p := h.signin.providers[q.Get("provider")]
	if p == nil {
		h.signInPage(w, r, http.StatusNotFound, lang, "unknown-provider")
		return
	}
	wait, ok, err := h.signInRate.take(r.Context(), h.clientAddress(r))
	if err != nil {
		h.log.Error("sign-in: session and rate-limit store unavailable", "err", err)
		h.signInPage(w, r, http.StatusServiceUnavailable, lang, "unavailable")
		return
	}
	if !ok {
		w.Header().Set("Retry-After", fmt.Sprint(retryAfterSeconds(wait)))
		h.audit(r, auditRecord{op: "signIn", action: portal.AuditExecute, status: http.StatusTooManyRequests})
		h.signInPage(w, r, http.StatusTooManyRequests, lang, "too-many")
		return
	}
	ch := q.Get("handoff")
	if ch != "" && !validChallenge(ch) {
		h.signInPage(w, r, http.StatusBadRequest, lang, "invalid")
		return
	}
	flow := oidc.NewFlow()
	binding := oidc.NewFlow().State // 256 random bits
	extra := url.Values{"ui_locales": {lang}}
	authURL, err := p.rp.AuthURL(r.Context(), flow, extra)
	if err != nil {
		h.log.Error("identity provider unavailable", "provider", p.Name, "err", err)
		h.signInPage(w, r, http.StatusServiceUnavailable, lang, "unavailable")
		return
	}
	sum := sha256.Sum256([]byte(binding))
	pending := pendingLogin{
		Provider: p.Name, Flow: flow, Binding: sum[:],
		Handoff: ch, Return: safeReturn(q.Get("return")), Lang: lang, Expires: h.cfg.Now().Add(loginTTL),
	}
	if err := putOnce(r.Context(), h.cfg.State, "signin:"+flow.State, pending, loginTTL); err != nil {
		h.log.Error("sign-in: cannot keep the sign-in under way", "err", err)
		h.signInPage(w, r, http.StatusServiceUnavailable, lang, "unavailable")
		return
	}
	secure := h.secure(r)
	http.SetCookie(w, &http.Cookie{
		Name: loginCookieName(secure), Value: binding, Path: "/", MaxAge: int(loginTTL / time.Second),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	h.signInHeaders(w)
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// signInCallback (GET /auth/callback) ends the flow: the state must be a
// pending sign-in of this very browser (its binding cookie), the code is
// exchanged with the PKCE verifier, the ID token verified with its nonce,
// and the provider's subject must be linked to a record of the right kind.
func (h *Host) signInCallback(w http.ResponseWriter, r *http.Request) {
	lang := requestLang(r)
	q := r.URL.Query()
	secure := h.secure(r)
	state := q.Get("state")
	now := h.cfg.Now()
	s := h.signin
	var p *pendingLogin
	if state != "" && len(state) <= 128 {
		var v pendingLogin
		// Single use, whatever happens next.
		found, err := takeOnce(r.Context(), h.cfg.State, "signin:"+state, &v)
		if err != nil {
			h.log.Error("sign-in: session and rate-limit store unavailable", "err", err)
			h.signInPage(w, r, http.StatusServiceUnavailable, lang, "unavailable")
			return
		}
		if found {
			p = &v
		}
	}
	if p != nil {
		// The binding cookie has done its work. (A callback with an unknown
		// state leaves it: a forged request must not cancel a sign-in
		// under way.)
		http.SetCookie(w, &http.Cookie{Name: loginCookieName(secure), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	}
	refuse := func(status int, reason, msg string) {
		h.log.Warn("sign-in refused", "reason", reason)
		h.audit(r, auditRecord{op: "signIn", action: portal.AuditExecute, status: status})
		h.signInPage(w, r, status, lang, msg)
	}
	if p == nil || now.After(p.Expires) {
		refuse(http.StatusBadRequest, "unknown or expired state", "expired")
		return
	}
	lang = p.Lang
	c, err := r.Cookie(loginCookieName(secure))
	if err != nil {
		refuse(http.StatusBadRequest, "no binding cookie", "expired")
		return
	}
	if sum := sha256.Sum256([]byte(c.Value)); subtle.ConstantTimeCompare(sum[:], p.Binding) != 1 {
		refuse(http.StatusBadRequest, "binding cookie mismatch", "expired")
		return
	}
	if e := q.Get("error"); e != "" {
		refuse(http.StatusUnauthorized, "provider answered "+truncate(e, 40), "cancelled")
		return
	}
	prov := s.providers[p.Provider]
	if prov == nil {
		refuse(http.StatusBadRequest, "provider no longer configured", "expired")
		return
	}
	id, err := prov.rp.Exchange(r.Context(), p.Flow, q.Get("code"))
	if err != nil {
		if errors.Is(err, oidc.ErrRefused) {
			refuse(http.StatusUnauthorized, err.Error(), "refused")
			return
		}
		h.log.Error("identity provider unavailable", "provider", prov.Name, "err", err)
		refuse(http.StatusServiceUnavailable, "provider unavailable", "unavailable")
		return
	}
	if h.cfg.Accounts == nil {
		refuse(http.StatusForbidden, "no account store", "no-account")
		return
	}
	sub, err := h.cfg.Accounts.Account(r.Context(), prov.Name, id.Subject)
	if err != nil {
		if portal.IsCode(err, portal.ErrNotFound) {
			refuse(http.StatusForbidden, "no linked account", "no-account")
			return
		}
		h.log.Error("account lookup failed", "provider", prov.Name, "err", err)
		refuse(http.StatusServiceUnavailable, "account store unavailable", "unavailable")
		return
	}
	kind, person := portal.AuthorPatient, sub.Patient
	if prov.Kind == portal.AuthorPractitioner || prov.Kind == "" && sub.Patient == "" {
		kind, person = portal.AuthorPractitioner, sub.Practitioner
	}
	if person == "" {
		refuse(http.StatusForbidden, "account of the other kind", "no-account")
		return
	}
	subj := portal.Subject{Patient: person}
	if kind == portal.AuthorPractitioner {
		subj = portal.Subject{Practitioner: person}
	}
	h.audit(r.WithContext(portal.WithSubject(r.Context(), subj)), auditRecord{op: "signIn", action: portal.AuditExecute, status: http.StatusOK})
	h.log.Info("sign-in", "provider", prov.Name, "kind", string(kind))
	if p.Handoff != "" {
		// The frame that started the sign-in opens the session when it
		// redeems the handoff (redeemHandoff).
		ho := handoff{Kind: kind, Person: person, Expires: now.Add(handoffTTL)}
		if err := putOnce(r.Context(), h.cfg.State, "handoff:"+p.Handoff, ho, handoffTTL); err != nil {
			h.log.Error("sign-in: cannot keep the completed sign-in for its frame", "err", err)
			h.signInPage(w, r, http.StatusServiceUnavailable, lang, "unavailable")
			return
		}
		h.signInPage(w, r, http.StatusOK, lang, "done")
		return
	}
	token, err := h.sessions.open(r.Context(), kind, person)
	if err == nil {
		err = h.useSession(w, r, token)
	}
	if err != nil {
		h.log.Error("sign-in: session and rate-limit store unavailable", "err", err)
		h.signInPage(w, r, http.StatusServiceUnavailable, lang, "unavailable")
		return
	}
	h.signInHeaders(w)
	http.Redirect(w, r, p.Return, http.StatusSeeOther)
}

// redeemHandoff (POST /auth/handoff, {"verifier": …}) gives the widget's
// frame the session its popup signed in: the frame proves it started that
// sign-in with the verifier whose SHA-256 it passed as handoff. 204 with
// the session cookie (partitioned when the frame is embedded cross-site),
// 404 while the sign-in is not complete.
func (h *Host) redeemHandoff(w http.ResponseWriter, r *http.Request) error {
	if h.signin == nil || len(h.signin.providers) == 0 {
		return portal.Errorf(portal.ErrNotFound, "no identity provider")
	}
	body, err := decodeJSON[struct {
		Verifier string `json:"verifier"`
	}](r, 1<<10)
	if err != nil {
		return err
	}
	if len(body.Verifier) < 43 || len(body.Verifier) > 128 {
		return portal.Errorf(portal.ErrInvalid, "verifier: 43 to 128 characters")
	}
	var ho handoff
	found, err := takeOnce(r.Context(), h.cfg.State, "handoff:"+challengeOf(body.Verifier), &ho)
	if err != nil {
		return stateError(err)
	}
	if !found || h.cfg.Now().After(ho.Expires) {
		return portal.Errorf(portal.ErrNotFound, "no completed sign-in for this verifier")
	}
	if err := h.startSession(w, r, ho.Kind, ho.Person); err != nil {
		return err
	}
	subj := portal.Subject{Patient: ho.Person}
	if ho.Kind == portal.AuthorPractitioner {
		subj = portal.Subject{Practitioner: ho.Person}
	}
	h.audit(r, auditRecord{op: "redeemSignIn", action: portal.AuditExecute, status: http.StatusNoContent, agent: &subj})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// signInHeaders are the headers of the sign-in pages: no caching, no
// referrer (the provider's URL carries the state), no framing.
func (h *Host) signInHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

//go:embed signin.js
var signInScript []byte

var signInTexts = map[string][2]string{
	"title":            {"Connexion", "Sign-in"},
	"done":             {"Vous êtes connecté·e. Cette fenêtre va se fermer ; sinon, fermez-la et revenez à la page.", "You are signed in. This window will close; if not, close it and go back to the page."},
	"expired":          {"Cette connexion a expiré ou n’est plus valide. Fermez cette fenêtre et recommencez depuis la page.", "This sign-in has expired or is no longer valid. Close this window and start again from the page."},
	"cancelled":        {"La connexion a été annulée.", "The sign-in was cancelled."},
	"refused":          {"La connexion n’a pas abouti. Recommencez depuis la page.", "The sign-in did not succeed. Start again from the page."},
	"no-account":       {"Aucun dossier de cet établissement n’est associé à ce compte. Adressez-vous au bureau des admissions.", "No record of this establishment is linked to this account. Please ask the admissions office."},
	"unavailable":      {"Le service de connexion est momentanément indisponible. Réessayez dans quelques minutes.", "The sign-in service is temporarily unavailable. Try again in a few minutes."},
	"too-many":         {"Trop de tentatives de connexion. Réessayez dans quelques minutes.", "Too many sign-in attempts. Try again in a few minutes."},
	"unknown-provider": {"Ce moyen de connexion n’existe pas.", "This sign-in method does not exist."},
	"invalid":          {"Demande de connexion invalide.", "Invalid sign-in request."},
}

// signInHTML writes a sign-in step's page; done runs signin.js.
func signInHTML(lang, title, text string, done bool) string {
	var p page
	p.raw("<!DOCTYPE html>\n<html")
	p.attr("lang", lang)
	p.raw("><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	p.text(title)
	p.raw("</title>")
	if done {
		p.raw(`<script src="/auth/signin.js" defer></script>`)
	}
	p.raw("</head>\n<body><main><h1>")
	p.text(title)
	p.raw("</h1><p ")
	if done {
		p.raw(`role="status" data-parcours-signed-in`)
	} else {
		p.raw(`role="alert"`)
	}
	p.raw(">")
	p.text(text)
	p.raw("</p></main></body></html>\n")
	return p.String()
}

// signInPage answers a sign-in step with a short page: the outcome, in the
// person's language. The successful popup's page runs signin.js, which
// tells its opener (the widget's frame, same origin) and closes.
func (h *Host) signInPage(w http.ResponseWriter, r *http.Request, status int, lang, msg string) {
	h.signInHeaders(w)
	i := 0
	if lang == "en" {
		i = 1
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, signInHTML(lang, signInTexts["title"][i], signInTexts[msg][i], msg == "done"))
}
