package questionnaire

import (
	"fmt"
	"sort"
	"strings"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// Limits on what Parse accepts; larger or deeper input is refused with a
// clear error before any work that depends on its size.
const (
	// MaxSize bounds a Questionnaire or QuestionnaireResponse in bytes.
	MaxSize = 1 << 20
	// MaxJSONDepth bounds the nesting of JSON objects and arrays.
	MaxJSONDepth = 64
	// MaxItemDepth bounds the nesting of items (groups within groups).
	MaxItemDepth = 12
	// MaxItems bounds the number of items of a Questionnaire.
	MaxItems = 2000
	// MaxOptions bounds the answer options of one item.
	MaxOptions = 500
	// MaxConditions bounds the enableWhen of one item.
	MaxConditions = 64
)

// Unsupported is one part of a Questionnaire the engine does not honour.
type Unsupported struct {
	// LinkID is the item concerned, "" for the Questionnaire itself.
	LinkID string `json:"linkId,omitempty"`
	// Feature names the FHIR element or extension, for example
	// "calculatedExpression" or "item.type=attachment".
	Feature string `json:"feature"`
	// Fatal parts refuse the Questionnaire: reading past them could change
	// what is asked or how it is scored. Others are accepted with a warning.
	Fatal  bool   `json:"fatal"`
	Detail string `json:"detail"`
}

func (u Unsupported) String() string {
	sev := "warning"
	if u.Fatal {
		sev = "refused"
	}
	where := "questionnaire"
	if u.LinkID != "" {
		where = "item " + u.LinkID
	}
	return fmt.Sprintf("%s: %s: %s: %s", sev, where, u.Feature, u.Detail)
}

// Report is the import report of Parse: everything not honoured, in
// document order.
type Report struct {
	Unsupported []Unsupported `json:"unsupported"`
}

// Refused reports whether some unsupported part is fatal.
func (r Report) Refused() bool {
	for _, u := range r.Unsupported {
		if u.Fatal {
			return true
		}
	}
	return false
}

// Fatal returns the fatal parts only.
func (r Report) Fatal() []Unsupported {
	var out []Unsupported
	for _, u := range r.Unsupported {
		if u.Fatal {
			out = append(out, u)
		}
	}
	return out
}

// Parse reads a FHIR R4 Questionnaire in JSON. It always returns the import
// report; the Questionnaire is nil and the error non-nil (code
// portal.ErrInvalid, or portal.ErrTooLarge) when the input is malformed, too
// large or too deep, or when the report has a fatal part.
func Parse(data []byte) (*Questionnaire, Report, error) {
	var rep Report
	if err := checkJSON(data); err != nil {
		return nil, rep, err
	}
	root := gjson.ParseBytes(data)
	if rt := root.Get("resourceType").String(); rt != "Questionnaire" {
		return nil, rep, portal.Errorf(portal.ErrInvalid, "resourceType is %q, want Questionnaire", rt)
	}
	p := &parser{rep: &rep}
	q := p.questionnaire(root)
	if rep.Refused() {
		fat := rep.Fatal()
		msgs := make([]string, len(fat))
		for i, u := range fat {
			msgs[i] = u.String()
		}
		return nil, rep, portal.Errorf(portal.ErrInvalid, "questionnaire refused: %s", strings.Join(msgs, "; "))
	}
	return q, rep, nil
}

// checkJSON bounds size and nesting before gjson reads anything.
func checkJSON(data []byte) error {
	if len(data) > MaxSize {
		return portal.Errorf(portal.ErrTooLarge, "%d bytes, the limit is %d", len(data), MaxSize)
	}
	depth, inStr, esc := 0, false, false
	for _, c := range data {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxJSONDepth {
				return portal.Errorf(portal.ErrInvalid, "JSON nested deeper than %d levels", MaxJSONDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	if !gjson.ValidBytes(data) {
		return portal.Errorf(portal.ErrInvalid, "not valid JSON")
	}
	if !gjson.ParseBytes(data).IsObject() {
		return portal.Errorf(portal.ErrInvalid, "not a JSON object")
	}
	return nil
}

type parser struct {
	rep    *Report
	q      *Questionnaire
	nItems int
	// exprs: items with a calculatedExpression, decided once all
	// references are known.
	calculated []*Item
}

func (p *parser) add(link, feature string, fatal bool, format string, args ...any) {
	p.rep.Unsupported = append(p.rep.Unsupported, Unsupported{LinkID: link, Feature: feature, Fatal: fatal, Detail: fmt.Sprintf(format, args...)})
}

// Known extensions, by where they appear, and what the engine does with them.
const (
	sdc                 = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-"
	extCalculated       = sdc + "calculatedExpression"
	extEnableWhenExpr   = sdc + "enableWhenExpression"
	extInitialExpr      = sdc + "initialExpression"
	extAnswerExpr       = sdc + "answerExpression"
	extCandidateExpr    = sdc + "candidateExpression"
	extItemControl      = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
	extRenderingXHTML   = "http://hl7.org/fhir/StructureDefinition/rendering-xhtml"
	extRenderingStyle   = "http://hl7.org/fhir/StructureDefinition/rendering-style"
	extEntryFormat      = "http://hl7.org/fhir/StructureDefinition/entryFormat"
	extMinValue         = "http://hl7.org/fhir/StructureDefinition/minValue"
	extMaxValue         = "http://hl7.org/fhir/StructureDefinition/maxValue"
	extRegex            = "http://hl7.org/fhir/StructureDefinition/regex"
	extMinLength        = "http://hl7.org/fhir/StructureDefinition/minLength"
	extMaxDecimalPlaces = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"
	extUnit             = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
)

var expressionNames = map[string]string{
	extCalculated:     "calculatedExpression",
	extEnableWhenExpr: "enableWhenExpression",
	extInitialExpr:    "initialExpression",
	extAnswerExpr:     "answerExpression",
	extCandidateExpr:  "candidateExpression",
}

func shortName(url string) string {
	if i := strings.LastIndexAny(url, "/-"); i >= 0 && strings.HasPrefix(url, sdc) {
		return url[len(sdc):]
	}
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		return url[i+1:]
	}
	return url
}

// modifiers refuses any modifierExtension on element r.
func (p *parser) modifiers(link, where string, r gjson.Result) {
	r.Get("modifierExtension").ForEach(func(_, e gjson.Result) bool {
		p.add(link, "modifierExtension", true, "%s carries modifierExtension %q, which may change its meaning", where, e.Get("url").String())
		return true
	})
}

// extensions reports the extensions of r that handled does not list.
func (p *parser) extensions(link, where string, r gjson.Result, handled ...string) {
	r.Get("extension").ForEach(func(_, e gjson.Result) bool {
		url := e.Get("url").String()
		for _, h := range handled {
			if url == h {
				return true
			}
		}
		switch url {
		case extItemControl, extRenderingStyle, extEntryFormat, extUnit:
			p.add(link, shortName(url), false, "display hint on %s ignored: the widget chooses its own controls", where)
		case extMinValue, extMaxValue, extRegex, extMinLength, extMaxDecimalPlaces:
			p.add(link, shortName(url), false, "constraint on %s not enforced by the engine", where)
		default:
			p.add(link, "extension", false, "unknown extension %q on %s ignored", url, where)
		}
		return true
	})
}

// localized reads element key of r and its translations.
func (p *parser) localized(link string, r gjson.Result, key string) Localized {
	l := Localized{Lang: p.q.Language, Text: r.Get(key).String()}
	prim := r.Get("_" + key)
	p.modifiers(link, "_"+key, prim)
	prim.Get("extension").ForEach(func(_, e gjson.Result) bool {
		switch e.Get("url").String() {
		case ExtTranslation:
			var lang, content string
			e.Get("extension").ForEach(func(_, s gjson.Result) bool {
				switch s.Get("url").String() {
				case "lang":
					lang = s.Get("valueCode").String()
				case "content":
					content = s.Get("valueString").String()
				}
				return true
			})
			if lang == "" || content == "" {
				p.add(link, "translation", false, "translation of %s without lang or content ignored", key)
				return true
			}
			if l.Translations == nil {
				l.Translations = map[string]string{}
			}
			l.Translations[lang] = content
		case extRenderingXHTML:
			p.add(link, "rendering-xhtml", false, "XHTML rendering of %s ignored: the plain text is shown", key)
		default:
			p.add(link, "extension", false, "unknown extension %q on %s ignored", e.Get("url").String(), key)
		}
		return true
	})
	return l
}

var questionnaireKeys = keySet("resourceType id meta implicitRules language text contained extension modifierExtension url identifier version name title derivedFrom status experimental subjectType date publisher contact description useContext jurisdiction purpose copyright approvalDate lastReviewDate effectivePeriod code item")

var itemKeys = keySet("id extension modifierExtension linkId definition code prefix text type enableWhen enableBehavior required repeats readOnly maxLength answerValueSet answerOption initial item")

func keySet(s string) map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(s) {
		m[k] = true
	}
	return m
}

// unknownKeys warns of elements not in known (R5 elements, typos); the
// underscore forms of primitives are covered by their element.
func (p *parser) unknownKeys(link, where string, r gjson.Result, known map[string]bool) {
	r.ForEach(func(k, _ gjson.Result) bool {
		key := strings.TrimPrefix(k.String(), "_")
		if !known[key] {
			p.add(link, key, false, "element %q of %s is not part of FHIR R4 and is ignored", key, where)
		}
		return true
	})
}

func (p *parser) questionnaire(r gjson.Result) *Questionnaire {
	q := &Questionnaire{
		ID:       r.Get("id").String(),
		URL:      r.Get("url").String(),
		Version:  r.Get("version").String(),
		Name:     r.Get("name").String(),
		Status:   r.Get("status").String(),
		Language: r.Get("language").String(),
		byLink:   map[string]*Item{},
	}
	if q.Language == "" {
		q.Language = DefaultLanguage
	}
	p.q = q
	p.unknownKeys("", "the Questionnaire", r, questionnaireKeys)
	p.modifiers("", "the Questionnaire", r)
	if r.Get("implicitRules").Exists() {
		p.add("", "implicitRules", true, "implicitRules %q must be understood to read the Questionnaire", r.Get("implicitRules").String())
	}
	if r.Get("contained").Exists() {
		p.add("", "contained", false, "contained resources are not used")
	}
	q.Title = p.localized("", r, "title")
	q.Description = p.localized("", r, "description")
	q.Copyright = p.localized("", r, "copyright")
	p.extensions("", "the Questionnaire", r, ExtRiskRules)
	q.Items = p.items(r.Get("item"), nil, 1)
	if p.rep.Refused() {
		return q
	}
	p.checkConditions(q)
	for _, it := range p.calculated {
		p.calculatedItem(it)
	}
	rules := r.Get(`extension.#(url=="` + ExtRiskRules + `")#`).Array()
	switch {
	case len(rules) > 1:
		p.add("", "risk-rules", true, "more than one risk-rules extension")
	case len(rules) == 1:
		q.Rules = p.riskRules(rules[0])
	}
	q.Walk(func(it *Item) bool {
		if it.Scored() {
			q.scored = true
		}
		return true
	})
	if q.Rules != nil && !q.scored && len(q.Rules.Bands) > 1 {
		p.add("", "risk-rules", true, "score bands are defined but no answer option carries a weight")
	}
	return q
}

func (p *parser) items(arr gjson.Result, parent *Item, depth int) []*Item {
	if !arr.Exists() {
		return nil
	}
	if !arr.IsArray() {
		p.add(linkOf(parent), "item", true, "item is not an array")
		return nil
	}
	var out []*Item
	arr.ForEach(func(_, r gjson.Result) bool {
		p.nItems++
		if p.nItems > MaxItems {
			p.add("", "item", true, "more than %d items", MaxItems)
			return false
		}
		if depth > MaxItemDepth {
			p.add(linkOf(parent), "item", true, "items nested deeper than %d levels", MaxItemDepth)
			return false
		}
		if it := p.item(r, parent, depth); it != nil {
			out = append(out, it)
		}
		return true
	})
	return out
}

func linkOf(it *Item) string {
	if it == nil {
		return ""
	}
	return it.LinkID
}

func (p *parser) item(r gjson.Result, parent *Item, depth int) *Item {
	if !r.IsObject() {
		p.add(linkOf(parent), "item", true, "an item is not an object")
		return nil
	}
	it := &Item{
		LinkID:    r.Get("linkId").String(),
		Type:      ItemType(r.Get("type").String()),
		Prefix:    r.Get("prefix").String(),
		Required:  r.Get("required").Bool(),
		Repeats:   r.Get("repeats").Bool(),
		ReadOnly:  r.Get("readOnly").Bool(),
		MaxLength: int(r.Get("maxLength").Int()),
		EnableAny: r.Get("enableBehavior").String() == "any",
		parent:    parent,
		depth:     depth,
	}
	link := it.LinkID
	if link == "" {
		p.add(linkOf(parent), "linkId", true, "an item has no linkId")
		return nil
	}
	if p.q.byLink[link] != nil {
		p.add(link, "linkId", true, "linkId %q is used twice", link)
		return nil
	}
	p.q.byLink[link] = it
	p.unknownKeys(link, "the item", r, itemKeys)
	p.modifiers(link, "the item", r)
	it.Label = p.localized(link, r, "text")
	if !it.Type.supported() {
		p.add(link, "item.type="+string(it.Type), true, "item type %q is not supported", it.Type)
		return it
	}
	if it.MaxLength < 0 {
		p.add(link, "maxLength", true, "negative maxLength")
	}
	if eb := r.Get("enableBehavior").String(); eb != "" && eb != "any" && eb != "all" {
		p.add(link, "enableBehavior", true, "enableBehavior %q is neither any nor all", eb)
	}
	r.Get("code").ForEach(func(_, c gjson.Result) bool {
		it.Code = append(it.Code, Coding{System: c.Get("system").String(), Code: c.Get("code").String(), Display: c.Get("display").String()})
		return true
	})
	switch {
	case parent == nil:
	case parent.RepeatingGroup():
		it.owner = parent
	default:
		it.owner = parent.owner
	}
	if it.RepeatingGroup() {
		it.owner = it
	}
	if it.Type.IsQuestion() && it.Repeats && it.Type == TypeBoolean {
		p.add(link, "repeats", false, "a repeating boolean question is asked once")
		it.Repeats = false
	}
	p.itemExtensions(it, r)
	p.options(it, r)
	p.initial(it, r)
	p.enableWhen(it, r)
	if vs := r.Get("answerValueSet"); vs.Exists() {
		switch it.Type {
		case TypeOpenChoice:
			p.add(link, "answerValueSet", false, "value set %q needs a terminology server: the question is asked as free text", vs.String())
		case TypeChoice:
			p.add(link, "answerValueSet", true, "value set %q needs a terminology server: the permitted answers cannot be listed", vs.String())
		default:
			p.add(link, "answerValueSet", false, "answerValueSet on a %s item is meaningless and ignored", it.Type)
		}
	}
	if (it.Type == TypeChoice) && len(it.Options) == 0 && !r.Get("answerValueSet").Exists() {
		p.add(link, "answerOption", true, "a choice item without answer options cannot be answered")
	}
	if it.Type != TypeChoice && it.Type != TypeOpenChoice && len(it.Options) > 0 {
		p.add(link, "answerOption", true, "answer options on a %s item", it.Type)
	}
	children := r.Get("item")
	if children.Exists() {
		switch it.Type {
		case TypeGroup:
		case TypeDisplay:
			p.add(link, "item", true, "a display item cannot contain items")
			return it
		default:
			p.add(link, "item", true, "items nested under a question (answer.item) are not supported")
			return it
		}
	} else if it.Type == TypeGroup {
		p.add(link, "item", false, "a group without items")
	}
	it.Items = p.items(children, it, depth+1)
	return it
}

func (p *parser) itemExtensions(it *Item, r gjson.Result) {
	link := it.LinkID
	var handled []string
	r.Get("extension").ForEach(func(_, e gjson.Result) bool {
		url := e.Get("url").String()
		switch url {
		case ExtHidden:
			it.Hidden = e.Get("valueBoolean").Bool()
			handled = append(handled, url)
		case extCalculated:
			p.calculated = append(p.calculated, it)
			handled = append(handled, url)
		case extEnableWhenExpr:
			p.add(link, "enableWhenExpression", true, "FHIRPath/CQL enablement is not evaluated: the item could be shown or hidden wrongly")
			handled = append(handled, url)
		case extInitialExpr:
			fatal := it.ReadOnly
			p.add(link, "initialExpression", fatal, "initial values from expressions are not computed%s", map[bool]string{true: " and the item is read-only", false: ": the patient answers it"}[fatal])
			handled = append(handled, url)
		case extAnswerExpr, extCandidateExpr:
			fatal := it.Type == TypeChoice
			p.add(link, expressionNames[url], fatal, "answer lists from expressions are not computed")
			handled = append(handled, url)
		case ExtOrdinalValue, ExtItemWeight, ExtCOValue:
			p.add(link, shortName(url), true, "a weight on the item itself, not on an answer option, is not supported")
			handled = append(handled, url)
		default:
			if strings.HasPrefix(url, sdc) {
				p.add(link, shortName(url), false, "SDC extension not supported, ignored")
				handled = append(handled, url)
			}
		}
		return true
	})
	p.extensions(link, "the item", r, handled...)
}

// calculatedItem decides on a calculatedExpression once every reference is
// known: acceptable only on a read-only or hidden item nothing depends on.
func (p *parser) calculatedItem(it *Item) {
	used := false
	p.q.Walk(func(o *Item) bool {
		for _, c := range o.EnableWhen {
			if c.Question == it.LinkID {
				used = true
			}
		}
		return true
	})
	switch {
	case used:
		p.add(it.LinkID, "calculatedExpression", true, "the value is not computed and other items' enableWhen depend on it")
	case it.Scored():
		p.add(it.LinkID, "calculatedExpression", true, "the value is not computed and the item is scored")
	case it.ReadOnly || it.Hidden:
		p.add(it.LinkID, "calculatedExpression", false, "the value is not computed: the item stays empty (Parcours computes scores from the answer weights and the risk-rules extension)")
	default:
		p.add(it.LinkID, "calculatedExpression", true, "the value is not computed and the patient would be asked it")
	}
}

// weight reads the ordinal weight extensions of r; ok is false when none.
func (p *parser) weight(link string, r gjson.Result) (w Score, ok bool) {
	r.Get("extension").ForEach(func(_, e gjson.Result) bool {
		switch e.Get("url").String() {
		case ExtOrdinalValue, ExtItemWeight, ExtCOValue:
			v := e.Get("valueDecimal")
			if !v.Exists() {
				v = e.Get("valueInteger")
			}
			s, err := ParseScore(v.Raw)
			if v.Type != gjson.Number || err != nil {
				p.add(link, shortName(e.Get("url").String()), true, "weight %s: %v", v.Raw, errScore)
				return true
			}
			if ok && s != w {
				p.add(link, "weight", true, "an answer option carries two different weights (%s and %s)", w, s)
				return true
			}
			w, ok = s, true
		}
		return true
	})
	return w, ok
}

func (p *parser) options(it *Item, r gjson.Result) {
	link := it.LinkID
	opts := r.Get("answerOption").Array()
	if len(opts) > MaxOptions {
		p.add(link, "answerOption", true, "more than %d answer options", MaxOptions)
		return
	}
	for _, o := range opts {
		p.modifiers(link, "an answer option", o)
		var opt AnswerOption
		opt.InitialSelected = o.Get("initialSelected").Bool()
		switch {
		case o.Get("valueCoding").Exists():
			c := o.Get("valueCoding")
			p.modifiers(link, "an answer option's Coding", c)
			opt.Value = Value{Kind: KindCoding, Coding: Coding{System: c.Get("system").String(), Code: c.Get("code").String(), Display: c.Get("display").String()}}
			opt.Label = p.localized(link, c, "display")
			if opt.Value.Coding.Code == "" {
				p.add(link, "answerOption", true, "a Coding option without a code")
			}
			if w, ok := p.weight(link, c); ok {
				opt.Weight, opt.Scored = w, true
			}
			p.extensions(link, "an answer option's Coding", c, ExtOrdinalValue, ExtItemWeight, ExtCOValue)
		case o.Get("valueString").Exists():
			opt.Value = String(o.Get("valueString").String())
			opt.Label = p.localized(link, o, "valueString")
		case o.Get("valueInteger").Exists():
			i, ok := validInteger(o.Get("valueInteger").Raw)
			if !ok {
				p.add(link, "answerOption", true, "valueInteger %s is not a FHIR integer", o.Get("valueInteger").Raw)
			}
			opt.Value = Integer(i)
		default:
			kind := "no value"
			o.ForEach(func(k, _ gjson.Result) bool {
				if strings.HasPrefix(k.String(), "value") {
					kind = k.String()
				}
				return true
			})
			p.add(link, "answerOption", true, "answer option with %s: only valueCoding, valueString and valueInteger are supported", kind)
			continue
		}
		if w, ok := p.weight(link, o); ok {
			if opt.Scored && w != opt.Weight {
				p.add(link, "weight", true, "an answer option carries two different weights (%s and %s)", opt.Weight, w)
			}
			opt.Weight, opt.Scored = w, true
		}
		p.extensions(link, "an answer option", o, ExtOrdinalValue, ExtItemWeight, ExtCOValue)
		for _, prev := range it.Options {
			if c, ok := compare(prev.Value, opt.Value); ok && c == 0 && prev.Value.Kind == opt.Value.Kind {
				p.add(link, "answerOption", true, "answer option %s is listed twice", opt.Value)
			}
		}
		it.Options = append(it.Options, opt)
	}
}

// readValue reads the value[x] of r with prefix ("value", "answer").
func readValue(r gjson.Result, prefix string) (Value, string, error) {
	var v Value
	var field string
	var err error
	n := 0
	r.ForEach(func(k, x gjson.Result) bool {
		key := k.String()
		if !strings.HasPrefix(key, prefix) || len(key) == len(prefix) {
			return true
		}
		n++
		field = key
		switch key[len(prefix):] {
		case "Boolean":
			if x.Type != gjson.True && x.Type != gjson.False {
				err = fmt.Errorf("%s is not a boolean", key)
			}
			v = Boolean(x.Bool())
		case "Integer":
			i, ok := validInteger(x.Raw)
			if !ok {
				err = fmt.Errorf("%s %s is not a FHIR integer", key, x.Raw)
			}
			v = Integer(i)
		case "Decimal":
			if x.Type != gjson.Number || !validDecimal(x.Raw) {
				err = fmt.Errorf("%s %s is not a FHIR decimal", key, x.Raw)
			}
			v = Decimal(x.Raw)
		case "String":
			if x.Type != gjson.String {
				err = fmt.Errorf("%s is not a string", key)
			}
			v = String(x.String())
		case "Date":
			v = Date(x.String())
			if x.Type != gjson.String || !validDate(v.Str) {
				err = fmt.Errorf("%s %s is not a FHIR date", key, x.Raw)
			}
		case "DateTime":
			v = DateTime(x.String())
			if x.Type != gjson.String || !validDateTime(v.Str) {
				err = fmt.Errorf("%s %s is not a FHIR dateTime", key, x.Raw)
			}
		case "Coding":
			if !x.IsObject() {
				err = fmt.Errorf("%s is not an object", key)
			}
			v = Value{Kind: KindCoding, Coding: Coding{System: x.Get("system").String(), Code: x.Get("code").String(), Display: x.Get("display").String()}}
		default:
			err = fmt.Errorf("%s is not supported", key)
		}
		return true
	})
	if n > 1 && err == nil {
		err = fmt.Errorf("more than one %s[x]", prefix)
	}
	return v, field, err
}

func (p *parser) initial(it *Item, r gjson.Result) {
	r.Get("initial").ForEach(func(_, x gjson.Result) bool {
		p.modifiers(it.LinkID, "an initial value", x)
		v, _, err := readValue(x, "value")
		if err != nil || v.IsZero() {
			p.add(it.LinkID, "initial", true, "initial value: %v", err)
			return true
		}
		if !kindAllowed(it.Type, v.Kind) {
			p.add(it.LinkID, "initial", true, "initial value%s does not fit a %s item", v.Kind, it.Type)
			return true
		}
		it.Initial = append(it.Initial, v)
		return true
	})
}

func kindAllowed(t ItemType, k Kind) bool {
	for _, a := range t.answerKinds() {
		if a == k {
			return true
		}
	}
	return false
}

func (p *parser) enableWhen(it *Item, r gjson.Result) {
	ews := r.Get("enableWhen").Array()
	if len(ews) > MaxConditions {
		p.add(it.LinkID, "enableWhen", true, "more than %d enableWhen conditions", MaxConditions)
		return
	}
	for _, e := range ews {
		p.modifiers(it.LinkID, "an enableWhen", e)
		c := Condition{Question: e.Get("question").String(), Operator: Operator(e.Get("operator").String())}
		if !c.Operator.valid() {
			p.add(it.LinkID, "enableWhen.operator", true, "operator %q is not an R4 operator", c.Operator)
			continue
		}
		v, field, err := readValue(e, "answer")
		if err != nil || v.IsZero() {
			if err == nil {
				err = fmt.Errorf("no answer[x]")
			}
			p.add(it.LinkID, "enableWhen."+field, true, "%v", err)
			continue
		}
		c.Answer = v
		it.EnableWhen = append(it.EnableWhen, c)
	}
}

// checkConditions resolves enableWhen references once every item is known:
// unknown questions, type mismatches, and cycles refuse the Questionnaire.
func (p *parser) checkConditions(q *Questionnaire) {
	q.Walk(func(it *Item) bool {
		for _, c := range it.EnableWhen {
			p.checkCondition(q, it.LinkID, "enableWhen", c)
		}
		return true
	})
	// Cycle detection over "enablement of X depends on Y" (its conditions'
	// questions, and its parent).
	const (
		unseen = iota
		active
		done
	)
	state := map[*Item]int{}
	var visit func(*Item) bool
	visit = func(it *Item) bool {
		switch state[it] {
		case active:
			return false
		case done:
			return true
		}
		state[it] = active
		deps := []*Item{}
		if it.parent != nil {
			deps = append(deps, it.parent)
		}
		for _, c := range it.EnableWhen {
			if d := q.byLink[c.Question]; d != nil {
				deps = append(deps, d)
			}
		}
		for _, d := range deps {
			if !visit(d) {
				if state[it] == active {
					p.add(it.LinkID, "enableWhen", true, "enableWhen references form a cycle through %q", d.LinkID)
					state[it] = done
				}
				return false
			}
		}
		state[it] = done
		return true
	}
	q.Walk(func(it *Item) bool {
		if state[it] == unseen {
			visit(it)
		}
		return true
	})
}

func (p *parser) checkCondition(q *Questionnaire, link, feature string, c Condition) {
	target := q.byLink[c.Question]
	switch {
	case target == nil:
		p.add(link, feature, true, "question %q does not exist", c.Question)
		return
	case !target.Type.IsQuestion():
		p.add(link, feature, true, "%q is a %s, not a question", c.Question, target.Type)
		return
	}
	if c.OnScore {
		if !target.Scored() {
			p.add(link, feature, true, "the score of %q is compared but its options carry no weight", c.Question)
		}
		return
	}
	if c.Operator == OpExists {
		if c.Answer.Kind != KindBoolean {
			p.add(link, feature, true, "exists needs a boolean answer, got %s", c.Answer.Kind)
		}
		return
	}
	if !kindAllowed(target.Type, c.Answer.Kind) && !(target.Type == TypeInteger && c.Answer.Kind == KindDecimal) {
		p.add(link, feature, true, "a %s answer is compared with %q, a %s question", c.Answer.Kind, c.Question, target.Type)
		return
	}
	if c.Operator.ordering() {
		switch c.Answer.Kind {
		case KindInteger, KindDecimal, KindDate, KindDateTime:
		default:
			p.add(link, feature, true, "operator %s cannot order %s answers", c.Operator, c.Answer.Kind)
		}
	}
}

// riskRules reads the Parcours risk-rules extension (docs/questionnaires.md).
func (p *parser) riskRules(e gjson.Result) *RiskRules {
	rr := &RiskRules{System: SystemRiskLevel}
	bad := func(format string, args ...any) { p.add("", "risk-rules", true, format, args...) }
	sub := func(e gjson.Result, url string) gjson.Result {
		return e.Get(`extension.#(url=="` + url + `")`)
	}
	e.Get("extension").ForEach(func(_, x gjson.Result) bool {
		switch x.Get("url").String() {
		case "system":
			rr.System = x.Get("valueUri").String()
		case "level":
			lv := RiskLevel{
				Code:          sub(x, "code").Get("valueCode").String(),
				Display:       p.localized("", sub(x, "display"), "valueString"),
				Text:          p.localized("", sub(x, "text"), "valueString"),
				CareTeamAlert: sub(x, "careTeamAlert").Get("valueBoolean").Bool(),
				Probability:   sub(x, "probability").Get("valueCode").String(),
			}
			if lv.Code == "" {
				bad("a level without code")
			}
			switch lv.Probability {
			case "", "negligible", "low", "moderate", "high", "certain":
			default:
				bad("level %q: probability %q is not a risk-probability code", lv.Code, lv.Probability)
			}
			if rr.level(lv.Code) >= 0 {
				bad("level %q defined twice", lv.Code)
			}
			rr.Levels = append(rr.Levels, lv)
		case "band":
			min := sub(x, "min").Get("valueDecimal")
			if !min.Exists() {
				min = sub(x, "min").Get("valueInteger")
			}
			s, err := ParseScore(min.Raw)
			if err != nil || min.Type != gjson.Number {
				bad("band min %s: %v", min.Raw, errScore)
			}
			rr.Bands = append(rr.Bands, Band{Min: s, Level: sub(x, "level").Get("valueCode").String()})
		case "itemRule":
			ir := ItemRule{
				ID:            sub(x, "id").Get("valueId").String(),
				Level:         sub(x, "level").Get("valueCode").String(),
				Message:       p.localized("", sub(x, "message"), "valueString"),
				Urgent:        sub(x, "urgent").Get("valueBoolean").Bool(),
				CareTeamAlert: sub(x, "careTeamAlert").Get("valueBoolean").Bool(),
			}
			ir.When.Question = sub(x, "question").Get("valueString").String()
			ir.When.Operator = Operator(sub(x, "operator").Get("valueCode").String())
			if !ir.When.Operator.valid() {
				bad("item rule %q: operator %q is not an R4 operator", ir.ID, ir.When.Operator)
			}
			if sc := sub(x, "score"); sc.Exists() {
				v := sc.Get("valueDecimal")
				if !v.Exists() {
					v = sc.Get("valueInteger")
				}
				s, err := ParseScore(v.Raw)
				if err != nil || v.Type != gjson.Number {
					bad("item rule %q: score %s: %v", ir.ID, v.Raw, errScore)
				}
				ir.When.OnScore, ir.When.Score = true, s
				if ir.When.Operator == OpExists {
					bad("item rule %q: exists cannot compare a score", ir.ID)
				}
			} else {
				v, _, err := readValue(sub(x, "answer"), "value")
				if err != nil || v.IsZero() {
					bad("item rule %q: answer: %v", ir.ID, err)
				}
				ir.When.Answer = v
			}
			if ir.ID == "" {
				bad("an item rule without id")
			}
			for _, o := range rr.Rules {
				if o.ID == ir.ID {
					bad("item rule %q defined twice", ir.ID)
				}
			}
			if ir.Level == "" && ir.Message.IsZero() && !ir.CareTeamAlert {
				bad("item rule %q has no effect (no level, message nor careTeamAlert)", ir.ID)
			}
			if ir.Urgent && ir.Message.IsZero() {
				bad("item rule %q is urgent but has no message", ir.ID)
			}
			rr.Rules = append(rr.Rules, ir)
		default:
			bad("unknown part %q", x.Get("url").String())
		}
		return true
	})
	if len(rr.Levels) == 0 {
		bad("no risk level defined")
	}
	if len(rr.Bands) == 0 {
		bad("no score band defined")
	}
	if !sort.SliceIsSorted(rr.Bands, func(i, j int) bool { return rr.Bands[i].Min < rr.Bands[j].Min }) {
		bad("bands must be listed by increasing min")
	}
	for i, b := range rr.Bands {
		if i > 0 && b.Min == rr.Bands[i-1].Min {
			bad("two bands start at %s", b.Min)
		}
		if rr.level(b.Level) < 0 {
			bad("band from %s: level %q is not defined", b.Min, b.Level)
		}
	}
	if len(rr.Bands) > 0 && rr.Bands[0].Min > 0 {
		bad("the first band starts at %s: a total of 0 would have no level", rr.Bands[0].Min)
	}
	for _, ir := range rr.Rules {
		if ir.Level != "" && rr.level(ir.Level) < 0 {
			bad("item rule %q: level %q is not defined", ir.ID, ir.Level)
		}
		p.checkCondition(p.q, "", "risk-rules itemRule "+ir.ID, ir.When)
	}
	return rr
}
