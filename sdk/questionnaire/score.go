package questionnaire

import (
	"encoding/json"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/wirejson"
)

// RiskRules are the risk rules of a Questionnaire, read from the Parcours
// extension https://parcours-sante.org/fhir/StructureDefinition/risk-rules
// (format in docs/questionnaires.md): score bands give a level, item rules
// may raise it and raise alerts whatever the total.
type RiskRules struct {
	// System is the code system of the level codes.
	System string
	// Levels are ordered from the lowest risk to the highest.
	Levels []RiskLevel
	// Bands are ordered by Min; band i covers totals from its Min up to the
	// next band's Min (excluded).
	Bands []Band
	Rules []ItemRule
}

// RiskLevel is one level of a risk scale.
type RiskLevel struct {
	Code    string
	Display Localized
	// Text tells the patient what the level means and what happens next.
	Text Localized
	// CareTeamAlert: reaching this level alerts the care team.
	CareTeamAlert bool
	// Probability maps the level to FHIR's risk-probability code, optional.
	Probability string
}

// Band maps totals from Min to a level code.
type Band struct {
	Min   Score
	Level string
}

// ItemRule is an item-level rule: when its condition holds on an enabled
// item's answers (or their weights), it raises the level to at least Level
// (if set) and raises an alert with Message.
type ItemRule struct {
	ID   string
	When Condition
	// Level is the minimum level when the rule fires, "" for none.
	Level   string
	Message Localized
	// Urgent: show Message at once, before anything else.
	Urgent        bool
	CareTeamAlert bool
}

func (rr *RiskRules) level(code string) int {
	for i, l := range rr.Levels {
		if l.Code == code {
			return i
		}
	}
	return -1
}

// Level returns the level with code, and whether it exists.
func (rr *RiskRules) Level(code string) (RiskLevel, bool) {
	if i := rr.level(code); i >= 0 {
		return rr.Levels[i], true
	}
	return RiskLevel{}, false
}

// GroupScore is the total of the enabled scored answers below one group.
type GroupScore struct {
	LinkID string    `json:"linkId"`
	Text   Localized `json:"text"`
	Score  Score     `json:"score"`
}

// Alert is one fired item rule.
type Alert struct {
	Rule          string    `json:"rule"`
	LinkID        string    `json:"linkId"`
	Level         string    `json:"level,omitempty"`
	Urgent        bool      `json:"urgent"`
	CareTeamAlert bool      `json:"careTeamAlert"`
	Message       Localized `json:"message"`
}

// Result is the outcome of scoring a set of answers.
type Result struct {
	Questionnaire string `json:"questionnaire"`
	// Complete: the answers validate without issue. An incomplete result is
	// a preview; the host records only complete ones.
	Complete bool         `json:"complete"`
	Total    Score        `json:"total"`
	Groups   []GroupScore `json:"groups"`
	// Level is the risk level code, "" when the Questionnaire has no risk
	// rules or the total falls below every band.
	Level        string    `json:"riskLevel"`
	LevelDisplay Localized `json:"riskLevelDisplay"`
	// Text is the patient-facing text of the level.
	Text        Localized `json:"text"`
	Probability string    `json:"riskProbability,omitempty"`
	Alerts      []Alert   `json:"alerts"`
	// Urgent: some alert must be shown at once.
	Urgent bool `json:"urgent"`
	// CareTeamAlert: the level or some alert asks that the care team be alerted.
	CareTeamAlert bool    `json:"careTeamAlert"`
	Issues        []Issue `json:"issues"`
}

