package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/parcours-sante/parcours/host/plugin"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/questionnaire"
)

// The questionnaire API: an establishment's questionnaires (FHIR R4
// Questionnaire, https://hl7.org/fhir/R4/questionnaire.html), the
// session patient's drafts and submitted responses (QuestionnaireResponse,
// https://hl7.org/fhir/R4/questionnaireresponse.html) with the
// RiskAssessment written from them
// (https://hl7.org/fhir/R4/riskassessment.html).
//
// The host never trusts what the browser computed: a draft is re-written
// from its answers, and a submission is validated, scored and written again
// by sdk/questionnaire from the answers alone. Scores, levels and extensions
// carried by the submitted JSON are ignored.

// questionnaireStore returns Config.Questionnaires, or not_found when the
// host has none: then no questionnaire exists.
func (h *Host) questionnaireStore() (portal.Questionnaires, error) {
	if h.cfg.Questionnaires == nil {
		return nil, portal.Errorf(portal.ErrNotFound, "no questionnaire store is configured")
	}
	return h.cfg.Questionnaires, nil
}

// questionnaireDef returns a questionnaire of an establishment the host
// serves, with its parsed Questionnaire (shared: read it, never change it).
// A stored Questionnaire the engine refuses is an internal error, logged
// with the engine's report.
func (h *Host) questionnaireDef(ctx context.Context, est, id string) (portal.QuestionnaireDef, *questionnaire.Questionnaire, error) {
	store, err := h.questionnaireStore()
	if err != nil {
		return portal.QuestionnaireDef{}, nil, err
	}
	if !h.serves(est) {
		return portal.QuestionnaireDef{}, nil, portal.Errorf(portal.ErrNotFound, "establishment %q", est)
	}
	def, err := store.Questionnaire(ctx, est, id)
	if err != nil {
		return portal.QuestionnaireDef{}, nil, err
	}
	q, err := parsedQuestionnaires.get(est, id, def.Resource, func(rep questionnaire.Report, err error) {
		notes := make([]string, 0, len(rep.Unsupported))
		for _, u := range rep.Unsupported {
			notes = append(notes, u.String())
		}
		h.log.Error("stored questionnaire refused by the engine", "establishment", est, "questionnaire", id, "error", err.Error(), "report", notes)
	})
	if err != nil {
		return portal.QuestionnaireDef{}, nil, portal.Errorf(portal.ErrInternal, "questionnaire %s/%s: %v", est, id, err)
	}
	return def, q, nil
}

// maxParsed bounds the parsed Questionnaires kept in memory.
const maxParsed = 128

// parsedQuestionnaires caches questionnaire.Parse. Parsing depends on the
// resource's bytes only, so the cache is shared by every Host of the
// process; a changed resource has a new key and is parsed again.
var parsedQuestionnaires = &parseCache{m: map[[32]byte]*questionnaire.Questionnaire{}}

// parseCache is a bounded map from establishment, id and resource (hashed
// together with SHA-256) to the parsed Questionnaire. Refusals are not
// cached: a fixed resource is read at the next request.
type parseCache struct {
	mu sync.Mutex
	m  map[[32]byte]*questionnaire.Questionnaire
}

// get returns the parsed resource, parsing it on a miss; refused reports
// the engine's refusal.
func (c *parseCache) get(est, id string, resource []byte, refused func(questionnaire.Report, error)) (*questionnaire.Questionnaire, error) {
	hash := sha256.New()
	for _, part := range [][]byte{[]byte(est), []byte(id), resource} {
		hash.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
		hash.Write(part)
	}
	var key [32]byte
	hash.Sum(key[:0])
	c.mu.Lock()
	q, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return q, nil
	}
	q, rep, err := questionnaire.Parse(resource)
	if err != nil {
		refused(rep, err)
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxParsed {
		for k := range c.m { // evict one entry, any
			delete(c.m, k)
			break
		}
	}
	c.m[key] = q
	return q, nil
}

// patientQuestionnaires returns the store and the context's patient.
func (h *Host) patientQuestionnaires(ctx context.Context) (portal.Questionnaires, string, error) {
	store, err := h.questionnaireStore()
	if err != nil {
		return nil, "", err
	}
	patient, err := portal.RequirePatient(ctx)
	return store, patient, err
}

