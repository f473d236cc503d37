package host

import (
	"net/url"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// readOnlyQuestionnaire has a read-only question with its answer given
// (initial), which the patient reads but cannot change, before one to
// answer.
const readOnlyQuestionnaire = `{
  "resourceType": "Questionnaire", "id": "suivi", "status": "active", "language": "fr", "title": "Suivi",
  "item": [
    {"linkId": "lieu", "type": "string", "text": "Lieu du suivi", "readOnly": true, "initial": [{"valueString": "Maternité du CHU Exemple"}]},
    {"linkId": "motif", "type": "string", "text": "Motif", "required": true}
  ]
}`

// TestQuestionnaireFormPostKeepsReadOnlyAnswers: through form posts (before
// the Wasm, or without it), the answer a read-only question starts with is
// kept from one post to the next and sent, although a read-only field is
// never posted (were it lost, the review could not be sent: "Cette réponse
// ne peut pas être modifiée", about a question the patient cannot change).
func TestQuestionnaireFormPostKeepsReadOnlyAnswers(t *testing.T) {
	cfg := questionnaireConfig(t)
	store := cfg.Questionnaires.(*sqlite.Store)
	if err := store.PutQuestionnaire(t.Context(), portal.QuestionnaireDef{
		ID: "suivi", Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite,
		Title: portal.Text{FR: "Suivi"}, Resource: []byte(readOnlyQuestionnaire),
	}); err != nil {
		t.Fatal(err)
	}
	b := newFormBrowser(t, cfg)
	doc := b.get("/w/questionnaire?" + url.Values{
		"establishment": {sqlite.DemoEstablishment}, "questionnaire": {"suivi"}, "lang": {"fr"}, "parent": {testPageOrigin},
	}.Encode())
	doc = b.post(doc, "sign-in", url.Values{"demo": {sqlite.DemoPatientInesMoreau}})
	doc = b.post(doc, "begin", nil)
	if !strings.Contains(doc, "Maternité du CHU Exemple") {
		t.Fatalf("the read-only answer is not shown:\n%s", firstPaint(t, doc))
	}
	for range 3 { // to the review: the questions may be on pages of their own
		if strings.Contains(doc, `data-step="review"`) {
			break
		}
		doc = b.post(doc, "next", url.Values{"motif": {"Première grossesse"}})
	}
	if !strings.Contains(doc, `data-step="review"`) || !strings.Contains(doc, "Maternité du CHU Exemple") {
		t.Fatalf("the review lacks the read-only answer:\n%s", firstPaint(t, doc))
	}
	doc = b.post(doc, "submit", nil)
	if !strings.Contains(doc, `data-step="result"`) {
		t.Fatalf("not sent:\n%s", firstPaint(t, doc))
	}
}
