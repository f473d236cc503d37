package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// sessionCookie names the session cookie. Over HTTPS the __Host- prefix
// binds it to this exact origin (no Domain, Path=/, Secure).
const (
	sessionCookie       = "parcours_session"
	sessionCookieSecure = "__Host-parcours_session"
)

// sessionStore keeps sessions in the host's State, keyed by the SHA-256 of
// their token so that the State never holds a usable token.
type sessionStore struct {
	st        State
	idle, max time.Duration
	now       func() time.Time
}

// touchEvery is how stale a session's last use may be before a request
// writes it again: the idle timer is kept to the minute, and a State that
// is a network away (a Durable Object) is written at most once a minute
// per session rather than at every request.
const touchEvery = time.Minute

// session is a session as stored: exactly one of P (patient) and R
// (practitioner) is set; C and L are when it was created and last used,
// in Unix nanoseconds.
type session struct {
	P string `json:"p,omitempty"`
	R string `json:"r,omitempty"`
	C int64  `json:"c"`
	L int64  `json:"l"`
}

func (v session) subject() portal.Subject { return portal.Subject{Patient: v.P, Practitioner: v.R} }

func (s *sessionStore) expired(v session, now time.Time) bool {
	return now.Sub(time.Unix(0, v.L)) > s.idle || now.Sub(time.Unix(0, v.C)) > s.max
}

// ttl is how long the State keeps v from now: until it would expire
// unused, plus a minute for the clocks of a distributed store.
func (s *sessionStore) ttl(v session, now time.Time) time.Duration {
	left := min(time.Unix(0, v.L).Add(s.idle).Sub(now), time.Unix(0, v.C).Add(s.max).Sub(now))
	return max(left, 0) + time.Minute
}

// sessionKey is the State key of token's session. A token longer than 128
// characters is none of ours: it has no key.
func sessionKey(token string) (string, bool) {
	if token == "" || len(token) > 128 {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	return "session:" + hex.EncodeToString(sum[:]), true
}

// open opens a session for the person id of that kind (a patient or a
// practitioner) and returns its token: 256 random bits.
func (s *sessionStore) open(ctx context.Context, kind portal.AuthorKind, id string) (string, error) {
	var b32 [32]byte
	rand.Read(b32[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	token := base64.RawURLEncoding.EncodeToString(b32[:])
	now := s.now()
	v := session{C: now.UnixNano(), L: now.UnixNano()}
	if kind == portal.AuthorPractitioner {
		v.R = id
	} else {
		v.P = id
	}
	b, _ := json.Marshal(v)
	key, _ := sessionKey(token)
	ok, err := s.st.Swap(ctx, key, 0, b, s.ttl(v, now))
	if err == nil && !ok {
		err = errors.New("host: a new session token was taken") // 256 random bits
	}
	if err != nil {
		return "", stateError(err)
	}
	return token, nil
}

// subject returns the person of a live session, a patient or a
// practitioner; with touch, the session's idle timer starts again.
func (s *sessionStore) subject(ctx context.Context, token string, touch bool) (portal.Subject, bool, error) {
	key, ok := sessionKey(token)
	if !ok {
		return portal.Subject{}, false, nil
	}
	raw, version, err := s.st.Get(ctx, key)
	if err != nil {
		return portal.Subject{}, false, stateError(err)
	}
	var v session
	if raw == nil || json.Unmarshal(raw, &v) != nil {
		return portal.Subject{}, false, nil
	}
	now := s.now()
	if s.expired(v, now) {
		// Gone for good. (Losing the race to another request changes
		// nothing: it finds the session expired too.)
		if _, err := s.st.Swap(ctx, key, version, nil, 0); err != nil {
			return portal.Subject{}, false, stateError(err)
		}
		return portal.Subject{}, false, nil
	}
	if touch && now.Sub(time.Unix(0, v.L)) >= touchEvery {
		v.L = now.UnixNano()
		b, _ := json.Marshal(v)
		// A lost swap is another request of the session touching it, or
		// ending it: this request keeps the answer it read.
		if _, err := s.st.Swap(ctx, key, version, b, s.ttl(v, now)); err != nil {
			return portal.Subject{}, false, stateError(err)
		}
	}
	return v.subject(), true, nil
}

// delete ends a session.
func (s *sessionStore) delete(ctx context.Context, token string) error {
	key, ok := sessionKey(token)
	if !ok {
		return nil
	}
	return update(ctx, s.st, key, func(old []byte) ([]byte, time.Duration, bool) { return nil, 0, old != nil })
}

// stateError is the API's error for the State being unreachable: the
// request is refused (503), never let through.
func stateError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return portal.Errorf(portal.ErrBackendUnavailable, "session and rate-limit store: %v", err)
}

// startSession opens a session for the person id of that kind and sets its
// cookie; the request's previous session, if any, ends (the session is
// rotated at every sign-in).
func (h *Host) startSession(w http.ResponseWriter, r *http.Request, kind portal.AuthorKind, id string) error {
	token, err := h.sessions.open(r.Context(), kind, id)
	if err != nil {
		return err
	}
	if err := h.useSession(w, r, token); err != nil {
		return err
	}
	if kind == portal.AuthorPractitioner {
		auditAgent(r.Context(), portal.Subject{Practitioner: id})
	} else {
		auditAgent(r.Context(), portal.Subject{Patient: id})
	}
	return nil
}

// useSession sets the cookie of the session token for the request's
// browser, ending the session it had, if any: a sign-in never keeps a
// session that existed before it (no fixation).
func (h *Host) useSession(w http.ResponseWriter, r *http.Request, token string) error {
	secure := h.secure(r)
	if old := sessionToken(r, secure); old != "" {
		if err := h.sessions.delete(r.Context(), old); err != nil {
			return err
		}
	}
	setSessionCookie(w, secure, token, h.cfg.SessionMax)
	return nil
}

// secure reports whether the request reached the host over HTTPS: directly
// (TLS) or through a proxy that terminates it, which Config.PublicURL's
// https scheme declares.
func (h *Host) secure(r *http.Request) bool { return r.TLS != nil || h.publicHTTPS }

func cookieName(secure bool) string {
	if secure {
		return sessionCookieSecure
	}
	return sessionCookie
}

// sessionToken returns the request's session token, if any.
func sessionToken(r *http.Request, secure bool) string {
	c, err := r.Cookie(cookieName(secure))
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie sets the session cookie, HttpOnly. Over HTTPS it is
// __Host- (this exact origin, Path=/, Secure), SameSite=None and
// Partitioned (CHIPS): the widget's frame is usually embedded by a page of
// another site, where browsers that block third-party cookies still keep a
// partitioned cookie, in a jar of that page's site only, so that no other
// site's frame, nor a cross-site request, ever carries it. Over plain HTTP
// (a loopback demo, same-site embedding) it is SameSite=Lax.
func setSessionCookie(w http.ResponseWriter, secure bool, token string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     cookieName(secure),
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	if secure {
		c.SameSite = http.SameSiteNoneMode
		c.Partitioned = true
	}
	if token == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}
