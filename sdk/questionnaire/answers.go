package questionnaire

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/wirejson"
	"github.com/tidwall/gjson"
)

// MaxInstances bounds the instances of one repeating group and the answers
// of one repeating question.
const MaxInstances = 100

// Answers are the answers of one QuestionnaireResponse, keyed by linkId.
// Values holds the answers of the questions of this scope; a repeating group
// opens a new scope per instance, in Groups. Non-repeating groups are
// transparent: their questions answer in the enclosing scope (linkIds are
// unique in a Questionnaire).
type Answers struct {
	// ID names an instance of a repeating group among its siblings, so that
	// a form addresses it rather than its position (which moves when an
	// instance before it is removed). It is unique in its group, and kept
	// through a draft as the item's id (Element.id); empty at the top level.
	ID     string
	Values map[string][]Value
	Groups map[string][]*Answers
}

// NewAnswers returns empty answers.
func NewAnswers() *Answers { return &Answers{} }

// Set replaces the answers of linkID; with no value it clears them.
func (a *Answers) Set(linkID string, v ...Value) *Answers {
	if len(v) == 0 {
		delete(a.Values, linkID)
		return a
	}
	if a.Values == nil {
		a.Values = map[string][]Value{}
	}
	a.Values[linkID] = append([]Value(nil), v...)
	return a
}

// Get returns the answers of linkID in this scope.
func (a *Answers) Get(linkID string) []Value {
	if a == nil {
		return nil
	}
	return a.Values[linkID]
}

// AddGroup appends a new instance of the repeating group linkID and returns
// it, with an ID no instance of the group has: random, so that an ID once
// removed is not given again (a form posted from an older page must not
// reach the new instance by it).
func (a *Answers) AddGroup(linkID string) *Answers {
	g := &Answers{ID: newInstanceID()}
	for a.Instance(linkID, g.ID) >= 0 {
		g.ID = newInstanceID()
	}
	a.appendGroup(linkID, g)
	return g
}

func (a *Answers) appendGroup(linkID string, g *Answers) {
	if a.Groups == nil {
		a.Groups = map[string][]*Answers{}
	}
	a.Groups[linkID] = append(a.Groups[linkID], g)
}

// Instance returns the index of the instance id of the repeating group
// linkID, -1 when it has none.
func (a *Answers) Instance(linkID, id string) int {
	if a == nil || id == "" {
		return -1
	}
	for i, g := range a.Groups[linkID] {
		if g.ID == id {
			return i
		}
	}
	return -1
}

// instanceIDChars write the random instance IDs: 8 of them, 40 bits.
const instanceIDChars = "abcdefghijklmnopqrstuvwxyz234567"

func newInstanceID() string {
	var b [8]byte
	for i := range b {
		b[i] = instanceIDChars[rand.IntN(len(instanceIDChars))]
	}
	return string(b[:])
}

// validInstanceID reports whether id may name an instance: a FHIR id
// (https://hl7.org/fhir/R4/datatypes.html#id), which also fits in a form
// field's name.
func validInstanceID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Instances returns the instances of the repeating group linkID.
func (a *Answers) Instances(linkID string) []*Answers {
	if a == nil {
		return nil
	}
	return a.Groups[linkID]
}

// RemoveGroup removes instance i of the repeating group linkID.
func (a *Answers) RemoveGroup(linkID string, i int) {
	g := a.Groups[linkID]
	if i < 0 || i >= len(g) {
		return
	}
	a.Groups[linkID] = append(g[:i:i], g[i+1:]...)
}

// ResponseStatus is QuestionnaireResponse.status.
type ResponseStatus string

// The statuses Parcours writes: a draft, and a submitted response.
const (
	InProgress ResponseStatus = "in-progress"
	Completed  ResponseStatus = "completed"
)

// Response is a QuestionnaireResponse read back: its metadata and answers.
type Response struct {
	ID            string
	Questionnaire string
	Status        ResponseStatus
	// Subject is a FHIR reference such as "Patient/pat-1"; it may be empty.
	Subject  string
	Authored string
	Answers  *Answers
}

// ReadResponse reads a FHIR R4 QuestionnaireResponse answering q. Answers
// to items q does not have, values of unsupported types and structures that
// do not mirror q are errors (code portal.ErrInvalid); values of the wrong
// type for their item are kept and reported by Validate.
func (q *Questionnaire) ReadResponse(data []byte) (*Response, error) {
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	r := gjson.ParseBytes(data)
	if rt := r.Get("resourceType").String(); rt != "QuestionnaireResponse" {
		return nil, portal.Errorf(portal.ErrInvalid, "resourceType is %q, want QuestionnaireResponse", rt)
	}
	resp := &Response{
		ID:            r.Get("id").String(),
		Questionnaire: r.Get("questionnaire").String(),
		Status:        ResponseStatus(r.Get("status").String()),
		Subject:       r.Get("subject.reference").String(),
		Authored:      r.Get("authored").String(),
		Answers:       &Answers{},
	}
	switch resp.Status {
	case InProgress, Completed, "amended":
	default:
		return nil, portal.Errorf(portal.ErrInvalid, "status %q: want in-progress or completed", resp.Status)
	}
	if r.Get("modifierExtension").Exists() {
		return nil, portal.Errorf(portal.ErrInvalid, "the response carries a modifierExtension")
	}
	if resp.Questionnaire != "" && !q.matches(resp.Questionnaire) {
		return nil, portal.Errorf(portal.ErrInvalid, "the response answers %q, not %q", resp.Questionnaire, q.Canonical())
	}
	if err := q.readItems(r.Get("item"), nil, resp.Answers); err != nil {
		return nil, portal.Errorf(portal.ErrInvalid, "%v", err)
	}
	return resp, nil
}

