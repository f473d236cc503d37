package fhir

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// This file is portal.Questionnaires over FHIR (mapping in
// questionnaire_map.go and docs/fhir.md, "Questionnaires"):
//
//   - a questionnaire an establishment offers is an active Questionnaire
//     (https://hl7.org/fhir/R4/questionnaire.html) with the identifier
//     SystemQuestionnaireID|name and a useContext naming the Organization
//     and the HealthcareService (SystemUsageContext), its next steps in
//     ExtNextStep;
//   - a draft is a QuestionnaireResponse in-progress
//     (https://hl7.org/fhir/R4/questionnaireresponse.html), one per patient
//     and questionnaire (identifier SystemQuestionnaireDraft), replaced
//     with If-Match;
//   - a submission is a QuestionnaireResponse completed, made by a
//     conditional create on SystemSubmissionKey (patient and idempotency
//     key), then a RiskAssessment (https://hl7.org/fhir/R4/riskassessment.html)
//     holding the score and level and, when the care team must be alerted,
//     a Communication to the HealthcareService
//     (https://hl7.org/fhir/R4/communication.html), each by a conditional
//     create on the same key.
//
// Who sees what is decided here from the context's subject, never by the
// server: drafts and submissions are searched by identifier and kept only
// if their subject is the context's patient; another patient's answer is
// exactly an unknown one.
//
// The portal's JSON (the browser's QuestionnaireResponse, the host's
// RiskAssessment and result) is kept byte for byte in base64 extensions of
// the QuestionnaireResponse (ExtPortalResponse, ExtPortalRiskAssessment,
// ExtQuestionnaireResult): servers normalise what they store, and a draft
// need not be valid FHIR yet. The QuestionnaireResponse of a submission
// also carries the answers (item) as FHIR, for the hospital's own tools,
// when the server accepts them.

var _ portal.Questionnaires = (*Backend)(nil)

// draftAttempts bounds how often SaveDraft tries again after a concurrent
// save of the same draft (a 412, or a create another save won).
const draftAttempts = 4

// Questionnaire returns a questionnaire establishment est offers: the
// active Questionnaire with identifier SystemQuestionnaireID|id whose
// useContext names Organization est. It needs no subject: questionnaires
// are public. An unknown or inactive establishment or questionnaire is
// ErrNotFound.
func (b *Backend) Questionnaire(ctx context.Context, est, id string) (portal.QuestionnaireDef, error) {
	q, _, err := b.offered(ctx, est, id)
	if err != nil {
		return portal.QuestionnaireDef{}, err
	}
	return q.def(), nil
}

// offered returns the questionnaire id of establishment est and the
// establishment's time zone (search Questionnaire?identifier=). Should
// several active Questionnaires match, the one with the smallest logical
// id wins, the same for every caller.
func (b *Backend) offered(ctx context.Context, est, id string) (offeredQuestionnaire, *time.Location, error) {
	notFound := portal.Errorf(portal.ErrNotFound, "questionnaire %q of establishment %q not found", id, est)
	if !validID(est) || id == "" {
		return offeredQuestionnaire{}, nil, notFound
	}
	o, err := b.organization(ctx, est)
	if err != nil {
		return offeredQuestionnaire{}, nil, err
	}
	all, err := b.questionnairesNamed(ctx, est, id)
	if err != nil {
		return offeredQuestionnaire{}, nil, err
	}
	i := slices.IndexFunc(all, func(q offeredQuestionnaire) bool { return q.Status == "active" })
	if i < 0 {
		return offeredQuestionnaire{}, nil, notFound
	}
	q := all[i]
	return q, b.location(o.TimeZone), nil
}

// Drafts.

// draftKey is the SystemQuestionnaireDraft value of a patient's draft.
func draftKey(patient, est, questionnaire string) string {
	return requestDigest("questionnaire-draft/v1", patient, est, questionnaire)
}

// submissionKey is the SystemSubmissionKey value of a patient's submission
// with idempotency key: it scopes the key to the patient and keeps it out
// of search URLs.
func submissionKey(patient, key string) string {
	return requestDigest("questionnaire-submission/v1", patient, key)
}

