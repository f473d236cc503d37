package host

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestLimiter(burst int, period time.Duration) (*rateLimiter, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	return newRateLimiter("test", burst, period, NewMemoryState(clock.Now, 0), clock.Now), clock
}

func TestRateLimiterBucket(t *testing.T) {
	ctx := context.Background()
	l, clock := newTestLimiter(3, time.Minute)
	for i := range 3 {
		if _, ok, err := l.take(ctx, "a"); !ok || err != nil {
			t.Fatalf("take %d of the burst: %v, %v", i+1, ok, err)
		}
	}
	wait, ok, err := l.take(ctx, "a")
	if ok || err != nil || wait != 20*time.Second {
		t.Fatalf("beyond the burst: wait %v, ok %v, %v; want 20s (a token every 60/3 s)", wait, ok, err)
	}
	// Another key has its own bucket.
	if _, ok, _ := l.take(ctx, "b"); !ok {
		t.Error("key b limited by a's spending")
	}
	clock.Advance(15 * time.Second)
	if wait, ok, _ := l.take(ctx, "a"); ok || wait != 5*time.Second {
		t.Errorf("after 15 s: wait %v, ok %v; want 5s", wait, ok)
	}
	clock.Advance(5 * time.Second)
	if _, ok, _ := l.take(ctx, "a"); !ok {
		t.Error("after 20 s: no token")
	}
	// A refund gives one token back, never above the burst.
	if err := l.refund(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := l.take(ctx, "a"); !ok {
		t.Error("the refunded token was not there")
	}
	for range 10 {
		l.refund(ctx, "b")
	}
	n := 0
	for {
		if _, ok, _ := l.take(ctx, "b"); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Errorf("after refunds, %d tokens, want the burst, 3", n)
	}
}

// Concurrent requests share a bucket exactly: of 40 takes on a bucket of
// 10, 10 pass.
func TestRateLimiterConcurrent(t *testing.T) {
	l, _ := newTestLimiter(10, time.Hour)
	var passed atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			_, ok, err := l.take(context.Background(), "k")
			if err != nil {
				t.Error(err)
			}
			if ok {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 10 {
		t.Errorf("%d takes passed, want 10", passed.Load())
	}
}

// A full bucket is not stored: the State holds only the buckets of people
// who spent something, until they are full again.
func TestRateLimiterForgets(t *testing.T) {
	ctx := context.Background()
	l, clock := newTestLimiter(2, time.Minute)
	m := l.st.(*MemoryState)
	l.take(ctx, "a")
	if m.Len() != 1 {
		t.Fatalf("%d keys after a take, want 1", m.Len())
	}
	// Full again after 30 s; kept a minute more for distributed clocks.
	clock.Advance(30*time.Second + time.Minute)
	if v, _, _ := m.Get(ctx, "rate:test:a"); v != nil {
		t.Errorf("a full bucket still held: %s", v)
	}
}

// failingState is a State that cannot be reached.
type failingState struct{}

var errUnreachable = errors.New("state unreachable")

func (failingState) Get(context.Context, string) ([]byte, uint64, error) {
	return nil, 0, errUnreachable
}

func (failingState) Swap(context.Context, string, uint64, []byte, time.Duration) (bool, error) {
	return false, errUnreachable
}

// An unreachable State refuses: no token is handed out, no session found.
func TestStateUnreachableFailsClosed(t *testing.T) {
	ctx := context.Background()
	l := newRateLimiter("test", 5, time.Minute, failingState{}, time.Now)
	if _, ok, err := l.take(ctx, "a"); ok || err == nil {
		t.Errorf("take on an unreachable State: ok %v, err %v", ok, err)
	}
	if err := l.spend(ctx, "a", "limited"); err == nil {
		t.Error("spend on an unreachable State passed")
	}
	s := &sessionStore{st: failingState{}, idle: testIdle, max: testMax, now: time.Now}
	if _, err := s.open(ctx, "patient", "p"); err == nil {
		t.Error("a session opened on an unreachable State")
	}
	if _, ok, err := s.subject(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true); ok || err == nil {
		t.Errorf("subject on an unreachable State: ok %v, err %v", ok, err)
	}
}

// contendedState loses every swap, as if another writer always came first.
type contendedState struct{ *MemoryState }

func (c *contendedState) Swap(context.Context, string, uint64, []byte, time.Duration) (bool, error) {
	return false, nil
}

func TestUpdateGivesUpUnderContention(t *testing.T) {
	st := &contendedState{NewMemoryState(nil, 0)}
	err := update(context.Background(), st, "k", func([]byte) ([]byte, time.Duration, bool) { return []byte("x"), time.Minute, true })
	if !errors.Is(err, errContended) {
		t.Errorf("update under endless contention: %v, want errContended", err)
	}
}