// matches reports whether canonical (url or url|version) designates q.
func (q *Questionnaire) matches(canonical string) bool {
	url, version, hasVersion := strings.Cut(canonical, "|")
	if q.URL == "" {
		return q.ID != "" && (canonical == "Questionnaire/"+q.ID || canonical == q.ID)
	}
	return url == q.URL && (!hasVersion || q.Version == "" || version == q.Version)
}

// readItems reads the response items under the questionnaire item parent
// (nil for the top level) into scope a.
func (q *Questionnaire) readItems(arr gjson.Result, parent *Item, a *Answers) error {
	if !arr.Exists() {
		return nil
	}
	if !arr.IsArray() {
		return fmt.Errorf("item is not an array")
	}
	var err error
	arr.ForEach(func(_, r gjson.Result) bool {
		link := r.Get("linkId").String()
		it := q.byLink[link]
		if it == nil || it.parent != parent {
			err = fmt.Errorf("item %q is not a child of %q in the questionnaire", link, linkOf(parent))
			return false
		}
		if r.Get("modifierExtension").Exists() {
			err = fmt.Errorf("item %q carries a modifierExtension", link)
			return false
		}
		switch {
		case it.Type == TypeDisplay:
			if r.Get("answer").Exists() || r.Get("item").Exists() {
				err = fmt.Errorf("display item %q has answers", link)
			}
		case it.Type == TypeGroup:
			if r.Get("answer").Exists() {
				err = fmt.Errorf("group %q has answers", link)
				return false
			}
			scope := a
			if it.Repeats {
				if len(a.Groups[link]) >= MaxInstances {
					err = fmt.Errorf("group %q repeats more than %d times", link, MaxInstances)
					return false
				}
				// The instance keeps its id when it has a usable one;
				// the others are named once all are read.
				scope = &Answers{}
				if id := r.Get("id").String(); validInstanceID(id) && a.Instance(link, id) < 0 {
					scope.ID = id
				}
				a.appendGroup(link, scope)
			} else if seenGroup(a, it) {
				err = fmt.Errorf("group %q does not repeat but appears twice", link)
				return false
			}
			err = q.readItems(r.Get("item"), it, scope)
		default:
			if r.Get("item").Exists() {
				err = fmt.Errorf("question %q has nested items", link)
				return false
			}
			if _, dup := a.Values[link]; dup {
				err = fmt.Errorf("question %q appears twice", link)
				return false
			}
			var vals []Value
			r.Get("answer").ForEach(func(_, x gjson.Result) bool {
				if x.Get("item").Exists() {
					err = fmt.Errorf("question %q: nested items under an answer are not supported", link)
					return false
				}
				v, _, e := readValue(x, "value")
				if e == nil && v.IsZero() {
					e = fmt.Errorf("an answer without value")
				}
				if e != nil {
					err = fmt.Errorf("question %q: %v", link, e)
					return false
				}
				vals = append(vals, v)
				if len(vals) > MaxInstances {
					err = fmt.Errorf("question %q has more than %d answers", link, MaxInstances)
					return false
				}
				return true
			})
			if len(vals) > 0 {
				a.Set(link, vals...)
			}
		}
		return err == nil
	})
	a.nameInstances()
	return err
}

// nameInstances gives the instances read without a usable id one that
// depends on their position only ("i1" for the first), so that reading the
// same response twice names them alike.
func (a *Answers) nameInstances() {
	for link, gs := range a.Groups {
		for i, g := range gs {
			for n := i + 1; g.ID == ""; n++ {
				if id := "i" + strconv.Itoa(n); a.Instance(link, id) < 0 {
					g.ID = id
				}
			}
		}
	}
}

// seenGroup reports whether a non-repeating group already has answers in a
// (so that a second copy in the response is caught).
func seenGroup(a *Answers, g *Item) bool {
	found := false
	walkItems(g.Items, func(it *Item) bool {
		if len(a.Values[it.LinkID]) > 0 || len(a.Groups[it.LinkID]) > 0 {
			found = true
		}
		return !it.RepeatingGroup()
	})
	return found
}

// ResponseOptions are the metadata of a QuestionnaireResponse to write.
type ResponseOptions struct {
	ID     string
	Status ResponseStatus
	// Subject is a FHIR reference such as "Patient/pat-1"; empty to omit.
	Subject string
	// Authored is written in UTC to the second; zero to omit.
	Authored time.Time
	// Lang selects the language of the item texts written (default: the
	// Questionnaire's language).
	Lang string
}

