-- 0004: secure messaging between patients and care teams (FHIR R4
-- Communication, see sdk/portal/messaging.go for the mapping): threads, their
-- messages and attachments, read receipts, and the outbox of notifications.
-- Every instant is stored as INTEGER Unix seconds, UTC. As in appointments,
-- patient and author ids are the authenticated subjects' ids, not foreign keys
-- to patients.

-- demo = 1 marks the fictional practitioners one may sign in as in a
-- demonstration (the care-team inbox).
ALTER TABLE practitioners ADD COLUMN demo INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1));

-- A conversation of one patient with the care team of one service.
CREATE TABLE threads (
	id               TEXT    NOT NULL PRIMARY KEY,
	establishment    TEXT    NOT NULL,
	service          TEXT    NOT NULL,
	patient          TEXT    NOT NULL,
	subject          TEXT    NOT NULL,
	status           TEXT    NOT NULL CHECK (status IN ('new', 'waiting', 'answered', 'closed')),
	assigned_to      TEXT    REFERENCES practitioners (id),
	created_utc      INTEGER NOT NULL,
	-- The last change either side can see (message, read receipt, assignment, status).
	updated_utc      INTEGER NOT NULL,
	last_message_utc INTEGER NOT NULL,
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;

CREATE INDEX threads_by_patient ON threads (patient, establishment, last_message_utc);
CREATE INDEX threads_by_service ON threads (establishment, service, status, last_message_utc);

-- Messages, in the order of seq. Append-only (triggers below): a message once
-- stored is a record of care and is never changed.
CREATE TABLE messages (
	seq          INTEGER NOT NULL PRIMARY KEY,
	id           TEXT    NOT NULL UNIQUE,
	thread       TEXT    NOT NULL REFERENCES threads (id),
	author_kind  TEXT    NOT NULL CHECK (author_kind IN ('patient', 'practitioner')),
	author_id    TEXT    NOT NULL,
	-- The author's name when they wrote, as the directory knew it.
	author_name  TEXT    NOT NULL,
	-- The id the author's device gave the message, and the digest of what
	-- was asked with it, to recognise a retry of the same message.
	client_id    TEXT    NOT NULL,
	request_hash TEXT    NOT NULL,
	body         TEXT    NOT NULL,
	created_utc  INTEGER NOT NULL,
	-- One message per author and client id, whatever the retries.
	UNIQUE (author_kind, author_id, client_id)
) STRICT;

CREATE INDEX messages_by_thread ON messages (thread, seq);

-- Attachments, bytes included. content_type is what the content was found
-- to be (portal.SniffAttachment); sha256 is the hex digest of content.
CREATE TABLE attachments (
	id           TEXT    NOT NULL PRIMARY KEY,
	message      TEXT    NOT NULL REFERENCES messages (id),
	position     INTEGER NOT NULL,
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
	size         INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	content      BLOB    NOT NULL,
	CHECK (length(content) = size),
	UNIQUE (message, position)
) STRICT;

CREATE TRIGGER messages_no_update BEFORE UPDATE ON messages
BEGIN
	SELECT RAISE(ABORT, 'messages is append-only');
END;

CREATE TRIGGER messages_no_delete BEFORE DELETE ON messages
BEGIN
	SELECT RAISE(ABORT, 'messages is append-only');
END;

CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments
BEGIN
	SELECT RAISE(ABORT, 'attachments is append-only');
END;

CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments
BEGIN
	SELECT RAISE(ABORT, 'attachments is append-only');
END;

-- Read receipts: who of the other side read a message, first read only.
CREATE TABLE message_reads (
	message     TEXT    NOT NULL REFERENCES messages (id),
	reader_kind TEXT    NOT NULL CHECK (reader_kind IN ('patient', 'practitioner')),
	reader_id   TEXT    NOT NULL,
	reader_name TEXT    NOT NULL,
	read_utc    INTEGER NOT NULL,
	PRIMARY KEY (message, reader_kind, reader_id)
) STRICT;

-- The outbox of notifications (portal.Notifications): one row per message,
-- written in the message's transaction, for the other side. It holds
-- references only. A row is claimed for a lease (lease_until_utc) and comes
-- back once the lease ended unless it was acknowledged (delivered_utc).
CREATE TABLE outbox (
	id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	message         TEXT    NOT NULL UNIQUE REFERENCES messages (id),
	thread          TEXT    NOT NULL REFERENCES threads (id),
	recipient       TEXT    NOT NULL CHECK (recipient IN ('patient', 'practitioner')),
	created_utc     INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	lease_until_utc INTEGER,
	delivered_utc   INTEGER
) STRICT;

CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_utc IS NULL;
