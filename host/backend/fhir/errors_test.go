package fhir

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestErrorTable checks the one mapping from a failed FHIR interaction to
// a portal code, row by row of docs/fhir.md.
func TestErrorTable(t *testing.T) {
	tests := []struct {
		name   string
		status int
		issue  string
		op     op
		want   portal.ErrorCode
	}{
		{"NoAnswer", 0, "", opRead, portal.ErrBackendUnavailable},
		{"NoAnswerOnClaim", 0, "", opClaim, portal.ErrBackendUnavailable},
		{"BadRequest", 400, "invalid", opRead, portal.ErrInvalid},
		{"Unprocessable", 422, "processing", opWrite, portal.ErrInvalid},
		{"BusinessRuleOnBooking", 422, "business-rule", opBook, portal.ErrBookingRefused},
		{"BusinessRuleOnBooking400", 400, "business-rule", opBook, portal.ErrBookingRefused},
		{"BusinessRuleElsewhere", 422, "business-rule", opWrite, portal.ErrInvalid},
		{"Unauthorized", 401, "login", opRead, portal.ErrBackendUnavailable},
		{"Forbidden", 403, "forbidden", opRead, portal.ErrForbidden},
		{"NotFound", 404, "not-found", opRead, portal.ErrNotFound},
		{"NotFoundWithoutOutcome", 404, "", opRead, portal.ErrNotFound},
		{"Gone", 410, "deleted", opRead, portal.ErrNotFound},
		{"StaleVersionOnClaim", 412, "", opClaim, portal.ErrSlotUnavailable},
		{"ConflictOnClaim", 409, "conflict", opClaim, portal.ErrSlotUnavailable},
		{"ConflictOnBook", 409, "duplicate", opBook, portal.ErrSlotUnavailable},
		{"StaleVersionOnWrite", 412, "", opWrite, portal.ErrBackendUnavailable},
		{"ConflictOnRead", 409, "", opRead, portal.ErrBackendUnavailable},
		{"RequestTimeout", 408, "", opRead, portal.ErrBackendUnavailable},
		{"TooManyRequests", 429, "", opRead, portal.ErrBackendUnavailable},
		{"ServerError", 500, "exception", opWrite, portal.ErrBackendUnavailable},
		{"BadGateway", 502, "", opRead, portal.ErrBackendUnavailable},
		{"Unavailable", 503, "", opClaim, portal.ErrBackendUnavailable},
		{"GatewayTimeout", 504, "", opBook, portal.ErrBackendUnavailable},
		{"ThrottledAs400", 400, "throttled", opRead, portal.ErrBackendUnavailable},
		{"TransientAs409OnClaim", 409, "transient", opClaim, portal.ErrBackendUnavailable},
		{"LockErrorAs500", 500, "lock-error", opWrite, portal.ErrBackendUnavailable},
		{"MethodNotAllowed", 405, "not-supported", opWrite, portal.ErrInternal},
		{"UnsupportedMediaType", 415, "", opWrite, portal.ErrInternal},
		{"Redirect", 302, "", opRead, portal.ErrInternal},
		{"NotAnError", 200, "", opRead, portal.ErrInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var issues []issue
			if tc.issue != "" {
				issues = []issue{{Severity: "error", Code: tc.issue}}
			}
			if got := classify(tc.status, issues, tc.op); got != tc.want {
				t.Errorf("classify(%d, %q, %s) = %s, want %s", tc.status, tc.issue, tc.op, got, tc.want)
			}
		})
	}
}

// TestCallErrorKeepsDiagnosticsOut checks that the server's diagnostics
// reach neither the error's text nor the patient's message, while the code,
// the status and the cause are there for callers.
func TestCallErrorKeepsDiagnosticsOut(t *testing.T) {
	body := []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing",
		"details":{"text":"Patient Camille DURAND has INS 279035121518989"},"diagnostics":"stack trace at Repo.update"}]}`)
	issues, ok := parseOperationOutcome(body)
	if !ok || len(issues) != 1 {
		t.Fatalf("parseOperationOutcome = %v, %v", issues, ok)
	}
	err := newCallError("PUT", "Slot/s1", 422, issues, opWrite, nil)
	for _, text := range []string{err.Error(), portal.PatientMessage(err, "fr"), portal.PatientMessage(err, "en")} {
		if strings.Contains(text, "DURAND") || strings.Contains(text, "279035121518989") || strings.Contains(text, "stack") {
			t.Errorf("error text %q carries the server's diagnostics", text)
		}
	}
	if portal.Code(err) != portal.ErrInvalid || statusOf(err) != 422 || !strings.Contains(err.Error(), "processing") {
		t.Errorf("error %v: code %s, status %d; want invalid_request, 422 and the issue code", err, portal.Code(err), statusOf(err))
	}

	cause := newCallError("GET", "Slot/s1", 0, nil, opRead, context.DeadlineExceeded)
	if !errors.Is(cause, context.DeadlineExceeded) || portal.Code(cause) != portal.ErrBackendUnavailable {
		t.Errorf("error %v: want backend_unavailable wrapping context.DeadlineExceeded", cause)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in string
		keep     []string // substrings that must stay
		drop     []string // substrings that must go
	}{
		{"NIR", "no match for 279035121518989", []string{"no match for"}, []string{"279035121518989", "2790351215189"}},
		{"NIRWithSpaces", "INS 2 79 03 51 215 189 89 unknown", []string{"unknown"}, []string{"215 189"}},
		{"Corsica", "nir=185122A11504263.", []string{"nir="}, []string{"2A115"}},
		{"InSearchURL", "GET Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|279035121518989 failed", []string{"failed"}, []string{"279035121518989"}},
		{"PhoneNumberKept", "call 01 23 45 67 89", []string{"01 23 45 67 89"}, nil},
		{"UUIDKept", "version 552ffc28-b227-497d-9650-84165bf7a668", []string{"552ffc28-b227-497d-9650-84165bf7a668"}, nil},
		{"DateKept", "at 2026-11-24T12:24:16.437Z", []string{"2026-11-24T12:24:16.437Z"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redact(tc.in)
			for _, k := range tc.keep {
				if !strings.Contains(got, k) {
					t.Errorf("redact(%q) = %q, lost %q", tc.in, got, k)
				}
			}
			for _, d := range tc.drop {
				if strings.Contains(got, d) {
					t.Errorf("redact(%q) = %q, kept %q", tc.in, got, d)
				}
			}
		})
	}
	if got := redact(strings.Repeat("é", 1000)); len(got) > maxDiagnostics+len("…") {
		t.Errorf("redact of 2000 bytes = %d bytes, want at most %d", len(got), maxDiagnostics)
	}
}
