package questionnaire

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// IssueCode names a validation problem of one answer.
type IssueCode string

// Validation issue codes.
const (
	IssueRequired     IssueCode = "required"
	IssueTooMany      IssueCode = "too_many_answers"
	IssueType         IssueCode = "wrong_type"
	IssueMaxLength    IssueCode = "max_length"
	IssueNotAnOption  IssueCode = "not_an_option"
	IssueInteger      IssueCode = "invalid_integer"
	IssueDecimal      IssueCode = "invalid_decimal"
	IssueDate         IssueCode = "invalid_date"
	IssueDateTime     IssueCode = "invalid_datetime"
	IssueReadOnly     IssueCode = "read_only"
	IssueNotAQuestion IssueCode = "not_a_question"
	IssueUnknown      IssueCode = "unknown_item"
	IssueInstances    IssueCode = "too_many_instances"
)

var issueText = map[IssueCode][2]string{
	IssueRequired:     {"Cette question est obligatoire.", "This question is required."},
	IssueTooMany:      {"Une seule réponse est possible.", "Only one answer is allowed."},
	IssueType:         {"Cette réponse n'est pas du type attendu.", "This answer is not of the expected type."},
	IssueMaxLength:    {"La réponse est trop longue (%d caractères au plus).", "The answer is too long (at most %d characters)."},
	IssueNotAnOption:  {"Veuillez choisir une des réponses proposées.", "Please choose one of the answers offered."},
	IssueInteger:      {"Veuillez saisir un nombre entier, par exemple 12.", "Please enter a whole number, for example 12."},
	IssueDecimal:      {"Veuillez saisir un nombre, par exemple 12,5.", "Please enter a number, for example 12.5."},
	IssueDate:         {"Veuillez saisir une date valide (JJ/MM/AAAA).", "Please enter a valid date (DD/MM/YYYY)."},
	IssueDateTime:     {"Veuillez saisir une date et une heure valides.", "Please enter a valid date and time."},
	IssueReadOnly:     {"Cette réponse ne peut pas être modifiée.", "This answer cannot be changed."},
	IssueNotAQuestion: {"Cet élément n'attend pas de réponse.", "This element takes no answer."},
	IssueUnknown:      {"Cette question ne fait pas partie du questionnaire.", "This question is not part of the questionnaire."},
	IssueInstances:    {"Trop de répétitions (%d au plus).", "Too many repetitions (at most %d)."},
}

// Issue is one validation problem, with a patient-facing message in French
// and English.
type Issue struct {
	LinkID  string    `json:"linkId"`
	Code    IssueCode `json:"code"`
	Message Localized `json:"message"`
	// Scope is the answers the issue was found in: the Answers given to
	// Evaluate, or an instance of a repeating group (Answers.Instances), so
	// that a form shows it beside the right instance's field.
	Scope *Answers `json:"-"`
}

func (i Issue) String() string { return i.LinkID + ": " + string(i.Code) }

func newIssue(link string, code IssueCode, args ...any) Issue {
	t := issueText[code]
	fr, en := t[0], t[1]
	if len(args) > 0 {
		fr, en = fmt.Sprintf(fr, args...), fmt.Sprintf(en, args...)
	}
	return Issue{LinkID: link, Code: code, Message: Localized{Lang: "fr", Text: fr, Translations: map[string]string{"en": en}}}
}

// Evaluation is the state of a set of answers: which items are enabled, and
// the validation issues of the enabled ones.
type Evaluation struct {
	q      *Questionnaire
	root   *Answers
	scopes map[*Answers]scopeInfo
	memo   map[scopeKey]uint8
	// Issues lists the problems of enabled items, in document order.
	Issues []Issue
}

type scopeInfo struct {
	parent *Answers
	owner  *Item // the repeating group this scope is an instance of; nil for the root
}

type scopeKey struct {
	scope *Answers
	item  *Item
}

const (
	memoActive uint8 = iota + 1
	memoOn
	memoOff
)

// Evaluate computes enablement and validates a. It never modifies a.
func (q *Questionnaire) Evaluate(a *Answers) *Evaluation {
	if a == nil {
		a = &Answers{}
	}
	ev := &Evaluation{q: q, root: a, scopes: map[*Answers]scopeInfo{a: {}}, memo: map[scopeKey]uint8{}}
	ev.index(q.Items, a)
	ev.validate(q.Items, a)
	return ev
}

