package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var _ portal.Questionnaires = (*Store)(nil)

// Questionnaire returns a questionnaire an establishment offers: its FHIR R4
// Questionnaire (https://hl7.org/fhir/R4/questionnaire.html) and next steps.
// It needs no patient: questionnaires are public. An unknown establishment or
// questionnaire is an ErrNotFound error.
func (s *Store) Questionnaire(ctx context.Context, est, id string) (portal.QuestionnaireDef, error) {
	var d portal.QuestionnaireDef
	err := s.read(ctx, "questionnaire", func(tx *sql.Tx) error {
		var err error
		d, err = questionnaireDef(ctx, tx, est, id)
		return err
	})
	if err != nil {
		return portal.QuestionnaireDef{}, err
	}
	return d, nil
}

// PutQuestionnaire creates or replaces the questionnaire d.ID of
// d.Establishment. The demo seed loads the shipped instruments with it;
// integrators load their own.
//
// d.Resource must be a FHIR R4 Questionnaire in JSON (an object whose
// resourceType is "Questionnaire"), d.Title needs its French text, and every
// next step a French text and a level of its own; any of these missing is an
// ErrInvalid error. d.Service, and the service and practitioner of each next
// step, must exist in the establishment (a practitioner, in the step's
// service): otherwise it is an ErrNotFound error. Drafts and submissions of a
// replaced questionnaire are kept; a submission keeps the service it was
// submitted to.
func (s *Store) PutQuestionnaire(ctx context.Context, d portal.QuestionnaireDef) error {
	if err := validateDef(d); err != nil {
		return err
	}
	return s.write(ctx, "put questionnaire", func(tx *sql.Tx) error {
		return putQuestionnaire(ctx, tx, d)
	})
}

// validateDef reports an ErrInvalid error for a questionnaire definition that
// no establishment could offer.
func validateDef(d portal.QuestionnaireDef) error {
	switch {
	case d.Establishment == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire: establishment is required")
	case d.ID == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire: id is required")
	case d.Service == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire %s: service is required", d.ID)
	case d.Title.FR == "":
		return portal.Errorf(portal.ErrInvalid, "questionnaire %s: a French title is required", d.ID)
	case !isResource(d.Resource, "Questionnaire"):
		return portal.Errorf(portal.ErrInvalid, "questionnaire %s: the resource must be a FHIR Questionnaire in JSON", d.ID)
	}
	levels := make(map[string]bool, len(d.NextSteps))
	for i, st := range d.NextSteps {
		switch {
		case levels[st.Level]:
			return portal.Errorf(portal.ErrInvalid, "questionnaire %s: next step %d: level %q already has a step", d.ID, i, st.Level)
		case st.Text.FR == "":
			return portal.Errorf(portal.ErrInvalid, "questionnaire %s: next step %d: a French text is required", d.ID, i)
		case st.Practitioner != "" && st.Service == "":
			return portal.Errorf(portal.ErrInvalid, "questionnaire %s: next step %d: a practitioner needs a service", d.ID, i)
		}
		levels[st.Level] = true
	}
	return nil
}

// putQuestionnaire upserts a definition that validateDef accepted.
func putQuestionnaire(ctx context.Context, tx *sql.Tx, d portal.QuestionnaireDef) error {
	if err := serviceExists(ctx, tx, d.Establishment, d.Service); err != nil {
		return err
	}
	for i, st := range d.NextSteps {
		if st.Service == "" {
			continue
		}
		if err := serviceExists(ctx, tx, d.Establishment, st.Service); err != nil {
			return err
		}
		if st.Practitioner == "" {
			continue
		}
		var n int
		if err := tx.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM service_practitioners
			WHERE establishment = ? AND service = ? AND practitioner = ?`,
			d.Establishment, st.Service, st.Practitioner).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return portal.Errorf(portal.ErrNotFound, "questionnaire %s: next step %d: practitioner %q does not work in service %q",
				d.ID, i, st.Practitioner, st.Service)
		}
	}
	steps := d.NextSteps
	if steps == nil {
		steps = []portal.NextStep{}
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO questionnaires (establishment, id, service, title_fr, title_en, resource, next_steps)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (establishment, id) DO UPDATE
		SET service = excluded.service, title_fr = excluded.title_fr, title_en = excluded.title_en,
			resource = excluded.resource, next_steps = excluded.next_steps`,
		d.Establishment, d.ID, d.Service, d.Title.FR, d.Title.EN, string(d.Resource), string(stepsJSON))
	return err
}

