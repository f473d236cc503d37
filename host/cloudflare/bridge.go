// Package cloudflare runs the Parcours host on Cloudflare Workers: a bridge
// by which a small JS worker module (host/cmd/parcours-worker/worker.mjs)
// calls one Go instance per isolate, reused across requests, and an
// http.RoundTripper on the Workers fetch API.
//
// The rules of the runtime (measured, see docs/operations.md, "Cloudflare
// Workers"): workerd rejects I/O objects touched from another request's
// context, and Go's single setTimeout belongs to whichever request ran
// last. So the handler runs in one goroutine per request that returns
// before the response is handed back; outgoing fetches happen from that
// goroutine; no Go timer is on the request path; every goroutine
// recovers; JS Request and Response objects never reach Go: the JS side
// reads the body and builds the Response from plain data, and an outgoing
// fetch is one call to worker.mjs's parcoursFetch, which hands Go the
// whole answer as plain data. Headers cross as one string (joinHeaders):
// each JS call and each call back into Go costs more than the bytes, so a
// request makes as few as it can.
//
// The runtime parts are in *_js.go files; the plain-Go parts here are
// tested on any platform.
package cloudflare

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Request is an incoming request as the JS module passes it: plain values.
type Request struct {
	Method  string
	URL     string
	Headers [][2]string
	Body    []byte
}

// Response is what the JS module turns into a Response.
type Response struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// Serve runs h on req and returns its response. A panic in h becomes a
// 500 (one unrecovered panic would end the Go instance and every request
// in flight on it).
func Serve(ctx context.Context, h http.Handler, req Request) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("cloudflare: handler panic", "panic", fmt.Sprint(v))
			resp = plain(http.StatusInternalServerError)
		}
	}()
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return plain(http.StatusBadRequest)
	}
	for _, kv := range req.Headers {
		r.Header.Add(kv[0], kv[1])
	}
	r.ContentLength = int64(len(req.Body))
	r.Host = r.URL.Host
	r.RemoteAddr = remoteAddr(r.Header)
	r.RequestURI = r.URL.RequestURI()
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return Response{Status: w.status, Headers: flatten(w.header), Body: w.body.Bytes()}
}

// remoteAddr is the client's address as Cloudflare reports it
// (CF-Connecting-IP, set by the edge, never by the client), with a port so
// that net.SplitHostPort works on it.
func remoteAddr(h http.Header) string {
	ip := h.Get("CF-Connecting-IP")
	if ip == "" {
		ip = "127.0.0.1"
	}
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:0"
	}
	return ip + ":0"
}

// joinHeaders writes headers as they cross between JS and Go, in one
// string: name and value of each, in order, each followed by "\n". A
// newline or carriage return in a value becomes a space, as net/http does
// when it writes a header, and a name holding one is dropped (no valid
// header name or value holds one: the Fetch standard forbids them).
func joinHeaders(hs [][2]string) string {
	var b strings.Builder
	for _, kv := range hs {
		if strings.ContainsAny(kv[0], "\r\n") {
			continue
		}
		b.WriteString(kv[0])
		b.WriteByte('\n')
		b.WriteString(newlines.Replace(kv[1]))
		b.WriteByte('\n')
	}
	return b.String()
}

var newlines = strings.NewReplacer("\n", " ", "\r", " ")

// splitHeaders reads the headers joinHeaders wrote.
func splitHeaders(s string) ([][2]string, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.HasSuffix(s, "\n") {
		return nil, errors.New("cloudflare: headers: no final newline")
	}
	parts := strings.Split(s[:len(s)-1], "\n")
	if len(parts)%2 != 0 {
		return nil, errors.New("cloudflare: headers: a name without a value")
	}
	out := make([][2]string, 0, len(parts)/2)
	for i := 0; i < len(parts); i += 2 {
		out = append(out, [2]string{parts[i], parts[i+1]})
	}
	return out, nil
}

func plain(status int) Response {
	return Response{
		Status:  status,
		Headers: [][2]string{{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-store"}},
		Body:    []byte(http.StatusText(status) + "\n"),
	}
}

func flatten(h http.Header) [][2]string {
	var out [][2]string
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// recorder is the http.ResponseWriter of a request: the whole body is
// buffered and handed to JS at once.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

// Flush is a no-op: the body goes out when the handler returns.
func (w *recorder) Flush() {}

var _ io.Writer = (*recorder)(nil)
