package fhir

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// op is the kind of FHIR interaction that failed: the column of errorTable.
type op int

const (
	// opRead is a read or a search (https://hl7.org/fhir/R4/http.html#read).
	opRead op = iota
	// opWrite is any other create, update or transaction.
	opWrite
	// opClaim is the versioned update that takes a Slot from free to
	// busy (If-Match): a conflict there means another booking was first.
	opClaim
	// opBook is the conditional create of a booking's Appointment.
	opBook
)

func (o op) String() string {
	return [...]string{"read", "write", "claim", "book"}[o]
}

// errorRule is a row of errorTable. Empty fields match anything.
type errorRule struct {
	statuses []int    // HTTP statuses; 0 is no answer at all
	issues   []string // OperationOutcome issue codes (https://hl7.org/fhir/R4/valueset-issue-type.html)
	ops      []op
	code     portal.ErrorCode
}

// errorTable is the one mapping from a failed FHIR interaction (HTTP status,
// OperationOutcome issue codes, kind of interaction) to a portal error code.
// Rows are tried in order; the first that matches wins; no match is
// portal.ErrInternal (a 3xx, 405, 406, 415: this backend or the server's
// setup is wrong). docs/fhir.md lists it.
var errorTable = []errorRule{
	// No answer: a network error, a refused or reset connection, a timeout.
	{statuses: []int{0}, code: portal.ErrBackendUnavailable},
	// An overloaded or locked server, whatever status it chose.
	{issues: []string{"throttled", "transient", "timeout", "lock-error"}, code: portal.ErrBackendUnavailable},
	// The Slot changed since it was read (412) or the server saw a
	// conflict (409): another booking took it first.
	{statuses: []int{409, 412}, ops: []op{opClaim, opBook}, code: portal.ErrSlotUnavailable},
	// The server refused the booking by a rule of its own.
	{statuses: []int{400, 422}, issues: []string{"business-rule"}, ops: []op{opBook}, code: portal.ErrBookingRefused},
	{statuses: []int{400, 422}, code: portal.ErrInvalid},
	// The server refuses the host's credentials: a fault of the host's
	// setup the patient can do nothing about, so "try again later".
	{statuses: []int{401}, code: portal.ErrBackendUnavailable},
	// The server's access rules refuse this call.
	{statuses: []int{403}, code: portal.ErrForbidden},
	{statuses: []int{404, 410}, code: portal.ErrNotFound},
	// A conflict outside booking that outlasted this backend's own
	// handling (a concurrent update of an appointment, for example).
	{statuses: []int{409, 412}, code: portal.ErrBackendUnavailable},
	{statuses: []int{408, 429}, code: portal.ErrBackendUnavailable},
	{statuses: span(500, 599), code: portal.ErrBackendUnavailable},
}

func span(from, to int) []int {
	s := make([]int, 0, to-from+1)
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// classify returns the portal code of a failed interaction of kind o that
// answered status (0: no answer) with an OperationOutcome of issue codes.
func classify(status int, issues []issue, o op) portal.ErrorCode {
	for _, r := range errorTable {
		if r.statuses != nil && !slices.Contains(r.statuses, status) {
			continue
		}
		if r.ops != nil && !slices.Contains(r.ops, o) {
			continue
		}
		if r.issues != nil && !slices.ContainsFunc(issues, func(i issue) bool { return slices.Contains(r.issues, i.Code) }) {
			continue
		}
		return r.code
	}
	return portal.ErrInternal
}

// transient reports whether status (0: no answer) is a failure of the
// server rather than an answer: such calls count against the circuit
// breaker and are the only ones retried.
func transient(status int) bool {
	return status == 0 || status == 408 || status == 429 || status >= 500
}

// issue is one OperationOutcome.issue (https://hl7.org/fhir/R4/operationoutcome.html).
type issue struct {
	Severity    string
	Code        string
	Details     string // details.text
	Diagnostics string
}

// parseOperationOutcome returns the issues of an OperationOutcome, and false
// if body is not one.
func parseOperationOutcome(body []byte) ([]issue, bool) {
	if !gjson.ValidBytes(body) {
		return nil, false
	}
	r := gjson.ParseBytes(body)
	if r.Get("resourceType").String() != "OperationOutcome" {
		return nil, false
	}
	var out []issue
	r.Get("issue").ForEach(func(_, v gjson.Result) bool {
		if v.IsObject() {
			out = append(out, issue{
				Severity:    v.Get("severity").String(),
				Code:        v.Get("code").String(),
				Details:     v.Get("details.text").String(),
				Diagnostics: v.Get("diagnostics").String(),
			})
		}
		return true
	})
	return out, true
}

// issueCodes returns the codes of issues that are plain tokens, for an
// error's detail (nothing else of an OperationOutcome goes there).
func issueCodes(issues []issue) []string {
	var out []string
	for _, i := range issues {
		if tokenRE.MatchString(i.Code) && !slices.Contains(out, i.Code) {
			out = append(out, i.Code)
		}
	}
	return out
}

var tokenRE = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)

// callError is a failed FHIR interaction. Its *portal.Error carries the
// code and a detail naming the interaction and the status, never the
// server's diagnostics (they may quote health data; they go to the log).
type callError struct {
	status int // 0: no answer
	perr   *portal.Error
	cause  error // the network or context error, if any
}

func (e *callError) Error() string { return e.perr.Error() }

// Unwrap lets portal.Code find the code, and errors.Is the cause
// (context.DeadlineExceeded, for example).
func (e *callError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.perr}
	}
	return []error{e.perr, e.cause}
}

// newCallError returns the error of interaction "method what" of kind o.
func newCallError(method, what string, status int, issues []issue, o op, cause error) *callError {
	code := classify(status, issues, o)
	var detail string
	switch {
	case status == 0 && cause != nil:
		detail = fmt.Sprintf("FHIR %s %s: no answer: %v", method, what, cause)
	case len(issueCodes(issues)) > 0:
		detail = fmt.Sprintf("FHIR %s %s: HTTP %d (%s)", method, what, status, strings.Join(issueCodes(issues), ", "))
	default:
		detail = fmt.Sprintf("FHIR %s %s: HTTP %d", method, what, status)
	}
	return &callError{status: status, perr: &portal.Error{Code: code, Detail: detail}, cause: cause}
}

// statusOf returns the HTTP status of a failed interaction, 0 if err is not
// one or the server did not answer.
func statusOf(err error) int {
	var e *callError
	if errors.As(err, &e) {
		return e.status
	}
	return 0
}

// insLike matches what could be an INS (a NIR or NIA: 13 digits and a
// 2-digit key, Corsica's departments written 2A/2B), with or without
// separators, so that redact removes it from the server's diagnostics.
var insLike = regexp.MustCompile(`\d(?:[ .]?[\dABab]){12,}`)

// maxDiagnostics bounds the diagnostics logged per issue.
const maxDiagnostics = 512

// redact prepares the server's diagnostics for the log: anything that
// could be an INS removed, the length bounded.
func redact(s string) string {
	s = insLike.ReplaceAllString(s, "[redacted]")
	if len(s) > maxDiagnostics {
		s = strings.ToValidUTF8(s[:maxDiagnostics], "") + "…"
	}
	return s
}