// serviceExists reports an ErrNotFound error unless service is a service of
// establishment.
func serviceExists(ctx context.Context, tx *sql.Tx, est, service string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM services WHERE establishment = ? AND id = ?`,
		est, service).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return portal.Errorf(portal.ErrNotFound, "service %q of establishment %q not found", service, est)
	}
	return nil
}

// questionnaireDef reads a questionnaire's definition.
func questionnaireDef(ctx context.Context, tx *sql.Tx, est, id string) (portal.QuestionnaireDef, error) {
	d := portal.QuestionnaireDef{ID: id, Establishment: est}
	var resource, steps string
	err := tx.QueryRowContext(ctx, `
		SELECT service, title_fr, title_en, resource, next_steps FROM questionnaires
		WHERE establishment = ? AND id = ?`, est, id).
		Scan(&d.Service, &d.Title.FR, &d.Title.EN, &resource, &steps)
	if errors.Is(err, sql.ErrNoRows) {
		return d, questionnaireNotFound(est, id)
	}
	if err != nil {
		return d, err
	}
	d.Resource = json.RawMessage(resource)
	if err := json.Unmarshal([]byte(steps), &d.NextSteps); err != nil {
		return d, fmt.Errorf("questionnaire %s/%s: next steps: %w", est, id, err)
	}
	if d.NextSteps == nil {
		d.NextSteps = []portal.NextStep{}
	}
	return d, nil
}

// questionnaireService returns the service of a questionnaire, or an
// ErrNotFound error.
func questionnaireService(ctx context.Context, tx *sql.Tx, est, id string) (string, error) {
	var service string
	err := tx.QueryRowContext(ctx, `SELECT service FROM questionnaires WHERE establishment = ? AND id = ?`,
		est, id).Scan(&service)
	if errors.Is(err, sql.ErrNoRows) {
		return "", questionnaireNotFound(est, id)
	}
	return service, err
}

func questionnaireNotFound(est, id string) error {
	return portal.Errorf(portal.ErrNotFound, "questionnaire %q of establishment %q not found", id, est)
}

// Drafts.

// Draft returns the context's patient's draft of a questionnaire, a FHIR R4
// QuestionnaireResponse in progress
// (https://hl7.org/fhir/R4/questionnaireresponse.html). No draft, whoever
// else may have one, is an ErrNotFound error.
func (s *Store) Draft(ctx context.Context, est, questionnaire string) (portal.QuestionnaireDraft, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	var d portal.QuestionnaireDraft
	err = s.read(ctx, "draft", func(tx *sql.Tx) error {
		var err error
		d, err = s.draft(ctx, tx, patient, est, questionnaire)
		return err
	})
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	return d, nil
}

// SaveDraft creates or replaces the context's patient's draft of
// d.Questionnaire and returns it as stored, Updated set to the Store's clock.
//
// d.Response must be a FHIR R4 QuestionnaireResponse in JSON (an object whose
// resourceType is "QuestionnaireResponse"): otherwise it is an ErrInvalid
// error, and ErrTooLarge beyond portal.MaxQuestionnaireResponse bytes. An
// unknown questionnaire is an ErrNotFound error. A refused draft leaves the
// stored one as it was.
func (s *Store) SaveDraft(ctx context.Context, d portal.QuestionnaireDraft) (portal.QuestionnaireDraft, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	switch {
	case d.Establishment == "":
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrInvalid, "establishment is required")
	case d.Questionnaire == "":
		return portal.QuestionnaireDraft{}, portal.Errorf(portal.ErrInvalid, "questionnaire is required")
	}
	if err := checkDocument("the response", d.Response, "QuestionnaireResponse"); err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	var out portal.QuestionnaireDraft
	err = s.write(ctx, "save draft", func(tx *sql.Tx) error {
		if _, err := questionnaireService(ctx, tx, d.Establishment, d.Questionnaire); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO questionnaire_drafts (patient, establishment, questionnaire, response, updated_utc)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (patient, establishment, questionnaire) DO UPDATE
			SET response = excluded.response, updated_utc = excluded.updated_utc`,
			patient, d.Establishment, d.Questionnaire, string(d.Response), s.now().Unix()); err != nil {
			return err
		}
		var err error
		out, err = s.draft(ctx, tx, patient, d.Establishment, d.Questionnaire)
		return err
	})
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	return out, nil
}

