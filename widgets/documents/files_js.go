//go:build js && wasm

package documents

import (
	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// PickFile reads the file chosen in the file input, in a goroutine (the
// browser hands its bytes over asynchronously), then hands it to the
// model. A file larger than the limit is not read: its size is enough to
// refuse it.
func (c *Documents) PickFile(event vugu.DOMEvent) {
	c.Interacted = true
	input := event.JSEventTarget()
	list := input.Get("files")
	if list.Length() == 0 {
		return
	}
	f := list.Index(0)
	file := File{Name: f.Get("name").String(), Size: int64(f.Get("size").Float())}
	// Empty the input, so that choosing the same file again is a change.
	input.Set("value", "")
	ee, seq, limit := event.EventEnv(), c.M.Seq(), c.M.maxDocument()
	go func() {
		if file.Size <= limit {
			file.Content = ui.ReadFile(f)
		}
		c.Attach(ee, seq, file)
	}()
}
