//go:build js && wasm

package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"time"
)

// DurableState is the host's State (host.State) in a Durable Object
// namespace bound to the Worker under the name Binding: one object per
// key, so that each key is strongly consistent (a Durable Object runs one
// call at a time, and its storage reads and writes are atomic between
// calls) and keys spread over as many objects as there are. The object's
// class is ParcoursState, in state.mjs (host/cmd/parcours-worker); it
// forgets its key at its expiry with an alarm.
//
// Like Transport, call it only from the goroutine of the request being
// served: it reaches the binding through the request's env (Env).
type DurableState struct {
	Binding string
	// Jurisdiction, when set ("eu"), creates the objects in that
	// jurisdiction, so that their storage stays there.
	Jurisdiction string
}

func (d DurableState) call(ctx context.Context, args ...any) (js.Value, error) {
	env, ok := Env(ctx)
	if !ok {
		return js.Value{}, errors.New("cloudflare: state: no Worker env in the request's context")
	}
	ns := env.Get(d.Binding)
	if !ns.Truthy() {
		return js.Value{}, fmt.Errorf("cloudflare: state: no Durable Object binding %s", d.Binding)
	}
	fn := js.Global().Get("parcoursState")
	if fn.Type() != js.TypeFunction {
		return js.Value{}, errors.New("cloudflare: state: globalThis.parcoursState is missing (import state.mjs)")
	}
	v, err := await(fn.Invoke(append([]any{ns, d.Jurisdiction}, args...)...))
	if err != nil {
		return js.Value{}, fmt.Errorf("cloudflare: state: %w", err)
	}
	return v, nil
}

// Get implements host.State.
func (d DurableState) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	r, err := d.call(ctx, "get", key)
	if err != nil {
		return nil, 0, err
	}
	v := r.Get("value")
	if !v.Truthy() {
		return nil, 0, nil
	}
	b := make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return b, uint64(r.Get("version").Float()), nil
}

// Swap implements host.State.
func (d DurableState) Swap(ctx context.Context, key string, version uint64, value []byte, ttl time.Duration) (bool, error) {
	v := js.Null()
	if value != nil {
		v = js.Global().Get("Uint8Array").New(len(value))
		js.CopyBytesToJS(v, value)
	}
	r, err := d.call(ctx, "swap", key, float64(version), v, float64(ttl.Milliseconds()))
	if err != nil {
		return false, err
	}
	return r.Bool(), nil
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
