package fhir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/internal/deadline"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file is the REST client (https://hl7.org/fhir/R4/http.html): one
// place for timeouts, retries, the circuit breaker, error mapping and logs.

// fhirJSON is the FHIR JSON media type (https://hl7.org/fhir/R4/http.html#mime-type).
const fhirJSON = "application/fhir+json"

// maxPages bounds the pages one search follows.
const maxPages = 50

// errCircuitOpen is the cause of a call refused by the open breaker.
var errCircuitOpen = errors.New("circuit breaker open")

// errTooLarge is the cause of a response over Config.MaxResponseBytes.
var errTooLarge = errors.New("response too large")

// request is one FHIR interaction.
type request struct {
	method string
	// path is relative to the base URL: "Slot/abc", "Slot", "" (the
	// base, for transactions). Its ids were checked by validID.
	path  string
	query url.Values
	// next, when set, is a next-page URL the server gave, used instead
	// of path and query.
	next        string
	body        []byte
	ifMatch     string // a versionId, sent as W/"versionId"
	ifNoneExist string // a search query (conditional create)
	op          op
}

// response is a server's answer.
type response struct {
	status     int
	body       []byte
	version    string // from ETag
	location   string
	retryAfter time.Duration
}

// retryable reports whether r may be sent again after a failure: reads, and
// creates made safe by If-None-Exist. Any other write may have been applied
// by a server whose answer was lost.
func (r request) retryable() bool {
	return r.method == http.MethodGet || (r.method == http.MethodPost && r.ifNoneExist != "")
}

// do sends r, retrying a retryable request on transient failures, and
// returns the 2xx response or a *callError.
func (b *Backend) do(ctx context.Context, r request) (response, error) {
	attempts := 1
	if r.retryable() {
		attempts += b.cfg.Retries
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return response{}, newCallError(r.method, r.path, 0, nil, r.op, err)
		}
		if !b.breaker.allow() {
			return response{}, newCallError(r.method, r.path, 0, nil, r.op, errCircuitOpen)
		}
		resp, cause := b.attempt(ctx, r)
		switch {
		case cause != nil && ctx.Err() != nil:
			b.breaker.record(abandoned)
		case transient(resp.status):
			b.breaker.record(failed)
		default:
			b.breaker.record(succeeded)
		}
		if cause == nil && resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		issues, _ := parseOperationOutcome(resp.body)
		err := newCallError(r.method, r.path, resp.status, issues, r.op, cause)
		b.logFailure(ctx, r, resp.status, attempt, issues, cause)
		if attempt >= attempts || !transient(resp.status) || ctx.Err() != nil {
			return resp, err
		}
		wait := b.backoff(attempt, resp.retryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return resp, err
		}
		if deadline.Sleep(ctx, b.cfg.AfterFunc, wait) != nil {
			return resp, err
		}
	}
}

// attempt sends r once, within Config.CallTimeout. A response that did not
// arrive whole has status 0.
func (b *Backend) attempt(ctx context.Context, r request) (response, error) {
	ctx, cancel := deadline.WithTimeout(ctx, b.cfg.AfterFunc, b.cfg.CallTimeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, b.url(r), body)
	if err != nil {
		return response{}, err
	}
	// No Accept-Encoding: net/http's transport then asks for gzip and
	// inflates the answer itself.
	req.Header.Set("Accept", fhirJSON)
	if r.body != nil {
		req.Header.Set("Content-Type", fhirJSON+"; charset=utf-8")
		req.Header.Set("Prefer", "return=representation")
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", `W/"`+r.ifMatch+`"`)
	}
	if r.ifNoneExist != "" {
		req.Header.Set("If-None-Exist", r.ifNoneExist)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return response{}, bare(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, b.cfg.MaxResponseBytes+1))
	if err != nil {
		return response{}, bare(err)
	}
	out := response{
		status:     resp.StatusCode,
		version:    versionFromETag(resp.Header.Get("ETag")),
		location:   resp.Header.Get("Location"),
		retryAfter: retryAfter(resp.Header.Get("Retry-After")),
	}
	if int64(len(data)) > b.cfg.MaxResponseBytes {
		return out, errTooLarge
	}
	out.body = data
	return out, nil
}

// bare strips the *url.Error around a transport error: its message quotes
// the URL, whose query may hold an INS.
func bare(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// url returns the URL of r.
func (b *Backend) url(r request) string {
	if r.next != "" {
		return r.next
	}
	u := *b.base
	if r.path != "" {
		u = *u.JoinPath(strings.Split(r.path, "/")...)
	}
	u.RawQuery = r.query.Encode()
	return u.String()
}

// sameServer reports whether next, a link from the server, stays under the
// base URL: a search never follows a link elsewhere.
func (b *Backend) sameServer(next string) bool {
	u, err := url.Parse(next)
	if err != nil {
		return false
	}
	return u.Scheme == b.base.Scheme && u.Host == b.base.Host &&
		(u.Path == b.base.Path || strings.HasPrefix(u.Path, strings.TrimSuffix(b.base.Path, "/")+"/"))
}

// backoff returns the wait before attempt+1: exponential from
// Config.RetryBackoff, half of it jittered, at most maxBackoff, at least the
// server's Retry-After within that cap.
func (b *Backend) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := b.cfg.RetryBackoff << (attempt - 1)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, min(retryAfter, maxBackoff))
}