// Draft returns the context's patient's draft of a questionnaire, or
// ErrNotFound (whoever else has one).
func (b *Backend) Draft(ctx context.Context, est, questionnaire string) (portal.QuestionnaireDraft, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	d, ok, err := b.findDraft(ctx, patient, est, questionnaire)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	if !ok {
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrNotFound, "no draft of questionnaire %q of establishment %q", questionnaire, est)
	}
	return d.draft(), nil
}

// findDraft returns patient's draft (search
// QuestionnaireResponse?identifier=SystemQuestionnaireDraft|key), if any:
// the one last authored should a server have made two.
func (b *Backend) findDraft(ctx context.Context, patient, est, questionnaire string) (storedResponse, bool, error) {
	all, err := b.drafts(ctx, patient, est, questionnaire)
	if err != nil || len(all) == 0 {
		return storedResponse{}, false, err
	}
	return slices.MaxFunc(all, func(x, y storedResponse) int {
		return cmp.Or(x.Authored.Compare(y.Authored), strings.Compare(x.LogicalID, y.LogicalID))
	}), true, nil
}

// drafts returns every draft of patient's for a questionnaire.
func (b *Backend) drafts(ctx context.Context, patient, est, questionnaire string) ([]storedResponse, error) {
	key := draftKey(patient, est, questionnaire)
	found, err := b.search(ctx, "QuestionnaireResponse", values("identifier", SystemQuestionnaireDraft+"|"+key))
	if err != nil {
		return nil, err
	}
	var out []storedResponse
	for _, r := range found {
		if r.Get("resourceType").String() != "QuestionnaireResponse" {
			continue
		}
		s, err := storedResponseFrom(r)
		if err != nil {
			b.skip("QuestionnaireResponse", err)
			continue
		}
		if s.Status == "in-progress" && s.DraftKey == key && s.Patient == patient &&
			s.Establishment == est && s.Questionnaire == questionnaire {
			out = append(out, s)
		}
	}
	return out, nil
}

// SaveDraft creates or replaces the context's patient's draft of
// d.Questionnaire, authored at Config.Now, and returns it as stored.
//
// d.Response must be a QuestionnaireResponse in JSON (ErrInvalid), of at
// most portal.MaxQuestionnaireResponse bytes (ErrTooLarge); it is kept
// byte for byte in ExtPortalResponse. An unknown questionnaire is
// ErrNotFound. An existing draft is replaced by an update with If-Match on
// the version read; a new one is made by a conditional create on its
// identifier, so two saves never make two drafts. Of concurrent saves the
// last one wins.
func (b *Backend) SaveDraft(ctx context.Context, d portal.QuestionnaireDraft) (portal.QuestionnaireDraft, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	switch {
	case d.Establishment == "":
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrInvalid, "establishment is required")
	case d.Questionnaire == "":
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrInvalid, "questionnaire is required")
	}
	if err := checkPortalResource("the response", d.Response, "QuestionnaireResponse"); err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	q, loc, err := b.offered(ctx, d.Establishment, d.Questionnaire)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	key := draftKey(patient, d.Establishment, d.Questionnaire)
	res := map[string]any{
		"resourceType":  "QuestionnaireResponse",
		"identifier":    map[string]any{"system": SystemQuestionnaireDraft, "value": key},
		"status":        "in-progress",
		"questionnaire": q.Canonical,
		"subject":       referenceJSON{Reference: ref("Patient", patient)},
		"author":        referenceJSON{Reference: ref("Patient", patient)},
		"source":        referenceJSON{Reference: ref("Patient", patient)},
		"authored":      formatInstant(b.now().In(loc)),
		"extension": []any{
			questionnaireContext{Establishment: d.Establishment, Questionnaire: d.Questionnaire}.json(),
			map[string]any{"url": ExtPortalResponse, "valueBase64Binary": base64.StdEncoding.EncodeToString(d.Response)},
		},
	}
	for attempt := 1; ; attempt++ {
		stored, err := b.putDraft(ctx, patient, d.Establishment, d.Questionnaire, key, res)
		if err == nil {
			return stored.draft(), nil
		}
		if !errorIs412(err) || attempt >= draftAttempts {
			return portal.QuestionnaireDraft{}, err
		}
	}
}

