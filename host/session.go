package host

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// sessionCookie names the session cookie. Over HTTPS the __Host- prefix
// binds it to this exact origin (no Domain, Path=/, Secure).
const (
	sessionCookie       = "parcours_session"
	sessionCookieSecure = "__Host-parcours_session"
)

// session is a signed-in person: a patient, or a practitioner of a care
// team signed in to a care-team view. Exactly one of patient and
// practitioner is set.
type session struct {
	patient      string
	practitioner string
	created      time.Time
	lastSeen     time.Time
}

// sessionStore keeps sessions server side, keyed by the SHA-256 of their
// token so that the store never holds a usable token. It is the seam the
// identity work (OIDC) and the Workers runtime replace.
type sessionStore struct {
	mu       sync.Mutex
	byHash   map[[32]byte]*session
	idle     time.Duration
	max      time.Duration
	now      func() time.Time
	stop     chan struct{}
	stopOnce sync.Once
	// lazy: no sweeper goroutine; open sweeps at most once per sweepEvery
	// (see Config.LazyExpiry).
	lazy      bool
	lastSweep time.Time
}

// sweepEvery is how often expired sessions are dropped.
const sweepEvery = time.Minute

func newSessionStore(idle, max time.Duration, now func() time.Time, lazy bool) *sessionStore {
	s := &sessionStore{byHash: map[[32]byte]*session{}, idle: idle, max: max, now: now, stop: make(chan struct{}), lazy: lazy, lastSweep: now()}
	if !lazy {
		go s.sweep()
	}
	return s
}

func (s *sessionStore) close() { s.stopOnce.Do(func() { close(s.stop) }) }

// sweep drops expired sessions every minute so that memory stays bounded.
func (s *sessionStore) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.dropExpired(s.now())
			s.mu.Unlock()
		}
	}
}

// dropExpired deletes the expired sessions; called with s.mu held.
func (s *sessionStore) dropExpired(now time.Time) {
	for k, v := range s.byHash {
		if s.expired(v, now) {
			delete(s.byHash, k)
		}
	}
	s.lastSweep = now
}

func (s *sessionStore) expired(v *session, now time.Time) bool {
	return now.Sub(v.lastSeen) > s.idle || now.Sub(v.created) > s.max
}

// create opens a session for patient and returns its token.
func (s *sessionStore) create(patient string) string {
	return s.open(portal.AuthorPatient, patient)
}

// open opens a session for the person id of that kind (a patient or a
// practitioner) and returns its token: 256 random bits.
func (s *sessionStore) open(kind portal.AuthorKind, id string) string {
	var b [32]byte
	rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	v := &session{created: now, lastSeen: now}
	if kind == portal.AuthorPractitioner {
		v.practitioner = id
	} else {
		v.patient = id
	}
	s.mu.Lock()
	if s.lazy && now.Sub(s.lastSweep) >= sweepEvery {
		s.dropExpired(now)
	}
	s.byHash[sha256.Sum256([]byte(token))] = v
	s.mu.Unlock()
	return token
}

// lookup returns the patient of a live patient session and refreshes its
// idle timer.
func (s *sessionStore) lookup(token string) (string, bool) {
	sub, ok := s.subject(token)
	return sub.Patient, ok && sub.Patient != ""
}

// subject returns the person of a live session, a patient or a
// practitioner, and refreshes its idle timer.
func (s *sessionStore) subject(token string) (portal.Subject, bool) {
	if token == "" || len(token) > 128 {
		return portal.Subject{}, false
	}
	key := sha256.Sum256([]byte(token))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byHash[key]
	if !ok {
		return portal.Subject{}, false
	}
	if s.expired(v, now) {
		delete(s.byHash, key)
		return portal.Subject{}, false
	}
	v.lastSeen = now
	return portal.Subject{Patient: v.patient, Practitioner: v.practitioner}, true
}

// peek returns the person of a live session without refreshing it.
func (s *sessionStore) peek(token string) (portal.Subject, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byHash[sha256.Sum256([]byte(token))]
	if !ok || s.expired(v, s.now()) {
		return portal.Subject{}, false
	}
	return portal.Subject{Patient: v.patient, Practitioner: v.practitioner}, true
}

// delete ends a session.
func (s *sessionStore) delete(token string) {
	s.mu.Lock()
	delete(s.byHash, sha256.Sum256([]byte(token)))
	s.mu.Unlock()
}

// startSession opens a session for the person id of that kind and sets its
// cookie; the request's previous session, if any, ends (the session is
// rotated at every sign-in).
func (h *Host) startSession(w http.ResponseWriter, r *http.Request, kind portal.AuthorKind, id string) {
	h.useSession(w, r, h.sessions.open(kind, id))
	if kind == portal.AuthorPractitioner {
		auditAgent(r.Context(), portal.Subject{Practitioner: id})
	} else {
		auditAgent(r.Context(), portal.Subject{Patient: id})
	}
}

// useSession sets the cookie of the session token for the request's
// browser, ending the session it had, if any: a sign-in never keeps a
// session that existed before it (no fixation).
func (h *Host) useSession(w http.ResponseWriter, r *http.Request, token string) {
	secure := h.secure(r)
	if old := sessionToken(r, secure); old != "" {
		h.sessions.delete(old)
	}
	setSessionCookie(w, secure, token, h.cfg.SessionMax)
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
