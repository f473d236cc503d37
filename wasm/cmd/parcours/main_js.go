//go:build js && wasm

// Command parcours is the one WebAssembly binary of every Parcours widget.
// It runs in the widget's iframe: it reads which widget to mount from the
// document the host served, then hands the DOM to vugu, hydrating the
// server-rendered first paint.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall/js"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/domrender"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/widgets/booking"
	"github.com/parcours-sante/parcours/widgets/vdom"
)

func main() {
	root := js.Global().Get("document").Get("documentElement")
	attr := func(name string) string {
		v := root.Call("getAttribute", name)
		if v.IsNull() || v.IsUndefined() {
			return ""
		}
		return v.String()
	}
	lang := "fr"
	if attr("data-lang") == "en" {
		lang = "en"
	}
	widget := attr("data-widget")
	if widget != "booking" {
		fmt.Println("parcours: unknown widget", widget)
		return
	}
	frame := js.Global().Get("parcoursFrame")
	comp := &booking.Booking{
		M:       booking.NewModel(lang, attr("data-establishment"), attr("data-service"), attr("data-practitioner")),
		Backend: client.New("", client.WithLanguage(lang)),
		Ctx:     context.Background(),
		Emit: func(e booking.Event) {
			if frame.Truthy() {
				frame.Call("emit", e.Name, e.Appointment, e.Start.Format(time.RFC3339))
			}
		},
	}
	// Start from the state the host rendered, if it handed one over: the
	// first render then matches the server's HTML node for node.
	if el := js.Global().Get("document").Call("getElementById", "parcours-state"); el.Truthy() {
		var snap booking.Snapshot
		if err := json.Unmarshal([]byte(el.Get("textContent").String()), &snap); err == nil {
			comp.M.Hydrate(&snap)
		} else {
			fmt.Println("parcours: ignoring the host's state:", err)
		}
	}
	// The form posts where the host said (used only if the Wasm stops).
	if form := js.Global().Get("document").Call("querySelector", "form.pc-form"); form.Truthy() {
		comp.Action = form.Call("getAttribute", "action").String()
	}
	if err := run(comp, frame); err != nil {
		root.Call("setAttribute", "data-wasm-error", err.Error())
		fmt.Println("parcours:", err)
	}
}

// run is the render loop: build and render under the read lock (event
// handlers and call results change the model under the write lock), then
// wait for the next change.
func run(comp *booking.Booking, frame js.Value) error {
	renderer, err := domrender.New("#" + booking.MountID)
	if err != nil {
		return err
	}
	defer renderer.Release()
	ee := renderer.EventEnv()
	env, err := vugu.NewBuildEnv(ee)
	if err != nil {
		return err
	}
	lastStep := comp.M.Step
	first := true
	for ok := true; ok; ok = renderer.EventWait() {
		ee.RLock()
		br := env.RunBuild(comp)
		vdom.MergeText(br) // as the host did for the first paint
		err := renderer.Render(br)
		step, loading, acted := comp.M.Step, comp.M.Loading, comp.Interacted
		ee.RUnlock()
		if err != nil {
			return err
		}
		if first {
			// The DOM is the widget's and its handlers are attached: it is
			// interactive. A mark for benchmarks and the browser's tools.
			js.Global().Get("performance").Call("mark", "parcours:interactive")
			first = false
		}
		// Move focus to the new step's heading so that keyboard and screen
		// reader users land where the content changed (not on first paint).
		if step != lastStep && !loading {
			if acted && frame.Truthy() {
				frame.Call("focus", "pc-step-title")
			}
			lastStep = step
		}
	}
	return nil
}
