package host

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// fakeClock is a settable clock for session expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const (
	testIdle = 30 * time.Minute
	testMax  = 12 * time.Hour
)

func newTestSessions(t *testing.T) (*sessionStore, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	return &sessionStore{st: NewMemoryState(clock.Now, 0), idle: testIdle, max: testMax, now: clock.Now}, clock
}

// create opens a patient session, for the tests.
func (s *sessionStore) create(patient string) string {
	token, err := s.open(context.Background(), portal.AuthorPatient, patient)
	if err != nil {
		panic(err)
	}
	return token
}

// lookup returns the patient of a live session and touches it, for the
// tests.
func (s *sessionStore) lookup(token string) (string, bool) {
	sub, ok, err := s.subject(context.Background(), token, true)
	if err != nil {
		panic(err)
	}
	return sub.Patient, ok
}

// entries returns the State's keys and values.
func (s *sessionStore) entries() map[string]string {
	m := s.st.(*MemoryState)
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, e := range m.entries {
		out[k] = string(e.value)
	}
	return out
}

func TestSessionExpiry(t *testing.T) {
	type step struct {
		advance time.Duration
		lookup  bool // look the session up after advancing
		want    bool // the lookup finds it
	}
	// Touching the session every 20 minutes keeps it alive for 12 hours.
	var keepAlive []step
	for elapsed := time.Duration(0); elapsed+20*time.Minute <= testMax; elapsed += 20 * time.Minute {
		keepAlive = append(keepAlive, step{20 * time.Minute, true, true})
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fresh", []step{{0, true, true}}},
		{"idle just within", []step{{testIdle, true, true}}},
		{"idle timeout", []step{{testIdle + time.Nanosecond, true, false}}},
		{"idle timeout is for good", []step{{testIdle + time.Second, true, false}, {-time.Hour, true, false}}},
		{"lookup refreshes idle", []step{
			{testIdle - time.Minute, true, true},
			{testIdle - time.Minute, true, true},
			{testIdle - time.Minute, true, true},
		}},
		{"no lookup, no refresh", []step{
			{testIdle - time.Minute, false, false},
			{2 * time.Minute, true, false},
		}},
		{"absolute timeout despite activity", append(keepAlive, step{20*time.Minute + time.Second, true, false})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newTestSessions(t)
			token := s.create("pat-camille-durand")
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				if !st.lookup {
					continue
				}
				patient, ok := s.lookup(token)
				if ok != st.want {
					t.Fatalf("step %d (+%v): lookup ok = %v, want %v", i, st.advance, ok, st.want)
				}
				if ok && patient != "pat-camille-durand" {
					t.Fatalf("step %d: patient %q", i, patient)
				}
			}
		})
	}
}

func TestSessionAbsoluteTimeoutBoundary(t *testing.T) {
	s, clock := newTestSessions(t)
	token := s.create("p")
	for elapsed := time.Duration(0); elapsed < testMax; {
		d := min(25*time.Minute, testMax-elapsed)
		clock.Advance(d)
		elapsed += d
		if _, ok := s.lookup(token); !ok {
			t.Fatalf("session gone after %v of activity, before the %v limit", elapsed, testMax)
		}
	}
	clock.Advance(time.Nanosecond)
	if _, ok := s.lookup(token); ok {
		t.Fatal("session alive after SessionMax")
	}
}

func TestSessionExpiredIsRemoved(t *testing.T) {
	s, clock := newTestSessions(t)
	old := s.create("a")
	clock.Advance(testIdle / 2)
	young := s.create("b")
	clock.Advance(testIdle/2 + time.Second)
	if _, ok := s.lookup(old); ok {
		t.Fatal("idle session found")
	}
	if n := len(s.entries()); n != 1 {
		t.Errorf("%d sessions kept after an expired lookup, want 1", n)
	}
	if p, ok := s.lookup(young); !ok || p != "b" {
		t.Errorf("the other session: %q, %v", p, ok)
	}
}