// index records the parent of every group instance reachable through q.
func (ev *Evaluation) index(items []*Item, a *Answers) {
	for _, it := range items {
		switch {
		case it.RepeatingGroup():
			for _, inst := range a.Groups[it.LinkID] {
				if inst == nil {
					continue
				}
				if _, seen := ev.scopes[inst]; seen {
					continue // the same instance listed twice: index it once
				}
				ev.scopes[inst] = scopeInfo{parent: a, owner: it}
				ev.index(it.Items, inst)
			}
		case it.Type == TypeGroup:
			ev.index(it.Items, a)
		}
	}
}

// Enabled reports whether item linkID is enabled in scope (nil for the top
// level, or an instance of a repeating group from Answers.Instances). The
// answers of a disabled item do not count.
func (ev *Evaluation) Enabled(scope *Answers, linkID string) bool {
	it := ev.q.byLink[linkID]
	if it == nil {
		return false
	}
	if scope == nil {
		scope = ev.root
	}
	if _, ok := ev.scopes[scope]; !ok {
		return false
	}
	return ev.enabled(it, scope)
}

// enabled is the enablement of it answered in scope s. A repeating group is
// evaluated in the scope of its parent, its children in its instance.
func (ev *Evaluation) enabled(it *Item, s *Answers) bool {
	k := scopeKey{s, it}
	switch ev.memo[k] {
	case memoOn:
		return true
	case memoOff, memoActive:
		// memoActive: a dependency cycle (refused by Parse; guard anyway).
		return false
	}
	ev.memo[k] = memoActive
	on := true
	if p := it.parent; p != nil {
		ps := s
		if p.RepeatingGroup() {
			info := ev.scopes[s]
			if info.owner != p {
				on = false
			} else {
				ps = info.parent
			}
		}
		on = on && ev.enabled(p, ps)
	}
	if on && len(it.EnableWhen) > 0 {
		any, all := false, true
		for _, c := range it.EnableWhen {
			if ev.holds(c, s) {
				any = true
			} else {
				all = false
			}
		}
		if it.EnableAny {
			on = any
		} else {
			on = all
		}
	}
	if on {
		ev.memo[k] = memoOn
	} else {
		ev.memo[k] = memoOff
	}
	return on
}

// answersOf returns the counted answers of question q as seen from scope s:
// those in the nearest instance of q's repeating group on s's chain, or, when
// q lives in a repeating group beside or below s, those of every instance.
func (ev *Evaluation) answersOf(q *Item, s *Answers) []Value {
	for t := s; t != nil; t = ev.scopes[t].parent {
		if ev.scopes[t].owner == q.owner {
			if !ev.enabled(q, t) {
				return nil
			}
			return t.Values[q.LinkID]
		}
		if isAncestor(ev.scopes[t].owner, q) {
			return ev.collect(q, t, ev.scopes[t].owner)
		}
	}
	return nil
}

// isAncestor reports whether g (a repeating group, nil for the root) encloses it.
func isAncestor(g, it *Item) bool {
	if g == nil {
		return true
	}
	for p := it.parent; p != nil; p = p.parent {
		if p == g {
			return true
		}
	}
	return false
}

// collect gathers q's counted answers in every instance below scope t,
// whose owner is from.
func (ev *Evaluation) collect(q *Item, t *Answers, from *Item) []Value {
	// The repeating groups between from and q, outermost first.
	var path []*Item
	for g := q.owner; g != nil && g != from; g = g.parent.ownerOrNil() {
		path = append([]*Item{g}, path...)
	}
	var out []Value
	var rec func(s *Answers, i int)
	rec = func(s *Answers, i int) {
		if i == len(path) {
			if ev.enabled(q, s) {
				out = append(out, s.Values[q.LinkID]...)
			}
			return
		}
		for _, inst := range s.Groups[path[i].LinkID] {
			if inst != nil && ev.scopes[inst].owner == path[i] {
				rec(inst, i+1)
			}
		}
	}
	rec(t, 0)
	return out
}

func (it *Item) ownerOrNil() *Item {
	if it == nil {
		return nil
	}
	return it.owner
}

// holds evaluates one enableWhen in scope s (https://hl7.org/fhir/R4/questionnaire-definitions.html#Questionnaire.item.enableWhen).
func (ev *Evaluation) holds(c Condition, s *Answers) bool {
	target := ev.q.byLink[c.Question]
	if target == nil {
		return false
	}
	return conditionHolds(c, target, ev.answersOf(target, s))
}

