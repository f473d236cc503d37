package questionnaire

import (
	"strconv"

	engine "github.com/parcours-sante/parcours/sdk/questionnaire"
)

// RowKind is what a row of a page shows.
type RowKind string

// Row kinds.
const (
	RowGroup    RowKind = "group"    // a group's heading
	RowDisplay  RowKind = "display"  // a text
	RowQuestion RowKind = "question" // a question and its input
	RowInstance RowKind = "instance" // the heading of one instance of a repeating group
	RowAdd      RowKind = "add"      // the button adding an instance
)

// Row is one line of a page, flattened from the item tree so that one
// template renders any nesting. Disabled items have no row.
type Row struct {
	// Key names the field in events and form posts: the linkId, prefixed by
	// the repeating-group instances it lives in, each by its ID
	// ("grp[k3vq7zma].child"), never by its position: a form post from a
	// page older than the answers (a "remove" posted twice, the back
	// button) finds the field it rendered in the same instance, or none.
	Key   string
	Kind  RowKind
	Item  *engine.Item
	Scope *engine.Answers
	Depth int
	// Instance is the instance's index (RowInstance).
	Instance int
	// ID is a unique element id for labels.
	ID string
}

// Rows returns the rows of the current page.
func (m *Model) Rows() []Row {
	if m.Step != StepPage || m.Page >= len(m.Pages) {
		return nil
	}
	return m.rows(m.Page)
}

func (m *Model) rows(p int) []Row {
	var out []Row
	m.appendRows(&out, m.Pages[p].Items, m.Answers, nil, "", 0)
	for i := range out {
		out[i].ID = "pc-f" + strconv.Itoa(i)
	}
	return out
}

// appendRows flattens items answered in scope (evalScope is nil at the top
// level, as engine.Evaluation.Enabled wants it).
func (m *Model) appendRows(out *[]Row, items []*engine.Item, scope, evalScope *engine.Answers, prefix string, depth int) {
	for _, it := range items {
		if it.Hidden || (m.ev != nil && !m.ev.Enabled(evalScope, it.LinkID)) {
			continue
		}
		key := prefix + it.LinkID
		switch {
		case it.RepeatingGroup():
			*out = append(*out, Row{Key: key, Kind: RowGroup, Item: it, Scope: scope, Depth: depth})
			for i, inst := range scope.Instances(it.LinkID) {
				ik := key + "[" + inst.ID + "]"
				*out = append(*out, Row{Key: ik, Kind: RowInstance, Item: it, Scope: scope, Depth: depth + 1, Instance: i})
				m.appendRows(out, it.Items, inst, inst, ik+".", depth+1)
			}
			*out = append(*out, Row{Key: key + "[+]", Kind: RowAdd, Item: it, Scope: scope, Depth: depth})
		case it.Type == engine.TypeGroup:
			*out = append(*out, Row{Key: key, Kind: RowGroup, Item: it, Scope: scope, Depth: depth})
			m.appendRows(out, it.Items, scope, evalScope, prefix, depth+1)
		case it.Type == engine.TypeDisplay:
			*out = append(*out, Row{Key: key, Kind: RowDisplay, Item: it, Scope: scope, Depth: depth})
		default:
			*out = append(*out, Row{Key: key, Kind: RowQuestion, Item: it, Scope: scope, Depth: depth})
		}
	}
}

// Option is one choice of a question as a form control shows it.
type Option struct {
	// Value is the control's value: the option's index, or "true"/"false"
	// for a boolean question.
	Value string
	Label string
}

// Options returns the choices of a question row in lang: its answer
// options, or yes and no for a boolean.
func (r Row) Options(lang string) []Option {
	if r.Item.Type == engine.TypeBoolean {
		return []Option{{"true", messages.T(lang, "yes")}, {"false", messages.T(lang, "no")}}
	}
	out := make([]Option, len(r.Item.Options))
	for i, o := range r.Item.Options {
		out[i] = Option{Value: strconv.Itoa(i), Label: o.Text(lang)}
	}
	return out
}

// optionValue maps a control's value back to the answer it stands for.
func (r Row) optionValue(v string) (engine.Value, bool) {
	if r.Item.Type == engine.TypeBoolean {
		switch v {
		case "true":
			return engine.Boolean(true), true
		case "false":
			return engine.Boolean(false), true
		}
		return engine.Value{}, false
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= len(r.Item.Options) {
		return engine.Value{}, false
	}
	return r.Item.Options[i].Value, true
}

// Selected reports whether the control value v is among the row's answers.
func (r Row) Selected(v string) bool {
	want, ok := r.optionValue(v)
	if !ok {
		return false
	}
	for _, x := range r.Scope.Get(r.Item.LinkID) {
		if sameAnswer(x, want) {
			return true
		}
	}
	return false
}

// sameAnswer compares answers; Codings by system and code only (a draft's
// Coding carries the display of the language it was written in).
func sameAnswer(a, b engine.Value) bool {
	if a.Kind == engine.KindCoding && b.Kind == engine.KindCoding {
		return a.Coding.System == b.Coding.System && a.Coding.Code == b.Coding.Code
	}
	return a == b
}

// Text is the typed value of a text-like question: what the patient typed
// if it did not parse, otherwise the answer.
func (m *Model) Text(r Row) string {
	if s, ok := m.Inputs[r.Key]; ok {
		return s
	}
	vals := r.Scope.Get(r.Item.LinkID)
	if len(vals) == 0 {
		return ""
	}
	v := vals[0]
	switch v.Kind {
	case engine.KindInteger:
		return strconv.FormatInt(v.Int, 10)
	case engine.KindString, engine.KindDecimal, engine.KindDate:
		if r.Item.Type == engine.TypeOpenChoice && v.Kind != engine.KindString {
			return ""
		}
		return v.Str
	case engine.KindDateTime:
		if len(v.Str) >= 16 {
			return v.Str[:16] // what <input type="datetime-local"> shows
		}
		return v.Str
	}
	return ""
}
