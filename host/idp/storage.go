package idp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Lifetimes of what the storage keeps.
const (
	// authRequestLifetime bounds the time a user has to sign in once the
	// relying party sent the browser to the authorization endpoint.
	authRequestLifetime = 10 * time.Minute
	// codeLifetime is the authorization code's lifetime (RFC 6749 §4.1.2
	// recommends at most 10 minutes; 60 s is plenty for a redirect).
	codeLifetime = 60 * time.Second
	// accessTokenLifetime is the access token's lifetime (userinfo only).
	accessTokenLifetime = 5 * time.Minute
	// idTokenLifetime is the ID token's lifetime.
	idTokenLifetime = 5 * time.Minute
)

// Authentication context values put in the ID token's "acr" claim.
const (
	// ACRPatient is the acr of a password sign-in: FranceConnect's lowest
	// level, "eidas1".
	ACRPatient = "eidas1"
	// ACRPractitioner is the acr of a password + one-time-code sign-in:
	// "eidas2", the demo's label for a two-factor sign-in (eIDAS
	// "substantial"). It is not a certified level.
	ACRPractitioner = "eidas2"
)

var errNotFound = errors.New("idp: not found")

// step is where an authorization request stands in the sign-in UI.
type step int

const (
	stepPassword step = iota // waiting for e-mail + password
	stepOTP                  // password right, waiting for the practitioner's code
	stepDone                 // authenticated: a code may be issued once
)

// authRequest is one authorization request and its sign-in state. The
// storage hands out copies, so a value is never shared between goroutines.
type authRequest struct {
	ID            string
	Created       time.Time
	ClientID      string
	RedirectURI   string
	State         string
	Nonce         string
	Scopes        []string
	ResponseType  oidc.ResponseType
	CodeChallenge *oidc.CodeChallenge
	UILocales     []language.Tag
	LoginHint     string

	Step      step
	CSRF      string // token of the sign-in form currently shown
	Pending   string // subject whose password was right (stepOTP)
	Subject   string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	Code      string // hash of the issued code, empty before
	CodeAt    time.Time
	CodeTaken bool
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string                         { return a.ID }
func (a *authRequest) GetACR() string                        { return a.ACR }
func (a *authRequest) GetAMR() []string                      { return slices.Clone(a.AMR) }
func (a *authRequest) GetAudience() []string                 { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.AuthTime }
func (a *authRequest) GetClientID() string                   { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.CodeChallenge }
func (a *authRequest) GetNonce() string                      { return a.Nonce }
func (a *authRequest) GetRedirectURI() string                { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return oidc.ResponseModeQuery }
func (a *authRequest) GetScopes() []string                   { return slices.Clone(a.Scopes) }
func (a *authRequest) GetState() string                      { return a.State }
func (a *authRequest) GetSubject() string                    { return a.Subject }
func (a *authRequest) Done() bool                            { return a.Step == stepDone }

func (a *authRequest) clone() *authRequest {
	c := *a
	c.Scopes = slices.Clone(a.Scopes)
	c.AMR = slices.Clone(a.AMR)
	c.UILocales = slices.Clone(a.UILocales)
	if a.CodeChallenge != nil {
		cc := *a.CodeChallenge
		c.CodeChallenge = &cc
	}
	return &c
}

type accessToken struct {
	Subject  string
	ClientID string
	Scopes   []string
	Expires  time.Time
}

// client is a registered relying party, as zitadel's op.Client.
type client struct {
	Client
}

var _ op.Client = client{}

func (c client) GetID() string          { return c.ID }
func (c client) RedirectURIs() []string { return slices.Clone(c.Client.RedirectURIs) }
func (c client) PostLogoutRedirectURIs() []string {
	return slices.Clone(c.Client.PostLogoutRedirectURIs)
}
func (c client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c client) AuthMethod() oidc.AuthMethod {
	if c.Secret == "" {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType        { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c client) LoginURL(id string) string           { return "/login?id=" + id }
func (c client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c client) IDTokenLifetime() time.Duration      { return idTokenLifetime }

// DevMode lets zitadel accept http redirect URIs for a public client; New
// only accepts http redirect URIs on loopback hosts, and the match is
// still exact (zitadel checks the list first).
func (c client) DevMode() bool { return true }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) IsScopeAllowed(string) bool           { return false }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) ClockSkew() time.Duration             { return 0 }

// signingKey is the provider's one signing key, generated by New.
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key.Public() }

func newSigningKey(s crypto.Signer) (*signingKey, error) {
	var alg jose.SignatureAlgorithm
	switch k := s.Public().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("idp: RSA signing key shorter than 2048 bits")
		}
		alg = jose.RS256
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			alg = jose.ES256
		case 384:
			alg = jose.ES384
		case 521:
			alg = jose.ES512
		default:
			return nil, errors.New("idp: unsupported ECDSA curve")
		}
	default:
		return nil, fmt.Errorf("idp: unsupported signing key %T", k)
	}
	jwk := jose.JSONWebKey{Key: s.Public()}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &signingKey{id: fmt.Sprintf("%x", thumb[:8]), alg: alg, key: s}, nil
}

// storage is the in-memory op.Storage: clients and users from Config,
// authorization requests, codes and access tokens in maps.
type storage struct {
	now     func() time.Time
	key     *signingKey
	clients map[string]Client
	users   map[string]*User // by subject
	byMail  map[string]*User // by lower-cased e-mail

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // hash of code -> request id
	tokens   map[string]*accessToken
	usedStep map[string]int64 // subject -> last TOTP time step accepted
}