func TestSessionDelete(t *testing.T) {
	s, _ := newTestSessions(t)
	a, b := s.create("a"), s.create("b")
	ctx := context.Background()
	s.delete(ctx, a)
	if _, ok := s.lookup(a); ok {
		t.Error("deleted session still found")
	}
	if p, ok := s.lookup(b); !ok || p != "b" {
		t.Errorf("deleting a ended b: %q, %v", p, ok)
	}
	// Deleting what does not exist is harmless.
	for _, token := range []string{a, "", strings.Repeat("x", 1000)} {
		if err := s.delete(ctx, token); err != nil {
			t.Errorf("delete(%.10q): %v", token, err)
		}
	}
	if _, ok := s.lookup(b); !ok {
		t.Error("b gone after unrelated deletes")
	}
}

func TestSessionTokens(t *testing.T) {
	s, _ := newTestSessions(t)
	const n = 500
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		token := s.create(fmt.Sprintf("pat-%d", i))
		if len(token) < 43 {
			t.Fatalf("token %q is %d characters, want at least 43 (256 bits)", token, len(token))
		}
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			t.Fatalf("token %q is not base64url: %v", token, err)
		}
		if len(raw) < 32 {
			t.Fatalf("token carries %d bytes, want 32", len(raw))
		}
		if seen[token] {
			t.Fatalf("token %q issued twice", token)
		}
		seen[token] = true
	}
	for token := range seen {
		if _, ok := s.lookup(token); !ok {
			t.Fatalf("token %q not found", token)
		}
	}
}

func TestSessionLookupRefuses(t *testing.T) {
	s, _ := newTestSessions(t)
	valid := s.create("p")
	// A long token is refused before hashing, even if a session had its hash.
	long := valid + strings.Repeat("A", 129-len(valid))
	sum := sha256.Sum256([]byte(long))
	now := s.now().UnixNano()
	s.st.Swap(context.Background(), "session:"+hex.EncodeToString(sum[:]), 0, fmt.Appendf(nil, `{"p":"intruder","c":%d,"l":%d}`, now, now), time.Hour)
	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"longer than 128", long},
		{"unknown", strings.Repeat("A", 43)},
		{"prefix of a token", valid[:42]},
		{"token with a suffix", valid + "A"},
		{"other case", strings.ToUpper(valid)},
		{"hash of the token", base64.RawURLEncoding.EncodeToString(func() []byte { h := sha256.Sum256([]byte(valid)); return h[:] }())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token == valid {
				t.Skip("case happens to equal the valid token")
			}
			if p, ok := s.lookup(tt.token); ok {
				t.Errorf("lookup(%q) = %q, true", tt.token, p)
			}
		})
	}
	if _, ok := s.lookup(valid); !ok {
		t.Error("the valid token stopped working")
	}
}