// Score scores a: the weights of the enabled answers (from the
// Questionnaire's answer options only, never from the submitted Codings),
// their totals per group and overall, the risk level from the bands raised by
// the item rules, and the alerts.
func (q *Questionnaire) Score(a *Answers) *Result {
	if a == nil {
		a = &Answers{}
	}
	ev := q.Evaluate(a)
	r := &Result{Questionnaire: q.Canonical(), Complete: len(ev.Issues) == 0, Issues: ev.Issues, Groups: []GroupScore{}, Alerts: []Alert{}}
	if r.Issues == nil {
		r.Issues = []Issue{}
	}
	groups := map[string]Score{}
	r.Total = ev.sum(q.Items, a, groups)
	q.Walk(func(it *Item) bool {
		if s, ok := groups[it.LinkID]; ok {
			r.Groups = append(r.Groups, GroupScore{LinkID: it.LinkID, Text: it.Label, Score: s})
		}
		return true
	})
	rr := q.Rules
	if rr == nil {
		return r
	}
	lvl := -1
	for _, b := range rr.Bands {
		if b.Min <= r.Total {
			lvl = rr.level(b.Level)
		}
	}
	for _, ir := range rr.Rules {
		target := q.byLink[ir.When.Question]
		if target == nil || !conditionHolds(ir.When, target, ev.collect(target, a, nil)) {
			continue
		}
		if i := rr.level(ir.Level); i > lvl {
			lvl = i
		}
		r.Alerts = append(r.Alerts, Alert{Rule: ir.ID, LinkID: target.LinkID, Level: ir.Level, Urgent: ir.Urgent, CareTeamAlert: ir.CareTeamAlert, Message: ir.Message})
		r.Urgent = r.Urgent || ir.Urgent
		r.CareTeamAlert = r.CareTeamAlert || ir.CareTeamAlert
	}
	if lvl >= 0 {
		l := rr.Levels[lvl]
		r.Level, r.LevelDisplay, r.Text, r.Probability = l.Code, l.Display, l.Text, l.Probability
		r.CareTeamAlert = r.CareTeamAlert || l.CareTeamAlert
	}
	return r
}

// sum adds the weights of the enabled answers of items in scope a, recording
// each group's subtotal (summed over instances) in groups.
func (ev *Evaluation) sum(items []*Item, a *Answers, groups map[string]Score) Score {
	var total Score
	for _, it := range items {
		if !ev.enabled(it, a) {
			continue
		}
		var sub Score
		scored := false
		switch {
		case it.RepeatingGroup():
			for _, inst := range a.Groups[it.LinkID] {
				if inst != nil && ev.scopes[inst].owner == it {
					sub += ev.sum(it.Items, inst, groups)
				}
			}
			scored = containsScored(it)
		case it.Type == TypeGroup:
			sub = ev.sum(it.Items, a, groups)
			scored = containsScored(it)
		default:
			for _, v := range a.Values[it.LinkID] {
				if o, ok := it.option(v); ok && o.Scored {
					sub += o.Weight
				}
			}
		}
		if scored {
			groups[it.LinkID] += sub
		}
		total += sub
	}
	return total
}

func containsScored(g *Item) bool {
	found := false
	walkItems(g.Items, func(it *Item) bool {
		found = found || it.Scored()
		return !found
	})
	return found
}

// RiskOptions are the metadata of a RiskAssessment to write.
type RiskOptions struct {
	ID string
	// Subject (required by R4) is a reference such as "Patient/pat-1".
	Subject string
	// Response (required) references the basis, "QuestionnaireResponse/qr-1".
	Response string
	// Occurrence is when the assessment was made; zero to omit.
	Occurrence time.Time
	// Lang selects the language of the texts written (default: the
	// Questionnaire's language).
	Lang string
}

type ext struct {
	URL          string      `json:"url"`
	Extension    []ext       `json:"extension,omitempty"`
	ValueBoolean *bool       `json:"valueBoolean,omitempty"`
	ValueDecimal json.Number `json:"valueDecimal,omitempty"`
	ValueString  string      `json:"valueString,omitempty"`
	ValueID      string      `json:"valueId,omitempty"`
}

func boolp(b bool) *bool { return &b }

type codeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type raJSON struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Extension    []ext            `json:"extension,omitempty"`
	Status       string           `json:"status"`
	Method       *codeableConcept `json:"method,omitempty"`
	Subject      reference        `json:"subject"`
	Occurrence   string           `json:"occurrenceDateTime,omitempty"`
	Basis        []reference      `json:"basis"`
	Prediction   []predictionJSON `json:"prediction"`
	Mitigation   string           `json:"mitigation,omitempty"`
	Note         []annotationJSON `json:"note,omitempty"`
}

