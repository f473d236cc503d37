package questionnaire_test

import (
	"bytes"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/questionnaire"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
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
	f.Add([]byte(`{"resourceType":"QuestionnaireResponse","status":"in-progress","item":[{"linkId":"kids","answer":[{"valueInteger":2}]},{"linkId":"g","item":[{"id":"i2","linkId":"child"},{"linkId":"child"},{"id":"i2","linkId":"child","item":[{"linkId":"child.age","answer":[{"valueInteger":4}]}]},{"id":"x y","linkId":"child"}]}]}`))
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
		// A draft read back is written the same: its instances keep their ids.
		if again, err := q.ResponseJSON(back.Answers, questionnaire.ResponseOptions{Status: questionnaire.InProgress}); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("a draft read back is written otherwise (%v):\n%s\n%s", err, out, again)
		}
	})
}

// FuzzReadResponse reads fuzzed QuestionnaireResponses to the maternity
// registration (groups, enableWhen, integers, dates, free text, risk rules)
// the way the host does with what a browser sends: a refusal is
// invalid_request; an accepted response normalises (the draft the host
// stores) to a fixed point that scores the same; a response without issue
// is written as completed and, with a level, as a RiskAssessment. Seeds are
// in testdata/fuzz/FuzzReadResponse.
func FuzzReadResponse(f *testing.F) {
	q, err := instruments.Lookup("maternite-inscription")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := q.ReadResponse(data)
		if err != nil {
			if code := portal.Code(err); code != portal.ErrInvalid && code != portal.ErrTooLarge {
				t.Fatalf("refusal with code %q: %v", code, err)
			}
			return
		}
		score := q.Score(resp.Answers)
		draft, err := q.ResponseJSON(resp.Answers, questionnaire.ResponseOptions{Status: questionnaire.InProgress, Subject: "Patient/p"})
		if err != nil {
			t.Fatal(err)
		}
		back, err := q.ReadResponse(draft)
		if err != nil {
			t.Fatalf("cannot read back the normalised draft: %v\n%s", err, draft)
		}
		again, err := q.ResponseJSON(back.Answers, questionnaire.ResponseOptions{Status: questionnaire.InProgress, Subject: "Patient/p"})
		if err != nil || !bytes.Equal(again, draft) {
			t.Fatalf("normalising twice changed the draft (%v):\n%s\n%s", err, draft, again)
		}
		rescored := q.Score(back.Answers)
		if rescored.Total != score.Total || rescored.Level != score.Level || rescored.Complete != score.Complete {
			t.Fatalf("the normalised draft scores %s/%s/%v, the response %s/%s/%v",
				rescored.Total, rescored.Level, rescored.Complete, score.Total, score.Level, score.Complete)
		}
		if len(q.Evaluate(resp.Answers).Issues) > 0 {
			return
		}
		if _, err := q.ResponseJSON(resp.Answers, questionnaire.ResponseOptions{ID: "qr-1", Status: questionnaire.Completed, Subject: "Patient/p"}); err != nil {
			t.Fatalf("a response without issue is not written as completed: %v", err)
		}
		if score.Level != "" {
			if _, err := q.RiskAssessmentJSON(score, questionnaire.RiskOptions{Subject: "Patient/p", Response: "QuestionnaireResponse/qr-1"}); err != nil {
				t.Fatalf("no RiskAssessment for level %s: %v", score.Level, err)
			}
		}
	})
}
