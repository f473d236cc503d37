-- 0003: questionnaires (FHIR R4 Questionnaire), patients' drafts and submitted
-- responses (FHIR R4 QuestionnaireResponse, with the RiskAssessment the host
-- wrote from its score), and the alerts they raise for the care team.
-- Every instant is stored as INTEGER Unix seconds, UTC. JSON columns hold the
-- documents as the Store received them; the Store validates them first.

-- What to do in an emergency, shown with urgent alerts (portal.Establishment.UrgentHelp).
ALTER TABLE establishments ADD COLUMN urgent_help_fr TEXT NOT NULL DEFAULT '';
ALTER TABLE establishments ADD COLUMN urgent_help_en TEXT NOT NULL DEFAULT '';

-- The questionnaires an establishment offers. id is the establishment's name
-- for it (the widget's questionnaire attribute); service is the care team
-- that reads the responses and receives the alerts.
CREATE TABLE questionnaires (
	establishment TEXT NOT NULL,
	id            TEXT NOT NULL,
	service       TEXT NOT NULL,
	title_fr      TEXT NOT NULL,
	title_en      TEXT NOT NULL DEFAULT '',
	-- The FHIR R4 Questionnaire, a JSON object.
	resource      TEXT NOT NULL,
	-- JSON array of portal.NextStep: what the result page offers per risk level.
	next_steps    TEXT NOT NULL DEFAULT '[]',
	PRIMARY KEY (establishment, id),
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;

-- A patient's response in progress (QuestionnaireResponse, status
-- in-progress), at most one per questionnaire. As in appointments, patient is
-- the authenticated subject's id, not a foreign key to patients.
CREATE TABLE questionnaire_drafts (
	patient       TEXT    NOT NULL,
	establishment TEXT    NOT NULL,
	questionnaire TEXT    NOT NULL,
	response      TEXT    NOT NULL,
	updated_utc   INTEGER NOT NULL,
	PRIMARY KEY (patient, establishment, questionnaire),
	FOREIGN KEY (establishment, questionnaire) REFERENCES questionnaires (establishment, id)
) STRICT;

-- Submitted responses. service is the questionnaire's service at the time of
-- submission; result is the JSON of portal.QuestionnaireResult, the score the
-- host computed; risk_assessment is NULL for a questionnaire without risk levels.
CREATE TABLE questionnaire_submissions (
	id              TEXT    NOT NULL PRIMARY KEY,
	patient         TEXT    NOT NULL,
	establishment   TEXT    NOT NULL,
	questionnaire   TEXT    NOT NULL,
	service         TEXT    NOT NULL,
	idempotency_key TEXT    NOT NULL,
	response        TEXT    NOT NULL,
	risk_assessment TEXT,
	result          TEXT    NOT NULL,
	submitted_utc   INTEGER NOT NULL,
	-- An idempotency key is used once per patient.
	UNIQUE (patient, idempotency_key),
	FOREIGN KEY (establishment, questionnaire) REFERENCES questionnaires (establishment, id),
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;

-- The record that a submission needs its care team's attention, written in
-- the submission's transaction, at most one per submission. It holds
-- references only. Append-only, like an outbox: the triggers below refuse any
-- change, so that an alert once raised cannot silently disappear.
CREATE TABLE care_team_alerts (
	id            TEXT    NOT NULL PRIMARY KEY,
	establishment TEXT    NOT NULL,
	service       TEXT    NOT NULL,
	submission    TEXT    NOT NULL UNIQUE REFERENCES questionnaire_submissions (id),
	-- The risk level code of the result, '' when the questionnaire has none.
	level         TEXT    NOT NULL DEFAULT '',
	urgent        INTEGER NOT NULL CHECK (urgent IN (0, 1)),
	created_utc   INTEGER NOT NULL,
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;

CREATE INDEX care_team_alerts_by_service ON care_team_alerts (establishment, service, created_utc);

CREATE TRIGGER care_team_alerts_no_update BEFORE UPDATE ON care_team_alerts
BEGIN
	SELECT RAISE(ABORT, 'care_team_alerts is append-only');
END;

CREATE TRIGGER care_team_alerts_no_delete BEFORE DELETE ON care_team_alerts
BEGIN
	SELECT RAISE(ABORT, 'care_team_alerts is append-only');
END;
