package questionnaire_test

import (
	"fmt"

	"github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

// Parse reports what it cannot honour: here an SDC expression on an item
// the patient would be asked refuses the Questionnaire.
func ExampleParse() {
	_, rep, err := questionnaire.Parse([]byte(`{"resourceType":"Questionnaire","item":[
	  {"linkId":"bmi","type":"decimal","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
	    "valueExpression":{"language":"text/fhirpath","expression":"%weight / (%height * %height)"}}]},
	  {"linkId":"note","type":"string","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/regex","valueString":"[a-z]+"}]}]}`))
	fmt.Println(err != nil, rep.Refused())
	for _, u := range rep.Unsupported {
		fmt.Println(u)
	}
	// Output:
	// true true
	// warning: item note: regex: constraint on the item not enforced by the engine
	// refused: item bmi: calculatedExpression: the value is not computed and the patient would be asked it
}

// Score totals the weights of the enabled answers and classifies the total
// with the Questionnaire's risk rules; item rules raise alerts whatever the
// total.
func ExampleQuestionnaire_Score() {
	q, _ := instruments.Lookup("phq-9")
	a := questionnaire.NewAnswers()
	for i, w := range []int{1, 1, 2, 1, 0, 1, 1, 0, 1} {
		a.Set(fmt.Sprintf("phq9-%d", i+1), q.Item(fmt.Sprintf("phq9-%d", i+1)).Options[w].Value)
	}
	r := q.Score(a)
	fmt.Println(r.Total, r.Level, r.LevelDisplay.In("en"), r.CareTeamAlert)
	for _, al := range r.Alerts {
		fmt.Println(al.Rule, al.Urgent)
	}
	// Output:
	// 8 mild Mild symptoms true
	// phq9-item9-self-harm true
}

// Evaluate decides which items are enabled and validates the enabled ones.
func ExampleQuestionnaire_Evaluate() {
	q, _ := instruments.Lookup("maternite-inscription")
	a := questionnaire.NewAnswers().Set("mat-parite", questionnaire.Integer(0))
	ev := q.Evaluate(a)
	fmt.Println(ev.Enabled(nil, "mat-cesarienne"))
	a.Set("mat-parite", questionnaire.Integer(2))
	ev = q.Evaluate(a)
	fmt.Println(ev.Enabled(nil, "mat-cesarienne"), len(ev.Issues))
	fmt.Println(ev.Issues[0].LinkID, ev.Issues[0].Message.In("fr"))
	// Output:
	// false
	// true 13
	// mat-age Cette question est obligatoire.
}

// ResponseJSON writes the answers as a FHIR R4 QuestionnaireResponse.
func ExampleQuestionnaire_ResponseJSON() {
	q, _, _ := questionnaire.Parse([]byte(`{"resourceType":"Questionnaire","url":"https://example.org/q","version":"1","item":[
	  {"linkId":"smoker","type":"boolean","text":"Fumez-vous ?"},
	  {"linkId":"per-day","type":"integer","text":"Combien de cigarettes par jour ?","enableWhen":[{"question":"smoker","operator":"=","answerBoolean":true}]}]}`))
	a := questionnaire.NewAnswers().Set("smoker", questionnaire.Boolean(false)).Set("per-day", questionnaire.Integer(5))
	b, _ := q.ResponseJSON(a, questionnaire.ResponseOptions{ID: "qr-1", Status: questionnaire.Completed})
	fmt.Println(string(b))
	// Output:
	// {
	//   "resourceType": "QuestionnaireResponse",
	//   "id": "qr-1",
	//   "questionnaire": "https://example.org/q|1",
	//   "status": "completed",
	//   "item": [
	//     {
	//       "linkId": "smoker",
	//       "text": "Fumez-vous ?",
	//       "answer": [
	//         {
	//           "valueBoolean": false
	//         }
	//       ]
	//     }
	//   ]
	// }
}