var _ op.Storage = (*storage)(nil)
var _ op.CanSetUserinfoFromRequest = (*storage)(nil)

func hashCode(code string) string {
	h := sha256.Sum256([]byte(code))
	return string(h[:])
}

// gc drops expired requests, codes and tokens; called with mu held.
func (s *storage) gc(now time.Time) {
	for id, r := range s.requests {
		if now.Sub(r.Created) > authRequestLifetime {
			delete(s.requests, id)
			if r.Code != "" {
				delete(s.codes, r.Code)
			}
		}
	}
	for id, t := range s.tokens {
		if now.After(t.Expires) {
			delete(s.tokens, id)
		}
	}
}

// CreateAuthRequest stores a validated authorization request. zitadel has
// checked the client, the exact redirect URI, the scopes and the response
// type; this adds what zitadel leaves optional: PKCE with S256 is required
// and the response mode must be the query (form_post would need an inline
// script). The returned error redirects to the (registered) redirect URI.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge required (PKCE, S256)")
	}
	if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		// No single sign-on session: a sign-in always needs the user.
		return nil, oidc.ErrLoginRequired()
	}
	if !slices.Contains(req.Scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("openid scope required")
	}
	scopes := slices.DeleteFunc(slices.Clone([]string(req.Scopes)), func(sc string) bool {
		return sc != oidc.ScopeOpenID && sc != oidc.ScopeProfile && sc != oidc.ScopeEmail
	})
	now := s.now()
	a := &authRequest{
		ID:            randomToken(),
		Created:       now,
		ClientID:      req.ClientID,
		RedirectURI:   req.RedirectURI,
		State:         req.State,
		Nonce:         req.Nonce,
		Scopes:        scopes,
		ResponseType:  req.ResponseType,
		CodeChallenge: &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod},
		UILocales:     slices.Clone([]language.Tag(req.UILocales)),
		LoginHint:     req.LoginHint,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gc(now)
	s.requests[a.ID] = a
	return a.clone(), nil
}

// request returns a copy of a live (not expired) authorization request.
func (s *storage) request(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || s.now().Sub(a.Created) > authRequestLifetime {
		return nil, false
	}
	return a.clone(), true
}

// update applies f to the stored request under the lock.
func (s *storage) update(id string, f func(a *authRequest) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || s.now().Sub(a.Created) > authRequestLifetime {
		return errNotFound
	}
	return f(a)
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	a, ok := s.request(id)
	if !ok {
		return nil, errNotFound
	}
	return a, nil
}

// AuthRequestByCode redeems a code: it is single-use (the first lookup
// consumes it, whatever the outcome of the exchange) and lives codeLifetime.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	h := hashCode(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[h]
	if !ok {
		return nil, errNotFound
	}
	delete(s.codes, h)
	a, ok := s.requests[id]
	if !ok || a.CodeTaken || a.Step != stepDone {
		return nil, errNotFound
	}
	a.CodeTaken = true
	if s.now().Sub(a.CodeAt) > codeLifetime {
		delete(s.requests, id)
		return nil, errors.New("idp: code expired")
	}
	return a.clone(), nil
}

// SaveAuthCode binds a code to a signed-in request; one code per request.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	return s.update(id, func(a *authRequest) error {
		if a.Step != stepDone || a.Code != "" {
			return oidc.ErrInvalidRequest().WithDescription("code already issued")
		}
		a.Code = hashCode(code)
		a.CodeAt = s.now()
		s.codes[a.Code] = id
		return nil
	})
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		delete(s.codes, a.Code)
		delete(s.requests, id)
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	var clientID string
	if a, ok := req.(*authRequest); ok {
		clientID = a.ClientID
	} else {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	id := randomToken()
	exp := s.now().Add(accessTokenLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = &accessToken{Subject: req.GetSubject(), ClientID: clientID, Scopes: req.GetScopes(), Expires: exp}
	return id, exp, nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not supported")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, oidc.ErrInvalidGrant()
}

// TerminateSession has nothing to end: the provider keeps no single
// sign-on session, every authorization request asks for the credentials.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tokenID]; ok && t.ClientID == clientID {
		delete(s.tokens, tokenID)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.key.alg}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, errNotFound
	}
	return client{c}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	want := sha256.Sum256([]byte(c.Secret))
	got := sha256.Sum256([]byte(secret))
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return errors.New("idp: client authentication failed")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.fillUserinfo(info, req.GetSubject(), scopes)
}

func (s *storage) fillUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.users[subject]
	if !ok {
		return errNotFound
	}
	info.Subject = u.Subject
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			info.GivenName = u.GivenName
			info.FamilyName = u.FamilyName
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = false
		}
	}
	return nil
}

func (s *storage) token(id string) (*accessToken, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || s.now().After(t.Expires) {
		return nil, false
	}
	c := *t
	return &c, true
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, ok := s.token(tokenID)
	if !ok || t.Subject != subject {
		return errNotFound
	}
	return s.fillUserinfo(info, subject, t.Scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, ok := s.token(tokenID)
	if !ok || t.Subject != subject || t.ClientID != clientID {
		return errNotFound
	}
	resp.Active = true
	resp.Subject = subject
	resp.ClientID = clientID
	resp.Scope = t.Scopes
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("idp: JWT profile grant not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// userByEmail finds a user by e-mail, case-insensitively.
func (s *storage) userByEmail(email string) (*User, bool) {
	u, ok := s.byMail[strings.ToLower(strings.TrimSpace(email))]
	return u, ok
}
