package fhir

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file maps questionnaires to FHIR R4 and back (docs/fhir.md,
// "Questionnaires"): definitions are Questionnaires, drafts and submissions
// QuestionnaireResponses, scores RiskAssessments, care-team alerts
// Communications to the service. As everywhere in this package, nothing read
// from the server is trusted: every reader checks what it returns.

// URLs and systems of questionnaires. docs/fhir.md documents them.
const (
	// SystemQuestionnaireID is the identifier system of a Questionnaire
	// an establishment offers: the value is the portal's name for it
	// (portal.QuestionnaireDef.ID, "maternite-inscription"), so that the
	// Questionnaire's logical id stays the server's.
	SystemQuestionnaireID = "https://parcours-sante.org/fhir/sid/questionnaire"
	// SystemUsageContext codes the useContext (https://hl7.org/fhir/R4/metadatatypes.html#UsageContext)
	// of an offered Questionnaire: "establishment" with a valueReference
	// to the Organization that offers it, "service" with one to the
	// HealthcareService whose care team reads the responses.
	SystemUsageContext = "https://parcours-sante.org/fhir/CodeSystem/usage-context"
	// ExtNextStep is a next step of an offered Questionnaire (repeating,
	// complex): sub-extensions "level" (valueCode, absent for the default
	// step), "text" (valueString in French, English in an
	// ExtTranslation), "service" (valueReference HealthcareService) and
	// "practitioner" (valueReference Practitioner).
	ExtNextStep = "https://parcours-sante.org/fhir/StructureDefinition/questionnaire-next-step"
	// ExtQuestionnaireContext places a QuestionnaireResponse,
	// RiskAssessment or Communication of Parcours (complex):
	// "establishment" (valueReference Organization), "questionnaire"
	// (valueString, the portal's name of the questionnaire), "service"
	// (valueReference HealthcareService, at submission).
	ExtQuestionnaireContext = "https://parcours-sante.org/fhir/StructureDefinition/questionnaire-context"
	// ExtPortalResponse holds, in a valueBase64Binary, the
	// QuestionnaireResponse JSON the patient's browser sent, byte for
	// byte: the server may normalise the resource it stores, and a draft
	// need not be valid FHIR yet.
	ExtPortalResponse = "https://parcours-sante.org/fhir/StructureDefinition/portal-response"
	// ExtPortalRiskAssessment holds the RiskAssessment JSON the host
	// computed for a submission, byte for byte (valueBase64Binary).
	ExtPortalRiskAssessment = "https://parcours-sante.org/fhir/StructureDefinition/portal-risk-assessment"
	// ExtQuestionnaireResult holds the result shown to the patient
	// (portal.QuestionnaireResult in JSON, valueBase64Binary).
	ExtQuestionnaireResult = "https://parcours-sante.org/fhir/StructureDefinition/questionnaire-result"
	// ExtQuestionnaireScore is a RiskAssessment's total score (valueDecimal).
	ExtQuestionnaireScore = "https://parcours-sante.org/fhir/StructureDefinition/questionnaire-score"
	// SystemQuestionnaireDraft identifies a patient's draft: the value is a
	// digest of the patient, the establishment and the questionnaire, so
	// there is one draft per patient and questionnaire.
	SystemQuestionnaireDraft = "https://parcours-sante.org/fhir/sid/questionnaire-draft"
	// SystemQuestionnaireSubmission identifies a submission by the id
	// the client chose (portal.QuestionnaireSubmission.ID), on its
	// QuestionnaireResponse and its care-team Communication.
	SystemQuestionnaireSubmission = "https://parcours-sante.org/fhir/sid/questionnaire-submission"
	// SystemSubmissionKey marks what one submission wrote: a meta.tag
	// of its QuestionnaireResponse (whose one identifier is
	// SystemQuestionnaireSubmission), the identifier of its
	// RiskAssessment and Communication. The value is a digest of the
	// patient and the idempotency key, so that conditional creates on it
	// (If-None-Exist: _tag= or identifier=) find a retried submission.
	SystemSubmissionKey = "https://parcours-sante.org/fhir/sid/questionnaire-submission-key"
	// SystemRiskLevel codes a risk level (the questionnaire's own codes)
	// in RiskAssessment.prediction.qualitativeRisk and
	// Communication.reasonCode.
	SystemRiskLevel = "https://parcours-sante.org/fhir/CodeSystem/risk-level"
	// SystemCareTeamAlert and CodeQuestionnaireAlert are the category of
	// the Communications that alert a care team.
	SystemCareTeamAlert    = "https://parcours-sante.org/fhir/CodeSystem/communication-category"
	CodeQuestionnaireAlert = "questionnaire-alert"
)

// offeredQuestionnaire is a Questionnaire an establishment offers
// (https://hl7.org/fhir/R4/questionnaire.html).
type offeredQuestionnaire struct {
	LogicalID     string
	Version       string // meta.versionId
	Name          string // SystemQuestionnaireID
	Status        string
	Canonical     string // url|version, or Questionnaire/id without url
	Establishment string
	Service       string
	Title         portal.Text
	NextSteps     []portal.NextStep
	Raw           string
}

// questionnaireFrom reads an offered Questionnaire; one without the
// identifier, establishment or service is an error.
func questionnaireFrom(r gjson.Result) (offeredQuestionnaire, error) {
	q := offeredQuestionnaire{
		LogicalID: r.Get("id").String(),
		Version:   r.Get("meta.versionId").String(),
		Status:    r.Get("status").String(),
		Title:     text(r, "title"),
		Raw:       r.Raw,
		NextSteps: []portal.NextStep{},
	}
	r.Get("identifier").ForEach(func(_, i gjson.Result) bool {
		if i.Get("system").String() == SystemQuestionnaireID && q.Name == "" {
			q.Name = i.Get("value").String()
		}
		return true
	})
	r.Get("useContext").ForEach(func(_, u gjson.Result) bool {
		if u.Get("code.system").String() != SystemUsageContext {
			return true
		}
		ref := u.Get("valueReference.reference").String()
		switch u.Get("code.code").String() {
		case "establishment":
			if id, ok := refID(ref, "Organization"); ok && q.Establishment == "" {
				q.Establishment = id
			}
		case "service":
			if id, ok := refID(ref, "HealthcareService"); ok && q.Service == "" {
				q.Service = id
			}
		}
		return true
	})
	if !validID(q.LogicalID) || q.Name == "" || q.Establishment == "" || q.Service == "" {
		return offeredQuestionnaire{}, errors.New("Questionnaire: no id, identifier, establishment or service")
	}
	if q.Title.FR == "" {
		q.Title = portal.Text{FR: r.Get("name").String()}
	}
	if q.Title.FR == "" {
		return offeredQuestionnaire{}, fmt.Errorf("Questionnaire/%s: no title", q.LogicalID)
	}
	q.Canonical = ref("Questionnaire", q.LogicalID)
	if u := r.Get("url").String(); u != "" {
		q.Canonical = u
		if v := r.Get("version").String(); v != "" {
			q.Canonical += "|" + v
		}
	}
	levels := map[string]bool{}
	var bad error
	r.Get("extension").ForEach(func(_, e gjson.Result) bool {
		if e.Get("url").String() != ExtNextStep {
			return true
		}
		st := portal.NextStep{
			Level: extension(e, "level").Get("valueCode").String(),
			Text:  text(extension(e, "text"), "valueString"),
		}
		if s := extension(e, "service"); s.Exists() {
			id, ok := refID(s.Get("valueReference.reference").String(), "HealthcareService")
			if !ok {
				bad = errors.New("next step: service is not a HealthcareService")
				return false
			}
			st.Service = id
		}
		if p := extension(e, "practitioner"); p.Exists() {
			id, ok := refID(p.Get("valueReference.reference").String(), "Practitioner")
			if !ok || st.Service == "" {
				bad = errors.New("next step: practitioner is not a Practitioner of a service")
				return false
			}
			st.Practitioner = id
		}
		if st.Text.FR == "" || levels[st.Level] {
			bad = fmt.Errorf("next step of level %q: no French text, or a second step of that level", st.Level)
			return false
		}
		levels[st.Level] = true
		q.NextSteps = append(q.NextSteps, st)
		return true
	})
	if bad != nil {
		return offeredQuestionnaire{}, fmt.Errorf("Questionnaire/%s: %w", q.LogicalID, bad)
	}
	return q, nil
}

// def is the portal's view of q.
func (q offeredQuestionnaire) def() portal.QuestionnaireDef {
	return portal.QuestionnaireDef{
		ID: q.Name, Establishment: q.Establishment, Service: q.Service, Title: q.Title,
		Resource: json.RawMessage(q.Raw), NextSteps: q.NextSteps,
	}
}

// questionnaireContext is ExtQuestionnaireContext.
type questionnaireContext struct {
	Establishment, Questionnaire, Service string
}

func questionnaireContextFrom(r gjson.Result) questionnaireContext {
	e := extension(r, ExtQuestionnaireContext)
	var c questionnaireContext
	c.Establishment, _ = refID(extension(e, "establishment").Get("valueReference.reference").String(), "Organization")
	c.Questionnaire = extension(e, "questionnaire").Get("valueString").String()
	c.Service, _ = refID(extension(e, "service").Get("valueReference.reference").String(), "HealthcareService")
	return c
}

func (c questionnaireContext) json() map[string]any {
	exts := []any{
		map[string]any{"url": "establishment", "valueReference": map[string]any{"reference": ref("Organization", c.Establishment)}},
		map[string]any{"url": "questionnaire", "valueString": c.Questionnaire},
	}
	if c.Service != "" {
		exts = append(exts, map[string]any{"url": "service", "valueReference": map[string]any{"reference": ref("HealthcareService", c.Service)}})
	}
	return map[string]any{"url": ExtQuestionnaireContext, "extension": exts}
}

// storedResponse is a QuestionnaireResponse Parcours wrote: a draft
// (status in-progress) or a submission (completed)
// (https://hl7.org/fhir/R4/questionnaireresponse.html).
type storedResponse struct {
	LogicalID string
	Version   string
	Status    string
	Patient   string
	questionnaireContext
	DraftKey      string // SystemQuestionnaireDraft
	SubmissionID  string // SystemQuestionnaireSubmission
	SubmissionKey string // SystemSubmissionKey
	Authored      time.Time
	Response      json.RawMessage // ExtPortalResponse, decoded
	Risk          json.RawMessage // ExtPortalRiskAssessment, decoded; nil without
	Result        portal.QuestionnaireResult
	Raw           string
}

// storedResponseFrom reads a QuestionnaireResponse Parcours wrote; any
// other is an error.
func storedResponseFrom(r gjson.Result) (storedResponse, error) {
	s := storedResponse{
		LogicalID:            r.Get("id").String(),
		Version:              r.Get("meta.versionId").String(),
		Status:               r.Get("status").String(),
		questionnaireContext: questionnaireContextFrom(r),
		Raw:                  r.Raw,
	}
	s.Patient, _ = refID(r.Get("subject.reference").String(), "Patient")
	// identifier is 0..1 in R4; an array is read too.
	ids := r.Get("identifier")
	if ids.IsObject() {
		ids = gjson.Parse("[" + ids.Raw + "]")
	}
	ids.ForEach(func(_, i gjson.Result) bool {
		v := i.Get("value").String()
		switch i.Get("system").String() {
		case SystemQuestionnaireDraft:
			s.DraftKey = v
		case SystemQuestionnaireSubmission:
			s.SubmissionID = v
		}
		return true
	})
	r.Get("meta.tag").ForEach(func(_, t gjson.Result) bool {
		if t.Get("system").String() == SystemSubmissionKey {
			s.SubmissionKey = t.Get("code").String()
			return false
		}
		return true
	})
	if !validID(s.LogicalID) || s.Patient == "" || s.Establishment == "" || s.Questionnaire == "" {
		return storedResponse{}, errors.New("QuestionnaireResponse: no id, Patient subject or questionnaire context")
	}
	var ok bool
	if s.Authored, ok = parseInstant(r.Get("authored").String()); !ok {
		return storedResponse{}, fmt.Errorf("QuestionnaireResponse/%s: no authored instant", s.LogicalID)
	}
	resp, err := extBase64(r, ExtPortalResponse)
	if err != nil || checkPortalResource("the response", resp, "QuestionnaireResponse") != nil {
		return storedResponse{}, fmt.Errorf("QuestionnaireResponse/%s: no portal response", s.LogicalID)
	}
	s.Response = resp
	switch s.Status {
	case "in-progress":
		if s.DraftKey == "" {
			return storedResponse{}, fmt.Errorf("QuestionnaireResponse/%s: a draft without its identifier", s.LogicalID)
		}
	case "completed", "amended", "entered-in-error":
		if !validID(s.SubmissionID) || s.SubmissionKey == "" || s.Service == "" {
			return storedResponse{}, fmt.Errorf("QuestionnaireResponse/%s: a submission without its identifiers or service", s.LogicalID)
		}
		if extension(r, ExtPortalRiskAssessment).Exists() {
			risk, err := extBase64(r, ExtPortalRiskAssessment)
			if err != nil || checkPortalResource("the risk assessment", risk, "RiskAssessment") != nil {
				return storedResponse{}, fmt.Errorf("QuestionnaireResponse/%s: a bad portal risk assessment", s.LogicalID)
			}
			s.Risk = risk
		}
		result, err := extBase64(r, ExtQuestionnaireResult)
		if err != nil || json.Unmarshal(result, &s.Result) != nil {
			return storedResponse{}, fmt.Errorf("QuestionnaireResponse/%s: a bad result", s.LogicalID)
		}
	default:
		return storedResponse{}, fmt.Errorf("QuestionnaireResponse/%s: status %q", s.LogicalID, s.Status)
	}
	return s, nil
}

// draft is the portal's view of a draft, Updated as authored (in the
// establishment's time zone, to the second).
func (s storedResponse) draft() portal.QuestionnaireDraft {
	return portal.QuestionnaireDraft{
		Establishment: s.Establishment, Questionnaire: s.Questionnaire,
		Response: s.Response, Updated: s.Authored,
	}
}

// submission is the portal's view of a submission.
func (s storedResponse) submission() portal.QuestionnaireSubmission {
	return portal.QuestionnaireSubmission{
		ID: s.SubmissionID, Establishment: s.Establishment, Questionnaire: s.Questionnaire, Service: s.Service,
		Response: s.Response, RiskAssessment: s.Risk, Result: s.Result, Submitted: s.Authored,
	}
}

// careTeamAlertFrom reads a Communication alerting a care team
// (https://hl7.org/fhir/R4/communication.html).
func careTeamAlertFrom(r gjson.Result) (portal.CareTeamAlert, error) {
	a := portal.CareTeamAlert{
		ID:     r.Get("id").String(),
		Urgent: r.Get("priority").String() == "urgent",
	}
	c := questionnaireContextFrom(r)
	a.Establishment = c.Establishment
	r.Get("recipient").ForEach(func(_, rc gjson.Result) bool {
		if id, ok := refID(rc.Get("reference").String(), "HealthcareService"); ok {
			a.Service = id
			return false
		}
		return true
	})
	r.Get("identifier").ForEach(func(_, i gjson.Result) bool {
		if i.Get("system").String() == SystemQuestionnaireSubmission {
			a.Submission = i.Get("value").String()
			return false
		}
		return true
	})
	r.Get("reasonCode").ForEach(func(_, rc gjson.Result) bool {
		rc.Get("coding").ForEach(func(_, cd gjson.Result) bool {
			if cd.Get("system").String() == SystemRiskLevel {
				a.Level = cd.Get("code").String()
				return false
			}
			return true
		})
		return a.Level == ""
	})
	sent, ok := parseDateTime(r.Get("sent").String())
	if !validID(a.ID) || a.Establishment == "" || a.Service == "" || !validID(a.Submission) || !ok {
		return portal.CareTeamAlert{}, errors.New("Communication: no id, context, HealthcareService recipient, submission or sent")
	}
	a.Created = sent
	return a, nil
}

// extBase64 decodes the valueBase64Binary of r's extension url.
func extBase64(r gjson.Result, url string) ([]byte, error) {
	e := extension(r, url).Get("valueBase64Binary")
	if e.Type != gjson.String {
		return nil, fmt.Errorf("no %s", url)
	}
	return base64.StdEncoding.DecodeString(e.String())
}

// checkPortalResource checks a FHIR resource sent from outside: at most
// portal.MaxQuestionnaireResponse bytes (ErrTooLarge), a JSON object in
// UTF-8 whose resourceType is resourceType (ErrInvalid). The detail never
// quotes the document.
func checkPortalResource(what string, b []byte, resourceType string) error {
	if len(b) > portal.MaxQuestionnaireResponse {
		return portal.Errorf(portal.ErrTooLarge, "%s exceeds %d bytes", what, portal.MaxQuestionnaireResponse)
	}
	if !utf8.Valid(b) || !json.Valid(b) {
		return portal.Errorf(portal.ErrInvalid, "%s must be a FHIR %s in JSON", what, resourceType)
	}
	var obj map[string]json.RawMessage
	var got string
	if json.Unmarshal(b, &obj) != nil || obj == nil || json.Unmarshal(obj["resourceType"], &got) != nil || got != resourceType {
		return portal.Errorf(portal.ErrInvalid, "%s must be a FHIR %s in JSON", what, resourceType)
	}
	return nil
}

// fhirDecimalRE is a FHIR decimal (https://hl7.org/fhir/R4/datatypes.html#decimal).
var fhirDecimalRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// fhirDecimal returns s as a JSON number if it is a FHIR decimal.
func fhirDecimal(s string) (json.Number, bool) {
	if len(s) > 64 || !fhirDecimalRE.MatchString(s) {
		return "", false
	}
	return json.Number(s), true
}

// items returns the "item" array of a QuestionnaireResponse, compacted,
// or nil if it has none.
func responseItems(response []byte) json.RawMessage {
	it := gjson.GetBytes(response, "item")
	if !it.IsArray() || len(it.Array()) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(it.Raw)) != nil {
		return nil
	}
	return buf.Bytes()
}