// The JSON shape of a QuestionnaireResponse, in FHIR's element order.
type qrJSON struct {
	ResourceType  string       `json:"resourceType"`
	ID            string       `json:"id,omitempty"`
	Questionnaire string       `json:"questionnaire,omitempty"`
	Status        string       `json:"status"`
	Subject       *reference   `json:"subject,omitempty"`
	Authored      string       `json:"authored,omitempty"`
	Item          []qrItemJSON `json:"item,omitempty"`
}

type reference struct {
	Reference string `json:"reference"`
	Display   string `json:"display,omitempty"`
}

type qrItemJSON struct {
	ID     string       `json:"id,omitempty"`
	LinkID string       `json:"linkId"`
	Text   string       `json:"text,omitempty"`
	Answer []answerJSON `json:"answer,omitempty"`
	Item   []qrItemJSON `json:"item,omitempty"`
}

type answerJSON struct{ v Value }

func (a answerJSON) MarshalJSON() ([]byte, error) {
	return wirejson.Marshal(map[string]any{a.v.jsonField("value"): a.v.jsonValue()})
}

// ResponseJSON writes the answers as a FHIR R4 QuestionnaireResponse. Only
// the answers of enabled items are written (R4: disabled items are treated
// as unanswered), in the Questionnaire's order; the item tree mirrors the
// Questionnaire's. A Completed response must validate without issue.
//
// An InProgress response (a draft) keeps every instance of a repeating
// group, an empty one too (the patient just added it), each with its ID as
// the item's id, so that the draft read back has the same instances under
// the same IDs. A Completed one writes the instances with answers only,
// without ids.
func (q *Questionnaire) ResponseJSON(a *Answers, o ResponseOptions) ([]byte, error) {
	if o.Status == "" {
		o.Status = InProgress
	}
	if o.Status != InProgress && o.Status != Completed {
		return nil, portal.Errorf(portal.ErrInvalid, "status %q: want in-progress or completed", o.Status)
	}
	if a == nil {
		a = &Answers{}
	}
	ev := q.Evaluate(a)
	if o.Status == Completed && len(ev.Issues) > 0 {
		return nil, portal.Errorf(portal.ErrInvalid, "the response is not complete: %s", ev.Issues[0])
	}
	lang := o.Lang
	if lang == "" {
		lang = q.Language
	}
	w := responseWriter{q: q, ev: ev, lang: lang, draft: o.Status == InProgress}
	doc := qrJSON{
		ResourceType:  "QuestionnaireResponse",
		ID:            o.ID,
		Questionnaire: q.Canonical(),
		Status:        string(o.Status),
		Item:          w.items(q.Items, a),
	}
	if o.Subject != "" {
		doc.Subject = &reference{Reference: o.Subject}
	}
	if !o.Authored.IsZero() {
		doc.Authored = o.Authored.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return wirejson.MarshalIndent(doc, "", "  ")
}

// responseWriter writes the items of a QuestionnaireResponse.
type responseWriter struct {
	q     *Questionnaire
	ev    *Evaluation
	lang  string
	draft bool // every instance, with its id
}

func (w responseWriter) items(items []*Item, a *Answers) []qrItemJSON {
	ev, lang := w.ev, w.lang
	var out []qrItemJSON
	for _, it := range items {
		if !ev.Enabled(a, it.LinkID) {
			continue
		}
		switch {
		case it.Type == TypeDisplay:
		case it.RepeatingGroup():
			for _, inst := range a.Groups[it.LinkID] {
				kids := w.items(it.Items, inst)
				switch {
				case w.draft:
					out = append(out, qrItemJSON{ID: inst.ID, LinkID: it.LinkID, Text: it.Text(lang), Item: kids})
				case len(kids) > 0:
					out = append(out, qrItemJSON{LinkID: it.LinkID, Text: it.Text(lang), Item: kids})
				}
			}
		case it.Type == TypeGroup:
			if kids := w.items(it.Items, a); len(kids) > 0 {
				out = append(out, qrItemJSON{LinkID: it.LinkID, Text: it.Text(lang), Item: kids})
			}
		default:
			vals := a.Values[it.LinkID]
			if len(vals) == 0 {
				continue
			}
			x := qrItemJSON{LinkID: it.LinkID, Text: it.Text(lang)}
			for _, v := range vals {
				if v.Kind == KindCoding {
					// Write the Questionnaire's display, not the submitted one.
					if o, ok := it.option(v); ok {
						v.Coding.Display = o.Value.Coding.Display
					}
				}
				x.Answer = append(x.Answer, answerJSON{v})
			}
			out = append(out, x)
		}
	}
	return out
}

// linkIDs returns the sorted linkIds answered in a (this scope only).
func (a *Answers) linkIDs() []string {
	ids := make([]string, 0, len(a.Values)+len(a.Groups))
	for k := range a.Values {
		ids = append(ids, k)
	}
	for k := range a.Groups {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	return ids
}
