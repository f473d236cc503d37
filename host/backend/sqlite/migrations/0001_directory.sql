-- 0001: the directory: establishments, their services, practitioners and patients.
-- Ids are opaque text chosen by whoever loads the data (the demo seed, an import).

CREATE TABLE establishments (
	id        TEXT NOT NULL PRIMARY KEY,
	name      TEXT NOT NULL,
	-- IANA time zone name, for example 'Europe/Paris'.
	time_zone TEXT NOT NULL
) STRICT;

-- A service id is unique within its establishment (FHIR HealthcareService).
CREATE TABLE services (
	establishment TEXT    NOT NULL REFERENCES establishments (id),
	id            TEXT    NOT NULL,
	name_fr       TEXT    NOT NULL,
	name_en       TEXT    NOT NULL DEFAULT '',
	-- Display order within the establishment.
	position      INTEGER NOT NULL,
	PRIMARY KEY (establishment, id)
) STRICT;

-- FHIR Practitioner; role is a short text such as 'Sage-femme'.
CREATE TABLE practitioners (
	id      TEXT NOT NULL PRIMARY KEY,
	name    TEXT NOT NULL,
	role_fr TEXT NOT NULL DEFAULT '',
	role_en TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE service_practitioners (
	establishment TEXT NOT NULL,
	service       TEXT NOT NULL,
	practitioner  TEXT NOT NULL REFERENCES practitioners (id),
	PRIMARY KEY (establishment, service, practitioner),
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;

-- Patients known to this backend. demo = 1 marks the fictional patients one
-- may sign in as in a demonstration.
CREATE TABLE patients (
	id          TEXT    NOT NULL PRIMARY KEY,
	given_name  TEXT    NOT NULL,
	family_name TEXT    NOT NULL,
	demo        INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1))
) STRICT;
