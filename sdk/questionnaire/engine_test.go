package questionnaire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/questionnaire"
)

func mustParse(t testing.TB, s string) *questionnaire.Questionnaire {
	t.Helper()
	q, rep, err := questionnaire.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v (%v)", err, rep.Unsupported)
	}
	return q
}

func wrap(items string) string {
	return `{"resourceType":"Questionnaire","url":"https://example.org/q","status":"active","item":[` + items + `]}`
}

func TestParseReport(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		feature    string
		fatal      bool
	}{
		{"modifierExtension", wrap(`{"linkId":"a","type":"string","modifierExtension":[{"url":"http://x/y","valueBoolean":true}]}`), "modifierExtension", true},
		{"unknown type", wrap(`{"linkId":"a","type":"attachment"}`), "item.type=attachment", true},
		{"answerValueSet on choice", wrap(`{"linkId":"a","type":"choice","answerValueSet":"http://loinc.org/vs/LL358-3"}`), "answerValueSet", true},
		{"answerValueSet on open-choice", wrap(`{"linkId":"a","type":"open-choice","answerValueSet":"http://loinc.org/vs/LL358-3"}`), "answerValueSet", false},
		{"enableWhenExpression", wrap(`{"linkId":"a","type":"string","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression","valueExpression":{"language":"text/fhirpath","expression":"true"}}]}`), "enableWhenExpression", true},
		{"calculatedExpression read-only", wrap(`{"linkId":"a","type":"decimal","readOnly":true,"extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression","valueExpression":{"language":"text/fhirpath","expression":"1"}}]}`), "calculatedExpression", false},
		{"calculatedExpression asked", wrap(`{"linkId":"a","type":"decimal","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression","valueExpression":{"language":"text/fhirpath","expression":"1"}}]}`), "calculatedExpression", true},
		{"calculatedExpression used by enableWhen", wrap(`{"linkId":"a","type":"integer","readOnly":true,"extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression","valueExpression":{"expression":"1"}}]},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":">","answerInteger":1}]}`), "calculatedExpression", true},
		{"initialExpression", wrap(`{"linkId":"a","type":"string","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression","valueExpression":{"expression":"1"}}]}`), "initialExpression", false},
		{"unknown extension", wrap(`{"linkId":"a","type":"string","extension":[{"url":"http://example.org/x","valueString":"y"}]}`), "extension", false},
		{"itemControl", wrap(`{"linkId":"a","type":"string","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl","valueCodeableConcept":{}}]}`), "questionnaire-itemControl", false},
		{"R5 element", wrap(`{"linkId":"a","type":"string","disabledDisplay":"hidden"}`), "disabledDisplay", false},
		{"enableWhen unknown question", wrap(`{"linkId":"a","type":"string","enableWhen":[{"question":"zz","operator":"exists","answerBoolean":true}]}`), "enableWhen", true},
		{"enableWhen cycle", wrap(`{"linkId":"a","type":"string","enableWhen":[{"question":"b","operator":"exists","answerBoolean":true}]},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]}`), "enableWhen", true},
		{"enableWhen on own child", wrap(`{"linkId":"g","type":"group","enableWhen":[{"question":"c","operator":"exists","answerBoolean":true}],"item":[{"linkId":"c","type":"string"}]}`), "enableWhen", true},
		{"enableWhen quantity", wrap(`{"linkId":"a","type":"decimal"},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":">","answerQuantity":{"value":1}}]}`), "enableWhen.answerQuantity", true},
		{"ordering a coding", wrap(`{"linkId":"a","type":"choice","answerOption":[{"valueCoding":{"code":"x"}}]},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":">","answerCoding":{"code":"x"}}]}`), "enableWhen", true},
		{"type mismatch", wrap(`{"linkId":"a","type":"boolean"},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":"=","answerString":"x"}]}`), "enableWhen", true},
		{"bad operator", wrap(`{"linkId":"a","type":"boolean"},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":"~","answerBoolean":true}]}`), "enableWhen.operator", true},
		{"duplicate linkId", wrap(`{"linkId":"a","type":"string"},{"linkId":"a","type":"string"}`), "linkId", true},
		{"option valueDate", wrap(`{"linkId":"a","type":"choice","answerOption":[{"valueDate":"2020-01-01"}]}`), "answerOption", true},
		{"conflicting weights", wrap(`{"linkId":"a","type":"choice","answerOption":[{"valueCoding":{"code":"x","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/ordinalValue","valueDecimal":1}]},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/itemWeight","valueDecimal":2}]}]}`), "weight", true},
		{"question with children", wrap(`{"linkId":"a","type":"boolean","item":[{"linkId":"b","type":"string"}]}`), "item", true},
		{"implicitRules", `{"resourceType":"Questionnaire","implicitRules":"http://x","item":[{"linkId":"a","type":"string"}]}`, "implicitRules", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, rep, err := questionnaire.Parse([]byte(tc.json))
			var found *questionnaire.Unsupported
			for i, u := range rep.Unsupported {
				if u.Feature == tc.feature {
					found = &rep.Unsupported[i]
				}
			}
			if found == nil || found.Fatal != tc.fatal {
				t.Fatalf("report %v: want %s fatal=%v", rep.Unsupported, tc.feature, tc.fatal)
			}
			if tc.fatal != (err != nil) || tc.fatal != (q == nil) || rep.Refused() != tc.fatal {
				t.Fatalf("Parse = %v, %v; fatal=%v", q != nil, err, tc.fatal)
			}
			if err != nil && !portal.IsCode(err, portal.ErrInvalid) {
				t.Errorf("error code %s", portal.Code(err))
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < questionnaire.MaxItemDepth+1; i++ {
		b.WriteString(`{"linkId":"g` + strings.Repeat("i", i) + `","type":"group","item":[`)
	}
	b.WriteString(`{"linkId":"leaf","type":"string"}`)
	for i := 0; i < questionnaire.MaxItemDepth+1; i++ {
		b.WriteString(`]}`)
	}
	for _, tc := range []struct {
		name, json string
		code       portal.ErrorCode
		contains   string
	}{
		{"too large", `{"resourceType":"Questionnaire","x":"` + strings.Repeat("a", questionnaire.MaxSize) + `"}`, portal.ErrTooLarge, "limit"},
		{"JSON too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), portal.ErrInvalid, "nested deeper"},
		{"items too deep", wrap(b.String()), portal.ErrInvalid, "nested deeper than"},
		{"not JSON", `{"resourceType":`, portal.ErrInvalid, "not valid JSON"},
		{"not a Questionnaire", `{"resourceType":"Patient"}`, portal.ErrInvalid, "want Questionnaire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := questionnaire.Parse([]byte(tc.json))
			if !portal.IsCode(err, tc.code) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("err = %v, want %s containing %q", err, tc.code, tc.contains)
			}
		})
	}
}

func TestEnableWhenOperators(t *testing.T) {
	type ans = []questionnaire.Value
	for _, tc := range []struct {
		name, qtype, cond string
		answers           ans
		want              bool
	}{
		{"exists true answered", "integer", `"operator":"exists","answerBoolean":true`, ans{questionnaire.Integer(1)}, true},
		{"exists true unanswered", "integer", `"operator":"exists","answerBoolean":true`, nil, false},
		{"exists false unanswered", "integer", `"operator":"exists","answerBoolean":false`, nil, true},
		{"= integer", "integer", `"operator":"=","answerInteger":3`, ans{questionnaire.Integer(3)}, true},
		{"= integer other", "integer", `"operator":"=","answerInteger":3`, ans{questionnaire.Integer(4)}, false},
		{"!= integer", "integer", `"operator":"!=","answerInteger":3`, ans{questionnaire.Integer(4)}, true},
		{"!= unanswered is false", "integer", `"operator":"!=","answerInteger":3`, nil, false},
		{"> integer at boundary", "integer", `"operator":">","answerInteger":3`, ans{questionnaire.Integer(3)}, false},
		{">= integer at boundary", "integer", `"operator":">=","answerInteger":3`, ans{questionnaire.Integer(3)}, true},
		{"< integer", "integer", `"operator":"<","answerInteger":3`, ans{questionnaire.Integer(2)}, true},
		{"<= integer", "integer", `"operator":"<=","answerInteger":3`, ans{questionnaire.Integer(4)}, false},
		{"> decimal vs integer answer", "decimal", `"operator":">","answerDecimal":2.5`, ans{questionnaire.Integer(3)}, true},
		{"< decimal", "decimal", `"operator":"<","answerDecimal":2.5`, ans{questionnaire.Decimal("2.49")}, true},
		{"= boolean", "boolean", `"operator":"=","answerBoolean":true`, ans{questionnaire.Boolean(true)}, true},
		{"!= boolean", "boolean", `"operator":"!=","answerBoolean":true`, ans{questionnaire.Boolean(true)}, false},
		{"= string", "string", `"operator":"=","answerString":"oui"`, ans{questionnaire.String("oui")}, true},
		{"> date", "date", `"operator":">","answerDate":"2024-01-31"`, ans{questionnaire.Date("2024-02-01")}, true},
		{"<= date", "date", `"operator":"<=","answerDate":"2024-01-31"`, ans{questionnaire.Date("2024-02-01")}, false},
		{"> dateTime instants", "dateTime", `"operator":">","answerDateTime":"2024-01-01T10:00:00+01:00"`, ans{questionnaire.DateTime("2024-01-01T09:30:00Z")}, true},
		{"date precision differs", "date", `"operator":"<","answerDate":"2024-01-31"`, ans{questionnaire.Date("2023")}, false},
		{"= coding", "choice", `"operator":"=","answerCoding":{"system":"s","code":"b"}`, ans{questionnaire.Code("s", "b")}, true},
		{"= coding other system", "choice", `"operator":"=","answerCoding":{"system":"s","code":"b"}`, ans{questionnaire.Code("t", "b")}, false},
		{"!= coding among repeats", "choice", `"operator":"!=","answerCoding":{"system":"s","code":"b"}`, ans{questionnaire.Code("s", "a"), questionnaire.Code("s", "b")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := ""
			if tc.qtype == "choice" {
				opts = `,"repeats":true,"answerOption":[{"valueCoding":{"system":"s","code":"a"}},{"valueCoding":{"system":"s","code":"b"}}]`
			}
			q := mustParse(t, wrap(`{"linkId":"src","type":"`+tc.qtype+`"`+opts+`},{"linkId":"dep","type":"string","enableWhen":[{"question":"src",`+tc.cond+`}]}`))
			a := questionnaire.NewAnswers().Set("src", tc.answers...)
			if got := q.Evaluate(a).Enabled(nil, "dep"); got != tc.want {
				t.Errorf("enabled = %v, want %v", got, tc.want)
			}
		})
	}
}

const nested = `{"resourceType":"Questionnaire","url":"https://example.org/n","version":"2","item":[
 {"linkId":"kids","type":"integer","required":true},
 {"linkId":"g","type":"group","enableWhen":[{"question":"kids","operator":">","answerInteger":0}],"item":[
   {"linkId":"g.any","type":"boolean","required":true},
   {"linkId":"child","type":"group","repeats":true,"required":true,"item":[
     {"linkId":"child.age","type":"integer","required":true},
     {"linkId":"child.school","type":"string","maxLength":5,"required":true,"enableWhen":[{"question":"child.age","operator":">=","answerInteger":3}]}
   ]},
   {"linkId":"after","type":"string","enableBehavior":"any","enableWhen":[{"question":"child.age","operator":">","answerInteger":10},{"question":"g.any","operator":"=","answerBoolean":true}]}
 ]}]}`

func TestNestedAndRepeatingGroups(t *testing.T) {
	q := mustParse(t, nested)
	a := questionnaire.NewAnswers().Set("kids", questionnaire.Integer(2)).Set("g.any", questionnaire.Boolean(false))
	c1 := a.AddGroup("child").Set("child.age", questionnaire.Integer(2))
	c2 := a.AddGroup("child").Set("child.age", questionnaire.Integer(12)).Set("child.school", questionnaire.String("collège"))
	c1.Set("child.school", questionnaire.String("x")) // disabled in c1: ignored
	ev := q.Evaluate(a)
	if ev.Enabled(c1, "child.school") || !ev.Enabled(c2, "child.school") {
		t.Errorf("child.school enabled: c1 %v c2 %v", ev.Enabled(c1, "child.school"), ev.Enabled(c2, "child.school"))
	}
	if !ev.Enabled(nil, "after") {
		t.Error("after: enableBehavior any over a question in the repeating group (12 > 10) should enable it")
	}
	var codes []string
	for _, i := range ev.Issues {
		codes = append(codes, i.String())
	}
	if got, want := strings.Join(codes, ","), "child.school: max_length"; got != want {
		t.Errorf("issues %s, want %s", got, want)
	}
	if ev.Issues[0].Message.In("fr") != "La réponse est trop longue (5 caractères au plus)." || ev.Issues[0].Message.In("en") != "The answer is too long (at most 5 characters)." {
		t.Errorf("message %+v", ev.Issues[0].Message)
	}
	// kids = 0 disables the whole group, its children and their answers.
	a.Set("kids", questionnaire.Integer(0))
	ev = q.Evaluate(a)
	if ev.Enabled(nil, "g") || ev.Enabled(c2, "child.age") || len(ev.Issues) != 0 {
		t.Errorf("disabled group: g %v child.age %v issues %v", ev.Enabled(nil, "g"), ev.Enabled(c2, "child.age"), ev.Issues)
	}
	// Round trip through a QuestionnaireResponse: disabled answers dropped.
	a.Set("kids", questionnaire.Integer(2))
	c2.Set("child.school", questionnaire.String("lycée"))
	out, err := q.ResponseJSON(a, questionnaire.ResponseOptions{ID: "qr-1", Status: questionnaire.Completed, Subject: "Patient/p1"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := q.ReadResponse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if resp.Status != questionnaire.Completed || resp.Questionnaire != "https://example.org/n|2" || resp.Subject != "Patient/p1" {
		t.Errorf("metadata %+v", resp)
	}
	inst := resp.Answers.Instances("child")
	if len(inst) != 2 || len(inst[0].Get("child.school")) != 0 || inst[1].Get("child.school")[0].Str != "lycée" {
		t.Errorf("instances read back: %+v\n%s", inst, out)
	}
	again, _ := q.ResponseJSON(resp.Answers, questionnaire.ResponseOptions{ID: "qr-1", Status: questionnaire.Completed, Subject: "Patient/p1"})
	if string(again) != string(out) {
		t.Errorf("round trip differs:\n%s\n%s", out, again)
	}
	// A completed response must validate.
	c2.Set("child.age")
	if _, err := q.ResponseJSON(a, questionnaire.ResponseOptions{Status: questionnaire.Completed}); err == nil {
		t.Error("an incomplete response was written as completed")
	}
}

func TestValidation(t *testing.T) {
	q := mustParse(t, wrap(`{"linkId":"n","type":"integer"},{"linkId":"d","type":"date"},{"linkId":"c","type":"choice","required":true,"answerOption":[{"valueString":"un"},{"valueInteger":2}]},
	{"linkId":"o","type":"open-choice","answerOption":[{"valueCoding":{"system":"s","code":"a"}}]},{"linkId":"ro","type":"string","readOnly":true,"initial":[{"valueString":"fixe"}]},{"linkId":"info","type":"display"}`))
	for _, tc := range []struct {
		name string
		a    *questionnaire.Answers
		want string
	}{
		{"valid", questionnaire.NewAnswers().Set("c", questionnaire.Integer(2)).Set("o", questionnaire.String("autre")).Set("ro", questionnaire.String("fixe")), ""},
		{"required", questionnaire.NewAnswers(), "c: required"},
		{"not an option", questionnaire.NewAnswers().Set("c", questionnaire.String("deux")), "c: not_an_option"},
		{"too many", questionnaire.NewAnswers().Set("c", questionnaire.String("un"), questionnaire.Integer(2)), "c: too_many_answers"},
		{"wrong type", questionnaire.NewAnswers().Set("c", questionnaire.Integer(2)).Set("n", questionnaire.String("3")), "n: wrong_type"},
		{"bad date", questionnaire.NewAnswers().Set("c", questionnaire.Integer(2)).Set("d", questionnaire.Date("2023-02-30")), "d: invalid_date"},
		{"open-choice coding not an option", questionnaire.NewAnswers().Set("c", questionnaire.Integer(2)).Set("o", questionnaire.Code("s", "z")), "o: not_an_option"},
		{"read-only changed", questionnaire.NewAnswers().Set("c", questionnaire.Integer(2)).Set("ro", questionnaire.String("autre")), "ro: read_only"},
		{"display answered", questionnaire.NewAnswers().Set("c", questionnaire.Integer(2)).Set("info", questionnaire.String("x")), "info: not_a_question"},
		{"unknown", questionnaire.NewAnswers().Set("c", questionnaire.Integer(2)).Set("zz", questionnaire.String("x")), "zz: unknown_item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, i := range q.Evaluate(tc.a).Issues {
				got = append(got, i.String())
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("issues %v, want %q", got, tc.want)
			}
		})
	}
}

func TestParseInput(t *testing.T) {
	q := mustParse(t, wrap(`{"linkId":"n","type":"integer"},{"linkId":"x","type":"decimal"},{"linkId":"d","type":"date"},{"linkId":"s","type":"string","maxLength":3}`))
	for _, tc := range []struct{ link, in, want, issue string }{
		{"n", " 42 ", "42", ""}, {"n", "4,2", "", "invalid_integer"}, {"n", "99999999999", "", "invalid_integer"},
		{"x", "12,5", "12.5", ""}, {"x", "abc", "", "invalid_decimal"}, {"x", "1e5", "", "invalid_decimal"},
		{"d", "3/2/2024", "2024-02-03", ""}, {"d", "2024-02-30", "", "invalid_date"}, {"d", "31/02/2024", "", "invalid_date"},
		{"s", "abcd", "", "max_length"}, {"s", "été", "été", ""},
	} {
		v, iss := q.Item(tc.link).ParseInput(tc.in)
		if (iss == nil) != (tc.issue == "") || (iss != nil && string(iss.Code) != tc.issue) || (iss == nil && v.String() != tc.want) {
			t.Errorf("%s %q = %v, %v; want %q %q", tc.link, tc.in, v, iss, tc.want, tc.issue)
		}
	}
}

func TestReadResponseRejects(t *testing.T) {
	q := mustParse(t, nested)
	for _, tc := range []struct{ name, json, contains string }{
		{"other questionnaire", `{"resourceType":"QuestionnaireResponse","status":"completed","questionnaire":"https://example.org/other"}`, "answers"},
		{"unknown item", `{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"zz","answer":[{"valueString":"x"}]}]}`, "not a child"},
		{"misplaced item", `{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"child.age","answer":[{"valueInteger":3}]}]}`, "not a child"},
		{"unsupported value", `{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"kids","answer":[{"valueQuantity":{"value":3}}]}]}`, "not supported"},
		{"bad status", `{"resourceType":"QuestionnaireResponse","status":"entered-in-error"}`, "status"},
		{"modifierExtension", `{"resourceType":"QuestionnaireResponse","status":"completed","modifierExtension":[{"url":"x"}]}`, "modifierExtension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := q.ReadResponse([]byte(tc.json))
			if !portal.IsCode(err, portal.ErrInvalid) || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("err = %v, want invalid containing %q", err, tc.contains)
			}
		})
	}
}

