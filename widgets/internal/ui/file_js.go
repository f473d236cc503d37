//go:build js && wasm

package ui

import "github.com/vugu/vugu/js"

// ReadFile awaits a browser File's arrayBuffer() and returns its bytes; nil
// if the browser could not read it (the widgets then refuse the file as
// not a valid PDF, JPEG or PNG). Call it from a goroutine, never under the
// renderer's lock: the browser hands the bytes over asynchronously.
func ReadFile(f js.Value) []byte {
	done := make(chan js.Value, 1)
	then := js.FuncOf(func(this js.Value, args []js.Value) any { done <- args[0]; return nil })
	catch := js.FuncOf(func(this js.Value, args []js.Value) any { done <- js.Null(); return nil })
	defer then.Release()
	defer catch.Release()
	f.Call("arrayBuffer").Call("then", then, catch)
	buf := <-done
	if buf.IsNull() || buf.IsUndefined() {
		return nil
	}
	arr := js.Global().Get("Uint8Array").New(buf)
	b := make([]byte, arr.Length())
	js.CopyBytesToGo(b, arr)
	return b
}