// readPatientResponse reads a QuestionnaireResponse sent for the context's
// patient to q: at most portal.MaxQuestionnaireResponse bytes, answering q
// (ReadResponse: its items only, mirroring q's structure), and naming no
// other subject than the patient.
func readPatientResponse(q *questionnaire.Questionnaire, patient string, data []byte) (*questionnaire.Response, error) {
	if len(data) > portal.MaxQuestionnaireResponse {
		return nil, portal.Errorf(portal.ErrTooLarge, "QuestionnaireResponse of %d bytes, the limit is %d", len(data), portal.MaxQuestionnaireResponse)
	}
	resp, err := q.ReadResponse(data)
	if err != nil {
		// The engine's detail may quote an answer ("valueDate … is not a
		// FHIR date"): it must not reach the logs.
		code := portal.Code(err)
		if code == portal.ErrInternal {
			code = portal.ErrInvalid
		}
		return nil, portal.Errorf(code, "the body is not a QuestionnaireResponse to %s (details withheld: they may quote answers)", q.Canonical())
	}
	if resp.Subject != "" && resp.Subject != "Patient/"+patient {
		return nil, portal.Errorf(portal.ErrInvalid, "the response names another subject than the session's patient")
	}
	return resp, nil
}

// saveDraft stores the context's patient's draft of a questionnaire. The
// draft stored is re-written from the answers read (status in-progress, the
// session's patient, authored now), never the bytes received; answers that
// do not validate yet are kept.
func (h *Host) saveDraft(ctx context.Context, est, id string, response []byte) (portal.QuestionnaireDraft, error) {
	store, patient, err := h.patientQuestionnaires(ctx)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	_, q, err := h.questionnaireDef(ctx, est, id)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	resp, err := readPatientResponse(q, patient, response)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	now := h.cfg.Now()
	out, err := q.ResponseJSON(resp.Answers, questionnaire.ResponseOptions{
		Status: questionnaire.InProgress, Subject: "Patient/" + patient, Authored: now,
	})
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	if len(out) > portal.MaxQuestionnaireResponse {
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrTooLarge, "the draft is %d bytes once written, the limit is %d", len(out), portal.MaxQuestionnaireResponse)
	}
	return store.SaveDraft(ctx, portal.QuestionnaireDraft{Establishment: est, Questionnaire: id, Response: out, Updated: now})
}

// submitResponse records a completed response of the context's patient. The
// host recomputes everything from the answers: validation (any issue is
// ErrResponseIncomplete and nothing is stored), score and level, the
// QuestionnaireResponse and the RiskAssessment it stores. It is idempotent
// on key: created is false when the store answered the submission already
// made with key, which must then have the same answers to the same
// questionnaire (ErrIdempotencyKeyReused otherwise). A created submission
// that alerts the care team is logged, without health data, and notified to
// the plugins.
// SubmissionsPerHour bounds the questionnaire responses one patient may
// submit in an hour (a burst of that many, then one every 3 minutes):
// far above a patient's needs, low enough that no one floods a care team's
// alerts.
const SubmissionsPerHour = 20

