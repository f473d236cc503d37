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
// {method, url, headers: [[k, v], ...], body: Uint8Array|null}; Go runs h on
// it in a goroutine of its own and calls done({status, headers, body}) when
// h has returned. The caller then blocks forever (select{}) so that the
// instance stays alive for the next request.
func Register(name string, h http.Handler) {
	js.Global().Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
		jreq, env, done := args[0], args[1], args[2]
		req := Request{Method: jreq.Get("method").String(), URL: jreq.Get("url").String()}
		hs := jreq.Get("headers")
		for i, n := 0, hs.Length(); i < n; i++ {
			kv := hs.Index(i)
			req.Headers = append(req.Headers, [2]string{kv.Index(0).String(), kv.Index(1).String()})
		}
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
			ctx := context.WithValue(context.Background(), envKey{}, env)
			resp := Serve(ctx, h, req)
			headers := make([]any, len(resp.Headers))
			for i, kv := range resp.Headers {
				headers[i] = []any{kv[0], kv[1]}
			}
			body := js.Global().Get("Uint8Array").New(len(resp.Body))
			js.CopyBytesToJS(body, resp.Body)
			done.Invoke(map[string]any{"status": resp.Status, "headers": headers, "body": body})
		}()
		return nil
	}))
}