// DeleteDraft deletes the context's patient's draft of a questionnaire.
// Deleting none is not an error.
func (s *Store) DeleteDraft(ctx context.Context, est, questionnaire string) error {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, "delete draft", func(tx *sql.Tx) error {
		return deleteDraft(ctx, tx, patient, est, questionnaire)
	})
}

func deleteDraft(ctx context.Context, tx *sql.Tx, patient, est, questionnaire string) error {
	_, err := tx.ExecContext(ctx, `
		DELETE FROM questionnaire_drafts WHERE patient = ? AND establishment = ? AND questionnaire = ?`,
		patient, est, questionnaire)
	return err
}

// draft reads one draft of patient, Updated in the establishment's time zone.
func (s *Store) draft(ctx context.Context, tx *sql.Tx, patient, est, questionnaire string) (portal.QuestionnaireDraft, error) {
	d := portal.QuestionnaireDraft{Establishment: est, Questionnaire: questionnaire}
	var response, tz string
	var updated int64
	err := tx.QueryRowContext(ctx, `
		SELECT d.response, d.updated_utc, e.time_zone
		FROM questionnaire_drafts d JOIN establishments e ON e.id = d.establishment
		WHERE d.patient = ? AND d.establishment = ? AND d.questionnaire = ?`,
		patient, est, questionnaire).Scan(&response, &updated, &tz)
	if errors.Is(err, sql.ErrNoRows) {
		// The same error whether another patient has a draft or nobody.
		return d, portal.Errorf(portal.ErrNotFound, "no draft of questionnaire %q of establishment %q", questionnaire, est)
	}
	if err != nil {
		return d, err
	}
	loc, err := s.location(tz)
	if err != nil {
		return d, err
	}
	d.Response, d.Updated = json.RawMessage(response), fromUnix(updated, loc)
	return d, nil
}

// Submissions.