// errorIs412 reports a write that lost a race: a stale If-Match, or a
// conditional create that found another save's draft.
func errorIs412(err error) bool { return statusOf(err) == http.StatusPreconditionFailed }

// putDraft writes res as patient's draft: an update of the existing one
// with If-Match, else a conditional create. A create that finds a draft
// (made concurrently) is reported as a 412, for SaveDraft to try again.
func (b *Backend) putDraft(ctx context.Context, patient, est, questionnaire, key string, res map[string]any) (storedResponse, error) {
	existing, ok, err := b.findDraft(ctx, patient, est, questionnaire)
	if err != nil {
		return storedResponse{}, err
	}
	var r request
	if ok {
		res["id"] = existing.LogicalID
		r = request{method: http.MethodPut, path: ref("QuestionnaireResponse", existing.LogicalID), ifMatch: existing.Version, op: opWrite}
	} else {
		delete(res, "id")
		r = request{method: http.MethodPost, path: "QuestionnaireResponse", ifNoneExist: "identifier=" + SystemQuestionnaireDraft + "|" + key, op: opWrite}
	}
	if r.body, err = json.Marshal(res); err != nil {
		return storedResponse{}, err
	}
	out, _, created, err := b.write(ctx, r, "QuestionnaireResponse")
	if err != nil {
		return storedResponse{}, err
	}
	if !ok && !created {
		return storedResponse{}, newCallError(r.method, r.path, http.StatusPreconditionFailed, nil, opWrite, nil)
	}
	s, err := storedResponseFrom(out)
	if err != nil {
		return storedResponse{}, b.badData("QuestionnaireResponse", err)
	}
	return s, nil
}

// DeleteDraft deletes the context's patient's draft of a questionnaire;
// deleting none is not an error.
func (b *Backend) DeleteDraft(ctx context.Context, est, questionnaire string) error {
	patient, err := requirePatient(ctx)
	if err != nil {
		return err
	}
	return b.deleteDrafts(ctx, patient, est, questionnaire, time.Time{})
}

// deleteDrafts deletes patient's drafts of a questionnaire; with before
// set, only those authored before it.
func (b *Backend) deleteDrafts(ctx context.Context, patient, est, questionnaire string, before time.Time) error {
	all, err := b.drafts(ctx, patient, est, questionnaire)
	if err != nil {
		return err
	}
	for _, d := range all {
		if !before.IsZero() && !d.Authored.Before(before) {
			continue
		}
		// If-Match: a draft saved since it was read (from another
		// device) is newer than what this call decided to delete, and
		// stays (412).
		_, err := b.do(ctx, request{method: http.MethodDelete, path: ref("QuestionnaireResponse", d.LogicalID), ifMatch: d.Version, op: opWrite})
		switch statusOf(err) {
		case 0:
			if err != nil {
				return err
			}
		case http.StatusNotFound, http.StatusGone, http.StatusPreconditionFailed:
		default:
			return err
		}
	}
	return nil
}

// Submissions.

