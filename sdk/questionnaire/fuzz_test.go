package questionnaire_test

import (
	"testing"

	"github.com/parcours-sante/parcours/sdk/questionnaire"
)

func FuzzParse(f *testing.F) {
	// The shipped instruments (45-65 KB each) are left out of the seeds: Go's
	// fuzzer barely advances with inputs that large; TestInstrumentsSupported
	// parses them, and riskQ and nested cover the same constructs.
	f.Add([]byte(nested))
	f.Add([]byte(riskQ))
	f.Add([]byte(wrap(`{"linkId":"a","type":"string","enableWhen":[{"question":"b","operator":"exists","answerBoolean":true}]},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		q, rep, err := questionnaire.Parse(data)
		if (q == nil) != (err != nil) {
			t.Fatalf("q %v err %v", q != nil, err)
		}
		if err == nil && rep.Refused() {
			t.Fatal("accepted with a fatal part")
		}
		if q != nil {
			r := q.Score(questionnaire.NewAnswers())
			if _, err := q.ResponseJSON(questionnaire.NewAnswers(), questionnaire.ResponseOptions{}); err != nil {
				t.Fatal(err)
			}
			_ = r
		}
	})
}

// FuzzEvaluate reads fuzzed responses to a questionnaire with nested
// repeating groups and enableWhen across them, then evaluates, scores and
// writes them back.
func FuzzEvaluate(f *testing.F) {
	q, _, err := questionnaire.Parse([]byte(nested))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"kids","answer":[{"valueInteger":2}]},{"linkId":"g","item":[{"linkId":"child","item":[{"linkId":"child.age","answer":[{"valueInteger":12}]}]},{"linkId":"child","item":[{"linkId":"child.age","answer":[{"valueInteger":1}]},{"linkId":"child.school","answer":[{"valueString":"abcdefg"}]}]}]}]}`))
	f.Add([]byte(`{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[{"linkId":"g","item":[{"linkId":"g.any","answer":[{"valueBoolean":true},{"valueBoolean":false}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := q.ReadResponse(data)
		if err != nil {
			return
		}
		ev := q.Evaluate(resp.Answers)
		r := q.Score(resp.Answers)
		if r.Complete != (len(ev.Issues) == 0) {
			t.Fatal("Score and Evaluate disagree")
		}
		out, err := q.ResponseJSON(resp.Answers, questionnaire.ResponseOptions{Status: questionnaire.InProgress})
		if err != nil {
			t.Fatal(err)
		}
		back, err := q.ReadResponse(out)
		if err != nil {
			t.Fatalf("cannot read back what was written: %v\n%s", err, out)
		}
		if q.Score(back.Answers).Total != r.Total {
			t.Fatal("score changed through a round trip")
		}
	})
}