// Submit records a scored submission for the context's patient: the
// completed FHIR R4 QuestionnaireResponse
// (https://hl7.org/fhir/R4/questionnaireresponse.html), the RiskAssessment
// written from its score (https://hl7.org/fhir/R4/riskassessment.html) and
// the result shown to the patient.
//
// In one transaction, Submit stores the submission with the questionnaire's
// current service and Submitted set to the Store's clock, deletes the
// patient's draft of the questionnaire, and, when s.Result.CareTeamAlert is
// set, records a CareTeamAlert for that service.
//
// A submission whose IdempotencyKey this patient already used returns the
// submission recorded then, unchanged, if it was for the same establishment
// and questionnaire (whatever the new ID and documents), and an
// ErrIdempotencyKeyReused error otherwise; nothing else is written.
//
// s.ID must be a FHIR id (https://hl7.org/fhir/R4/datatypes.html#id), and is
// not replaced: an ID that any submission holds already, this patient's or
// another's, is an ErrInvalid error that does not say whose. s.Response must
// be a QuestionnaireResponse in JSON and s.RiskAssessment, if set, a
// RiskAssessment (ErrInvalid otherwise), each at most
// portal.MaxQuestionnaireResponse bytes, as s.Result once encoded
// (ErrTooLarge). An unknown questionnaire is an ErrNotFound error.
func (s *Store) Submit(ctx context.Context, sub portal.QuestionnaireSubmission) (portal.QuestionnaireSubmission, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	if err := validateSubmission(sub); err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	result, err := json.Marshal(sub.Result)
	if err != nil {
		return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrInternal, "sqlite: submit: result: %v", err)
	}
	if len(result) > portal.MaxQuestionnaireResponse {
		return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrTooLarge, "the result exceeds %d bytes", portal.MaxQuestionnaireResponse)
	}
	var risk sql.NullString
	if len(sub.RiskAssessment) > 0 {
		risk = sql.NullString{String: string(sub.RiskAssessment), Valid: true}
	}
	var out portal.QuestionnaireSubmission
	err = s.write(ctx, "submit", func(tx *sql.Tx) error {
		// Idempotency first, in the same transaction as the insert: a
		// concurrent retry with the same key waits for the write lock and
		// then finds this submission.
		var id, est, questionnaire string
		err := tx.QueryRowContext(ctx, `
			SELECT id, establishment, questionnaire FROM questionnaire_submissions
			WHERE patient = ? AND idempotency_key = ?`,
			patient, sub.IdempotencyKey).Scan(&id, &est, &questionnaire)
		switch {
		case err == nil:
			if est != sub.Establishment || questionnaire != sub.Questionnaire {
				return portal.Errorf(portal.ErrIdempotencyKeyReused,
					"idempotency key already used by submission %s for another questionnaire", id)
			}
			out, err = s.submission(ctx, tx, patient, id)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		service, err := questionnaireService(ctx, tx, sub.Establishment, sub.Questionnaire)
		if err != nil {
			return err
		}
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM questionnaire_submissions WHERE id = ?`,
			sub.ID).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			// Never regenerated: the id is written in the Response.
			return portal.Errorf(portal.ErrInvalid, "submission id %q is already taken", sub.ID)
		}
		now := s.now().Unix()
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO questionnaire_submissions (id, patient, establishment, questionnaire, service,
				idempotency_key, response, risk_assessment, result, submitted_utc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, patient, sub.Establishment, sub.Questionnaire, service,
			sub.IdempotencyKey, string(sub.Response), risk, string(result), now); err != nil {
			// A unique violation means another writer got in first
			// despite the write lock; inTx tries again and the checks
			// above then report it.
			return err
		}
		if err := deleteDraft(ctx, tx, patient, sub.Establishment, sub.Questionnaire); err != nil {
			return err
		}
		if sub.Result.CareTeamAlert {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO care_team_alerts (id, establishment, service, submission, level, urgent, created_utc)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				newID("cta_"), sub.Establishment, service, sub.ID, sub.Result.Level, sub.Result.Urgent, now); err != nil {
				return err
			}
		}
		out, err = s.submission(ctx, tx, patient, sub.ID)
		return err
	})
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
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
	case !isFHIRID(sub.ID):
		return portal.Errorf(portal.ErrInvalid, "the submission id must be 1 to 64 characters A-Z, a-z, 0-9, '-' and '.'")
	}
	if err := checkDocument("the response", sub.Response, "QuestionnaireResponse"); err != nil {
		return err
	}
	if len(sub.RiskAssessment) > 0 {
		if err := checkDocument("the risk assessment", sub.RiskAssessment, "RiskAssessment"); err != nil {
			return err
		}
	}
	return portal.ValidateIdempotencyKey(sub.IdempotencyKey)
}

// Submission returns one of the context's patient's submissions. A
// submission of another patient is reported exactly as an unknown one,
// ErrNotFound.
func (s *Store) Submission(ctx context.Context, id string) (portal.QuestionnaireSubmission, error) {
	patient, err := portal.RequirePatient(ctx)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	var out portal.QuestionnaireSubmission
	err = s.read(ctx, "submission", func(tx *sql.Tx) error {
		var err error
		out, err = s.submission(ctx, tx, patient, id)
		return err
	})
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	return out, nil
}

// submission reads one submission of patient, Submitted in the
// establishment's time zone.
func (s *Store) submission(ctx context.Context, tx *sql.Tx, patient, id string) (portal.QuestionnaireSubmission, error) {
	sub := portal.QuestionnaireSubmission{ID: id}
	var response, result, tz string
	var risk sql.NullString
	var submitted int64
	err := tx.QueryRowContext(ctx, `
		SELECT q.establishment, q.questionnaire, q.service, q.idempotency_key,
			q.response, q.risk_assessment, q.result, q.submitted_utc, e.time_zone
		FROM questionnaire_submissions q JOIN establishments e ON e.id = q.establishment
		WHERE q.id = ? AND q.patient = ?`, id, patient).
		Scan(&sub.Establishment, &sub.Questionnaire, &sub.Service, &sub.IdempotencyKey,
			&response, &risk, &result, &submitted, &tz)
	if errors.Is(err, sql.ErrNoRows) {
		// The same error for another patient's submission and an unknown
		// one: nothing tells them apart.
		return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrNotFound, "submission %q not found", id)
	}
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	loc, err := s.location(tz)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	if err := json.Unmarshal([]byte(result), &sub.Result); err != nil {
		return portal.QuestionnaireSubmission{}, fmt.Errorf("submission %s: result: %w", id, err)
	}
	sub.Response = json.RawMessage(response)
	if risk.Valid {
		sub.RiskAssessment = json.RawMessage(risk.String)
	}
	sub.Submitted = fromUnix(submitted, loc)
	return sub, nil
}

// Care team.

// CareTeamAlerts lists the alerts raised for a service, newest first, in the
// establishment's time zone. It is the care team's view and needs no
// patient; the host never exposes it to patients. An unknown establishment or
// service is an ErrNotFound error.
func (s *Store) CareTeamAlerts(ctx context.Context, est, service string) ([]portal.CareTeamAlert, error) {
	var out []portal.CareTeamAlert
	err := s.read(ctx, "care team alerts", func(tx *sql.Tx) error {
		e, err := establishment(ctx, tx, est)
		if err != nil {
			return err
		}
		loc, err := s.location(e.TimeZone)
		if err != nil {
			return err
		}
		if err := serviceExists(ctx, tx, est, service); err != nil {
			return err
		}
		// rowid orders the alerts of one second: the table is append-only,
		// so it grows with every insert.
		rows, err := tx.QueryContext(ctx, `
			SELECT id, submission, level, urgent, created_utc FROM care_team_alerts
			WHERE establishment = ? AND service = ?
			ORDER BY created_utc DESC, rowid DESC`, est, service)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []portal.CareTeamAlert{}
		for rows.Next() {
			a := portal.CareTeamAlert{Establishment: est, Service: service}
			var created int64
			if err := rows.Scan(&a.ID, &a.Submission, &a.Level, &a.Urgent, &created); err != nil {
				return err
			}
			a.Created = fromUnix(created, loc)
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// JSON documents.

// checkDocument checks a FHIR resource sent by a patient: at most
// portal.MaxQuestionnaireResponse bytes (ErrTooLarge), a JSON object of
// resourceType (ErrInvalid). The detail never quotes the document.
func checkDocument(what string, b []byte, resourceType string) error {
	if len(b) > portal.MaxQuestionnaireResponse {
		return portal.Errorf(portal.ErrTooLarge, "%s exceeds %d bytes", what, portal.MaxQuestionnaireResponse)
	}
	if !isResource(b, resourceType) {
		return portal.Errorf(portal.ErrInvalid, "%s must be a FHIR %s in JSON", what, resourceType)
	}
	return nil
}

// isResource reports whether b is a JSON object, in UTF-8, whose
// resourceType is resourceType.
func isResource(b []byte, resourceType string) bool {
	if !utf8.Valid(b) {
		return false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return false
	}
	var got string
	return json.Unmarshal(obj["resourceType"], &got) == nil && got == resourceType
}

// isFHIRID reports whether id is a FHIR R4 id: 1 to 64 characters A-Z, a-z,
// 0-9, '-' and '.'.
func isFHIRID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
