-- 0009: identity and audit. The links from identity providers' accounts to
-- patients and practitioners (portal.Accounts), the patients' INS with its
-- RNIV status (portal.INS), and the audit log (portal.AuditLog), append-only
-- and chained by SHA-256.

-- An account of an identity provider (the host's name for it, such as
-- 'franceconnect' or 'demo', and the ID token's "sub") linked to exactly one
-- patient or one practitioner of this backend. Unlike elsewhere, patient and
-- practitioner are foreign keys: a link to no one would sign someone in as
-- a record that does not exist.
CREATE TABLE accounts (
	provider     TEXT NOT NULL CHECK (length(provider) BETWEEN 1 AND 200),
	subject      TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
	patient      TEXT REFERENCES patients (id),
	practitioner TEXT REFERENCES practitioners (id),
	PRIMARY KEY (provider, subject),
	CHECK ((patient IS NULL) <> (practitioner IS NULL))
) STRICT;

CREATE INDEX accounts_by_patient ON accounts (patient) WHERE patient IS NOT NULL;
CREATE INDEX accounts_by_practitioner ON accounts (practitioner) WHERE practitioner IS NOT NULL;

-- A patient's INS (identifiant national de santé): 15 characters (13 digits,
-- or 2A/2B for a Corsican birth, and a two-digit key, which the store
-- checks), the OID of its kind (NIR or NIA), and its RNIV status. A table of
-- its own rather than columns of patients: the INS, personal data of the
-- highest sensitivity, stays out of every query of the directory, which
-- never joins it; a patient has at most one; and one INS belongs to one
-- patient at most (a second patient with the same INS is a duplicate record
-- for identity vigilance to merge, never a state to store).
CREATE TABLE patient_ins (
	patient TEXT NOT NULL PRIMARY KEY REFERENCES patients (id),
	value   TEXT NOT NULL CHECK (length(value) = 15 AND
		value GLOB '[0-9][0-9][0-9][0-9][0-9][0-9AaBb][0-9AaBb][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'),
	system  TEXT NOT NULL CHECK (system IN ('urn:oid:1.2.250.1.213.1.4.8', 'urn:oid:1.2.250.1.213.1.4.9', 'urn:oid:1.2.250.1.213.1.4.10')),
	status  TEXT NOT NULL CHECK (status IN ('provisoire', 'recuperee', 'validee', 'qualifiee')),
	UNIQUE (system, value)
) STRICT;

-- The audit log: one row per audited request, in the order of seq, never
-- changed nor deleted (triggers below). time is the instant in UTC as
-- fixed-width RFC 3339 with nanoseconds ('2026-11-23T07:00:00.000000000Z'),
-- so that text order is time order. Empty text stands for an absent agent,
-- patient, entity, establishment or network. As in threads, patient and
-- agent are subjects' ids, not foreign keys: the log outlives the records.
--
-- hash is the hex SHA-256 of the record's fields and prev_hash, the hash of
-- the record before it ('' for the first), each length-prefixed (see
-- auditHash in audit.go): editing, inserting or deleting a record behind the
-- store's back breaks the chain, which Store.VerifyAudit walks.
CREATE TABLE audit_events (
	seq           INTEGER NOT NULL PRIMARY KEY,
	id            TEXT    NOT NULL UNIQUE,
	time          TEXT    NOT NULL CHECK (length(time) = 30 AND substr(time, 30) = 'Z'),
	action        TEXT    NOT NULL CHECK (action IN ('C', 'R', 'U', 'D', 'E')),
	operation     TEXT    NOT NULL,
	outcome       TEXT    NOT NULL CHECK (outcome IN ('0', '4', '8')),
	agent_kind    TEXT    NOT NULL CHECK (agent_kind IN ('patient', 'practitioner', 'anonymous')),
	agent         TEXT    NOT NULL,
	patient       TEXT    NOT NULL,
	entity        TEXT    NOT NULL,
	establishment TEXT    NOT NULL,
	network       TEXT    NOT NULL,
	status        INTEGER NOT NULL,
	prev_hash     TEXT    NOT NULL,
	hash          TEXT    NOT NULL,
	CHECK ((agent_kind = 'anonymous') = (agent = ''))
) STRICT;

-- A patient's records by time (the access history a patient may ask for),
-- and everyone's by time.
CREATE INDEX audit_events_by_patient ON audit_events (patient, time, seq);
CREATE INDEX audit_events_by_time ON audit_events (time, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;
