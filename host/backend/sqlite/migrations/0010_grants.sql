-- 0010: access grants (portal.Consents). A patient grants a practitioner
-- access to their data outside any care relationship, and revokes it; a
-- revoked grant stays, as the record of the decision. Times are Unix seconds
-- (UTC).
CREATE TABLE grants (
	id            TEXT    NOT NULL PRIMARY KEY,
	patient       TEXT    NOT NULL REFERENCES patients (id),
	practitioner  TEXT    NOT NULL REFERENCES practitioners (id),
	-- The establishment through which the patient granted access.
	establishment TEXT    NOT NULL REFERENCES establishments (id),
	granted_utc   INTEGER NOT NULL,
	revoked_utc   INTEGER
) STRICT;

-- One active grant per patient and practitioner; also the index of the
-- documents' visibility rule.
CREATE UNIQUE INDEX grants_active ON grants (patient, practitioner) WHERE revoked_utc IS NULL;

CREATE INDEX grants_by_patient ON grants (patient, granted_utc);
