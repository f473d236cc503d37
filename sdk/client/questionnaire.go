package client

import (
	"context"
	"github.com/parcours-sante/parcours/sdk/client/uri"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// fhirJSON is a request body that is FHIR JSON already: sent as is, with
// Content-Type application/fhir+json
// (https://hl7.org/fhir/R4/http.html#mime-type).
type fhirJSON []byte

func questionnairePath(est, id string) string {
	return "/api/v1/establishments/" + uri.PathEscape(est) + "/questionnaires/" + uri.PathEscape(id)
}

// Questionnaire returns a questionnaire an establishment offers: its FHIR R4
// Questionnaire (https://hl7.org/fhir/R4/questionnaire.html) and the next
// steps per risk level. It needs no session.
func (c *Client) Questionnaire(ctx context.Context, est, id string) (portal.QuestionnaireDef, error) {
	var out portal.QuestionnaireDef
	err := c.do(ctx, "GET", questionnairePath(est, id), nil, nil, &out)
	return out, err
}

// Draft returns the signed-in patient's draft of a questionnaire, or an
// error with code portal.ErrNotFound when there is none.
func (c *Client) Draft(ctx context.Context, est, id string) (portal.QuestionnaireDraft, error) {
	var out portal.QuestionnaireDraft
	err := c.do(ctx, "GET", questionnairePath(est, id)+"/draft", nil, nil, &out)
	if err == nil && out.Response == nil {
		// 204: the patient has no draft.
		return out, portal.Errorf(portal.ErrNotFound, "no draft of questionnaire %q", id)
	}
	return out, err
}

// SaveDraft creates or replaces the signed-in patient's draft. response is a
// FHIR R4 QuestionnaireResponse (https://hl7.org/fhir/R4/questionnaireresponse.html)
// in JSON, as sdk/questionnaire writes it; answers need not validate yet.
// The host stores the draft re-written from the answers (status in-progress,
// the session's patient), which the returned draft carries.
func (c *Client) SaveDraft(ctx context.Context, est, id string, response []byte) (portal.QuestionnaireDraft, error) {
	var out portal.QuestionnaireDraft
	err := c.do(ctx, "PUT", questionnairePath(est, id)+"/draft", nil, fhirJSON(response), &out)
	return out, err
}

// DeleteDraft deletes the signed-in patient's draft; deleting none is not an
// error.
func (c *Client) DeleteDraft(ctx context.Context, est, id string) error {
	return c.do(ctx, "DELETE", questionnairePath(est, id)+"/draft", nil, nil, nil)
}

// SubmitResponse submits the signed-in patient's completed response (a FHIR
// R4 QuestionnaireResponse in JSON). The host validates and scores the
// answers itself: an incomplete response is refused with
// portal.ErrResponseIncomplete. key is generated once per submission intent
// and sent again on every retry (the Idempotency-Key header): a retry
// answers the submission already made.
func (c *Client) SubmitResponse(ctx context.Context, est, id string, response []byte, key string) (portal.QuestionnaireSubmission, error) {
	var out portal.QuestionnaireSubmission
	if err := portal.ValidateIdempotencyKey(key); err != nil {
		return out, err
	}
	h := map[string]string{"Idempotency-Key": key}
	err := c.do(ctx, "POST", questionnairePath(est, id)+"/responses", h, fhirJSON(response), &out)
	return out, err
}

// Submission returns one of the signed-in patient's submitted responses,
// with the result the host computed.
func (c *Client) Submission(ctx context.Context, id string) (portal.QuestionnaireSubmission, error) {
	var out portal.QuestionnaireSubmission
	err := c.do(ctx, "GET", "/api/v1/questionnaire-responses/"+uri.PathEscape(id), nil, nil, &out)
	return out, err
}