// Submit records a scored submission for the context's patient and returns
// it as recorded.
//
// Checks come first, as in every backend: an invalid submission is
// refused (ErrInvalid, ErrTooLarge, ErrIdempotencyKeyMissing), then a key
// this patient already used returns the submission it made, unchanged, if
// it was for the same establishment and questionnaire (whatever the new ID
// and documents) and is ErrIdempotencyKeyReused otherwise, then an unknown
// questionnaire is ErrNotFound and an ID that a submission holds already,
// this patient's or another's, ErrInvalid (not saying whose).
//
// Then, without a transaction (servers need not have atomic ones):
//
//  1. the QuestionnaireResponse (completed, authored at Config.Now,
//     identifier SystemQuestionnaireSubmission|ID) by a conditional create
//     on its tag SystemSubmissionKey|digest (If-None-Exist: _tag=): of
//     concurrent retries, one creates it and the others get it;
//  2. the RiskAssessment, when the submission has one, by a conditional
//     create on the same key;
//  3. the Communication alerting the care team, when Result.CareTeamAlert
//     is set, likewise;
//  4. the patient's draft of the questionnaire deleted.
//
// Steps 2 and 3 are written from the stored QuestionnaireResponse, not
// from the request: a retry of a submission that failed after step 1 makes
// what is missing, and nothing twice. A replay deletes only a draft older
// than the submission.
//
// The ID is checked by a search before the create: two patients who chose
// the same ID at the same instant could both pass it. IDs are random and
// chosen once per submission by the client, and Submission finds a
// patient's own only, so neither would see the other's.
func (b *Backend) Submit(ctx context.Context, sub portal.QuestionnaireSubmission) (portal.QuestionnaireSubmission, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	if err := validateSubmission(sub); err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	result, err := json.Marshal(sub.Result)
	if err != nil {
		return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrInvalid, "the result cannot be encoded")
	}
	if len(result) > portal.MaxQuestionnaireResponse {
		return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrTooLarge, "the result exceeds %d bytes", portal.MaxQuestionnaireResponse)
	}
	key := submissionKey(patient, sub.IdempotencyKey)

	// Idempotency first.
	if s, ok, err := b.findSubmission(ctx, patient, SystemSubmissionKey, key); err != nil {
		return portal.QuestionnaireSubmission{}, err
	} else if ok {
		return b.finish(ctx, patient, s, sub, false)
	}

	q, loc, err := b.offered(ctx, sub.Establishment, sub.Questionnaire)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	if taken, err := b.submissionsWith(ctx, SystemQuestionnaireSubmission, sub.ID); err != nil {
		return portal.QuestionnaireSubmission{}, err
	} else if len(taken) > 0 {
		// Never replaced: the id is written in the Response.
		return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrInvalid, "submission id %q is already taken", sub.ID)
	}

	authored := formatInstant(b.now().In(loc))
	exts := []any{
		questionnaireContext{Establishment: sub.Establishment, Questionnaire: sub.Questionnaire, Service: q.Service}.json(),
		map[string]any{"url": ExtPortalResponse, "valueBase64Binary": base64.StdEncoding.EncodeToString(sub.Response)},
	}
	if len(sub.RiskAssessment) > 0 {
		exts = append(exts, map[string]any{"url": ExtPortalRiskAssessment, "valueBase64Binary": base64.StdEncoding.EncodeToString(sub.RiskAssessment)})
	}
	exts = append(exts, map[string]any{"url": ExtQuestionnaireResult, "valueBase64Binary": base64.StdEncoding.EncodeToString(result)})
	res := map[string]any{
		"resourceType":  "QuestionnaireResponse",
		"meta":          map[string]any{"tag": []any{map[string]any{"system": SystemSubmissionKey, "code": key}}},
		"identifier":    identifierJSON{System: SystemQuestionnaireSubmission, Value: sub.ID},
		"status":        "completed",
		"questionnaire": q.Canonical,
		"subject":       referenceJSON{Reference: ref("Patient", patient)},
		"author":        referenceJSON{Reference: ref("Patient", patient)},
		"source":        referenceJSON{Reference: ref("Patient", patient)},
		"authored":      authored,
		"extension":     exts,
	}
	if it := responseItems(sub.Response); it != nil {
		res["item"] = it
	}
	stored, created, err := b.createSubmission(ctx, res, key)
	if err != nil && res["item"] != nil && (statusOf(err) == http.StatusBadRequest || statusOf(err) == http.StatusUnprocessableEntity) {
		// The server refused the answers as FHIR (a browser's response
		// need not be valid to the last detail): the submission is kept
		// without them, its portal JSON whole in ExtPortalResponse.
		b.log.Warn("fhir: a submission's answers are not valid FHIR; stored without item", "questionnaire", q.LogicalID)
		delete(res, "item")
		stored, created, err = b.createSubmission(ctx, res, key)
	}
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	return b.finish(ctx, patient, stored, sub, created)
}