func TestSessionStoreKeepsHashes(t *testing.T) {
	s, _ := newTestSessions(t)
	tokens := []string{s.create("pat-a"), s.create("pat-b")}
	entries := s.entries()
	dump := fmt.Sprint(entries)
	for _, token := range tokens {
		sum := sha256.Sum256([]byte(token))
		if _, ok := entries["session:"+hex.EncodeToString(sum[:])]; !ok {
			t.Errorf("no entry under the SHA-256 of token %q", token)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(token)
		if strings.Contains(dump, token) || strings.Contains(dump, hex.EncodeToString(raw)) {
			t.Errorf("the store holds token %q", token)
		}
	}
	if len(entries) != len(tokens) {
		t.Errorf("%d entries, want %d", len(entries), len(tokens))
	}
}

func TestSessionStoreConcurrent(t *testing.T) {
	s, clock := newTestSessions(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				patient := fmt.Sprintf("pat-%d-%d", g, i)
				token := s.create(patient)
				if p, ok := s.lookup(token); !ok || p != patient {
					t.Errorf("lookup after create: %q, %v", p, ok)
					return
				}
				clock.Advance(time.Millisecond)
				s.delete(context.Background(), token)
				if _, ok := s.lookup(token); ok {
					t.Error("found after delete")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSessionCookie(t *testing.T) {
	tests := []struct {
		name       string
		tls        bool
		token      string
		wantName   string
		wantMaxAge int
	}{
		{"http", false, "tok", "parcours_session", 43200},
		{"https uses __Host-", true, "tok", "__Host-parcours_session", 43200},
		{"clearing over http", false, "", "parcours_session", -1},
		{"clearing over https", true, "", "__Host-parcours_session", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			setSessionCookie(w, tt.tls, tt.token, testMax)
			cookies := w.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("%d cookies set", len(cookies))
			}
			c := cookies[0]
			if c.Name != tt.wantName || c.Value != tt.token || c.Path != "/" || c.Domain != "" {
				t.Errorf("cookie %s=%q path %q domain %q", c.Name, c.Value, c.Path, c.Domain)
			}
			// Over HTTPS the frame is embedded cross-site: SameSite=None
			// with a partitioned (CHIPS) cookie; over plain HTTP, Lax.
			wantSameSite := http.SameSiteLaxMode
			if tt.tls {
				wantSameSite = http.SameSiteNoneMode
			}
			if !c.HttpOnly || c.SameSite != wantSameSite || c.Secure != tt.tls || c.Partitioned != tt.tls {
				t.Errorf("HttpOnly %v, SameSite %v, Secure %v, Partitioned %v", c.HttpOnly, c.SameSite, c.Secure, c.Partitioned)
			}
			if c.MaxAge != tt.wantMaxAge {
				t.Errorf("Max-Age %d, want %d", c.MaxAge, tt.wantMaxAge)
			}
		})
	}
}

func TestSessionToken(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		cookies map[string]string
		want    string
	}{
		{"none", false, nil, ""},
		{"http cookie over http", false, map[string]string{"parcours_session": "a"}, "a"},
		{"__Host- cookie ignored over http", false, map[string]string{"__Host-parcours_session": "a"}, ""},
		{"plain cookie ignored over https", true, map[string]string{"parcours_session": "a"}, ""},
		{"__Host- cookie over https", true, map[string]string{"__Host-parcours_session": "b", "parcours_session": "a"}, "b"},
		{"other cookies ignored", false, map[string]string{"session": "x", "parcours": "y"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range tt.cookies {
				r.AddCookie(&http.Cookie{Name: k, Value: v})
			}
			if got := sessionToken(r, tt.tls); got != tt.want {
				t.Errorf("sessionToken = %q, want %q", got, tt.want)
			}
		})
	}
}

// The memory State starts no goroutine and drops keys no one reads again
// when later ones are stored, at most once per sweepEvery.
func TestMemoryStateSweeps(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	before := runtime.NumGoroutine()
	s := &sessionStore{st: NewMemoryState(clock.Now, 0), idle: testIdle, max: testMax, now: clock.Now}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("the memory State started %d goroutines", n-before)
	}
	s.create("a")
	s.create("b")
	// Kept a minute beyond their expiry, for a distributed store's clocks.
	clock.Advance(testIdle + time.Minute + time.Second)
	young := s.create("c")
	if n := len(s.entries()); n != 1 {
		t.Errorf("%d sessions kept after idle expiry, want 1", n)
	}
	clock.Advance(testIdle + time.Minute + time.Second)
	s.create("d") // a sweep is due again: c goes
	if n := len(s.entries()); n != 1 {
		t.Errorf("%d sessions kept, want 1", n)
	}
	if _, ok := s.lookup(young); ok {
		t.Error("idle session found")
	}
	// Within sweepEvery of the last sweep, a new key does not sweep.
	s2 := &sessionStore{st: NewMemoryState(clock.Now, 0), idle: 30 * time.Second, max: testMax, now: clock.Now}
	s2.create("x")                  // kept 90 s
	clock.Advance(61 * time.Second) // a sweep is due: x is live
	s2.create("w")
	clock.Advance(34 * time.Second) // x expired, the last sweep 34 s ago
	s2.create("y")
	if n := len(s2.entries()); n != 3 {
		t.Errorf("%d sessions held, want 3 (no sweep within %v)", n, sweepEvery)
	}
}

// A full memory State sweeps, then refuses a new key with ErrStateFull.
func TestMemoryStateBound(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	m := NewMemoryState(clock.Now, 2)
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if ok, err := m.Swap(ctx, k, 0, []byte(k), time.Minute); !ok || err != nil {
			t.Fatalf("Swap(%s) = %v, %v", k, ok, err)
		}
	}
	if ok, err := m.Swap(ctx, "c", 0, []byte("c"), time.Minute); ok || !errors.Is(err, ErrStateFull) {
		t.Errorf("third key: %v, %v; want ErrStateFull", ok, err)
	}
	// Changing a key held is not a new key.
	_, v, _ := m.Get(ctx, "a")
	if ok, err := m.Swap(ctx, "a", v, []byte("a2"), time.Minute); !ok || err != nil {
		t.Errorf("update of a held key: %v, %v", ok, err)
	}
	clock.Advance(time.Minute)
	if ok, err := m.Swap(ctx, "c", 0, []byte("c"), time.Minute); !ok || err != nil {
		t.Errorf("after expiry: %v, %v; want room", ok, err)
	}
}

