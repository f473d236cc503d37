//go:build js && wasm

package cloudflare

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall/js"
)

// Transport is an http.RoundTripper on the Workers fetch API. Call it only
// from the goroutine of the request being served (workerd refuses I/O on
// behalf of another request); it starts no goroutine and no Go timer. Give
// it to an http.Client without Timeout: a Go timer would belong to
// whichever request ran last. Deadlines are the Worker's own limits.
type Transport struct{}

// RoundTrip implements http.RoundTripper.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	init := map[string]any{"method": req.Method, "redirect": "manual"}
	headers := js.Global().Get("Headers").New()
	for k, vs := range req.Header {
		for _, v := range vs {
			headers.Call("append", k, v)
		}
	}
	init["headers"] = headers
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		arr := js.Global().Get("Uint8Array").New(len(b))
		js.CopyBytesToJS(arr, b)
		init["body"] = arr
	}
	resp, err := await(js.Global().Call("fetch", req.URL.String(), init))
	if err != nil {
		return nil, fmt.Errorf("cloudflare: fetch %s: %w", req.URL.Redacted(), err)
	}
	buf, err := await(resp.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("cloudflare: fetch %s: body: %w", req.URL.Redacted(), err)
	}
	body := make([]byte, buf.Get("byteLength").Int())
	js.CopyBytesToGo(body, js.Global().Get("Uint8Array").New(buf))
	out := &http.Response{
		Status:        fmt.Sprintf("%d %s", resp.Get("status").Int(), resp.Get("statusText").String()),
		StatusCode:    resp.Get("status").Int(),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any {
		out.Header.Add(args[1].String(), args[0].String())
		return nil
	})
	resp.Get("headers").Call("forEach", cb)
	cb.Release()
	// fetch has already decoded any Content-Encoding.
	out.Header.Del("Content-Encoding")
	out.Header.Del("Content-Length")
	return out, nil
}

// await blocks the calling goroutine until p settles; the JS event loop
// runs meanwhile.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "rejected"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	p.Call("then", ok, fail)
	r := <-ch
	ok.Release()
	fail.Release()
	return r.v, r.err
}