// createSubmission makes a submission's QuestionnaireResponse by a
// conditional create on its key tag, and reports whether it was created
// (false: a concurrent retry made it first).
func (b *Backend) createSubmission(ctx context.Context, res map[string]any, key string) (storedResponse, bool, error) {
	body, err := json.Marshal(res)
	if err != nil {
		return storedResponse{}, false, err
	}
	out, _, created, err := b.write(ctx, request{
		method: http.MethodPost, path: "QuestionnaireResponse", body: body,
		ifNoneExist: "_tag=" + SystemSubmissionKey + "|" + key, op: opWrite,
	}, "QuestionnaireResponse")
	if err != nil {
		return storedResponse{}, false, err
	}
	s, err := storedResponseFrom(out)
	if err != nil {
		return storedResponse{}, false, b.badData("QuestionnaireResponse", err)
	}
	return s, created, nil
}

// finish completes the recorded submission s that request sub made
// (created) or found: another establishment or questionnaire is
// ErrIdempotencyKeyReused; otherwise the RiskAssessment and Communication
// are made if missing, the patient's draft deleted (on a replay, only one
// older than the submission), and the submission returned as recorded.
func (b *Backend) finish(ctx context.Context, patient string, s storedResponse, sub portal.QuestionnaireSubmission, created bool) (portal.QuestionnaireSubmission, error) {
	if s.Patient != patient || s.Status != "completed" {
		// A server that matched If-None-Exist on something else.
		return portal.QuestionnaireSubmission{}, b.badData("QuestionnaireResponse", errors.New("conditional create matched another patient's or a withdrawn submission"))
	}
	if s.Establishment != sub.Establishment || s.Questionnaire != sub.Questionnaire {
		return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrIdempotencyKeyReused,
			"idempotency key already used by submission %s for another questionnaire", s.SubmissionID)
	}
	if len(s.Risk) > 0 {
		if err := b.createRiskAssessment(ctx, s); err != nil {
			return portal.QuestionnaireSubmission{}, err
		}
	}
	if s.Result.CareTeamAlert {
		if err := b.createCareTeamAlert(ctx, s); err != nil {
			return portal.QuestionnaireSubmission{}, err
		}
	}
	before := s.Authored
	if created {
		before = time.Time{}
	}
	if err := b.deleteDrafts(ctx, patient, s.Establishment, s.Questionnaire, before); err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	out := s.submission()
	// The key matched; only its digest is stored, so Submission never
	// returns one.
	out.IdempotencyKey = sub.IdempotencyKey
	return out, nil
}

// riskAssessmentJSON is the RiskAssessment of submission s
// (https://hl7.org/fhir/R4/riskassessment.html): the score in
// ExtQuestionnaireScore, the level in prediction.qualitativeRisk.
func riskAssessmentJSON(s storedResponse) map[string]any {
	exts := []any{s.questionnaireContext.json()}
	if n, ok := fhirDecimal(s.Result.Total); ok {
		exts = append(exts, map[string]any{"url": ExtQuestionnaireScore, "valueDecimal": n})
	}
	res := map[string]any{
		"resourceType":       "RiskAssessment",
		"identifier":         []any{identifierJSON{System: SystemSubmissionKey, Value: s.SubmissionKey}},
		"status":             "final",
		"subject":            referenceJSON{Reference: ref("Patient", s.Patient)},
		"occurrenceDateTime": s.Authored.Format(time.RFC3339),
		"basis":              []any{referenceJSON{Reference: ref("QuestionnaireResponse", s.LogicalID)}},
		"extension":          exts,
	}
	if s.Result.Level != "" {
		coding := map[string]any{"system": SystemRiskLevel, "code": s.Result.Level}
		if s.Result.LevelDisplay.FR != "" {
			coding["display"] = s.Result.LevelDisplay.FR
		}
		res["prediction"] = []any{map[string]any{
			"qualitativeRisk": map[string]any{"coding": []any{coding}},
		}}
	}
	return res
}

// createRiskAssessment makes the RiskAssessment of s unless it exists
// (conditional create on identifier SystemSubmissionKey).
func (b *Backend) createRiskAssessment(ctx context.Context, s storedResponse) error {
	body, err := json.Marshal(riskAssessmentJSON(s))
	if err != nil {
		return err
	}
	_, err = b.do(ctx, request{
		method: http.MethodPost, path: "RiskAssessment", body: body,
		ifNoneExist: "identifier=" + SystemSubmissionKey + "|" + s.SubmissionKey, op: opWrite,
	})
	return err
}

