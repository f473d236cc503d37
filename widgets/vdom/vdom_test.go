package vdom

import (
	"testing"

	"github.com/vugu/vugu"
)

func text(s string) *vugu.VGNode { return &vugu.VGNode{Type: vugu.TextNode, Data: s} }
func elem(tag string, children ...*vugu.VGNode) *vugu.VGNode {
	n := &vugu.VGNode{Type: vugu.ElementNode, Data: tag}
	for _, c := range children {
		n.AppendChild(c)
	}
	return n
}

// shape lists the children as the HTML parser would see them.
func shape(n *vugu.VGNode) []string {
	var out []string
	var prev *vugu.VGNode
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.PrevSibling != prev || c.Parent != n {
			out = append(out, "BROKEN-LINK")
		}
		prev = c
		if c.Type == vugu.TextNode {
			out = append(out, "text:"+c.Data)
		} else {
			out = append(out, c.Data)
		}
	}
	if n.LastChild != prev {
		out = append(out, "BROKEN-LAST")
	}
	return out
}

func TestMergeText(t *testing.T) {
	inner := elem("ul", text("a"), text("b"), elem("li"), text("c"))
	html := &vugu.VGNode{Type: vugu.TextNode, Data: "raw"}
	html.SetInnerHTML(vugu.HTML("<b>x</b>"))
	root := elem("section", text("\n  "), text("\n  "), elem("p"), text("\n"), text(" "), text("\n"), inner, text("x"), html, text("end"))
	MergeText(&vugu.BuildResults{Out: &vugu.BuildOut{Out: []*vugu.VGNode{root}}})
	want := []string{"text:\n  \n  ", "p", "text:\n \n", "ul", "text:x", "text:raw", "text:end"}
	if got := shape(root); !equal(got, want) {
		t.Errorf("root children %q, want %q", got, want)
	}
	if got := shape(inner); !equal(got, []string{"text:ab", "li", "text:c"}) {
		t.Errorf("nested children %q", got)
	}
	// Nothing to do, nothing broken.
	MergeText(nil)
	MergeText(&vugu.BuildResults{})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