// conditionHolds applies c to the answers of target. With no answer, every
// operator but exists is false. "=" holds when some answer equals the value,
// "!=" when no answer does (R4 wording), the orderings when some answer
// compares so.
func conditionHolds(c Condition, target *Item, answers []Value) bool {
	if c.Operator == OpExists {
		return (len(answers) > 0) == c.Answer.Bool
	}
	if len(answers) == 0 {
		return false
	}
	if c.Operator == OpNotEqual {
		for _, v := range answers {
			if d, ok := cmpCondition(c, target, v); ok && d == 0 {
				return false
			}
		}
		return true
	}
	for _, v := range answers {
		d, ok := cmpCondition(c, target, v)
		if !ok {
			continue
		}
		switch c.Operator {
		case OpEqual:
			if d == 0 {
				return true
			}
		case OpGreater:
			if d > 0 {
				return true
			}
		case OpLess:
			if d < 0 {
				return true
			}
		case OpGreaterEqual:
			if d >= 0 {
				return true
			}
		case OpLessEqual:
			if d <= 0 {
				return true
			}
		}
	}
	return false
}

// cmpCondition compares answer v with the condition's value, or its weight
// with the condition's score for risk rules on scores.
func cmpCondition(c Condition, target *Item, v Value) (int, bool) {
	if c.OnScore {
		o, ok := target.option(v)
		if !ok || !o.Scored {
			return 0, false
		}
		return cmp3(int64(o.Weight), int64(c.Score)), true
	}
	return compare(v, c.Answer)
}

// validate checks the enabled items of scope a, and answers to unknown items.
func (ev *Evaluation) validate(items []*Item, a *Answers) {
	for _, id := range a.linkIDs() {
		it := ev.q.byLink[id]
		switch {
		case it == nil:
			ev.Issues = append(ev.Issues, newIssue(id, IssueUnknown))
		case len(a.Values[id]) > 0 && !it.Type.IsQuestion():
			ev.Issues = append(ev.Issues, newIssue(id, IssueNotAQuestion))
		case len(a.Groups[id]) > 0 && !it.RepeatingGroup():
			ev.Issues = append(ev.Issues, newIssue(id, IssueNotAQuestion))
		}
	}
	ev.validateItems(items, a)
}

func (ev *Evaluation) validateItems(items []*Item, a *Answers) {
	from := len(ev.Issues)
	defer func() {
		for i := from; i < len(ev.Issues); i++ {
			if ev.Issues[i].Scope == nil {
				ev.Issues[i].Scope = a
			}
		}
	}()
	for _, it := range items {
		if !ev.enabled(it, a) {
			continue
		}
		switch {
		case it.Type == TypeDisplay:
		case it.RepeatingGroup():
			insts := a.Groups[it.LinkID]
			if len(insts) > MaxInstances {
				ev.Issues = append(ev.Issues, newIssue(it.LinkID, IssueInstances, MaxInstances))
			}
			if it.Required && !ev.anyAnswer(it, a) {
				ev.Issues = append(ev.Issues, newIssue(it.LinkID, IssueRequired))
			}
			for _, inst := range insts {
				if inst != nil && ev.scopes[inst].owner == it {
					ev.validateItems(it.Items, inst)
				}
			}
		case it.Type == TypeGroup:
			// A required child reports itself; the group reports only when
			// nothing below it is required on its own.
			if it.Required && !ev.anyAnswer(it, a) && !ev.requiredBelow(it.Items, a) {
				ev.Issues = append(ev.Issues, newIssue(it.LinkID, IssueRequired))
			}
			ev.validateItems(it.Items, a)
		default:
			ev.Issues = append(ev.Issues, it.check(a.Values[it.LinkID])...)
		}
	}
}

// anyAnswer reports whether group g has an enabled answered question below
// it in scope a (R4: a required group needs at least one answer).
func (ev *Evaluation) anyAnswer(g *Item, a *Answers) bool {
	if g.RepeatingGroup() {
		for _, inst := range a.Groups[g.LinkID] {
			if inst != nil && ev.scopes[inst].owner == g && ev.anyIn(g.Items, inst) {
				return true
			}
		}
		return false
	}
	return ev.anyIn(g.Items, a)
}

func (ev *Evaluation) anyIn(items []*Item, a *Answers) bool {
	for _, it := range items {
		if !ev.enabled(it, a) {
			continue
		}
		if it.Type == TypeGroup {
			if ev.anyAnswer(it, a) {
				return true
			}
		} else if len(a.Values[it.LinkID]) > 0 {
			return true
		}
	}
	return false
}