// careTeamAlertJSON is the Communication alerting the service of s
// (https://hl7.org/fhir/R4/communication.html): to the HealthcareService,
// about the QuestionnaireResponse, priority urgent or routine, the level in
// reasonCode. It holds no answer.
func careTeamAlertJSON(s storedResponse) map[string]any {
	priority := "routine"
	if s.Result.Urgent {
		priority = "urgent"
	}
	res := map[string]any{
		"resourceType": "Communication",
		"identifier": []any{
			identifierJSON{System: SystemSubmissionKey, Value: s.SubmissionKey},
			identifierJSON{System: SystemQuestionnaireSubmission, Value: s.SubmissionID},
		},
		"status":    "completed",
		"category":  []any{map[string]any{"coding": []any{map[string]any{"system": SystemCareTeamAlert, "code": CodeQuestionnaireAlert}}}},
		"priority":  priority,
		"subject":   referenceJSON{Reference: ref("Patient", s.Patient)},
		"about":     []any{referenceJSON{Reference: ref("QuestionnaireResponse", s.LogicalID)}},
		"sent":      s.Authored.Format(time.RFC3339),
		"recipient": []any{referenceJSON{Reference: ref("HealthcareService", s.Service)}},
		"payload": []any{map[string]any{
			"contentString": "Un questionnaire soumis demande l'attention de l'équipe soignante.",
		}},
		"extension": []any{s.questionnaireContext.json()},
	}
	if s.Result.Level != "" {
		res["reasonCode"] = []any{map[string]any{"coding": []any{map[string]any{"system": SystemRiskLevel, "code": s.Result.Level}}}}
	}
	return res
}

// createCareTeamAlert makes the Communication of s unless it exists
// (conditional create on identifier SystemSubmissionKey): one alert per
// submission, whatever the retries.
func (b *Backend) createCareTeamAlert(ctx context.Context, s storedResponse) error {
	body, err := json.Marshal(careTeamAlertJSON(s))
	if err != nil {
		return err
	}
	_, err = b.do(ctx, request{
		method: http.MethodPost, path: "Communication", body: body,
		ifNoneExist: "identifier=" + SystemSubmissionKey + "|" + s.SubmissionKey, op: opWrite,
	})
	return err
}

// findSubmission returns patient's submission found by search param
// (system|value), if any: the first created (then smallest id) should a
// server have made two.
func (b *Backend) findSubmission(ctx context.Context, patient, system, value string) (storedResponse, bool, error) {
	all, err := b.submissionsWith(ctx, system, value)
	if err != nil {
		return storedResponse{}, false, err
	}
	all = slices.DeleteFunc(all, func(s storedResponse) bool { return s.Patient != patient })
	if len(all) == 0 {
		return storedResponse{}, false, nil
	}
	return slices.MinFunc(all, func(x, y storedResponse) int {
		return cmp.Or(x.Authored.Compare(y.Authored), strings.Compare(x.LogicalID, y.LogicalID))
	}), true, nil
}

// submissionsWith returns every patient's completed submissions with
// identifier SystemQuestionnaireSubmission|value, or tagged
// SystemSubmissionKey|value.
func (b *Backend) submissionsWith(ctx context.Context, system, value string) ([]storedResponse, error) {
	param := "identifier"
	if system == SystemSubmissionKey {
		param = "_tag"
	}
	found, err := b.search(ctx, "QuestionnaireResponse", values(param, system+"|"+value))
	if err != nil {
		return nil, err
	}
	var out []storedResponse
	for _, r := range found {
		if r.Get("resourceType").String() != "QuestionnaireResponse" {
			continue
		}
		s, err := storedResponseFrom(r)
		if err != nil {
			b.skip("QuestionnaireResponse", err)
			continue
		}
		if s.Status != "completed" {
			continue
		}
		if system == SystemSubmissionKey && s.SubmissionKey == value || system == SystemQuestionnaireSubmission && s.SubmissionID == value {
			out = append(out, s)
		}
	}
	return out, nil
}

