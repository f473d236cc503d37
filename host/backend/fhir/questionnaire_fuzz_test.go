package fhir

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzParseQuestionnaire fuzzes the readers of questionnaires: the
// Questionnaires, QuestionnaireResponses and Communications the server
// answers, and the QuestionnaireResponse or RiskAssessment JSON a browser
// sends (checkPortalResource, responseItems). Whatever they get, they return a
// value or an error, never panic, and what they accept has the shape the
// backend relies on.
func FuzzParseQuestionnaire(f *testing.F) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	ctx := `{"url":"` + ExtQuestionnaireContext + `","extension":[{"url":"establishment","valueReference":{"reference":"Organization/o1"}},` +
		`{"url":"questionnaire","valueString":"epds"},{"url":"service","valueReference":{"reference":"HealthcareService/s1"}}]}`
	f.Add([]byte(`{"resourceType":"Questionnaire","id":"q1","status":"active","url":"https://x/Q","version":"2","title":"EPDS",
		"_title":{"extension":[{"url":"` + ExtTranslation + `","extension":[{"url":"lang","valueCode":"en"},{"url":"content","valueString":"EPDS"}]}]},
		"identifier":[{"system":"` + SystemQuestionnaireID + `","value":"epds"}],
		"useContext":[{"code":{"system":"` + SystemUsageContext + `","code":"establishment"},"valueReference":{"reference":"Organization/o1"}},
		{"code":{"system":"` + SystemUsageContext + `","code":"service"},"valueReference":{"reference":"HealthcareService/s1"}}],
		"extension":[{"url":"` + ExtNextStep + `","extension":[{"url":"level","valueCode":"high"},{"url":"text","valueString":"RDV"},
		{"url":"service","valueReference":{"reference":"HealthcareService/s1"}},{"url":"practitioner","valueReference":{"reference":"Practitioner/p1"}}]},
		{"url":"` + ExtNextStep + `","extension":[{"url":"text","valueString":"Merci"}]}]}`))
	f.Add([]byte(`{"resourceType":"QuestionnaireResponse","id":"r1","status":"in-progress","subject":{"reference":"Patient/p1"},
		"identifier":{"system":"` + SystemQuestionnaireDraft + `","value":"abc"},"authored":"2026-11-24T10:00:00+01:00",
		"extension":[` + ctx + `,{"url":"` + ExtPortalResponse + `","valueBase64Binary":"` + b64(`{"resourceType":"QuestionnaireResponse"}`) + `"}]}`))
	f.Add([]byte(`{"resourceType":"QuestionnaireResponse","id":"r2","status":"completed","subject":{"reference":"Patient/p1"},
		"meta":{"tag":[{"system":"` + SystemSubmissionKey + `","code":"k"}]},
		"identifier":{"system":"` + SystemQuestionnaireSubmission + `","value":"sub-1"},"authored":"2026-11-24T10:00:00Z",
		"extension":[` + ctx + `,{"url":"` + ExtPortalResponse + `","valueBase64Binary":"` + b64(`{"resourceType":"QuestionnaireResponse","item":[]}`) + `"},
		{"url":"` + ExtPortalRiskAssessment + `","valueBase64Binary":"` + b64(`{"resourceType":"RiskAssessment"}`) + `"},
		{"url":"` + ExtQuestionnaireResult + `","valueBase64Binary":"` + b64(`{"total":"3","level":"high"}`) + `"}]}`))
	f.Add([]byte(`{"resourceType":"Communication","id":"c1","priority":"urgent","sent":"2026-11-24T10:00:00Z",
		"recipient":[{"reference":"HealthcareService/s1"}],"identifier":[{"system":"` + SystemQuestionnaireSubmission + `","value":"sub-1"}],
		"reasonCode":[{"coding":[{"system":"` + SystemRiskLevel + `","code":"high"}]}],"extension":[` + ctx + `]}`))
	f.Add([]byte(`{"resourceType":"QuestionnaireResponse","item":[{"linkId":"1","answer":[{"valueInteger":3}]}]}`))
	f.Add([]byte(`{"resourceType":"RiskAssessment","resourceType":"QuestionnaireResponse"}`))
	f.Add([]byte(`[{"resourceType":"QuestionnaireResponse"}]`))
	f.Add([]byte("{\"resourceType\":\"QuestionnaireResponse\",\"text\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		// What a browser sends.
		if checkPortalResource("x", body, "QuestionnaireResponse") == nil {
			var obj map[string]any
			if json.Unmarshal(body, &obj) != nil || obj["resourceType"] != "QuestionnaireResponse" {
				t.Fatalf("checkPortalResource accepted %q", body)
			}
		}
		if it := responseItems(body); it != nil {
			var arr []any
			if json.Unmarshal(it, &arr) != nil || len(arr) == 0 {
				t.Fatalf("responseItems(%q) = %q, want a non-empty array", body, it)
			}
		}
		fhirDecimal(string(body))

		// What the server answers.
		if !gjson.ValidBytes(body) {
			return
		}
		r := gjson.ParseBytes(body)
		if q, err := questionnaireFrom(r); err == nil {
			if !validID(q.LogicalID) || q.Name == "" || !validID(q.Establishment) || !validID(q.Service) || q.Title.FR == "" || q.Canonical == "" {
				t.Fatalf("questionnaireFrom accepted %+v", q)
			}
			d := q.def()
			for _, st := range d.NextSteps {
				if got, ok := d.NextStep(st.Level); !ok || !reflect.DeepEqual(got, st) || st.Text.FR == "" ||
					(st.Practitioner != "" && st.Service == "") {
					t.Fatalf("next step %+v: NextStep = %+v, %v", st, got, ok)
				}
			}
		}
		if s, err := storedResponseFrom(r); err == nil {
			if !validID(s.LogicalID) || !validID(s.Patient) || !validID(s.Establishment) || s.Questionnaire == "" || s.Authored.IsZero() ||
				checkPortalResource("x", s.Response, "QuestionnaireResponse") != nil {
				t.Fatalf("storedResponseFrom accepted %+v", s)
			}
			switch s.Status {
			case "in-progress":
				if s.DraftKey == "" {
					t.Fatalf("a draft without its key: %+v", s)
				}
			default:
				sub := s.submission()
				if !validID(sub.ID) || !validID(sub.Service) || s.SubmissionKey == "" ||
					(len(sub.RiskAssessment) > 0 && checkPortalResource("x", sub.RiskAssessment, "RiskAssessment") != nil) {
					t.Fatalf("a submission without its identifiers: %+v", s)
				}
				if _, err := json.Marshal(riskAssessmentJSON(s)); err != nil {
					t.Fatal(err)
				}
				if _, err := json.Marshal(careTeamAlertJSON(s)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if a, err := careTeamAlertFrom(r); err == nil {
			if !validID(a.ID) || !validID(a.Establishment) || !validID(a.Service) || !validID(a.Submission) || a.Created.IsZero() {
				t.Fatalf("careTeamAlertFrom accepted %+v", a)
			}
		}
	})
}
