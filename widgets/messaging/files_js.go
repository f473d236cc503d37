//go:build js && wasm

package messaging

import (
	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// PickFiles reads the files chosen in the file input, in a goroutine (the
// browser hands their bytes over asynchronously), then adds them. A file
// larger than the limit is not read: its size is enough to refuse it.
func (c *Messaging) PickFiles(event vugu.DOMEvent) {
	c.Interacted = true
	input := event.JSEventTarget()
	list := input.Get("files")
	limit := c.M.limit()
	type pick struct {
		name string
		size int64
		file js.Value
	}
	// Read no more files than the message may still carry: choosing a
	// hundred photos must not fill the phone's memory.
	var picks []pick
	var skipped []File
	for i := 0; i < list.Length(); i++ {
		f := list.Index(i)
		p := pick{f.Get("name").String(), int64(f.Get("size").Float()), f}
		if len(picks) < c.M.FileSlots() {
			picks = append(picks, p)
		} else {
			skipped = append(skipped, File{Name: p.name, Size: p.size, OverCount: true})
		}
	}
	// Empty the input, so that choosing the same file again (after removing
	// it) is a change too.
	input.Set("value", "")
	ee := event.EventEnv()
	seq := c.M.Composer()
	c.drive().Dispatch(ee, Action{Kind: ReadingFiles, Seq: seq, Index: len(picks)})
	go func() {
		files := make([]File, 0, len(picks)+len(skipped))
		for _, p := range picks {
			f := File{Name: p.name, Size: p.size}
			if p.size <= limit {
				f.Content = ui.ReadFile(p.file)
			}
			files = append(files, f)
		}
		// The files over the count are refused by the model, unread.
		c.Attach(ee, seq, len(picks), append(files, skipped...))
	}()
}
