-- 0002: scheduling: slots (FHIR R4 Slot) and appointments (FHIR R4 Appointment).
-- Every instant is stored as INTEGER Unix seconds, UTC.

CREATE TABLE slots (
	id            TEXT    NOT NULL PRIMARY KEY,
	establishment TEXT    NOT NULL,
	service       TEXT    NOT NULL,
	practitioner  TEXT    NOT NULL,
	start_utc     INTEGER NOT NULL,
	end_utc       INTEGER NOT NULL,
	CHECK (end_utc > start_utc),
	-- A slot's practitioner works in the slot's service.
	FOREIGN KEY (establishment, service, practitioner)
		REFERENCES service_practitioners (establishment, service, practitioner)
) STRICT;

CREATE INDEX slots_by_service_start ON slots (establishment, service, start_utc);

-- patient is the authenticated subject's id. It is deliberately not a foreign
-- key to patients: a subject signed in through an identity provider need not
-- be listed in the directory.
CREATE TABLE appointments (
	id              TEXT    NOT NULL PRIMARY KEY,
	patient         TEXT    NOT NULL,
	establishment   TEXT    NOT NULL,
	service         TEXT    NOT NULL,
	practitioner    TEXT    NOT NULL REFERENCES practitioners (id),
	slot            TEXT    NOT NULL REFERENCES slots (id),
	-- The slot's period when it was booked.
	start_utc       INTEGER NOT NULL,
	end_utc         INTEGER NOT NULL,
	status          TEXT    NOT NULL CHECK (status IN ('booked', 'cancelled')),
	created_utc     INTEGER NOT NULL,
	cancelled_utc   INTEGER,
	idempotency_key TEXT    NOT NULL,
	-- Digest of the booking request the key was first used for.
	request_hash    TEXT    NOT NULL,
	CHECK ((status = 'cancelled') = (cancelled_utc IS NOT NULL)),
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;

-- The guarantee of Booking: a slot is held by at most one booked appointment.
-- A cancelled appointment no longer holds its slot, which can be booked again.
CREATE UNIQUE INDEX appointments_one_booking_per_slot ON appointments (slot) WHERE status = 'booked';

-- An idempotency key is used once per patient, whatever became of the appointment.
CREATE UNIQUE INDEX appointments_idempotency ON appointments (patient, idempotency_key);

CREATE INDEX appointments_by_patient_start ON appointments (patient, start_utc);
