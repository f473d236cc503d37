-- 0008: documents and results (portal.Documents; FHIR R4 DocumentReference,
-- Binary, DiagnosticReport and Observation, see sdk/portal/documents.go for
-- the mapping): the documents of patients' care, their files (the document's
-- own and an imaging report's images), and the observations of lab reports.
-- Every instant is stored as INTEGER Unix seconds, UTC. As in threads,
-- patient is the authenticated subject's id, not a foreign key to patients.

CREATE TABLE documents (
	id              TEXT    NOT NULL PRIMARY KEY,
	establishment   TEXT    NOT NULL,
	service         TEXT    NOT NULL,
	patient         TEXT    NOT NULL,
	type            TEXT    NOT NULL CHECK (type IN ('consultation_report', 'operative_report',
		'discharge_letter', 'imaging_report', 'lab_report', 'patient_document')),
	title           TEXT    NOT NULL,
	-- The clinical date (consultation, operation, exam, sample; the upload).
	date_utc        INTEGER NOT NULL,
	author          TEXT    NOT NULL,
	origin          TEXT    NOT NULL CHECK (origin IN ('care_team', 'patient')),
	-- A filed document: the source's identifier, unique per establishment.
	-- An upload: the patient's client id, unique per patient. request_hash
	-- is the digest of what was filed or uploaded under it, to recognise a
	-- retry.
	source_id       TEXT,
	client_id       TEXT,
	request_hash    TEXT    NOT NULL,
	-- Release rules: a sensitive document is visible to its patient once
	-- released_utc is set (by released_by, a practitioner of its service),
	-- or once release_due_utc (the establishment's delay, when it has one)
	-- has passed. Nothing else ever shows it.
	sensitive       INTEGER NOT NULL CHECK (sensitive IN (0, 1)),
	release_due_utc INTEGER,
	released_utc    INTEGER,
	released_by     TEXT    REFERENCES practitioners (id),
	-- When the patient first opened it; NULL: new.
	seen_utc        INTEGER,
	created_utc     INTEGER NOT NULL,
	CHECK ((origin = 'care_team') = (source_id IS NOT NULL AND client_id IS NULL)),
	CHECK ((origin = 'patient') = (client_id IS NOT NULL AND source_id IS NULL)),
	CHECK ((origin = 'patient') = (type = 'patient_document')),
	CHECK (sensitive = 1 OR (release_due_utc IS NULL AND released_utc IS NULL)),
	CHECK ((released_utc IS NULL) = (released_by IS NULL)),
	UNIQUE (establishment, source_id),
	UNIQUE (patient, client_id),
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;

CREATE INDEX documents_by_patient ON documents (patient, establishment, date_utc);
CREATE INDEX documents_by_service ON documents (establishment, service, date_utc);

-- A document is a record of care: only its release and its first opening
-- change once filed.
CREATE TRIGGER documents_fixed BEFORE UPDATE OF id, establishment, service, patient, type, title, date_utc,
	author, origin, source_id, client_id, request_hash, sensitive, release_due_utc, created_utc ON documents
BEGIN
	SELECT RAISE(ABORT, 'documents: only the release and the first opening change');
END;

CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents
BEGIN
	SELECT RAISE(ABORT, 'documents are never deleted');
END;

-- The files of a document: position 0 is the document itself, 1… the
-- images of an imaging report. content_type is what the content was found
-- to be (portal.SniffDocument); sha256 is the hex digest of content.
CREATE TABLE document_files (
	id           TEXT    NOT NULL PRIMARY KEY,
	document     TEXT    NOT NULL REFERENCES documents (id),
	position     INTEGER NOT NULL CHECK (position >= 0),
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png', 'text/plain; charset=utf-8')),
	size         INTEGER NOT NULL CHECK (size > 0),
	sha256       TEXT    NOT NULL,
	content      BLOB    NOT NULL,
	CHECK (length(content) = size),
	CHECK (position = 0 OR content_type IN ('image/jpeg', 'image/png')),
	UNIQUE (document, position)
) STRICT;

-- The results of a lab report (FHIR Observation). code is LOINC when there
-- is one; the interpretation is computed from value, low and high on
-- reading, never stored.
CREATE TABLE observations (
	id            TEXT    NOT NULL PRIMARY KEY,
	document      TEXT    NOT NULL REFERENCES documents (id),
	position      INTEGER NOT NULL,
	code          TEXT    NOT NULL,
	display_fr    TEXT    NOT NULL,
	display_en    TEXT    NOT NULL DEFAULT '',
	value         REAL    NOT NULL,
	decimals      INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 6),
	unit          TEXT    NOT NULL,
	low           REAL,
	high          REAL,
	effective_utc INTEGER NOT NULL,
	CHECK (low IS NULL OR high IS NULL OR low <= high),
	UNIQUE (document, position)
) STRICT;

CREATE INDEX observations_by_code ON observations (code, document);

CREATE TRIGGER document_files_no_update BEFORE UPDATE ON document_files
BEGIN
	SELECT RAISE(ABORT, 'document_files is append-only');
END;

CREATE TRIGGER document_files_no_delete BEFORE DELETE ON document_files
BEGIN
	SELECT RAISE(ABORT, 'document_files is append-only');
END;

CREATE TRIGGER observations_no_update BEFORE UPDATE ON observations
BEGIN
	SELECT RAISE(ABORT, 'observations is append-only');
END;

CREATE TRIGGER observations_no_delete BEFORE DELETE ON observations
BEGIN
	SELECT RAISE(ABORT, 'observations is append-only');
END;
