//go:build js && wasm

package cloudflare

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"syscall/js"
)

type envKey struct{}

// Env returns the Worker's env object (bindings, vars and secrets) of the
// request of ctx; it is only valid during that request.
func Env(ctx context.Context) (js.Value, bool) {
	v, ok := ctx.Value(envKey{}).(js.Value)
	return v, ok
}

// Register installs globalThis[name](req, env, done): req is
// {method, url, headers, body: Uint8Array|null}; Go runs h on it in a
// goroutine of its own and calls done(status, headers, body) when h has
// returned, body a Uint8Array. Headers travel as one string each way (see
// joinHeaders): one JS call instead of several per header. The caller then blocks forever
// (select{}) so that the instance stays alive for the next request.
func Register(name string, h http.Handler) {
	js.Global().Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
		jreq, env, done := args[0], args[1], args[2]
		req := Request{Method: jreq.Get("method").String(), URL: jreq.Get("url").String()}
		hs := jreq.Get("headers").String()
		if b := jreq.Get("body"); b.Truthy() {
			req.Body = make([]byte, b.Length())
			js.CopyBytesToGo(req.Body, b)
		}
		go func() {
			defer func() {
				if v := recover(); v != nil {
					slog.Error("cloudflare: bridge panic", "panic", fmt.Sprint(v))
				}
			}()
			var resp Response
			if hs, err := splitHeaders(hs); err != nil {
				resp = plain(http.StatusBadRequest)
			} else {
				req.Headers = hs
				ctx := context.WithValue(context.Background(), envKey{}, env)
				resp = Serve(ctx, h, req)
			}
			body := js.Global().Get("Uint8Array").New(len(resp.Body))
			js.CopyBytesToJS(body, resp.Body)
			done.Invoke(resp.Status, joinHeaders(resp.Headers), body)
		}()
		return nil
	}))
}
