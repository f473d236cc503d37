// Package questionnaire is the FHIR R4 Questionnaire engine of Parcours: it
// reads a Questionnaire (https://hl7.org/fhir/R4/questionnaire.html), says
// precisely what it cannot honour, decides which items are enabled
// (enableWhen), validates answers, scores them from the standard ordinal
// extensions and classifies the total with risk rules carried as data in the
// Questionnaire, then writes the QuestionnaireResponse
// (https://hl7.org/fhir/R4/questionnaireresponse.html) and the RiskAssessment
// (https://hl7.org/fhir/R4/riskassessment.html).
//
// The same code runs in the browser (GOOS=js, instant feedback) and in the
// edge host, which recomputes every score from the submitted answers: the
// browser's score is only a preview. Weights are read from the
// Questionnaire only, never from a submitted answer.
//
// The package imports the standard library, github.com/tidwall/gjson and
// sdk/portal (error codes) only. docs/questionnaires.md describes the
// risk-rules extension and the support policy.
package questionnaire

import (
	"sort"
	"strings"

	"github.com/parcours-sante/parcours/sdk/wirejson"
)

// Extension and code-system URLs the engine understands.
const (
	ExtTranslation   = "http://hl7.org/fhir/StructureDefinition/translation"
	ExtOrdinalValue  = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
	ExtItemWeight    = "http://hl7.org/fhir/StructureDefinition/itemWeight"
	ExtCOValue       = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value"
	ExtHidden        = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"
	ExtRiskRules     = "https://parcours-sante.org/fhir/StructureDefinition/risk-rules"
	ExtRiskScore     = "https://parcours-sante.org/fhir/StructureDefinition/risk-score"
	ExtGroupScore    = "https://parcours-sante.org/fhir/StructureDefinition/group-score"
	ExtCareTeamAlert = "https://parcours-sante.org/fhir/StructureDefinition/care-team-alert"
	ExtRiskAlert     = "https://parcours-sante.org/fhir/StructureDefinition/risk-alert"
	// SystemRiskLevel is the default code system of risk levels.
	SystemRiskLevel = "https://parcours-sante.org/fhir/CodeSystem/risk-level"
	// SystemRiskProbability is FHIR's qualitative risk code system
	// (negligible, low, moderate, high, certain).
	SystemRiskProbability = "http://terminology.hl7.org/CodeSystem/risk-probability"
)

// DefaultLanguage is the language of a Questionnaire that does not state one.
const DefaultLanguage = "fr"

// Localized is a text with its translations, read from the FHIR translation
// extension (http://hl7.org/fhir/extensions/StructureDefinition-translation.html).
// It is written in JSON as an object from language to text: {"fr": …, "en": …}.
type Localized struct {
	// Lang is the language of Text (the Questionnaire's language).
	Lang string
	Text string
	// Translations maps a language tag ("en", "en-GB") to its text.
	Translations map[string]string
}

// In returns the text in lang: an exact translation, then one with the same
// primary language ("en" for "en-GB"), then the original text.
func (l Localized) In(lang string) string {
	if lang == "" || strings.EqualFold(lang, l.Lang) || primary(lang) == primary(l.Lang) {
		return l.Text
	}
	for k, v := range l.Translations {
		if strings.EqualFold(k, lang) {
			return v
		}
	}
	p := primary(lang)
	keys := make([]string, 0, len(l.Translations))
	for k := range l.Translations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if primary(k) == p {
			return l.Translations[k]
		}
	}
	return l.Text
}

func primary(tag string) string {
	p, _, _ := strings.Cut(strings.ToLower(tag), "-")
	return p
}

// IsZero reports whether l has no text at all.
func (l Localized) IsZero() bool { return l.Text == "" && len(l.Translations) == 0 }

// MarshalJSON writes {"fr": "…", "en": "…"}, or null for an empty text.
func (l Localized) MarshalJSON() ([]byte, error) {
	if l.IsZero() {
		return []byte("null"), nil
	}
	m := make(map[string]string, len(l.Translations)+1)
	for k, v := range l.Translations {
		m[k] = v
	}
	lang := l.Lang
	if lang == "" {
		lang = DefaultLanguage
	}
	m[lang] = l.Text
	return wirejson.Marshal(m)
}

// ItemType is Questionnaire.item.type (https://hl7.org/fhir/R4/valueset-item-type.html).
type ItemType string

// The item types Parcours supports. Any other type refuses the Questionnaire.
const (
	TypeGroup      ItemType = "group"
	TypeDisplay    ItemType = "display"
	TypeBoolean    ItemType = "boolean"
	TypeChoice     ItemType = "choice"
	TypeOpenChoice ItemType = "open-choice"
	TypeString     ItemType = "string"
	TypeText       ItemType = "text"
	TypeInteger    ItemType = "integer"
	TypeDecimal    ItemType = "decimal"
	TypeDate       ItemType = "date"
	TypeDateTime   ItemType = "dateTime"
)

func (t ItemType) supported() bool {
	switch t {
	case TypeGroup, TypeDisplay, TypeBoolean, TypeChoice, TypeOpenChoice, TypeString,
		TypeText, TypeInteger, TypeDecimal, TypeDate, TypeDateTime:
		return true
	}
	return false
}

// IsQuestion reports whether items of type t take answers.
func (t ItemType) IsQuestion() bool { return t != TypeGroup && t != TypeDisplay }

