package host

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// maxIdleBuckets is the number of buckets above which take drops the full
// ones (of people who did nothing for a whole period): memory stays bounded
// by the people active in the last period.
const maxIdleBuckets = 4096

// rateLimiter is a token bucket per key: burst tokens at most, refilled at
// burst per period. It lives in the host's memory, so each host
// instance counts on its own (the Workers runtime moves it to a Durable
// Object).
type rateLimiter struct {
	mu      sync.Mutex
	burst   float64
	period  time.Duration
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was counted
}

func newRateLimiter(burst int, period time.Duration, now func() time.Time) *rateLimiter {
	return &rateLimiter{burst: float64(burst), period: period, now: now, buckets: map[string]*bucket{}}
}

// refill brings b's tokens up to now.
func (l *rateLimiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+float64(elapsed)/float64(l.period)*l.burst)
	}
	b.at = now
}

// take spends a token of key; without one, it reports how long until the
// next one.
func (l *rateLimiter) take(key string) (wait time.Duration, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.buckets[key]
	if !found {
		if len(l.buckets) >= maxIdleBuckets {
			for k, v := range l.buckets {
				if l.refill(v, now); v.tokens >= l.burst {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.burst * float64(l.period)), false
}

// refund gives back a token spent by a call that stored nothing new (a
// retry of a stored message or document).
func (l *rateLimiter) refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// limitedError is a request refused by a rate limiter: its rate_limited
// error and the wait until the next token, which writeError answers as
// Retry-After (whole seconds). The widgets' form path shows the error alone.
type limitedError struct {
	wait time.Duration
	err  error
}

func (e *limitedError) Error() string { return e.err.Error() }
func (e *limitedError) Unwrap() error { return e.err }

// rateLimited returns the rate_limited error of a refusal, to be answered
// with Retry-After after wait.
func rateLimited(wait time.Duration, format string, args ...any) error {
	return &limitedError{wait: wait, err: portal.Errorf(portal.ErrRateLimited, format, args...)}
}

type addressKey struct{}

// withAddress puts the client's address (clientAddress) in r's context, for
// the per-address limits of calls that have only a context (a booking made
// by the widget's form).
func (h *Host) withAddress(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), addressKey{}, h.clientAddress(r)))
}

// spendAddress takes one of the write tokens of the context's client
// address, or returns a rate_limited error. A context without an address
// (a call from inside the host) is not counted.
func (h *Host) spendAddress(ctx context.Context) error {
	addr, _ := ctx.Value(addressKey{}).(string)
	if addr == "" {
		return nil
	}
	if wait, ok := h.addressRate.take(addr); !ok {
		return rateLimited(wait, "this address made %d writes in the last minute", h.cfg.WritesPerAddressPerMinute)
	}
	return nil
}

// clientAddress is the client's address: Config.ClientAddressHeader's
// value behind a proxy (the last of a list), else the connection's.
func (h *Host) clientAddress(r *http.Request) string {
	if name := h.cfg.ClientAddressHeader; name != "" {
		v := r.Header.Values(name)
		if len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if addr, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return addr.Unmap().String()
			}
		}
		// A request without the header did not come through the proxy:
		// count it under the connection's address.
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// validHeaderName reports whether s is an HTTP header name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
