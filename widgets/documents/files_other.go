//go:build !(js && wasm)

package documents

import "github.com/vugu/vugu"

// PickFile is the file input's handler; outside a browser there is no file
// to read (tests hand files over with Attach).
func (c *Documents) PickFile(event vugu.DOMEvent) {}
