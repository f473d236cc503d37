package sqlite

import (
	"context"
	"database/sql"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.PractitionerLookup = (*Store)(nil)

// PractitionerByRPPS returns the practitioner whose RPPS number is rpps, for
// the context's patient (portal.PractitionerLookup).
func (s *Store) PractitionerByRPPS(ctx context.Context, rpps string) (portal.Practitioner, error) {
	if _, err := portal.RequirePatient(ctx); err != nil {
		return portal.Practitioner{}, err
	}
	if err := portal.CheckRPPS(rpps); err != nil {
		return portal.Practitioner{}, err
	}
	return readTx(ctx, s, "practitioner by RPPS", func(tx *sql.Tx) (portal.Practitioner, error) {
		ps, err := practitioners(ctx, tx, `rpps = ?`, rpps)
		if err == nil && len(ps) == 0 {
			err = portal.Errorf(portal.ErrNotFound, "no practitioner with RPPS number %s", rpps)
		}
		if err != nil {
			return portal.Practitioner{}, err
		}
		return ps[0], nil
	})
}
