package host

import (
	"context"
	"strings"
	"sync"
	"time"
)

// DefaultMemoryStateKeys is NewMemoryState's bound on the keys it holds.
const DefaultMemoryStateKeys = 1 << 20

// MemoryState is a State in this process's memory: for a host that runs as
// one server. It starts no goroutine: expired keys are dropped as new ones
// come, at most once a minute, and when it is full (then at most once a
// second, so that a flood of new keys does not turn into a flood of
// sweeps).
//
// Its bound is shared, but not evenly: a key's class is its prefix up to
// the first colon (session, rate, signin, handoff: see the host's keys),
// and every class but sessions may hold at most a quarter of the keys.
// Someone spraying sign-ins or rate-limited requests from many addresses
// then fills their own classes, and the sessions keep at least a quarter
// of the store.
type MemoryState struct {
	mu        sync.Mutex
	now       func() time.Time
	max       int
	classMax  int // the bound of every class but sessionClass
	entries   map[string]*memoryEntry
	classes   map[string]int // keys held per class, expired ones not yet dropped included
	version   uint64
	lastSweep time.Time
	lastFull  time.Time // the last sweep forced by a full store or class
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
	return &MemoryState{
		now: now, max: maxKeys, classMax: max(maxKeys/4, 1),
		entries: map[string]*memoryEntry{}, classes: map[string]int{}, lastSweep: now(),
	}
}

// sessionClass is the class of keys bounded only by the store's bound.
const sessionClass = "session"

// keyClass is key's class: its prefix up to the first colon.
func keyClass(key string) string {
	class, _, _ := strings.Cut(key, ":")
	return class
}

// full reports whether a new key of class would exceed a bound; with m.mu
// held.
func (m *MemoryState) full(class string) bool {
	return len(m.entries) >= m.max || (class != sessionClass && m.classes[class] >= m.classMax)
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
		m.drop(key)
		return true, nil
	}
	if _, ok := m.entries[key]; !ok {
		class := keyClass(key)
		switch {
		case now.Sub(m.lastSweep) >= sweepEvery:
			m.sweep(now)
		case m.full(class) && now.Sub(m.lastFull) >= fullSweepEvery:
			m.lastFull = now
			m.sweep(now)
		}
		if m.full(class) {
			return false, ErrStateFull
		}
		m.classes[class]++
	}
	m.version++
	m.entries[key] = &memoryEntry{value: value, version: m.version, expires: now.Add(ttl)}
	return true, nil
}

// drop deletes key if held; with m.mu held.
func (m *MemoryState) drop(key string) {
	if _, ok := m.entries[key]; !ok {
		return
	}
	delete(m.entries, key)
	class := keyClass(key)
	if m.classes[class]--; m.classes[class] <= 0 {
		delete(m.classes, class)
	}
}

// sweep drops the expired entries; with m.mu held.
func (m *MemoryState) sweep(now time.Time) {
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			m.drop(k)
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

// sweepEvery is how often, at most, new keys sweep the expired ones;
// fullSweepEvery, how often when the store or the key's class is full.
const (
	sweepEvery     = time.Minute
	fullSweepEvery = time.Second
)
