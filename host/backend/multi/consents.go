package multi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// ConsentsEstablishment is one establishment's access grants backend and
// its professional directory (nil when it has none).
type ConsentsEstablishment struct {
	ID       string
	Consents portal.Consents
	Lookup   portal.PractitionerLookup
}

// Consents routes portal.Consents and portal.PractitionerLookup by
// establishment. A grant is given through an establishment and kept by its
// backend, which also applies it to that establishment's documents; its id
// carries the establishment ("ch-nord~grant-1"), so that revoking it
// reaches that backend only. Listing asks every distinct backend once (one
// store may serve several establishments) and merges, latest first.
//
// A look-up by RPPS number for an establishment (PractitionerByRPPSIn)
// asks that establishment's directory only: the practitioner's id is that
// backend's, the one a grant through that establishment must name. A
// look-up naming no establishment (PractitionerByRPPS) asks the distinct
// directories in configuration order and answers the first that knows the
// number, an id that may mean nothing, or someone else, in another
// establishment's backend: the host refuses it when it serves several.
type Consents struct {
	byID     map[string]portal.Consents
	order    []string
	lookups  []portal.PractitionerLookup
	lookupOf map[string]portal.PractitionerLookup
	calls    bounds
}

var (
	_ portal.Consents             = (*Consents)(nil)
	_ portal.PractitionerLookupIn = (*Consents)(nil)
)

// NewConsents returns the router over ests (ids as New requires). Each
// call is bounded by callTimeout (0: DefaultCallTimeout).
func NewConsents(ests []ConsentsEstablishment, callTimeout time.Duration) (*Consents, error) {
	c := &Consents{byID: map[string]portal.Consents{}, lookupOf: map[string]portal.PractitionerLookup{}, calls: newBounds(callTimeout)}
	for _, e := range ests {
		if err := checkEntry(e.ID, c.byID[e.ID] != nil, e.Consents != nil, "consents "); err != nil {
			return nil, err
		}
		c.byID[e.ID] = e.Consents
		c.order = append(c.order, e.ID)
		if e.Lookup != nil {
			c.lookupOf[e.ID] = e.Lookup
			if !slices.Contains(c.lookups, e.Lookup) {
				c.lookups = append(c.lookups, e.Lookup)
			}
		}
	}
	if len(c.order) == 0 {
		return nil, fmt.Errorf("multi: no establishment")
	}
	return c, nil
}

// outwardGrant gives a backend's grant an id of this router.
func outwardGrant(g portal.Grant) portal.Grant {
	if g.ID != "" {
		g.ID = g.Establishment + Separator + g.ID
	}
	return g
}

// Grants implements portal.Consents: the grants of every backend, latest
// first. One backend that does not answer fails the list: a patient must
// not believe a grant gone when it is only out of reach.
func (c *Consents) Grants(ctx context.Context) ([]portal.Grant, error) {
	if _, err := portal.RequirePatient(ctx); err != nil {
		return nil, err
	}
	var (
		asked []portal.Consents
		out   = []portal.Grant{}
	)
	for _, est := range c.order {
		b := c.byID[est]
		if slices.Contains(asked, b) {
			continue
		}
		asked = append(asked, b)
		bctx, done := c.calls.start(ctx)
		list, err := b.Grants(bctx)
		if err = done(est, err); err != nil {
			return nil, err
		}
		for _, g := range list {
			// A backend keeps the grants of the establishments it serves
			// here; one given through an establishment routed elsewhere
			// is not this router's.
			if c.byID[g.Establishment] == b {
				out = append(out, outwardGrant(g))
			}
		}
	}
	slices.SortFunc(out, portal.LatestGrantFirst)
	return out, nil
}

// GrantAccess implements portal.Consents: through est's backend.
func (c *Consents) GrantAccess(ctx context.Context, est, practitioner string) (portal.Grant, error) {
	if _, err := portal.RequirePatient(ctx); err != nil {
		return portal.Grant{}, err
	}
	b := c.byID[est]
	if b == nil {
		return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "establishment %q", est)
	}
	ctx, done := c.calls.start(ctx)
	g, err := b.GrantAccess(ctx, est, practitioner)
	return outwardGrant(g), done(est, err)
}

// RevokeAccess implements portal.Consents: an id of this router goes to
// its establishment's backend; any other id is unknown, ErrNotFound.
func (c *Consents) RevokeAccess(ctx context.Context, id string) (portal.Grant, error) {
	if _, err := portal.RequirePatient(ctx); err != nil {
		return portal.Grant{}, err
	}
	est, inner, ok := strings.Cut(id, Separator)
	b := c.byID[est]
	if !ok || inner == "" || b == nil {
		return portal.Grant{}, portal.Errorf(portal.ErrNotFound, "grant %q not found", id)
	}
	ctx, done := c.calls.start(ctx)
	// The backend checks whose grant it is. A backend serving several
	// establishments may find under this prefix the patient's own grant
	// given through another of them: it is answered under its own id.
	g, err := b.RevokeAccess(ctx, inner)
	return outwardGrant(g), done(est, err)
}

// PractitionerByRPPS implements portal.PractitionerLookup.
func (c *Consents) PractitionerByRPPS(ctx context.Context, rpps string) (portal.Practitioner, error) {
	if _, err := portal.RequirePatient(ctx); err != nil {
		return portal.Practitioner{}, err
	}
	if err := portal.CheckRPPS(rpps); err != nil {
		return portal.Practitioner{}, err
	}
	for _, l := range c.lookups {
		bctx, done := c.calls.start(ctx)
		p, err := l.PractitionerByRPPS(bctx, rpps)
		err = done("directory", err)
		if err == nil {
			return p, nil
		}
		if !portal.IsCode(err, portal.ErrNotFound) {
			return portal.Practitioner{}, err
		}
	}
	return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "no practitioner with RPPS number %s", rpps)
}

// PractitionerByRPPSIn implements portal.PractitionerLookupIn: est's
// directory only. An establishment this router does not know, or one
// without a directory, is ErrNotFound.
func (c *Consents) PractitionerByRPPSIn(ctx context.Context, est, rpps string) (portal.Practitioner, error) {
	if _, err := portal.RequirePatient(ctx); err != nil {
		return portal.Practitioner{}, err
	}
	if err := portal.CheckRPPS(rpps); err != nil {
		return portal.Practitioner{}, err
	}
	l := c.lookupOf[est]
	if l == nil {
		return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "no practitioner directory for establishment %q", est)
	}
	ctx, done := c.calls.start(ctx)
	p, err := l.PractitionerByRPPS(ctx, rpps)
	return p, done(est, err)
}
