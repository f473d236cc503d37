//go:build !(js && wasm)

package messaging

import "github.com/vugu/vugu"

// PickFiles is the file input's handler; outside a browser there is no
// file to read (tests add files with Attach).
func (c *Messaging) PickFiles(event vugu.DOMEvent) {}
