//go:build js && wasm

// Command parcours is the one WebAssembly binary of every Parcours widget.
// It runs in the widget's iframe: it reads which widget to mount from the
// document the host served, then hands the DOM to vugu, hydrating the
// server-rendered first paint.
package main

import (
	"context"
	"fmt"
	"syscall/js"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/domrender"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/wirejson"
	"github.com/parcours-sante/parcours/widgets/access"
	"github.com/parcours-sante/parcours/widgets/booking"
	"github.com/parcours-sante/parcours/widgets/documents"
	"github.com/parcours-sante/parcours/widgets/messaging"
	"github.com/parcours-sante/parcours/widgets/questionnaire"
	"github.com/parcours-sante/parcours/widgets/vdom"
)

// widget is what the render loop needs of a widget's root component.
type widget interface {
	vugu.Builder
	// View tells which screen is shown (focus moves to its heading when it
	// changes after the patient acted), and whether a call is under way.
	View() (screen string, loading, interacted bool)
}

func main() {
	doc := js.Global().Get("document")
	root := doc.Get("documentElement")
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
	frame := js.Global().Get("parcoursFrame")
	emit := func(name string, detail map[string]any) {
		if frame.Truthy() {
			frame.Call("emit", name, detail)
		}
	}
	// The host's state for the first render, so that it matches the
	// server's HTML node for node.
	state := func(into any) bool {
		el := doc.Call("getElementById", "parcours-state")
		if !el.Truthy() {
			return false
		}
		if err := wirejson.Unmarshal([]byte(el.Get("textContent").String()), into); err != nil {
			fmt.Println("parcours: ignoring the host's state:", err)
			return false
		}
		return true
	}
	// The form posts where the host said (used only if the Wasm stops).
	action := ""
	if form := doc.Call("querySelector", "form.pc-form"); form.Truthy() {
		action = form.Call("getAttribute", "action").String()
	}
	backend := client.New("", client.WithLanguage(lang))
	var comp widget
	switch w := attr("data-widget"); w {
	case "booking":
		c := &booking.Booking{
			M:       booking.NewModel(lang, attr("data-establishment"), attr("data-service"), attr("data-practitioner")),
			Backend: backend, Ctx: context.Background(), Action: action,
			Emit: func(e booking.Event) {
				emit(e.Name, map[string]any{"appointment": e.Appointment, "start": e.Start.Format(time.RFC3339)})
			},
		}
		var snap booking.Snapshot
		if state(&snap) {
			c.M.Hydrate(&snap)
		}
		comp = c
	case "questionnaire":
		c := &questionnaire.Questionnaire{
			M:       questionnaire.NewModel(lang, attr("data-establishment"), attr("data-questionnaire")),
			Backend: backend, Ctx: context.Background(), Action: action,
			Emit: func(e questionnaire.Event) {
				emit(e.Name, map[string]any{"questionnaire": e.Questionnaire, "response": e.Response})
			},
		}
		if mount := doc.Call("getElementById", questionnaire.MountID); mount.Truthy() {
			if v := mount.Call("getAttribute", "data-booking"); !v.IsNull() {
				c.BookingURL = v.String()
			}
		}
		var snap questionnaire.Snapshot
		if state(&snap) {
			c.M.Hydrate(&snap)
		}
		comp = c
	case "messages", "inbox":
		side := messaging.Patient
		if w == "inbox" {
			side = messaging.CareTeam
		}
		c := &messaging.Messaging{
			M:       messaging.NewModel(side, lang, attr("data-establishment"), attr("data-service")),
			Backend: backend, Ctx: context.Background(), Action: action,
			Emit: func(e messaging.Event) {
				emit(e.Name, map[string]any{"thread": e.Thread, "message": e.Message})
			},
			Hidden: func() bool { return doc.Get("hidden").Truthy() },
		}
		var snap messaging.Snapshot
		if state(&snap) {
			c.M.Hydrate(&snap)
		}
		comp = c
	case "documents":
		c := &documents.Documents{
			M:       documents.NewModel(lang, attr("data-establishment")),
			Backend: backend, Ctx: context.Background(), Action: action,
			Emit: func(e documents.Event) {
				emit(e.Name, map[string]any{"document": e.Document})
			},
			Hidden: func() bool { return doc.Get("hidden").Truthy() },
		}
		var snap documents.Snapshot
		if state(&snap) {
			c.M.Hydrate(&snap)
		}
		comp = c
	case "access":
		c := &access.Access{
			M:       access.NewModel(lang, attr("data-establishment")),
			Backend: backend, Ctx: context.Background(), Action: action,
			Emit: func(e access.Event) {
				emit(e.Name, map[string]any{"grant": e.Grant})
			},
		}
		var snap access.Snapshot
		if state(&snap) {
			c.M.Hydrate(&snap)
		}
		comp = c
	default:
		fmt.Println("parcours: unknown widget", w)
		return
	}
	if err := run(comp, frame); err != nil {
		root.Call("setAttribute", "data-wasm-error", err.Error())
		fmt.Println("parcours:", err)
	}
}

// mountID is the id of every widget's root element.
const mountID = booking.MountID

// run is the render loop: build and render under the read lock (event
// handlers and call results change the model under the write lock), then
// wait for the next change.
func run(comp widget, frame js.Value) error {
	renderer, err := domrender.New("#" + mountID)
	if err != nil {
		return err
	}
	defer renderer.Release()
	ee := renderer.EventEnv()
	env, err := vugu.NewBuildEnv(ee)
	if err != nil {
		return err
	}
	lastScreen, _, _ := comp.View()
	first := true
	for ok := true; ok; ok = renderer.EventWait() {
		ee.RLock()
		br := env.RunBuild(comp)
		vdom.MergeText(br) // as the host did for the first paint
		err := renderer.Render(br)
		screen, loading, acted := comp.View()
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
		// Move focus to the new screen's heading so that keyboard and
		// screen reader users land where the content changed (not on first
		// paint).
		if screen != lastScreen && !loading {
			if acted && frame.Truthy() {
				frame.Call("focus", "pc-step-title")
			}
			lastScreen = screen
		}
	}
	return nil
}
