package host

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// requestLang picks "fr" or "en" from ?lang= or Accept-Language; French by default.
func requestLang(r *http.Request) string {
	if l := strings.ToLower(r.URL.Query().Get("lang")); l != "" {
		if l == "en" || strings.HasPrefix(l, "en-") {
			return "en"
		}
		return "fr"
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if q, ok := strings.CutPrefix(strings.ToLower(strings.ReplaceAll(params, " ", "")), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
				continue // q=0: "not this language"
			}
		}
		switch {
		case strings.HasPrefix(tag, "fr"):
			return "fr"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "fr"
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"encoding"}}`, 500)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes err as the API's error body. The message is the code's
// patient-facing text in the request's language; details stay in logs.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if le := (*limitedError)(nil); errors.As(err, &le) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(le.wait)))
	}
	code := portal.Code(err)
	var body client.ErrorBody
	body.Error.Code = code
	body.Error.Message = portal.PatientMessage(err, requestLang(r))
	writeJSON(w, code.Status(), body)
}

// decodeJSON reads a JSON object of type T from body: Content-Type must be
// JSON, the body at most limit bytes, one object, no unknown field.
func decodeJSON[T any](r *http.Request, limit int64) (T, error) {
	b, err := readBody(r, limit, isJSON)
	if err != nil {
		var zero T
		return zero, err
	}
	return parseJSON[T](b)
}

// SlowBodyRate is the slowest upload the host waits for, in bytes per
// second: a phone on a poor mobile link (about 400 kbit/s).
const SlowBodyRate = 50_000

// allowSlowBody gives a request whose body may reach limit bytes the time a
// slow phone needs to send it, and to get its answer: the server's read and
// write timeouts (15 s and 60 s in parcours serve) suit small requests and
// would cut a 10 MB upload over a mobile link. A ResponseWriter that cannot
// move its deadlines (a test recorder) keeps the server's.
func allowSlowBody(w http.ResponseWriter, limit int64) {
	d := 30*time.Second + time.Duration(limit/SlowBodyRate)*time.Second
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(d))
	_ = rc.SetWriteDeadline(time.Now().Add(d + 30*time.Second))
}

// isJSON accepts application/json and any +json media type.
func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// readBody reads a request body of at most limit bytes whose media type
// passes accept (ErrUnsupportedMediaType otherwise, and without a
// Content-Type); a larger body is ErrTooLarge.
func readBody(r *http.Request, limit int64, accept func(mediaType string) bool) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, portal.Errorf(portal.ErrUnsupportedMediaType, "a JSON body with Content-Type application/json is required")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !accept(mt) {
		return nil, portal.Errorf(portal.ErrUnsupportedMediaType, "content type %q", ct)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, portal.Errorf(portal.ErrTooLarge, "body larger than %d bytes", tooLarge.Limit)
	}
	if err != nil {
		return nil, portal.Errorf(portal.ErrInvalid, "reading body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, portal.Errorf(portal.ErrTooLarge, "body larger than %d bytes", limit)
	}
	return b, nil
}

// parseJSON is the pure part of decodeJSON, fuzzed in tests.
func parseJSON[T any](b []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, portal.Errorf(portal.ErrInvalid, "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, portal.Errorf(portal.ErrInvalid, "malformed JSON: data after the object")
	}
	return v, nil
}