// TestWeightsFromQuestionnaireOnly: a forged weight on a submitted Coding
// does not change the score.
func TestWeightsFromQuestionnaireOnly(t *testing.T) {
	q := mustParse(t, wrap(`{"linkId":"a","type":"choice","answerOption":[{"valueCoding":{"system":"s","code":"x","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-CO-value","valueDecimal":1.25}]}},{"valueCoding":{"system":"s","code":"y"},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/itemWeight","valueDecimal":0.1}]}]},
	{"linkId":"b","type":"choice","repeats":true,"answerOption":[{"valueCoding":{"system":"s","code":"x"},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/ordinalValue","valueDecimal":0.2}]},{"valueCoding":{"system":"s","code":"y"},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/ordinalValue","valueInteger":3}]}]}`))
	resp, err := q.ReadResponse([]byte(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"a","answer":[{"valueCoding":{"system":"s","code":"x","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/ordinalValue","valueDecimal":100}]}}]},{"linkId":"b","answer":[{"valueCoding":{"system":"s","code":"x"}},{"valueCoding":{"system":"s","code":"y"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Score(resp.Answers).Total.String(); got != "4.45" {
		t.Errorf("total %s, want 4.45 (1.25 + 0.2 + 3, exact)", got)
	}
}

func TestRiskAssessment(t *testing.T) {
	q := mustParse(t, riskQ)
	r := q.Score(questionnaire.NewAnswers().Set("q1", questionnaire.Code("s", "often")))
	b, err := q.RiskAssessmentJSON(r, questionnaire.RiskOptions{ID: "ra-1", Subject: "Patient/p1", Response: "QuestionnaireResponse/qr-1", Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	var ra struct {
		ResourceType, Status string
		Subject              struct{ Reference string }
		Basis                []struct{ Reference string }
		Prediction           []struct {
			Extension []struct {
				URL          string
				ValueDecimal json.Number
			}
			QualitativeRisk struct {
				Coding []struct{ System, Code string }
			}
		}
		Extension []struct {
			URL          string
			ValueBoolean *bool
		}
		Note []struct{ Text string }
	}
	if err := json.Unmarshal(b, &ra); err != nil {
		t.Fatal(err)
	}
	p := ra.Prediction[0]
	if ra.ResourceType != "RiskAssessment" || ra.Status != "final" || ra.Subject.Reference != "Patient/p1" || ra.Basis[0].Reference != "QuestionnaireResponse/qr-1" ||
		p.QualitativeRisk.Coding[0].Code != "high" || p.QualitativeRisk.Coding[1].System != questionnaire.SystemRiskProbability ||
		p.Extension[0].URL != questionnaire.ExtRiskScore || p.Extension[0].ValueDecimal != "2" ||
		ra.Extension[0].URL != questionnaire.ExtCareTeamAlert || !*ra.Extension[0].ValueBoolean || ra.Note[0].Text != "Call 15." {
		t.Errorf("RiskAssessment:\n%s", b)
	}
	if _, err := q.RiskAssessmentJSON(r, questionnaire.RiskOptions{Response: "QuestionnaireResponse/qr-1"}); err == nil {
		t.Error("a RiskAssessment without subject was written")
	}
	if _, err := q.RiskAssessmentJSON(q.Score(questionnaire.NewAnswers()), questionnaire.RiskOptions{Subject: "Patient/p1", Response: "QuestionnaireResponse/qr-1"}); err == nil {
		t.Error("a RiskAssessment of an incomplete response was written")
	}
}

const riskQ = `{"resourceType":"Questionnaire","url":"https://example.org/r","language":"fr","title":"Test","item":[
 {"linkId":"q1","type":"choice","required":true,"text":"Q1","_text":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/translation","extension":[{"url":"lang","valueCode":"en"},{"url":"content","valueString":"Q1 en"}]}]},
  "answerOption":[{"valueCoding":{"system":"s","code":"never","display":"Jamais"},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/ordinalValue","valueDecimal":0}]},
                  {"valueCoding":{"system":"s","code":"often","display":"Souvent"},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/ordinalValue","valueDecimal":2}]}]}],
 "extension":[{"url":"https://parcours-sante.org/fhir/StructureDefinition/risk-rules","extension":[
  {"url":"level","extension":[{"url":"code","valueCode":"low"},{"url":"display","valueString":"Faible"},{"url":"text","valueString":"Rien à signaler."},{"url":"probability","valueCode":"low"}]},
  {"url":"level","extension":[{"url":"code","valueCode":"high"},{"url":"display","valueString":"Élevé","_valueString":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/translation","extension":[{"url":"lang","valueCode":"en"},{"url":"content","valueString":"High"}]}]}},{"url":"text","valueString":"Nous vous appelons."},{"url":"careTeamAlert","valueBoolean":true},{"url":"probability","valueCode":"high"}]},
  {"url":"band","extension":[{"url":"min","valueDecimal":0},{"url":"level","valueCode":"low"}]},
  {"url":"band","extension":[{"url":"min","valueDecimal":2},{"url":"level","valueCode":"high"}]},
  {"url":"itemRule","extension":[{"url":"id","valueId":"r1"},{"url":"question","valueString":"q1"},{"url":"operator","valueCode":">"},{"url":"score","valueDecimal":0},{"url":"message","valueString":"Appelez le 15.","_valueString":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/translation","extension":[{"url":"lang","valueCode":"en"},{"url":"content","valueString":"Call 15."}]}]}},{"url":"urgent","valueBoolean":true},{"url":"careTeamAlert","valueBoolean":true}]}
 ]}]}`

func TestRiskRulesRefused(t *testing.T) {
	for _, tc := range []struct{ name, old, new string }{
		{"undefined level", `"valueCode":"high"}]},
  {"url":"itemRule"`, `"valueCode":"nope"}]},
  {"url":"itemRule"`},
		{"bands out of order", `"valueDecimal":2},{"url":"level"`, `"valueDecimal":-1},{"url":"level"`},
		{"rule on unknown question", `"valueString":"q1"}`, `"valueString":"zz"}`},
		{"bad weight", `"valueDecimal":2}]}]}]`, `"valueDecimal":2.12345}]}]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := strings.Replace(riskQ, tc.old, tc.new, 1)
			if s == riskQ {
				t.Fatal("replacement did not apply")
			}
			if _, rep, err := questionnaire.Parse([]byte(s)); err == nil {
				t.Errorf("accepted: %v", rep.Unsupported)
			}
		})
	}
}

func TestLocalized(t *testing.T) {
	q := mustParse(t, riskQ)
	it := q.Item("q1")
	if it.Text("fr") != "Q1" || it.Text("en") != "Q1 en" || it.Text("en-GB") != "Q1 en" || it.Text("de") != "Q1" || it.Text("") != "Q1" {
		t.Errorf("texts %q %q %q", it.Text("fr"), it.Text("en"), it.Text("de"))
	}
}
