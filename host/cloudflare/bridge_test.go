package cloudflare

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"testing"
)

func TestServe(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/api/x" || r.URL.RawQuery != "a=1" || string(b) != "hi" ||
			r.Header.Get("X-A") != "1" || r.RemoteAddr != "192.0.2.1:0" || r.Host != "example.org" {
			t.Errorf("request: %s %s %q %v %s %s", r.Method, r.URL, b, r.Header, r.RemoteAddr, r.Host)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "ok")
	})
	resp := Serve(context.Background(), h, Request{
		Method: "POST", URL: "https://example.org/api/x?a=1", Body: []byte("hi"),
		Headers: [][2]string{{"X-A", "1"}, {"CF-Connecting-IP", "192.0.2.1"}},
	})
	if resp.Status != http.StatusCreated || string(resp.Body) != "ok" || len(resp.Headers) != 1 || resp.Headers[0] != [2]string{"Cache-Control", "no-store"} {
		t.Errorf("response: %+v", resp)
	}
}

func TestServeRecovers(t *testing.T) {
	resp := Serve(context.Background(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), Request{Method: "GET", URL: "https://example.org/"})
	if resp.Status != http.StatusInternalServerError {
		t.Errorf("status %d after a panic, want 500", resp.Status)
	}
	if resp := Serve(context.Background(), http.NotFoundHandler(), Request{Method: "GET", URL: "://bad"}); resp.Status != http.StatusBadRequest {
		t.Errorf("status %d for a bad URL, want 400", resp.Status)
	}
	if remoteAddr(http.Header{"Cf-Connecting-Ip": {"2001:db8::1"}}) != "[2001:db8::1]:0" {
		t.Error("IPv6 remote address")
	}
}

func TestHeaders(t *testing.T) {
	hs := [][2]string{{"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"X-Empty", ""}}
	got, err := splitHeaders(joinHeaders(hs))
	if err != nil || !reflect.DeepEqual(got, hs) {
		t.Errorf("round trip: %q, %v", got, err)
	}
	// A newline in a value cannot split it into a forged header; a name
	// holding one is dropped.
	s := joinHeaders([][2]string{{"X-A", "1\r\nSet-Cookie: x=1"}, {"X-B\nSet-Cookie", "2"}, {"X-C", "3"}})
	got, err = splitHeaders(s)
	if want := [][2]string{{"X-A", "1  Set-Cookie: x=1"}, {"X-C", "3"}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("newlines: %q, %v; want %q", got, err, want)
	}
	if got, err := splitHeaders(""); err != nil || len(got) != 0 {
		t.Errorf("no headers: %q, %v", got, err)
	}
	for _, bad := range []string{"X-A\n1", "X-A\n"} {
		if _, err := splitHeaders(bad); err == nil {
			t.Errorf("splitHeaders(%q) accepted", bad)
		}
	}
}
