package fhir

import (
	"cmp"
	"context"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// FreeSlots returns the free Slots (https://hl7.org/fhir/R4/slot.html) of
// q's service that start within [q.From, q.To) and after Config.Now,
// ordered by start, then practitioner id, then slot id, with Start and End
// in the establishment's time zone.
//
// The slots of a service are those of its active Schedules
// (https://hl7.org/fhir/R4/schedule.html) whose actors are the
// HealthcareService and a Practitioner (search Schedule?actor=…, with a
// second actor= for q.Practitioner), found by Slot?schedule=…&status=free
// &start=ge…&start=lt…: two searches, since chained search is not required
// of a server. An invalid query is ErrInvalid; an unknown establishment, or
// a service it does not provide, ErrNotFound; an unknown practitioner has no
// slots.
func (b *Backend) FreeSlots(ctx context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if !validID(q.Establishment) {
		return nil, portal.Errorf(portal.ErrNotFound, "establishment %q not found", q.Establishment)
	}
	// The service's own Organization is read with it: an unknown
	// establishment shows as a service it does not provide.
	svc, err := b.service(ctx, q.Service)
	if err != nil {
		return nil, err
	}
	if svc.Organization != q.Establishment {
		return nil, portal.Errorf(portal.ErrNotFound, "service %q of establishment %q not found", q.Service, q.Establishment)
	}
	if q.Practitioner != "" && !validID(q.Practitioner) {
		return []portal.Slot{}, nil
	}

	actors := url.Values{"actor": {ref("HealthcareService", q.Service)}}
	if q.Practitioner != "" {
		actors.Add("actor", ref("Practitioner", q.Practitioner))
	}
	found, err := b.search(ctx, "Schedule", actors)
	if err != nil {
		return nil, err
	}
	practitioner := map[string]string{} // schedule id -> practitioner id
	for _, r := range found {
		s, err := scheduleFrom(r)
		if err != nil {
			b.skip("Schedule", err)
			continue
		}
		if s.Active && slices.Contains(s.Services, q.Service) && (q.Practitioner == "" || s.Practitioner == q.Practitioner) {
			practitioner[s.ID] = s.Practitioner
		}
	}

	now := b.now()
	// The search is a second wider on each side than the period, since
	// servers differ on the precision of date comparisons; the exact
	// half-open period and "after now" are applied here.
	start := q.From
	if now.After(start) {
		start = now
	}
	from := start.Add(-time.Second).UTC().Format(time.RFC3339)
	to := q.To.Add(time.Second).UTC().Format(time.RFC3339)
	out := []portal.Slot{}
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(practitioner)), searchChunk) {
		refs := make([]string, len(chunk))
		for i, id := range chunk {
			refs[i] = ref("Schedule", id)
		}
		found, err := b.search(ctx, "Slot", url.Values{
			"schedule": {strings.Join(refs, ",")},
			"status":   {"free"},
			"start":    {"ge" + from, "lt" + to},
		})
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			s, err := slotFrom(r)
			if err != nil {
				b.skip("Slot", err)
				continue
			}
			p, ok := practitioner[s.Schedule]
			if !ok || s.Status != "free" || s.Start.Before(q.From) || !s.Start.Before(q.To) || !s.Start.After(now) {
				continue
			}
			out = append(out, portal.Slot{
				ID: s.ID, Establishment: q.Establishment, Service: q.Service, Practitioner: p,
				Start: s.Start.In(svc.loc), End: s.End.In(svc.loc),
			})
		}
	}
	slices.SortFunc(out, func(x, y portal.Slot) int {
		return cmp.Or(x.Start.Compare(y.Start), strings.Compare(x.Practitioner, y.Practitioner), strings.Compare(x.ID, y.ID))
	})
	// A slot listed twice (a server repeating an entry across pages)
	// is shown once.
	out = slices.CompactFunc(out, func(x, y portal.Slot) bool { return x.ID == y.ID })
	return out, nil
}
