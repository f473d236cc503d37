// Package deadline gives the host and its backends their timeouts and waits
// on a timer they are given (AfterFunc): Go's by default, and on Cloudflare
// Workers a JS timer of the request itself (host/cloudflare.AfterFunc),
// because there Go's runtime has one JS timer for all its goroutines, set
// by whichever request entered Go last, and cancelled with that request:
// a Go timer of another request might then fire late, or never.
package deadline

import (
	"context"
	"time"
)

// AfterFunc runs f once after d, unless stop is called first; stop reports
// whether it stopped f from running. time.AfterFunc(d, f).Stop is one.
type AfterFunc = func(d time.Duration, f func()) (stop func() bool)

// WithTimeout is context.WithTimeout on after's timer; nil after is
// context.WithTimeout itself. The context's Deadline is now plus d (or the
// parent's, when sooner), and its Err is context.DeadlineExceeded once d
// has passed, as with context.WithTimeout.
func WithTimeout(ctx context.Context, after AfterFunc, d time.Duration) (context.Context, context.CancelFunc) {
	if after == nil {
		return context.WithTimeout(ctx, d)
	}
	inner, cancel := context.WithCancelCause(ctx)
	c := &timeoutCtx{Context: inner, deadline: time.Now().Add(d)}
	if pd, ok := ctx.Deadline(); ok && pd.Before(c.deadline) {
		c.deadline = pd
	}
	stop := after(d, func() { cancel(context.DeadlineExceeded) })
	return c, func() {
		stop()
		cancel(context.Canceled)
	}
}

type timeoutCtx struct {
	context.Context
	deadline time.Time
}

func (c *timeoutCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *timeoutCtx) Err() error {
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}

// Sleep waits d on after's timer (nil: Go's), or until ctx ends: then it
// returns ctx's error.
func Sleep(ctx context.Context, after AfterFunc, d time.Duration) error {
	if after == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	fired := make(chan struct{})
	stop := after(d, func() { close(fired) })
	select {
	case <-ctx.Done():
		stop()
		return ctx.Err()
	case <-fired:
		return nil
	}
}