func (h *Host) submitResponse(ctx context.Context, est, id string, response []byte, key string) (sub portal.QuestionnaireSubmission, created bool, err error) {
	store, patient, err := h.patientQuestionnaires(ctx)
	if err != nil {
		return sub, false, err
	}
	if err := portal.ValidateIdempotencyKey(key); err != nil {
		return sub, false, err
	}
	// Each submission may alert a care team and run plugins: one patient,
	// or one machine over many accounts, cannot flood them.
	if err := h.submitRate.spend(ctx, patient, "patient %s submitted %d questionnaires in the last hour", patient, SubmissionsPerHour); err != nil {
		return sub, false, err
	}
	if err := h.spendAddress(ctx); err != nil {
		return sub, false, err
	}
	def, q, err := h.questionnaireDef(ctx, est, id)
	if err != nil {
		return sub, false, err
	}
	resp, err := readPatientResponse(q, patient, response)
	if err != nil {
		return sub, false, err
	}
	if issues := q.Evaluate(resp.Answers).Issues; len(issues) > 0 {
		list := make([]string, len(issues))
		for i, is := range issues {
			list[i] = is.LinkID + ":" + string(is.Code)
		}
		return sub, false, portal.Errorf(portal.ErrResponseIncomplete, "%s", strings.Join(list, " "))
	}
	result := q.Score(resp.Answers)
	suffix := newIDSuffix()
	now := h.cfg.Now()
	subject := "Patient/" + patient
	sub = portal.QuestionnaireSubmission{
		ID:             "qr-" + suffix,
		Establishment:  est,
		Questionnaire:  id,
		Service:        def.Service,
		Result:         questionnaireResult(q, result),
		Submitted:      now,
		IdempotencyKey: key,
	}
	if sub.Response, err = q.ResponseJSON(resp.Answers, questionnaire.ResponseOptions{
		ID: sub.ID, Status: questionnaire.Completed, Subject: subject, Authored: now,
	}); err != nil {
		return portal.QuestionnaireSubmission{}, false, err
	}
	if q.Rules != nil && result.Level != "" {
		if sub.RiskAssessment, err = q.RiskAssessmentJSON(result, questionnaire.RiskOptions{
			ID: "ra-" + suffix, Subject: subject, Response: "QuestionnaireResponse/" + sub.ID, Occurrence: now,
		}); err != nil {
			return portal.QuestionnaireSubmission{}, false, err
		}
	}
	if len(sub.Response) > portal.MaxQuestionnaireResponse || len(sub.RiskAssessment) > portal.MaxQuestionnaireResponse {
		return portal.QuestionnaireSubmission{}, false, portal.Errorf(portal.ErrTooLarge, "the response is larger than %d bytes once written", portal.MaxQuestionnaireResponse)
	}
	got, err := store.Submit(ctx, sub)
	if err != nil {
		return portal.QuestionnaireSubmission{}, false, err
	}
	if got.ID != sub.ID {
		if !sameSubmission(q, got, sub) {
			return portal.QuestionnaireSubmission{}, false, portal.Errorf(portal.ErrIdempotencyKeyReused, "key already used for submission %s with other answers or another questionnaire", got.ID)
		}
		return got, false, nil
	}
	if got.Result.CareTeamAlert {
		h.log.Info("care-team alert", "submission", got.ID, "establishment", got.Establishment, "service", got.Service)
		if p := h.cfg.Plugins; p != nil && p.Has(plugin.HookNotification) {
			p.Notification(context.WithoutCancel(ctx), plugin.Notification{
				Kind: plugin.NotifyQuestionnaireAlert, Recipient: plugin.RecipientStaff, Establishment: got.Establishment,
			})
		}
	}
	return got, true, nil
}

// sameSubmission reports whether an earlier submission answered by the
// store for an idempotency key is the one attempted again: same
// establishment and questionnaire, same answers. A key reused for other
// answers must not silently drop them.
func sameSubmission(q *questionnaire.Questionnaire, earlier, attempt portal.QuestionnaireSubmission) bool {
	if earlier.Establishment != attempt.Establishment || earlier.Questionnaire != attempt.Questionnaire {
		return false
	}
	answers := func(b []byte) []byte {
		r, err := q.ReadResponse(b)
		if err != nil {
			return nil
		}
		out, err := q.ResponseJSON(r.Answers, questionnaire.ResponseOptions{Status: questionnaire.InProgress})
		if err != nil {
			return nil
		}
		return out
	}
	a := answers(earlier.Response)
	return a != nil && bytes.Equal(a, answers(attempt.Response))
}

// idEncoding writes submission ids: base32, lower case, no padding.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newIDSuffix returns 128 random bits for a submission's ids.
func newIDSuffix() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return idEncoding.EncodeToString(b[:])
}

