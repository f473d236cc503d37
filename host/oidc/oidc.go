// Package oidc is the host's OpenID Connect relying party: the
// authorization code flow with PKCE (S256 only), state and nonce, and the
// ID token verified against the provider's published keys. It wraps
// github.com/coreos/go-oidc (discovery, JWKS, ID token verification) and
// golang.org/x/oauth2 (the code exchange, PKCE); it does no cryptography of
// its own.
//
// The host keeps the per-sign-in secrets (state, nonce, verifier) server
// side and binds them to the browser; this package only builds the
// provider's authorization URL and checks what comes back.
package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/parcours-sante/parcours/host/internal/loopback"
)

// Config is one identity provider as the host uses it.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document and ID tokens give it.
	Issuer string
	// ClientID and ClientSecret are the host's registration at the
	// provider. An empty secret is a public client (PKCE only).
	ClientID, ClientSecret string
	// RedirectURL is the host's callback, registered at the provider
	// exactly.
	RedirectURL string
	// Scopes are asked besides "openid"; default "profile" and "email".
	Scopes []string
	// ACRValues, when set, is sent as acr_values (FranceConnect's
	// "eidas1", Pro Santé Connect's level) and the ID token's acr must be
	// one of them.
	ACRValues []string
	// HTTPClient makes the calls to the provider (discovery, keys, token);
	// default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock the ID token's expiry is checked with; default
	// time.Now.
	Now func() time.Time
}

// RP is a relying party of one provider. Discovery happens at the first
// use and is retried at the next one while it fails, so that a host starts
// while its provider is down.
type RP struct {
	cfg Config

	mu       sync.Mutex
	provider *gooidc.Provider
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// New checks cfg and returns its relying party.
func New(cfg Config) (*RP, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("oidc: Issuer, ClientID and RedirectURL are required")
	}
	for _, s := range []string{cfg.Issuer, cfg.RedirectURL} {
		u, err := url.Parse(s)
		if err != nil || !loopback.Secure(u) || u.Host == "" {
			return nil, fmt.Errorf("oidc: %q must be an https URL (http only on a loopback address)", s)
		}
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RP{cfg: cfg}, nil
}

func (rp *RP) discover(ctx context.Context) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.provider != nil {
		return rp.oauth, rp.verifier, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, rp.cfg.HTTPClient), rp.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("oidc: discovery of %s: %w", rp.cfg.Issuer, err)
	}
	rp.provider = p
	rp.oauth = &oauth2.Config{
		ClientID:     rp.cfg.ClientID,
		ClientSecret: rp.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  rp.cfg.RedirectURL,
		Scopes:       append([]string{gooidc.ScopeOpenID}, rp.cfg.Scopes...),
	}
	if rp.cfg.ClientSecret == "" {
		rp.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	rp.verifier = p.VerifierContext(gooidc.ClientContext(context.Background(), rp.cfg.HTTPClient),
		&gooidc.Config{ClientID: rp.cfg.ClientID, Now: rp.cfg.Now})
	return rp.oauth, rp.verifier, nil
}

// Flow is one sign-in's secrets, kept by the host until the callback.
type Flow struct {
	State, Nonce, Verifier string
}

// NewFlow returns fresh secrets: 256 random bits each.
func NewFlow() Flow {
	return Flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
}

func random() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// AuthURL returns the provider's authorization URL for f: response_type
// code, the S256 challenge of f.Verifier, f.State and f.Nonce. Extra
// parameters (ui_locales, prompt) are added as given.
func (rp *RP) AuthURL(ctx context.Context, f Flow, extra url.Values) (string, error) {
	oc, _, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier), gooidc.Nonce(f.Nonce)}
	if len(rp.cfg.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(rp.cfg.ACRValues, " ")))
	}
	for k, vs := range extra {
		if len(vs) > 0 {
			opts = append(opts, oauth2.SetAuthURLParam(k, vs[0]))
		}
	}
	return oc.AuthCodeURL(f.State, opts...), nil
}

// Identity is who the provider signed in.
type Identity struct {
	Subject                      string
	GivenName, FamilyName, Email string
	ACR                          string
	AMR                          []string
	AuthTime                     time.Time
}

// ErrRefused is the provider's or the flow's refusal: a wrong state, an
// error answer, a code the provider does not accept, an ID token that does
// not verify. Its text names the cause for the logs; the person sees a
// generic message.
var ErrRefused = errors.New("oidc: sign-in refused")

// Exchange trades the callback's code for tokens with f.Verifier, verifies
// the ID token (signature against the provider's keys, issuer, audience,
// expiry) and its nonce against f.Nonce, and returns the identity.
func (rp *RP) Exchange(ctx context.Context, f Flow, code string) (Identity, error) {
	oc, verifier, err := rp.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	if code == "" {
		return Identity{}, fmt.Errorf("%w: no code", ErrRefused)
	}
	tok, err := oc.Exchange(gooidc.ClientContext(ctx, rp.cfg.HTTPClient), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, fmt.Errorf("%w: token endpoint: %s", ErrRefused, re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("oidc: token endpoint: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token", ErrRefused)
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: id_token: %v", ErrRefused, err)
	}
	if idt.Nonce != f.Nonce || f.Nonce == "" {
		return Identity{}, fmt.Errorf("%w: nonce mismatch", ErrRefused)
	}
	var c struct {
		GivenName  string   `json:"given_name"`
		FamilyName string   `json:"family_name"`
		Email      string   `json:"email"`
		ACR        string   `json:"acr"`
		AMR        []string `json:"amr"`
		AuthTime   int64    `json:"auth_time"`
	}
	if err := idt.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %v", ErrRefused, err)
	}
	if len(rp.cfg.ACRValues) > 0 && !slices.Contains(rp.cfg.ACRValues, c.ACR) {
		return Identity{}, fmt.Errorf("%w: acr %q not among %v", ErrRefused, c.ACR, rp.cfg.ACRValues)
	}
	id := Identity{Subject: idt.Subject, GivenName: c.GivenName, FamilyName: c.FamilyName, Email: c.Email, ACR: c.ACR, AMR: c.AMR}
	if c.AuthTime > 0 {
		id.AuthTime = time.Unix(c.AuthTime, 0).UTC()
	}
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no sub", ErrRefused)
	}
	return id, nil
}
