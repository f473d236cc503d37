package multi_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// staffList is a care-team directory of a few practitioners (another
// establishment's FHIR server, in the host), or one that fails.
type staffList struct {
	people map[string]portal.Practitioner
	err    error
}

func (s staffList) Practitioner(_ context.Context, id string) (portal.Practitioner, error) {
	if s.err != nil {
		return portal.Practitioner{}, s.err
	}
	p, ok := s.people[id]
	if !ok {
		return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "practitioner %q not found", id)
	}
	return p, nil
}

func (s staffList) DemoPractitioners(context.Context) ([]portal.Practitioner, error) {
	return []portal.Practitioner{}, s.err
}

// TestCareTeam: the first directory that knows a practitioner names them;
// one that fails fails the call; the demo practitioners are the
// directories' together.
func TestCareTeam(t *testing.T) {
	s := seeded(t, portaltest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)))
	ctx := context.Background()
	nord := staffList{people: map[string]portal.Practitioner{"pr-nord-antoine-leroy": {ID: "pr-nord-antoine-leroy", Name: "Antoine Leroy"}}}
	c, err := multi.NewCareTeam([]portal.CareTeamDirectory{s, nord, s}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Practitioner(ctx, sqlite.DemoPractitionerClaireMartin)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Practitioner(ctx, sqlite.DemoPractitionerClaireMartin); err != nil || p != want {
		t.Errorf("a practitioner of the first directory: %+v, %v; want %+v", p, err, want)
	}
	if p, err := c.Practitioner(ctx, "pr-nord-antoine-leroy"); err != nil || p.Name != "Antoine Leroy" {
		t.Errorf("a practitioner of the second directory: %+v, %v", p, err)
	}
	if _, err := c.Practitioner(ctx, "pr-nobody"); !portal.IsCode(err, portal.ErrNotFound) {
		t.Errorf("an unknown practitioner: %v, want not_found", err)
	}
	demo, err := s.DemoPractitioners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := c.DemoPractitioners(ctx); err != nil || len(list) != len(demo) || len(demo) == 0 {
		t.Errorf("DemoPractitioners = %d, %v; want the store's %d, once", len(list), err, len(demo))
	}

	down := staffList{err: portal.Errorf(portal.ErrBackendUnavailable, "CH Nord's FHIR server is down")}
	c, err = multi.NewCareTeam([]portal.CareTeamDirectory{down, nord}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Practitioner(ctx, "pr-nord-antoine-leroy"); !portal.IsCode(err, portal.ErrBackendUnavailable) {
		t.Errorf("with the first directory down: %+v, %v; want unavailable, not the next directory's answer", p, err)
	}
	if _, err := multi.NewCareTeam(nil, 0); err == nil {
		t.Error("NewCareTeam(none) accepted")
	}
}
