package fhir

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
)

// LoadBundle posts a transaction or batch Bundle
// (https://hl7.org/fhir/R4/http.html#transaction) to the server, such as
// examples/fhir/establishment-bundle.json, and returns each entry's
// response location ("Type/id/_history/version"), in order.
//
// It is sent once, never retried. A server need not apply a transaction
// atomically (see docs/fhir.md): if an entry fails, the entries before it
// may remain; the error names the first failed entry. Entries written with
// PUT Type/id are safe to load again.
func (b *Backend) LoadBundle(ctx context.Context, bundle []byte) ([]string, error) {
	if !gjson.ValidBytes(bundle) {
		return nil, fmt.Errorf("fhir: LoadBundle: not JSON")
	}
	in := gjson.ParseBytes(bundle)
	if rt, typ := in.Get("resourceType").String(), in.Get("type").String(); rt != "Bundle" || (typ != "transaction" && typ != "batch") {
		return nil, fmt.Errorf("fhir: LoadBundle: want a transaction or batch Bundle, got %s of type %q", rt, typ)
	}
	resp, err := b.do(ctx, request{method: http.MethodPost, body: bundle, op: opWrite})
	if err != nil {
		return nil, err
	}
	out, err := parseBundle(resp.body)
	if err != nil {
		return nil, fmt.Errorf("fhir: LoadBundle: %w", err)
	}
	var locations []string
	for i, r := range out.responses {
		status := r.Get("status").String()
		if !strings.HasPrefix(status, "2") {
			issues, _ := parseOperationOutcome([]byte(r.Get("outcome").Raw))
			return locations, fmt.Errorf("fhir: LoadBundle: entry %d: status %q (%s)", i, status, strings.Join(issueCodes(issues), ", "))
		}
		locations = append(locations, r.Get("location").String())
	}
	return locations, nil
}
