// Package vg holds the small node constructors that the widgets' generated
// views (*_gen.go) call, after `make generate` rewrites vugugen's output
// (wasm/internal/genslim): one call per static node instead of an inline
// composite literal and an AppendChild, which shrinks the browser Wasm.
package vg

import "github.com/vugu/vugu"

// Text appends a text node holding data to parent and returns it.
//
//go:noinline
func Text(parent *vugu.VGNode, data string) *vugu.VGNode {
	n := &vugu.VGNode{Type: vugu.TextNode, Data: data}
	parent.AppendChild(n)
	return n
}

// El appends an element named tag with the static attributes kv (key,
// value, key, value …) to parent and returns it.
//
//go:noinline
func El(parent *vugu.VGNode, tag string, kv ...string) *vugu.VGNode {
	n := &vugu.VGNode{Type: vugu.ElementNode, Data: tag}
	if len(kv) > 0 {
		n.Attr = make([]vugu.VGAttribute, len(kv)/2)
		for i := range n.Attr {
			n.Attr[i] = vugu.VGAttribute{Key: kv[2*i], Val: kv[2*i+1]}
		}
	}
	parent.AppendChild(n)
	return n
}

// On adds a handler for the DOM event named event to n.
//
//go:noinline
func On(n *vugu.VGNode, event string, f func(vugu.DOMEvent)) {
	n.DOMEventHandlerSpecList = append(n.DOMEventHandlerSpecList, vugu.DOMEventHandlerSpec{EventType: event, Func: f})
}