// retryAfter parses a Retry-After header given in seconds.
func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// versionFromETag returns the versionId of an ETag W/"versionId"
// (https://hl7.org/fhir/R4/http.html#versioning).
func versionFromETag(etag string) string {
	etag = strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	return strings.Trim(etag, `"`)
}

// logFailure logs a failed attempt: its method and path (never the query,
// which may hold an INS), status, the OperationOutcome's codes and redacted
// diagnostics. Transient failures are warnings; answers such as 404 or 412
// are normal in booking and logged for debugging.
func (b *Backend) logFailure(ctx context.Context, r request, status, attempt int, issues []issue, cause error) {
	level := slog.LevelDebug
	if transient(status) {
		level = slog.LevelWarn
	}
	if !b.log.Enabled(ctx, level) {
		return
	}
	path := r.path
	if r.next != "" {
		path = "(next page)"
	}
	attrs := []any{"method", r.method, "path", path, "status", status, "attempt", attempt, "op", r.op.String()}
	if cause != nil {
		attrs = append(attrs, "error", redact(cause.Error()))
	}
	for i, is := range issues {
		if i == 3 {
			break
		}
		attrs = append(attrs, slog.Group("issue"+strconv.Itoa(i),
			"severity", is.Severity, "code", is.Code,
			"details", redact(is.Details), "diagnostics", redact(is.Diagnostics)))
	}
	b.log.Log(ctx, level, "fhir: call failed", attrs...)
}

// read returns the resource typ/id and its version (the ETag's, else
// meta.versionId). An id that cannot exist is not found without a request.
func (b *Backend) read(ctx context.Context, typ, id string) (gjson.Result, string, error) {
	if !validID(id) {
		return gjson.Result{}, "", portal.Errorf(portal.ErrNotFound, "%s %q not found", typ, id)
	}
	resp, err := b.do(ctx, request{method: http.MethodGet, path: ref(typ, id), op: opRead})
	if err != nil {
		return gjson.Result{}, "", err
	}
	res, err := b.resource(resp, typ)
	return res, version(resp, res), err
}

// version returns the version of a resource: the ETag's, else its
// meta.versionId.
func version(resp response, res gjson.Result) string {
	if resp.version != "" {
		return resp.version
	}
	return res.Get("meta.versionId").String()
}

// resource parses a response as one resource of type typ; an answer that
// is not one is the server's fault, reported as unavailable.
func (b *Backend) resource(resp response, typ string) (gjson.Result, error) {
	r, err := parseResource(resp.body, typ)
	if err != nil {
		b.log.Warn("fhir: unexpected answer", "error", err)
		return gjson.Result{}, portal.Errorf(portal.ErrBackendUnavailable, "FHIR %s: unexpected answer", typ)
	}
	return r, nil
}

// search returns the resources of every page of the search typ?q, the
// matches and the _include'd ones alike (callers tell them by type).
func (b *Backend) search(ctx context.Context, typ string, q url.Values) ([]gjson.Result, error) {
	q.Set("_count", strconv.Itoa(b.cfg.PageSize))
	r := request{method: http.MethodGet, path: typ, query: q, op: opRead}
	var out []gjson.Result
	for page := 0; ; page++ {
		resp, err := b.do(ctx, r)
		if err != nil {
			return nil, err
		}
		bnd, err := parseBundle(resp.body)
		if err != nil {
			b.log.Warn("fhir: unexpected search answer", "path", typ, "error", err)
			return nil, portal.Errorf(portal.ErrBackendUnavailable, "FHIR search %s: unexpected answer", typ)
		}
		out = append(out, bnd.resources...)
		if bnd.next == "" {
			return out, nil
		}
		if page+1 >= maxPages || !b.sameServer(bnd.next) {
			b.log.Warn("fhir: search results cut short", "path", typ, "pages", page+1, "next_on_server", b.sameServer(bnd.next))
			return out, nil
		}
		r = request{method: http.MethodGet, path: typ, next: bnd.next, op: opRead}
	}
}

// write sends a create or update and returns the resource the server
// stored, its version, and whether it was created (201) rather than found
// or updated. A server that answers without the resource (Prefer is a hint)
// is asked for it at its Location.
func (b *Backend) write(ctx context.Context, r request, typ string) (gjson.Result, string, bool, error) {
	resp, err := b.do(ctx, r)
	if err != nil {
		return gjson.Result{}, "", false, err
	}
	created := resp.status == http.StatusCreated
	if gjson.GetBytes(resp.body, "resourceType").String() == typ {
		res, err := b.resource(resp, typ)
		return res, version(resp, res), created, err
	}
	id, ok := refID(resp.location, typ)
	if !ok {
		id, ok = refID(r.path, typ)
	}
	if !ok {
		return gjson.Result{}, "", false, portal.Errorf(portal.ErrBackendUnavailable, "FHIR %s %s: no resource in the answer", r.method, typ)
	}
	res, v, err := b.read(ctx, typ, id)
	return res, v, created, err
}

// search values.
func values(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q
}
