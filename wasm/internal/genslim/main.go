// Command genslim rewrites vugugen's output (*_gen.go) so that each static
// node and event handler is one call instead of an inline composite literal and an
// AppendChild, which shrinks the browser Wasm (each such node compiled to
// about 1 KB of Wasm code). The nodes built are the same: vugugen's
//
//	vgn = &vugu.VGNode{Type: vugu.VGNodeType(1), Data: "\n  "}
//	vgparent.AppendChild(vgn)
//	vgn = &vugu.VGNode{Type: vugu.VGNodeType(3), Namespace: "", Data: "p", Attr: []vugu.VGAttribute{{Namespace: "", Key: "class", Val: "x"}}}
//	vgparent.AppendChild(vgn)
//
// becomes
//
//	vgn = vg.Text(vgparent, "\n  ")
//	vgn = vg.El(vgparent, "p", "class", "x")
//
// and an event handler (vgn.DOMEventHandlerSpecList = append(…)) becomes
// vg.On(vgn, "click", func(event vugu.DOMEvent) { … }).
//
// (package github.com/parcours-sante/parcours/widgets/internal/vg). Any
// line it does not recognise exactly (a namespace, a dynamic attribute, the
// root node) is left as vugugen wrote it. vugugen's blank use of package
// log (var _ log.Logger) goes with its import when nothing else uses log:
// nothing else in the browser imports log, whose initialisation weighs
// 3.7 KB of the brotli Wasm.
//
// Usage: genslim file_gen.go … (rewrites in place; run by `make generate`).
package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

const (
	str    = `"(?:[^"\\]|\\.)*"`
	vgPath = "github.com/parcours-sante/parcours/widgets/internal/vg"
	logImp = "import \"log\"\n"
	logVar = "var _ log.Logger\n"
)

var (
	logUse = regexp.MustCompile(`\blog\.`)
	textRe = regexp.MustCompile(`^(\s*)vgn = &vugu\.VGNode\{Type: vugu\.VGNodeType\(1\), Data: (` + str + `)\}$`)
	elRe   = regexp.MustCompile(`^(\s*)vgn = &vugu\.VGNode\{Type: vugu\.VGNodeType\(3\), Namespace: "", Data: (` + str + `), Attr: (?:\[\]vugu\.VGAttribute\(nil\)|\[\]vugu\.VGAttribute\{(.*)\})\}$`)
	attrRe = regexp.MustCompile(`^(?:vugu\.VGAttribute)?\{Namespace: "", Key: (` + str + `), Val: (` + str + `)\}(?:, )?`)
	// An event handler: five lines.
	onRe = []*regexp.Regexp{
		regexp.MustCompile(`^(\s*)vgn\.DOMEventHandlerSpecList = append\(vgn\.DOMEventHandlerSpecList, vugu\.DOMEventHandlerSpec\{$`),
		regexp.MustCompile(`^\s*EventType:\s+(` + str + `),$`),
		regexp.MustCompile(`^\s*Func:\s+(func\(event vugu\.DOMEvent\) \{.*\}),$`),
		regexp.MustCompile(`^\s*// TODO: implement capture, etc\. mostly need to decide syntax$`),
		regexp.MustCompile(`^\s*\}\)$`),
	}
)

func main() {
	for _, f := range os.Args[1:] {
		if err := rewrite(f); err != nil {
			fmt.Fprintln(os.Stderr, "genslim:", err)
			os.Exit(1)
		}
	}
}

func rewrite(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, n := Slim(string(b))
	if n == 0 {
		return nil
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// Slim returns src with its static nodes rewritten, and how many.
func Slim(src string) (string, int) {
	lines := strings.Split(src, "\n")
	var out []string
	n := 0
	for i := 0; i < len(lines); i++ {
		if call, ok := slimOn(lines[i:]); ok {
			out = append(out, call)
			i += len(onRe) - 1
			n++
			continue
		}
		if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "vgparent.AppendChild(vgn)" {
			if call, ok := slimLine(lines[i]); ok {
				out = append(out, call)
				i++
				n++
				continue
			}
		}
		out = append(out, lines[i])
	}
	res := strings.Join(out, "\n")
	if strings.Contains(res, logImp) && strings.Contains(res, logVar) {
		if rest := strings.Replace(strings.Replace(res, logVar, "", 1), logImp, "", 1); !logUse.MatchString(rest) {
			res = rest
			n++
		}
	}
	if n == 0 {
		return src, 0
	}
	imp := "import \"github.com/vugu/vugu\"\n"
	if strings.Contains(res, imp) && !strings.Contains(res, `"`+vgPath+`"`) {
		res = strings.Replace(res, imp, imp+"import vg \""+vgPath+"\"\n", 1)
	}
	return res, n
}

// slimOn rewrites an event handler starting at lines[0] into a vg.On call.
func slimOn(lines []string) (string, bool) {
	if len(lines) < len(onRe) {
		return "", false
	}
	var m [][]string
	for i, re := range onRe {
		sub := re.FindStringSubmatch(lines[i])
		if sub == nil {
			return "", false
		}
		m = append(m, sub)
	}
	return m[0][1] + "vg.On(vgn, " + m[1][1] + ", " + m[2][1] + ")", true
}

func slimLine(line string) (string, bool) {
	if m := textRe.FindStringSubmatch(line); m != nil {
		return m[1] + "vgn = vg.Text(vgparent, " + m[2] + ")", true
	}
	m := elRe.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	args := []string{"vgparent", m[2]}
	rest := m[3]
	for rest != "" {
		a := attrRe.FindStringSubmatch(rest)
		if a == nil {
			return "", false
		}
		args = append(args, a[1], a[2])
		rest = rest[len(a[0]):]
	}
	return m[1] + "vgn = vg.El(" + strings.Join(args, ", ") + ")", true
}
