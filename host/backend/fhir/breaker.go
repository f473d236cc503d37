package fhir

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// breaker is the circuit breaker of one FHIR server (one base URL): after
// threshold consecutive failed calls it opens and refuses calls without
// making them, so that a dead server costs patients no wait; after coolDown
// it lets one trial call through (half-open), whose success closes it and
// whose failure opens it again.
//
// A call is a failure when the server did not answer usefully: a network
// error, a timeout, 408, 429 or a 5xx. Any other answer, 404 or 412
// included, is a success: the server is up.
type breaker struct {
	threshold int // <= 0: never opens
	coolDown  time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu       sync.Mutex
	state    breakerState
	failures int       // consecutive, while closed
	openedAt time.Time // when it last opened
	trial    bool      // a half-open trial call is in flight
}

type breakerState int

const (
	closed breakerState = iota
	open
	halfOpen
)

func (s breakerState) String() string {
	switch s {
	case open:
		return "open"
	case halfOpen:
		return "half-open"
	}
	return "closed"
}

// outcome is what a call tells the breaker.
type outcome int

const (
	succeeded outcome = iota
	failed
	// abandoned is a call the caller gave up (its context ended): it
	// says nothing of the server.
	abandoned
)

func newBreaker(threshold int, coolDown time.Duration, now func() time.Time, log *slog.Logger) *breaker {
	return &breaker{threshold: threshold, coolDown: coolDown, now: now, log: log}
}

// allow reports whether a call may be made now. A true answer must be
// followed by exactly one record of the call's outcome.
func (b *breaker) allow() bool {
	if b.threshold <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case open:
		if b.now().Sub(b.openedAt) < b.coolDown {
			return false
		}
		b.setState(halfOpen)
		b.trial = true
		return true
	case halfOpen:
		if b.trial {
			return false // one trial at a time
		}
		b.trial = true
		return true
	}
	return true
}

// record notes the outcome of a call that allow let through.
func (b *breaker) record(o outcome) {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == halfOpen {
		b.trial = false
		switch o {
		case succeeded:
			b.failures = 0
			b.setState(closed)
		case failed:
			b.openedAt = b.now()
			b.setState(open)
		}
		return
	}
	switch o {
	case succeeded:
		b.failures = 0
	case failed:
		b.failures++
		if b.state == closed && b.failures >= b.threshold {
			b.openedAt = b.now()
			b.setState(open)
		}
	}
}

// current returns the breaker's state.
func (b *breaker) current() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

func (b *breaker) setState(s breakerState) {
	if s == b.state {
		return
	}
	level := slog.LevelInfo
	if s == open {
		level = slog.LevelWarn
	}
	b.log.Log(context.Background(), level, "fhir: circuit breaker "+s.String(), "from", b.state.String(), "consecutive_failures", b.failures)
	b.state = s
}
