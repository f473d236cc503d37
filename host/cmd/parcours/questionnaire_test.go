package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestQuestionnaireCheck(t *testing.T) {
	dir := t.TempDir()
	refused := filepath.Join(dir, "refused.json")
	os.WriteFile(refused, []byte(`{"resourceType":"Questionnaire","item":[{"linkId":"a","type":"choice","answerValueSet":"http://loinc.org/vs/LL358-3"},{"linkId":"b","type":"attachment"}]}`), 0o600)
	for _, tc := range []struct {
		name, arg string
		refused   bool
		want      []string
	}{
		{"shipped", "phq-9", false, []string{"phq-9: accepted", "everything in it is supported", "5 risk levels"}},
		{"refused", refused, true, []string{"REFUSED", "refused: item a: answerValueSet", "refused: item b: item.type=attachment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := questionnaireCmd([]string{"check", tc.arg}, &out)
			if errors.Is(err, errRefused) != tc.refused {
				t.Fatalf("err = %v, want refused=%v\n%s", err, tc.refused, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	if err := questionnaireCmd([]string{"check", filepath.Join(dir, "missing.json")}, &bytes.Buffer{}); err == nil || errors.Is(err, errRefused) {
		t.Errorf("missing file: %v", err)
	}
}

func TestQuestionnaireScore(t *testing.T) {
	dir := t.TempDir()
	resp := filepath.Join(dir, "r.json")
	var items []string
	for i := 1; i <= 10; i++ {
		// EPDS: the last option of every item; items 3, 5-10 are reversed.
		items = append(items, `{"linkId":"epds-`+strconv.Itoa(i)+`","answer":[{"valueCoding":{"system":"https://parcours-sante.org/fhir/CodeSystem/epds-answer","code":"`+strconv.Itoa(i)+`-d"}}]}`)
	}
	os.WriteFile(resp, []byte(`{"resourceType":"QuestionnaireResponse","id":"qr-7","status":"completed","questionnaire":"https://parcours-sante.org/fhir/Questionnaire/epds|1.0.0",
	  "item":[{"linkId":"epds-questions","item":[`+strings.Join(items, ",")+`]}]}`), 0o600)
	var out bytes.Buffer
	if err := questionnaireCmd([]string{"score", "epds", resp}, &out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Response string
		Result   struct {
			Total         json.Number
			RiskLevel     string
			CareTeamAlert bool
			Alerts        []struct{ Rule string }
			Groups        []struct {
				LinkID string
				Score  json.Number
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// Items 1, 2, 4 score 3 on their last option, the reversed ones 0.
	if got.Response != "qr-7" || got.Result.Total != "9" || got.Result.RiskLevel != "below-threshold" || len(got.Result.Alerts) != 0 ||
		len(got.Result.Groups) != 1 || got.Result.Groups[0].Score != "9" {
		t.Errorf("score output:\n%s", out.String())
	}
	os.WriteFile(resp, []byte(`{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"nope","answer":[{"valueString":"x"}]}]}`), 0o600)
	if err := questionnaireCmd([]string{"score", "epds", resp}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a response to another questionnaire: %v", err)
	}
	if err := questionnaireCmd([]string{"score", "epds"}, &bytes.Buffer{}); err == nil {
		t.Error("missing argument accepted")
	}
}
