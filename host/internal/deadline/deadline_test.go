package deadline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// manual is an AfterFunc whose timers fire when the test says.
type manual struct {
	mu     sync.Mutex
	timers []*manualTimer
}

type manualTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (m *manual) after(d time.Duration, f func()) func() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{d: d, f: f}
	m.timers = append(m.timers, t)
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// fire runs every timer not stopped.
func (m *manual) fire() {
	m.mu.Lock()
	var run []func()
	for _, t := range m.timers {
		if !t.stopped {
			t.stopped = true
			run = append(run, t.f)
		}
	}
	m.mu.Unlock()
	for _, f := range run {
		f()
	}
}

func TestWithTimeoutFires(t *testing.T) {
	var m manual
	ctx, cancel := WithTimeout(context.Background(), m.after, time.Minute)
	defer cancel()
	if len(m.timers) != 1 || m.timers[0].d != time.Minute {
		t.Fatalf("timers %+v, want one of a minute", m.timers)
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) < 59*time.Second {
		t.Errorf("Deadline %v, %v; want a minute from now", d, ok)
	}
	if ctx.Err() != nil {
		t.Fatal("ended before its timer")
	}
	m.fire()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("Err %v, want DeadlineExceeded", ctx.Err())
	}
	// A context derived from it ends too.
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	<-child.Done()
}

func TestWithTimeoutCancel(t *testing.T) {
	var m manual
	ctx, cancel := WithTimeout(context.Background(), m.after, time.Minute)
	cancel()
	if !m.timers[0].stopped {
		t.Error("cancel left the timer running")
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("Err %v, want Canceled", ctx.Err())
	}
	// The parent's end ends it, with the parent's error.
	parent, cancelParent := context.WithCancel(context.Background())
	ctx2, cancel2 := WithTimeout(parent, m.after, time.Minute)
	defer cancel2()
	cancelParent()
	<-ctx2.Done()
	if !errors.Is(ctx2.Err(), context.Canceled) {
		t.Errorf("after the parent's cancel: %v", ctx2.Err())
	}
	// A sooner parent deadline is the deadline.
	soon, cancelSoon := context.WithTimeout(context.Background(), time.Second)
	defer cancelSoon()
	ctx3, cancel3 := WithTimeout(soon, m.after, time.Hour)
	defer cancel3()
	if d, _ := ctx3.Deadline(); time.Until(d) > time.Second {
		t.Errorf("Deadline %v past the parent's", d)
	}
}

func TestWithTimeoutGo(t *testing.T) {
	ctx, cancel := WithTimeout(context.Background(), nil, time.Millisecond)
	defer cancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("Err %v", ctx.Err())
	}
}

func TestSleep(t *testing.T) {
	var m manual
	done := make(chan error)
	go func() { done <- Sleep(context.Background(), m.after, time.Hour) }()
	for {
		m.mu.Lock()
		n := len(m.timers)
		m.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	m.fire()
	if err := <-done; err != nil {
		t.Errorf("Sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, m.after, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with an ended context: %v", err)
	}
	if !m.timers[1].stopped {
		t.Error("the ended Sleep left its timer")
	}
	if err := Sleep(context.Background(), nil, time.Millisecond); err != nil {
		t.Errorf("Sleep on Go's timer: %v", err)
	}
}
