package multi

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// CareTeam names practitioners from several care-team directories (the
// SQLite store, each FHIR server), for a host whose practitioners sign in
// to establishments on different backends: a practitioner's id is their
// backend's, so the first directory, in the order given, that knows the
// id answers. A directory that fails fails the call rather than letting
// the next one answer: a session must not be named after someone else.
// DemoPractitioners lists every directory's demo practitioners.
type CareTeam struct {
	dirs  []portal.CareTeamDirectory
	calls bounds
}

var _ portal.CareTeamDirectory = (*CareTeam)(nil)

// NewCareTeam returns the router over dirs, a directory listed twice
// asked once. Each call is bounded by callTimeout (0: DefaultCallTimeout).
func NewCareTeam(dirs []portal.CareTeamDirectory, callTimeout time.Duration) (*CareTeam, error) {
	c := &CareTeam{calls: newBounds(callTimeout)}
	for _, d := range dirs {
		// Only a comparable directory (a pointer, as backends are) can be
		// known as listed already; comparing others would panic.
		if d != nil && !(reflect.TypeOf(d).Comparable() && slices.Contains(c.dirs, d)) {
			c.dirs = append(c.dirs, d)
		}
	}
	if len(c.dirs) == 0 {
		return nil, fmt.Errorf("multi: no care-team directory")
	}
	return c, nil
}

// Practitioner implements portal.CareTeamDirectory.
func (c *CareTeam) Practitioner(ctx context.Context, id string) (portal.Practitioner, error) {
	for _, d := range c.dirs {
		bctx, done := c.calls.start(ctx)
		p, err := d.Practitioner(bctx, id)
		err = done("care-team directory", err)
		if err == nil {
			return p, nil
		}
		if !portal.IsCode(err, portal.ErrNotFound) {
			return portal.Practitioner{}, err
		}
	}
	return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "practitioner %q not found", id)
}

// DemoPractitioners implements portal.CareTeamDirectory.
func (c *CareTeam) DemoPractitioners(ctx context.Context) ([]portal.Practitioner, error) {
	out := []portal.Practitioner{}
	for _, d := range c.dirs {
		bctx, done := c.calls.start(ctx)
		list, err := d.DemoPractitioners(bctx)
		if err = done("care-team directory", err); err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}
