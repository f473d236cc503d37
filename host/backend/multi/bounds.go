package multi

import (
	"context"
	"errors"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// bounds gives each routed call its deadline, and names a call that ran
// out of it as the establishment's unavailability.
type bounds struct{ timeout time.Duration }

func newBounds(timeout time.Duration) bounds {
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	return bounds{timeout}
}

// start bounds ctx; done ends the bound and returns err, or an
// ErrBackendUnavailable error when the call ran out of its time (while
// the caller still waited: a patient who left is not an outage).
func (b bounds) start(ctx context.Context) (context.Context, func(est string, err error) error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	return ctx, func(est string, err error) error {
		defer cancel()
		if err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !portal.IsCode(err, portal.ErrBackendUnavailable) {
			return portal.Errorf(portal.ErrBackendUnavailable, "establishment %s did not answer within %s: %v", est, b.timeout, err)
		}
		return err
	}
}