type predictionJSON struct {
	Extension       []ext           `json:"extension,omitempty"`
	QualitativeRisk codeableConcept `json:"qualitativeRisk"`
	Rationale       string          `json:"rationale,omitempty"`
}

type annotationJSON struct {
	Text string `json:"text"`
}

// RiskAssessmentJSON writes r as a FHIR R4 RiskAssessment (status final): the
// level coded in prediction[0].qualitativeRisk (the level's code system and,
// when mapped, risk-probability), the total in the risk-score extension and
// the group totals in group-score extensions of prediction[0], the basis
// referencing the QuestionnaireResponse, the level's text as mitigation, the
// alerts as notes and risk-alert extensions, and care-team-alert. Only a
// complete result with a level can be written.
func (q *Questionnaire) RiskAssessmentJSON(r *Result, o RiskOptions) ([]byte, error) {
	switch {
	case q.Rules == nil:
		return nil, portal.Errorf(portal.ErrInvalid, "the questionnaire has no risk rules")
	case r == nil || !r.Complete:
		return nil, portal.Errorf(portal.ErrInvalid, "the response is not complete")
	case r.Level == "":
		return nil, portal.Errorf(portal.ErrInvalid, "the total %s falls in no band", r.Total)
	case o.Subject == "":
		return nil, portal.Errorf(portal.ErrInvalid, "a RiskAssessment needs a subject")
	case o.Response == "":
		return nil, portal.Errorf(portal.ErrInvalid, "a RiskAssessment needs the QuestionnaireResponse it is based on")
	}
	lang := o.Lang
	if lang == "" {
		lang = q.Language
	}
	display := r.LevelDisplay.In(lang)
	risk := codeableConcept{Coding: []Coding{{System: q.Rules.System, Code: r.Level, Display: display}}, Text: display}
	if r.Probability != "" {
		risk.Coding = append(risk.Coding, Coding{System: SystemRiskProbability, Code: r.Probability})
	}
	pred := predictionJSON{QualitativeRisk: risk, Rationale: r.Text.In(lang)}
	pred.Extension = append(pred.Extension, ext{URL: ExtRiskScore, ValueDecimal: json.Number(r.Total.String())})
	for _, g := range r.Groups {
		pred.Extension = append(pred.Extension, ext{URL: ExtGroupScore, Extension: []ext{
			{URL: "linkId", ValueString: g.LinkID},
			{URL: "score", ValueDecimal: json.Number(g.Score.String())},
		}})
	}
	doc := raJSON{
		ResourceType: "RiskAssessment",
		ID:           o.ID,
		Extension:    []ext{{URL: ExtCareTeamAlert, ValueBoolean: boolp(r.CareTeamAlert)}},
		Status:       "final",
		Subject:      reference{Reference: o.Subject},
		Basis:        []reference{{Reference: o.Response}},
		Prediction:   []predictionJSON{pred},
		Mitigation:   r.Text.In(lang),
	}
	if t := q.Title.In(lang); t != "" {
		// The instrument used, by name: R4 has no canonical reference here.
		doc.Method = &codeableConcept{Text: t}
	}
	for _, a := range r.Alerts {
		doc.Extension = append(doc.Extension, ext{URL: ExtRiskAlert, Extension: []ext{
			{URL: "rule", ValueID: a.Rule},
			{URL: "question", ValueString: a.LinkID},
			{URL: "urgent", ValueBoolean: boolp(a.Urgent)},
			{URL: "careTeamAlert", ValueBoolean: boolp(a.CareTeamAlert)},
		}})
		if m := a.Message.In(lang); m != "" {
			doc.Note = append(doc.Note, annotationJSON{Text: m})
		}
	}
	if !o.Occurrence.IsZero() {
		doc.Occurrence = o.Occurrence.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return wirejson.MarshalIndent(doc, "", "  ")
}
