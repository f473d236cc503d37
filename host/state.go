package host

import (
	"context"
	"errors"
	"time"
)

// State is where the host keeps what it must remember between requests:
// sessions, rate-limit buckets and sign-ins under way. Every instance of a
// host must share one State, or a rate limit could be bypassed by reaching
// another instance, and a session would only work on the instance that
// opened it. The default, NewMemoryState, is this process's memory: right
// for one server. A host spread over many instances (Cloudflare Workers,
// where each isolate runs a host of its own) needs a shared store with
// strong consistency: host/cloudflare's DurableState keeps each key in a
// Durable Object.
//
// State is a map of versioned values with compare-and-swap, so that every
// rule (token buckets, session expiry, single-use sign-in state) is the
// host's, written once, and a store only has to be linearizable per key.
// The host keeps no session token there (sessions are keyed by the token's
// SHA-256) and no health data: person ids, counters and sign-in secrets,
// each with an expiry after which the store must forget it.
//
// An error is the store being unreachable: the host then answers 503 and
// lets nothing through (it fails closed).
type State interface {
	// Get returns key's value and version; an absent key has version 0
	// and a nil value.
	Get(ctx context.Context, key string) (value []byte, version uint64, err error)
	// Swap stores value under key if key is still at version (0: still
	// absent), to be forgotten ttl later (> 0; a duration rather than an
	// instant, so that a store's clock need not be the host's); a nil
	// value deletes the key. ok is false, and nothing is stored, when
	// another writer changed key first: the caller reads again and
	// retries.
	Swap(ctx context.Context, key string, version uint64, value []byte, ttl time.Duration) (ok bool, err error)
}

// ErrStateFull is a State's refusal to store a new key when it holds as
// many as it may (the memory store's bound).
var ErrStateFull = errors.New("host: state store full")

// maxSwapTries bounds the read-and-swap rounds of one update: each lost
// round means another request changed the key in between, so this many in
// a row is contention no one person causes.
const maxSwapTries = 16

// errContended is an update that lost maxSwapTries rounds in a row.
var errContended = errors.New("host: state key too contended")

// update applies f to key's value until its swap wins: f gets the current
// value (nil when absent) and returns the new value (nil deletes), how
// long to keep it, and whether to write at all.
func update(ctx context.Context, st State, key string, f func(old []byte) (value []byte, ttl time.Duration, write bool)) error {
	for range maxSwapTries {
		old, version, err := st.Get(ctx, key)
		if err != nil {
			return err
		}
		value, ttl, write := f(old)
		if !write {
			return nil
		}
		ok, err := st.Swap(ctx, key, version, value, ttl)
		if err != nil || ok {
			return err
		}
	}
	return errContended
}
