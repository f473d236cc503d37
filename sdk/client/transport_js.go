//go:build js && wasm

package client

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
)

// FetchTransport calls the browser's fetch API. Requests carry the page's
// cookies for its own origin (credentials "same-origin") and are aborted
// when their context ends.
type FetchTransport struct{}

func defaultTransport() Transport { return FetchTransport{} }

// Do implements Transport.
func (FetchTransport) Do(ctx context.Context, r *Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	init := js.Global().Get("Object").New()
	init.Set("method", r.Method)
	init.Set("credentials", "same-origin")
	init.Set("cache", "no-store")
	headers := js.Global().Get("Headers").New()
	for k, v := range r.Header {
		headers.Call("set", k, v)
	}
	init.Set("headers", headers)
	if r.Body != nil {
		arr := js.Global().Get("Uint8Array").New(len(r.Body))
		js.CopyBytesToJS(arr, r.Body)
		init.Set("body", arr)
	}
	abort := js.Global().Get("AbortController").New()
	init.Set("signal", abort.Get("signal"))
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	defer stop()

	resp, err := await(js.Global().Call("fetch", r.URL, init))
	if err != nil {
		return nil, err
	}
	status := resp.Get("status").Int()
	buf, err := await(resp.Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	arr := js.Global().Get("Uint8Array").New(buf)
	n := arr.Get("length").Int()
	if n > MaxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", MaxResponseBytes)
	}
	b := make([]byte, n)
	js.CopyBytesToGo(b, arr)
	return &Response{Status: status, Body: b}, nil
}

// await blocks the calling goroutine until promise settles. It must not be
// called from the JS event loop's own goroutine (vugu event handlers run
// calls in their own goroutines).
func await(promise js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	onOK := js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	onErr := js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "fetch failed"
		if len(args) > 0 && args[0].Truthy() {
			msg = args[0].Call("toString").String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	defer onOK.Release()
	defer onErr.Release()
	promise.Call("then", onOK, onErr)
	r := <-ch
	return r.v, r.err
}
