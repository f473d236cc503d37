// Package vdom adjusts vugu's build output so that the browser renderer can
// take over a server-rendered document node for node (hydration).
package vdom

import "github.com/vugu/vugu"

// MergeText joins adjacent text nodes of the build output, as an HTML parser
// does when it reads the server's rendering.
//
// vugu emits the white space around an element whose vg-if is false as
// separate text nodes. Serialized, they are one run of text, which the
// browser parses as one node; vugu's DOM renderer, which matches children by
// position, would then find an element where it expects a second text node
// and replace it and every sibling after it. Calling MergeText on the same
// build output before the static render (host) and before the DOM render
// (browser) keeps both in step.
func MergeText(br *vugu.BuildResults) {
	if br == nil || br.Out == nil {
		return
	}
	for _, n := range br.Out.Out {
		mergeText(n)
	}
}

func mergeText(n *vugu.VGNode) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == vugu.TextNode && c.InnerHTML == nil {
			for next := c.NextSibling; next != nil && next.Type == vugu.TextNode && next.InnerHTML == nil; next = c.NextSibling {
				c.Data += next.Data
				c.NextSibling = next.NextSibling
				if next.NextSibling != nil {
					next.NextSibling.PrevSibling = c
				} else {
					n.LastChild = c
				}
				next.Parent, next.PrevSibling, next.NextSibling = nil, nil, nil
			}
			continue
		}
		if c.Component == nil {
			mergeText(c)
		}
	}
}
