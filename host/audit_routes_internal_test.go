package host

import (
	"slices"
	"strings"
	"testing"

	"maps"
)

// TestEveryRouteAudited: every operation of openapi.json is audited (by
// the host's table, or by its own handler) or public, exactly one of
// these, and every entry of the tables names a documented operation.
func TestEveryRouteAudited(t *testing.T) {
	documented := map[string]string{} // operationId -> "METHOD path"
	for key, op := range operations(t, loadOpenAPI(t)) {
		documented[op.OperationID] = key
	}
	for _, id := range slices.Sorted(maps.Keys(documented)) {
		_, audited := auditedRoutes[id]
		n := 0
		for _, in := range []bool{audited, selfAuditedRoutes[id], publicRoutes[id]} {
			if in {
				n++
			}
		}
		switch {
		case n == 0:
			t.Errorf("operation %s (%s) is neither audited nor public: add it to auditedRoutes, or to publicRoutes if it never touches health data or a session", id, documented[id])
		case n > 1:
			t.Errorf("operation %s (%s) is in %d of auditedRoutes, selfAuditedRoutes and publicRoutes; want exactly one", id, documented[id], n)
		}
	}
	for table, ids := range map[string][]string{
		"auditedRoutes":     slices.Collect(maps.Keys(auditedRoutes)),
		"selfAuditedRoutes": slices.Collect(maps.Keys(selfAuditedRoutes)),
		"publicRoutes":      slices.Collect(maps.Keys(publicRoutes)),
	} {
		for _, id := range ids {
			if _, ok := documented[id]; !ok {
				t.Errorf("%s names %q, which openapi.json does not document", table, id)
			}
		}
	}
	// Every route the host serves is documented (TestOpenAPIMatchesRoutes
	// checks the rest), so this covers the routes too.
	for _, rt := range (&Host{}).apiRoutes() {
		if _, ok := documented[rt.op]; !ok {
			t.Errorf("route %s %s (%s) is not in openapi.json", rt.method, rt.pattern, rt.op)
		}
	}
}

// TestWidgetPostActionsNameWidgets: every widget form post given an audit
// action names a widget the host serves.
func TestWidgetPostActionsNameWidgets(t *testing.T) {
	for key := range widgetPostActions {
		name, verb, ok := strings.Cut(key, ".")
		if _, served := widgetSpecs[name]; !ok || !served || verb == "" {
			t.Errorf("%q names no widget's action", key)
		}
	}
}