// answerKinds lists the value kinds an item of type t accepts.
func (t ItemType) answerKinds() []Kind {
	switch t {
	case TypeBoolean:
		return []Kind{KindBoolean}
	case TypeChoice:
		return []Kind{KindCoding, KindString, KindInteger}
	case TypeOpenChoice:
		return []Kind{KindCoding, KindString, KindInteger}
	case TypeString, TypeText:
		return []Kind{KindString}
	case TypeInteger:
		return []Kind{KindInteger}
	case TypeDecimal:
		return []Kind{KindDecimal, KindInteger}
	case TypeDate:
		return []Kind{KindDate}
	case TypeDateTime:
		return []Kind{KindDateTime, KindDate}
	}
	return nil
}

// Operator is an enableWhen operator (https://hl7.org/fhir/R4/valueset-questionnaire-enable-operator.html).
type Operator string

// The R4 operators.
const (
	OpExists       Operator = "exists"
	OpEqual        Operator = "="
	OpNotEqual     Operator = "!="
	OpGreater      Operator = ">"
	OpLess         Operator = "<"
	OpGreaterEqual Operator = ">="
	OpLessEqual    Operator = "<="
)

func (o Operator) valid() bool {
	switch o {
	case OpExists, OpEqual, OpNotEqual, OpGreater, OpLess, OpGreaterEqual, OpLessEqual:
		return true
	}
	return false
}

func (o Operator) ordering() bool {
	return o == OpGreater || o == OpLess || o == OpGreaterEqual || o == OpLessEqual
}

// Condition is one enableWhen (or one risk rule's trigger): the answers of
// Question compared with Answer by Operator. For OpExists, Answer is a
// Boolean: true means "has an answer".
type Condition struct {
	Question string
	Operator Operator
	Answer   Value
	// OnScore, for risk rules only, compares the ordinal weight of the
	// answers instead of the answers themselves.
	OnScore bool
	Score   Score
}

// Questionnaire is a parsed FHIR R4 Questionnaire.
type Questionnaire struct {
	ID       string
	URL      string
	Version  string
	Name     string
	Status   string
	Language string
	Title    Localized
	// Description and Copyright are markdown, shown to the patient as text.
	Description Localized
	Copyright   Localized
	Items       []*Item
	// Rules are the risk rules of the risk-rules extension, nil when the
	// Questionnaire has none (it is then not scored into a risk level).
	Rules *RiskRules

	byLink map[string]*Item
	scored bool
}

// Item is a Questionnaire.item.
type Item struct {
	LinkID    string
	Type      ItemType
	Prefix    string
	Label     Localized
	Required  bool
	Repeats   bool
	ReadOnly  bool
	Hidden    bool
	MaxLength int
	Options   []AnswerOption
	Initial   []Value
	// EnableWhen conditions combine with EnableAny ("any") or all of them.
	EnableWhen []Condition
	EnableAny  bool
	Items      []*Item
	Code       []Coding

	parent *Item
	// owner is the nearest repeating group above the item (or the item
	// itself when it is one): answers live in one instance of it.
	owner *Item
	depth int
}

// Text returns the item's text in lang.
func (it *Item) Text(lang string) string { return it.Label.In(lang) }

// Parent returns the enclosing item, nil at the top level.
func (it *Item) Parent() *Item { return it.parent }

// RepeatingGroup reports whether the item is a group that may be answered
// several times (each instance is one *Answers in Answers.Groups).
func (it *Item) RepeatingGroup() bool { return it.Type == TypeGroup && it.Repeats }

// Scored reports whether some answer option of the item carries a weight.
func (it *Item) Scored() bool {
	for _, o := range it.Options {
		if o.Scored {
			return true
		}
	}
	return false
}

// AnswerOption is a permitted answer of a choice or open-choice item.
type AnswerOption struct {
	Value Value
	Label Localized
	// Weight is the option's score, from ordinalValue, itemWeight or
	// iso21090-CO-value on the option or on its Coding; Scored says whether
	// it has one.
	Weight          Score
	Scored          bool
	InitialSelected bool
}

// Text returns the option's text in lang: the Coding's display or the string.
func (o AnswerOption) Text(lang string) string {
	if o.Label.IsZero() {
		return o.Value.String()
	}
	return o.Label.In(lang)
}

// Item returns the item with linkID, nil if there is none.
func (q *Questionnaire) Item(linkID string) *Item { return q.byLink[linkID] }

// Canonical returns the canonical reference to q written in a
// QuestionnaireResponse: url|version, or url alone.
func (q *Questionnaire) Canonical() string {
	if q.URL == "" {
		if q.ID != "" {
			return "Questionnaire/" + q.ID
		}
		return ""
	}
	if q.Version != "" {
		return q.URL + "|" + q.Version
	}
	return q.URL
}

// Walk calls fn for every item in document order, parents first; it stops
// descending below an item when fn returns false.
func (q *Questionnaire) Walk(fn func(*Item) bool) { walkItems(q.Items, fn) }

func walkItems(items []*Item, fn func(*Item) bool) {
	for _, it := range items {
		if fn(it) {
			walkItems(it.Items, fn)
		}
	}
}

// option returns the option of it matching v, if any.
func (it *Item) option(v Value) (AnswerOption, bool) {
	for _, o := range it.Options {
		if c, ok := compare(o.Value, v); ok && c == 0 && o.Value.Kind == v.Kind {
			return o, true
		}
	}
	return AnswerOption{}, false
}