// questionnaireResult converts the engine's result into what is stored and
// shown to the patient: decimal totals, French and English texts, the
// level's rank in its scale.
func questionnaireResult(q *questionnaire.Questionnaire, r *questionnaire.Result) portal.QuestionnaireResult {
	text := func(l questionnaire.Localized) portal.Text {
		return portal.Text{FR: l.In("fr"), EN: l.In("en")}
	}
	out := portal.QuestionnaireResult{
		Total:         r.Total.String(),
		Level:         r.Level,
		LevelDisplay:  text(r.LevelDisplay),
		Text:          text(r.Text),
		Urgent:        r.Urgent,
		CareTeamAlert: r.CareTeamAlert,
	}
	for _, g := range r.Groups {
		out.Groups = append(out.Groups, portal.GroupTotal{LinkID: g.LinkID, Text: text(g.Text), Total: g.Score.String()})
	}
	for _, a := range r.Alerts {
		out.Alerts = append(out.Alerts, portal.ResultAlert{Rule: a.Rule, Message: text(a.Message), Urgent: a.Urgent})
	}
	if q.Rules != nil && r.Level != "" {
		if i := slices.IndexFunc(q.Rules.Levels, func(l questionnaire.RiskLevel) bool { return l.Code == r.Level }); i >= 0 {
			out.LevelRank, out.Levels = i+1, len(q.Rules.Levels)
		}
	}
	return out
}

// isFHIRJSON accepts the media types of a FHIR JSON body
// (https://hl7.org/fhir/R4/http.html#mime-type).
func isFHIRJSON(mediaType string) bool {
	return mediaType == "application/json" || mediaType == "application/fhir+json"
}

// readResponseBody reads a QuestionnaireResponse request body.
func readResponseBody(r *http.Request) ([]byte, error) {
	return readBody(r, portal.MaxQuestionnaireResponse, isFHIRJSON)
}

func (h *Host) getQuestionnaire(w http.ResponseWriter, r *http.Request) error {
	def, _, err := h.questionnaireDef(r.Context(), r.PathValue("establishment"), r.PathValue("questionnaire"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, def)
	return nil
}

// draftRoute returns the store and the path's served establishment and
// questionnaire, for a route on the session patient's draft.
func (h *Host) draftRoute(r *http.Request) (store portal.Questionnaires, est, id string, err error) {
	if store, _, err = h.patientQuestionnaires(r.Context()); err != nil {
		return nil, "", "", err
	}
	if est, err = h.establishment(r); err != nil {
		return nil, "", "", err
	}
	return store, est, r.PathValue("questionnaire"), nil
}

func (h *Host) getQuestionnaireDraft(w http.ResponseWriter, r *http.Request) error {
	store, est, id, err := h.draftRoute(r)
	if err != nil {
		return err
	}
	d, err := store.Draft(r.Context(), est, id)
	if portal.IsCode(err, portal.ErrNotFound) {
		// No draft is the normal state of a questionnaire not started:
		// answer it as such (a 404 would show as a failed request in every
		// browser console) once the questionnaire itself is known to exist.
		if _, _, err := h.questionnaireDef(r.Context(), est, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (h *Host) saveQuestionnaireDraft(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := h.patientQuestionnaires(r.Context()); err != nil {
		return err
	}
	body, err := readResponseBody(r)
	if err != nil {
		return err
	}
	d, err := h.saveDraft(r.Context(), r.PathValue("establishment"), r.PathValue("questionnaire"), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (h *Host) deleteQuestionnaireDraft(w http.ResponseWriter, r *http.Request) error {
	store, est, id, err := h.draftRoute(r)
	if err != nil {
		return err
	}
	if err := store.DeleteDraft(r.Context(), est, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Host) submitQuestionnaireResponse(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := h.patientQuestionnaires(r.Context()); err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if err := portal.ValidateIdempotencyKey(key); err != nil {
		return err
	}
	body, err := readResponseBody(r)
	if err != nil {
		return err
	}
	sub, created, err := h.submitResponse(r.Context(), r.PathValue("establishment"), r.PathValue("questionnaire"), body, key)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/questionnaire-responses/"+url.PathEscape(sub.ID))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, sub)
	return nil
}

func (h *Host) getQuestionnaireResponse(w http.ResponseWriter, r *http.Request) error {
	store, _, err := h.patientQuestionnaires(r.Context())
	if err != nil {
		return err
	}
	sub, err := store.Submission(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}
