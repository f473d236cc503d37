//go:build js && wasm

package cloudflare

import (
	"sync"
	"syscall/js"
	"time"
)

// AfterFunc runs f after d on a JS timer (setTimeout) set from the calling
// goroutine, so that, called from the goroutine of the request being
// served, the timer is that request's: Go's own runtime timer is set by
// whichever request entered Go last and ends with it, so a time.AfterFunc,
// a context.WithTimeout or a time.Sleep of another request might fire late,
// or never. Give it to host.Config.AfterFunc and fhir.Config.AfterFunc
// (see host/internal/deadline). f runs in the timer's JS callback: it must
// not block (cancelling a context, closing a channel).
func AfterFunc(d time.Duration, f func()) (stop func() bool) {
	var (
		mu   sync.Mutex
		done bool
		fn   js.Func
	)
	fn = js.FuncOf(func(js.Value, []js.Value) any {
		mu.Lock()
		if done {
			mu.Unlock()
			return nil
		}
		done = true
		mu.Unlock()
		fn.Release()
		f()
		return nil
	})
	id := js.Global().Call("setTimeout", fn, float64(d.Milliseconds()))
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return false
		}
		done = true
		js.Global().Call("clearTimeout", id)
		fn.Release()
		return true
	}
}
