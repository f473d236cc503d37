package host

import (
	"context"
	"net/http"
	"strconv"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// getAccessLog answers the signed-in patient who else accessed their data:
// the audit records about them whose agent is not them, newest first, by
// pages (?after=<id>&limit=<1..200>, default 50).
func (h *Host) getAccessLog(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Audit == nil {
		return portal.Errorf(portal.ErrNotFound, "no audit log")
	}
	patient, err := portal.RequirePatient(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for k, vs := range q {
		if (k != "after" && k != "limit" && k != "lang") || len(vs) > 1 {
			return portal.Errorf(portal.ErrInvalid, "unknown or repeated parameter %q", k)
		}
	}
	limit := 50
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 200 {
			return portal.Errorf(portal.ErrInvalid, "limit: 1 to 200")
		}
	}
	after := q.Get("after")
	out, err := h.accessLog(r.Context(), patient, after, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// accessLog returns the audit records about patient whose agent is not
// them, newest first, from after (an entry id, "" for the first), limit
// entries at most; Next is set when more may follow.
func (h *Host) accessLog(ctx context.Context, patient, after string, limit int) (client.AccessLog, error) {
	out := client.AccessLog{Entries: []client.AccessEntry{}}
	names := map[string]string{}
	// The patient's own requests are skipped: read by pages until limit
	// entries by others are found or the log ends.
	for len(out.Entries) < limit {
		page, err := h.cfg.Audit.AuditEvents(ctx, portal.AuditQuery{Patient: patient, After: after, Limit: 500, Newest: true})
		if err != nil {
			return client.AccessLog{}, err
		}
		for _, e := range page {
			after = e.ID
			if e.AgentKind == string(portal.AuthorPatient) && e.Agent == patient {
				continue
			}
			a := client.AccessEntry{ID: e.ID, Time: e.Time, AgentKind: e.AgentKind, Agent: e.Agent, Operation: e.Operation,
				Action: e.Action, Outcome: e.Outcome, Entity: e.Entity, Establishment: e.Establishment}
			if e.AgentKind == string(portal.AuthorPractitioner) && h.cfg.CareTeam != nil {
				name, ok := names[e.Agent]
				if !ok {
					if p, err := h.cfg.CareTeam.Practitioner(ctx, e.Agent); err == nil {
						name = p.Name
					}
					names[e.Agent] = name
				}
				a.AgentName = name
			}
			out.Entries = append(out.Entries, a)
			if len(out.Entries) == limit {
				out.Next = e.ID
				break
			}
		}
		if len(page) < 500 {
			break
		}
	}
	return out, nil
}
