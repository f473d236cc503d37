package host

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// rateLimiter is a token bucket per key, kept in the host's State: burst
// tokens at most, refilled at burst per period. name keeps the keys of
// different limits apart.
type rateLimiter struct {
	name   string
	burst  float64
	period time.Duration
	st     State
	now    func() time.Time
}

func newRateLimiter(name string, burst int, period time.Duration, st State, now func() time.Time) *rateLimiter {
	return &rateLimiter{name: name, burst: float64(burst), period: period, st: st, now: now}
}

// bucket is a bucket as stored: its tokens when counted, at Unix
// nanoseconds.
type bucket struct {
	Tokens float64 `json:"t"`
	At     int64   `json:"a"`
}

// read decodes a stored bucket at now; absent (or unreadable) is full.
func (l *rateLimiter) read(raw []byte, now time.Time) bucket {
	var b bucket
	if raw == nil || json.Unmarshal(raw, &b) != nil {
		return bucket{Tokens: l.burst, At: now.UnixNano()}
	}
	if elapsed := now.Sub(time.Unix(0, b.At)); elapsed > 0 {
		b.Tokens = min(l.burst, b.Tokens+float64(elapsed)/float64(l.period)*l.burst)
	}
	b.At = now.UnixNano()
	return b
}

// write encodes b with how long to keep it: until it is full again, when
// it is the same as no bucket (plus a minute for a distributed store's
// clocks).
func (l *rateLimiter) write(b bucket) ([]byte, time.Duration) {
	raw, _ := json.Marshal(b)
	return raw, time.Duration((l.burst-b.Tokens)/l.burst*float64(l.period)) + time.Minute
}

// take spends a token of key; without one, it reports how long until the
// next one (ok false). An error is the State being unreachable.
func (l *rateLimiter) take(ctx context.Context, key string) (wait time.Duration, ok bool, err error) {
	now := l.now()
	err = update(ctx, l.st, "rate:"+l.name+":"+key, func(old []byte) ([]byte, time.Duration, bool) {
		b := l.read(old, now)
		if b.Tokens < 1 {
			wait, ok = max(time.Nanosecond, time.Duration((1-b.Tokens)/l.burst*float64(l.period))), false
			return nil, 0, false
		}
		b.Tokens--
		wait, ok = 0, true
		raw, ttl := l.write(b)
		return raw, ttl, true
	})
	if err != nil {
		return 0, false, stateError(err)
	}
	return wait, ok, nil
}

// spend takes a token of key or returns the rate_limited error of
// format and args (answered with Retry-After), or the State's error.
func (l *rateLimiter) spend(ctx context.Context, key, format string, args ...any) error {
	wait, ok, err := l.take(ctx, key)
	if err != nil {
		return err
	}
	if !ok {
		return rateLimited(wait, format, args...)
	}
	return nil
}

// refund gives back a token spent by a call that stored nothing new (a
// retry of a stored message or document). The token is a courtesy: a
// failure to give it back is logged by the caller, not answered.
func (l *rateLimiter) refund(ctx context.Context, key string) error {
	now := l.now()
	return update(ctx, l.st, "rate:"+l.name+":"+key, func(old []byte) ([]byte, time.Duration, bool) {
		if old == nil {
			return nil, 0, false // full
		}
		b := l.read(old, now)
		b.Tokens = min(l.burst, b.Tokens+1)
		raw, ttl := l.write(b)
		return raw, ttl, true
	})
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
	return h.addressRate.spend(ctx, addr, "this address made %d writes in the last minute", h.cfg.WritesPerAddressPerMinute)
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
