//go:build !(js && wasm)

package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"time"
)

// HTTPTransport is the net/http transport, used everywhere but the browser.
type HTTPTransport struct {
	Client *http.Client
}

// NewHTTPTransport returns a transport with its own cookie jar, so that each
// client keeps its own session, and a 30-second overall timeout.
func NewHTTPTransport() *HTTPTransport {
	jar, _ := cookiejar.New(nil) // cookiejar.New never fails with nil options
	return &HTTPTransport{Client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// WithHTTPClient makes the client use hc (its jar holds the session).
func WithHTTPClient(hc *http.Client) Option {
	return WithTransport(&HTTPTransport{Client: hc})
}

func defaultTransport() Transport { return NewHTTPTransport() }

// Do implements Transport.
func (t *HTTPTransport) Do(ctx context.Context, r *Request) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", MaxResponseBytes)
	}
	return &Response{Status: resp.StatusCode, Body: b}, nil
}