// check validates the answers of one enabled question.
func (it *Item) check(vals []Value) []Issue {
	var out []Issue
	add := func(c IssueCode, args ...any) { out = append(out, newIssue(it.LinkID, c, args...)) }
	if len(vals) == 0 {
		if it.Required && !it.ReadOnly {
			add(IssueRequired)
		}
		return out
	}
	if !it.Repeats && len(vals) > 1 {
		add(IssueTooMany)
	}
	if len(vals) > MaxInstances {
		add(IssueInstances, MaxInstances)
	}
	if it.ReadOnly && !sameValues(vals, it.Initial) {
		add(IssueReadOnly)
	}
	for _, v := range vals {
		if !kindAllowed(it.Type, v.Kind) {
			add(IssueType)
			continue
		}
		if !v.valid() {
			switch v.Kind {
			case KindInteger:
				add(IssueInteger)
			case KindDecimal:
				add(IssueDecimal)
			case KindDate:
				add(IssueDate)
			default:
				add(IssueDateTime)
			}
			continue
		}
		switch it.Type {
		case TypeChoice:
			if _, ok := it.option(v); !ok {
				add(IssueNotAnOption)
			}
		case TypeOpenChoice:
			if _, ok := it.option(v); !ok && v.Kind != KindString {
				add(IssueNotAnOption)
			}
		}
		if v.Kind == KindString && it.MaxLength > 0 && utf8.RuneCountInString(v.Str) > it.MaxLength {
			add(IssueMaxLength, it.MaxLength)
		}
	}
	return out
}

func sameValues(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if c, ok := compare(a[i], b[i]); !ok || c != 0 {
			return false
		}
	}
	return true
}

// ParseInput reads what a patient typed for the item into a Value: integers
// and decimals with a comma or a dot, dates as JJ/MM/AAAA or AAAA-MM-JJ. It
// returns an Issue with a fr/en message when the text does not fit.
func (it *Item) ParseInput(s string) (Value, *Issue) {
	s = strings.TrimSpace(s)
	fail := func(c IssueCode, args ...any) (Value, *Issue) {
		i := newIssue(it.LinkID, c, args...)
		return Value{}, &i
	}
	switch it.Type {
	case TypeInteger:
		if i, ok := validInteger(strings.TrimPrefix(s, "+")); ok {
			return Integer(i), nil
		}
		return fail(IssueInteger)
	case TypeDecimal:
		d := strings.Replace(s, ",", ".", 1)
		if strings.HasPrefix(d, ".") {
			d = "0" + d
		}
		if validDecimal(d) && !strings.ContainsAny(d, "eE") {
			if strings.Contains(d, ".") {
				return Decimal(d), nil
			}
			n, err := strconv.ParseInt(d, 10, 32)
			if err == nil {
				return Integer(n), nil
			}
			return Decimal(d), nil
		}
		return fail(IssueDecimal)
	case TypeDate:
		if f := strings.Split(s, "/"); len(f) == 3 && len(f[0]) >= 1 && len(f[0]) <= 2 && len(f[1]) >= 1 && len(f[1]) <= 2 && len(f[2]) == 4 {
			s = f[2] + "-" + pad2(f[1]) + "-" + pad2(f[0])
		}
		if len(s) == 10 && validDate(s) {
			return Date(s), nil
		}
		return fail(IssueDate)
	case TypeDateTime:
		if validDateTime(s) {
			return DateTime(s), nil
		}
		return fail(IssueDateTime)
	case TypeString, TypeText, TypeOpenChoice:
		if it.MaxLength > 0 && utf8.RuneCountInString(s) > it.MaxLength {
			return fail(IssueMaxLength, it.MaxLength)
		}
		return String(s), nil
	case TypeBoolean:
		switch strings.ToLower(s) {
		case "true", "oui", "yes":
			return Boolean(true), nil
		case "false", "non", "no":
			return Boolean(false), nil
		}
		return fail(IssueType)
	}
	return fail(IssueNotAQuestion)
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// requiredBelow reports whether an enabled required question sits below, in
// scope a (not inside repeating groups, validated per instance).
func (ev *Evaluation) requiredBelow(items []*Item, a *Answers) bool {
	for _, it := range items {
		if !ev.enabled(it, a) {
			continue
		}
		switch {
		case it.RepeatingGroup():
			if it.Required {
				return true
			}
		case it.Type == TypeGroup:
			if ev.requiredBelow(it.Items, a) {
				return true
			}
		case it.Required && !it.ReadOnly:
			return true
		}
	}
	return false
}
