package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlim(t *testing.T) {
	in := `package x

import "github.com/vugu/vugu"
import "log"

func (c *C) Build(vgin *vugu.BuildIn) (vgout *vugu.BuildOut) {
	vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "section", Attr: []vugu.VGAttribute{{Namespace: "", Key: "id", Val: "root"}}}
	vgout.Out = append(vgout.Out, vgn) // root for output
	{
		vgn = &vugu.VGNode{Type: vugu.VGNodeType(1), Data: "\n  "}
		vgparent.AppendChild(vgn)
		vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "p", Attr: []vugu.VGAttribute{{Namespace: "", Key: "class", Val: "a}, b\"c"}, vugu.VGAttribute{Namespace: "", Key: "role", Val: "status"}}}
		vgparent.AppendChild(vgn)
		vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "p", Attr: []vugu.VGAttribute(nil)}
		vgparent.AppendChild(vgn)
		vgn.DOMEventHandlerSpecList = append(vgn.DOMEventHandlerSpecList, vugu.DOMEventHandlerSpec{
			EventType:	"click",
			Func:		func(event vugu.DOMEvent) { c.Do(event, "retry", "") },
			// TODO: implement capture, etc. mostly need to decide syntax
		})
		vgn.DOMEventHandlerSpecList = append(vgn.DOMEventHandlerSpecList, vugu.DOMEventHandlerSpec{
			EventType:	"click",
			Func:		func(event vugu.DOMEvent) {
				c.Do(event, "x", "")
			},
		})
		vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "svg", Data: "g", Attr: []vugu.VGAttribute(nil)}
		vgparent.AppendChild(vgn)
		vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "i", Attr: []vugu.VGAttribute{{Namespace: "xlink", Key: "href", Val: "#a"}}}
		vgparent.AppendChild(vgn)
	}
}

var _ log.Logger
`
	want := `package x

import "github.com/vugu/vugu"
import vg "github.com/parcours-sante/parcours/widgets/internal/vg"

func (c *C) Build(vgin *vugu.BuildIn) (vgout *vugu.BuildOut) {
	vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "section", Attr: []vugu.VGAttribute{{Namespace: "", Key: "id", Val: "root"}}}
	vgout.Out = append(vgout.Out, vgn) // root for output
	{
		vgn = vg.Text(vgparent, "\n  ")
		vgn = vg.El(vgparent, "p", "class", "a}, b\"c", "role", "status")
		vgn = vg.El(vgparent, "p")
		vg.On(vgn, "click", func(event vugu.DOMEvent) { c.Do(event, "retry", "") })
		vgn.DOMEventHandlerSpecList = append(vgn.DOMEventHandlerSpecList, vugu.DOMEventHandlerSpec{
			EventType:	"click",
			Func:		func(event vugu.DOMEvent) {
				c.Do(event, "x", "")
			},
		})
		vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "svg", Data: "g", Attr: []vugu.VGAttribute(nil)}
		vgparent.AppendChild(vgn)
		vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "i", Attr: []vugu.VGAttribute{{Namespace: "xlink", Key: "href", Val: "#a"}}}
		vgparent.AppendChild(vgn)
	}
}

`
	got, n := Slim(in)
	if got != want {
		t.Errorf("Slim:\n%s\nwant:\n%s", got, want)
	}
	if n != 5 {
		t.Errorf("Slim rewrote %d nodes and imports, want 5", n)
	}
	if again, n := Slim(got); again != got || n != 0 {
		t.Errorf("Slim of its own output rewrote %d nodes", n)
	}
}

// TestSlimKeepsUsedLog keeps package log where the view uses it.
func TestSlimKeepsUsedLog(t *testing.T) {
	in := "package x\n\nimport \"log\"\n\nfunc f() { log.Print(\"x\") }\n\nvar _ log.Logger\n"
	if got, n := Slim(in); got != in || n != 0 {
		t.Errorf("Slim rewrote %d:\n%s", n, got)
	}
	in = "package x\n\nimport \"log\"\n\nfunc f() { c.Catalog.X() }\n\nvar _ log.Logger\n"
	if got, n := Slim(in); got != "package x\n\n\nfunc f() { c.Catalog.X() }\n\n" || n != 1 {
		t.Errorf("Slim kept an unused log (%d):\n%s", n, got)
	}
}

// TestCommittedViewsSlim checks that the committed views went through
// genslim (make generate): no static node is left to rewrite.
func TestCommittedViewsSlim(t *testing.T) {
	files, err := filepath.Glob("../../../widgets/*/*_gen.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated views found: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, n := Slim(string(b)); n != 0 {
			t.Errorf("%s: %d static nodes not slimmed: run make generate", f, n)
		}
		if !strings.Contains(string(b), "vg.El(") {
			t.Errorf("%s: no vg.El call", f)
		}
	}
}