// Submission returns one of the context's patient's submissions (search
// QuestionnaireResponse?identifier=SystemQuestionnaireSubmission|id); a
// submission of another patient is exactly an unknown one, ErrNotFound.
func (b *Backend) Submission(ctx context.Context, id string) (portal.QuestionnaireSubmission, error) {
	patient, err := requirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	notFound := portal.Errorf(portal.ErrNotFound, "submission %q not found", id)
	if !validID(id) {
		return portal.QuestionnaireSubmission{}, notFound
	}
	s, ok, err := b.findSubmission(ctx, patient, SystemQuestionnaireSubmission, id)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	if !ok {
		return portal.QuestionnaireSubmission{}, notFound
	}
	return s.submission(), nil
}

// Care team.

// CareTeamAlerts lists the alerts of a service, newest first: the
// Communications of category SystemCareTeamAlert|CodeQuestionnaireAlert to
// the HealthcareService (search Communication?recipient=&category=),
// ordered by sent then logical id, both descending.
//
// It is the care team's view. Without a subject (the host's own care-team
// view) it lists every alert of the service; a practitioner sees those of
// the services of their active PractitionerRoles (ErrForbidden for
// another); a patient gets ErrForbidden. An unknown establishment or a
// service not of it is ErrNotFound.
func (b *Backend) CareTeamAlerts(ctx context.Context, est, service string) ([]portal.CareTeamAlert, error) {
	var viewer portal.Author
	if s, ok := portal.SubjectFrom(ctx); ok || s.Practitioner != "" {
		a, err := portal.RequireAuthor(ctx)
		if err != nil {
			return nil, err
		}
		if a.Kind != portal.AuthorPractitioner {
			return nil, portal.Errorf(portal.ErrForbidden, "care-team alerts are for the care team")
		}
		viewer = a
	}
	loc, err := b.checkPlace(ctx, est, service)
	if err != nil {
		return nil, err
	}
	if viewer.Kind == portal.AuthorPractitioner {
		scope, err := b.scope(ctx, viewer)
		if err != nil {
			return nil, err
		}
		if !scope.services[service] {
			return nil, portal.Errorf(portal.ErrForbidden, "practitioner %q is not in service %q", viewer.ID, service)
		}
	}
	found, err := b.search(ctx, "Communication", values(
		"recipient", ref("HealthcareService", service),
		"category", SystemCareTeamAlert+"|"+CodeQuestionnaireAlert))
	if err != nil {
		return nil, err
	}
	out := []portal.CareTeamAlert{}
	seen := map[string]bool{}
	for _, r := range found {
		if r.Get("resourceType").String() != "Communication" || r.Get("status").String() == "entered-in-error" {
			continue
		}
		a, err := careTeamAlertFrom(r)
		if err != nil {
			b.skip("Communication", err)
			continue
		}
		if a.Establishment != est || a.Service != service || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		a.Created = a.Created.In(loc)
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y portal.CareTeamAlert) int {
		return cmp.Or(y.Created.Compare(x.Created), strings.Compare(y.ID, x.ID))
	})
	return out, nil
}

// validateSubmission reports an error for a submission no backend should
// record.
func validateSubmission(sub portal.QuestionnaireSubmission) error {
	switch {
	case sub.Establishment == "":
		return portal.Errorf(portal.ErrInvalid, "establishment is required")
	case sub.Questionnaire == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire is required")
	case sub.ID == "":
		return portal.Errorf(portal.ErrInvalid, "submission id is required")
	case !validID(sub.ID):
		return portal.Errorf(portal.ErrInvalid, "the submission id must be 1 to 64 characters A-Z, a-z, 0-9, '-' and '.'")
	}
	if err := checkPortalResource("the response", sub.Response, "QuestionnaireResponse"); err != nil {
		return err
	}
	if len(sub.RiskAssessment) > 0 {
		if err := checkPortalResource("the risk assessment", sub.RiskAssessment, "RiskAssessment"); err != nil {
			return err
		}
	}
	return portal.ValidateIdempotencyKey(sub.IdempotencyKey)
}
