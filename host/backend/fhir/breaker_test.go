package fhir

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portaltest"
)

func newTestBreaker(threshold int, clock *portaltest.Clock) *breaker {
	return newBreaker(threshold, 30*time.Second, clock.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// call runs one call through b with outcome o, if b allows it, and
// reports whether it was allowed.
func call(b *breaker, o outcome) bool {
	if !b.allow() {
		return false
	}
	b.record(o)
	return true
}

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	clock := portaltest.NewClock(time.Unix(0, 0))
	b := newTestBreaker(3, clock)
	// Failures separated by a success do not add up.
	for _, o := range []outcome{failed, failed, succeeded, failed, failed} {
		if !call(b, o) {
			t.Fatal("a closed breaker refused a call")
		}
	}
	if b.current() != closed {
		t.Fatalf("state %s after 2 consecutive failures, want closed", b.current())
	}
	// Calls the caller abandoned say nothing of the server.
	call(b, abandoned)
	if b.current() != closed {
		t.Fatalf("state %s after an abandoned call, want closed", b.current())
	}
	call(b, failed)
	if b.current() != open {
		t.Fatalf("state %s after 3 consecutive failures, want open", b.current())
	}
	if b.allow() {
		t.Error("an open breaker allowed a call")
	}
	clock.Advance(29 * time.Second)
	if b.allow() {
		t.Error("an open breaker allowed a call before its cool-down")
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	tests := []struct {
		name  string
		trial outcome
		want  breakerState
	}{
		{"SuccessCloses", succeeded, closed},
		{"FailureReopens", failed, open},
		{"AbandonedStaysHalfOpen", abandoned, halfOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := portaltest.NewClock(time.Unix(0, 0))
			b := newTestBreaker(2, clock)
			call(b, failed)
			call(b, failed)
			clock.Advance(30 * time.Second)
			if !b.allow() {
				t.Fatal("the breaker refused the trial call after its cool-down")
			}
			if b.current() != halfOpen || b.allow() {
				t.Fatalf("state %s; a second call was allowed during the trial", b.current())
			}
			b.record(tc.trial)
			if b.current() != tc.want {
				t.Fatalf("state %s after the trial, want %s", b.current(), tc.want)
			}
			switch tc.want {
			case closed:
				if !b.allow() {
					t.Error("a closed breaker refused a call")
				}
			case open:
				// The cool-down starts again from the trial.
				clock.Advance(29 * time.Second)
				if b.allow() {
					t.Error("the breaker reopened by the trial allowed a call before a new cool-down")
				}
				clock.Advance(time.Second)
				if !b.allow() {
					t.Error("the breaker refused a trial after the new cool-down")
				}
			case halfOpen:
				if !b.allow() {
					t.Error("the breaker refused a new trial after an abandoned one")
				}
			}
		})
	}
}

func TestBreakerDisabled(t *testing.T) {
	clock := portaltest.NewClock(time.Unix(0, 0))
	b := newTestBreaker(-1, clock)
	for range 100 {
		if !call(b, failed) {
			t.Fatal("a disabled breaker refused a call")
		}
	}
}

// TestBreakerConcurrentTrial checks that of many calls racing when the
// cool-down ends, exactly one is the trial.
func TestBreakerConcurrentTrial(t *testing.T) {
	clock := portaltest.NewClock(time.Unix(0, 0))
	b := newTestBreaker(1, clock)
	call(b, failed)
	clock.Advance(time.Minute)
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if b.allow() {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 1 {
		t.Errorf("%d concurrent calls allowed in half-open, want 1", allowed)
	}
}
