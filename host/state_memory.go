package host

import (
	"context"
	"sync"
	"time"
)

// DefaultMemoryStateKeys is NewMemoryState's bound on the keys it holds.
const DefaultMemoryStateKeys = 1 << 20

// MemoryState is a State in this process's memory: for a host that runs as
// one server. It starts no goroutine: expired keys are dropped as new ones
// come, at most once a minute, and when it is full.
type MemoryState struct {
	mu        sync.Mutex
	now       func() time.Time
	max       int
	entries   map[string]*memoryEntry
	version   uint64
	lastSweep time.Time
}

type memoryEntry struct {
	value   []byte
	version uint64
	expires time.Time
}

// NewMemoryState returns an empty MemoryState with the clock now (nil:
// time.Now) holding at most maxKeys keys (≤ 0: DefaultMemoryStateKeys);
// beyond, a new key is refused with ErrStateFull.
func NewMemoryState(now func() time.Time, maxKeys int) *MemoryState {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMemoryStateKeys
	}
	return &MemoryState{now: now, max: maxKeys, entries: map[string]*memoryEntry{}, lastSweep: now()}
}

// Get implements State.
func (m *MemoryState) Get(_ context.Context, key string) ([]byte, uint64, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.live(key, now)
	if e == nil {
		return nil, 0, nil
	}
	return e.value, e.version, nil
}

// live returns key's entry unless absent or expired; with m.mu held.
func (m *MemoryState) live(key string, now time.Time) *memoryEntry {
	e := m.entries[key]
	if e == nil || !now.Before(e.expires) {
		return nil
	}
	return e
}

// Swap implements State.
func (m *MemoryState) Swap(_ context.Context, key string, version uint64, value []byte, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var current uint64
	if e := m.live(key, now); e != nil {
		current = e.version
	}
	if current != version {
		return false, nil
	}
	if value == nil {
		delete(m.entries, key)
		return true, nil
	}
	if _, ok := m.entries[key]; !ok {
		if now.Sub(m.lastSweep) >= sweepEvery || len(m.entries) >= m.max {
			m.sweep(now)
		}
		if len(m.entries) >= m.max {
			return false, ErrStateFull
		}
	}
	m.version++
	m.entries[key] = &memoryEntry{value: value, version: m.version, expires: now.Add(ttl)}
	return true, nil
}

// sweep drops the expired entries; with m.mu held.
func (m *MemoryState) sweep(now time.Time) {
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		}
	}
	m.lastSweep = now
}

// Len returns the number of keys held, expired ones not yet dropped
// included.
func (m *MemoryState) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// sweepEvery is how often, at most, new keys sweep the expired ones.
const sweepEvery = time.Minute
