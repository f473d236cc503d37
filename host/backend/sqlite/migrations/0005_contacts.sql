-- 0005: e-mail addresses for messaging notifications (portal.Contacts): a
-- patient's own address, and the team address of a service's care team (for
-- example maternite@chu-exemple.example.org). A notification e-mail says only
-- that a message is waiting; these addresses are where it goes. As in
-- threads, patient is the authenticated subject's id, not a foreign key to
-- patients.

CREATE TABLE patient_contacts (
	patient TEXT NOT NULL PRIMARY KEY,
	email   TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND instr(email, '@') > 1)
) STRICT;

CREATE TABLE service_contacts (
	establishment TEXT NOT NULL,
	service       TEXT NOT NULL,
	email         TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND instr(email, '@') > 1),
	PRIMARY KEY (establishment, service),
	FOREIGN KEY (establishment, service) REFERENCES services (establishment, id)
) STRICT;