// Every class of keys but sessions holds at most a quarter of the memory
// State, so a flood of sign-ins or of rate-limit buckets leaves room for
// sessions; a full class sweeps at most once a second.
func TestMemoryStateClasses(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	m := NewMemoryState(clock.Now, 8) // a class: 2 keys
	ctx := context.Background()
	put := func(key string, ttl time.Duration) error {
		t.Helper()
		ok, err := m.Swap(ctx, key, 0, []byte("v"), ttl)
		if err == nil && !ok {
			t.Fatalf("Swap(%s) lost a race no one runs", key)
		}
		return err
	}
	for _, k := range []string{"signin:a", "signin:b", "rate:login:1", "rate:login:2"} {
		if err := put(k, 500*time.Millisecond); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	for _, k := range []string{"signin:c", "rate:login:3"} {
		if err := put(k, time.Minute); !errors.Is(err, ErrStateFull) {
			t.Errorf("%s beyond its class's quarter: %v, want ErrStateFull", k, err)
		}
	}
	// Sessions take the rest.
	for _, k := range []string{"session:1", "session:2", "session:3", "session:4"} {
		if err := put(k, time.Hour); err != nil {
			t.Fatalf("%s with sign-ins and buckets at their bound: %v", k, err)
		}
	}
	if err := put("session:5", time.Hour); !errors.Is(err, ErrStateFull) {
		t.Errorf("a session beyond the store's bound: %v, want ErrStateFull", err)
	}
	// The sign-ins have expired, but the full class swept less than a
	// second ago: no sweep yet.
	clock.Advance(600 * time.Millisecond)
	if err := put("signin:c", time.Minute); !errors.Is(err, ErrStateFull) {
		t.Errorf("a full class swept twice within a second: %v", err)
	}
	clock.Advance(400 * time.Millisecond)
	if err := put("signin:c", time.Minute); err != nil {
		t.Errorf("a class with expired keys, a second after its last sweep: %v", err)
	}
	if err := put("session:5", time.Hour); err != nil {
		t.Errorf("a session once the expired buckets are gone: %v", err)
	}
	// A deleted key gives its class its room back.
	_, v, _ := m.Get(ctx, "signin:c")
	if ok, err := m.Swap(ctx, "signin:c", v, nil, 0); !ok || err != nil {
		t.Fatalf("delete: %v, %v", ok, err)
	}
	if err := put("signin:d", time.Minute); err != nil {
		t.Errorf("a class after a delete: %v", err)
	}
}

// Swap is compare-and-swap: of concurrent writers from one version, one
// wins; an expired key is absent (version 0).
func TestMemoryStateSwap(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	m := NewMemoryState(clock.Now, 0)
	ctx := context.Background()
	if v, ver, err := m.Get(ctx, "k"); v != nil || ver != 0 || err != nil {
		t.Fatalf("absent key: %q, %d, %v", v, ver, err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if ok, _ := m.Swap(ctx, "k", 0, []byte{byte(i)}, time.Minute); ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d creations won, want 1", wins.Load())
	}
	_, ver, _ := m.Get(ctx, "k")
	if ok, _ := m.Swap(ctx, "k", ver+1, []byte("x"), time.Minute); ok {
		t.Error("a swap from a version never read won")
	}
	if ok, _ := m.Swap(ctx, "k", ver, nil, 0); !ok {
		t.Error("delete at the current version lost")
	}
	if ok, _ := m.Swap(ctx, "k", ver, []byte("late"), time.Minute); ok {
		t.Error("a swap from the deleted version won")
	}
	m.Swap(ctx, "e", 0, []byte("e"), time.Second)
	clock.Advance(time.Second)
	if v, ver, _ := m.Get(ctx, "e"); v != nil || ver != 0 {
		t.Errorf("expired key read as %q, version %d", v, ver)
	}
	if ok, _ := m.Swap(ctx, "e", 0, []byte("again"), time.Second); !ok {
		t.Error("an expired key is not absent to Swap")
	}
}
