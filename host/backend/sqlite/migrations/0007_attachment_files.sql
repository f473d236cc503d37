-- 0007: attachments kept as files. With an attachment directory configured
-- (sqlite.WithAttachmentDir; `parcours serve -attachments DIR`), the bytes of
-- a new attachment go to the file of that directory named after their
-- SHA-256 (lower-case hex, the sha256 column: identical content is stored
-- once), and its row holds content NULL. Rows written before, or without a
-- directory, keep their bytes in content; both kinds live side by side, and
-- every row keeps its name, type, size and digest here.
--
-- SQLite cannot drop a column's NOT NULL or change a table's CHECK in place:
-- the table is rebuilt with the same columns and its rows copied, in this
-- migration's transaction, and its append-only triggers are recreated. No
-- table references attachments, so foreign keys stay on.

CREATE TABLE attachments_0007 (
	id           TEXT    NOT NULL PRIMARY KEY,
	message      TEXT    NOT NULL REFERENCES messages (id),
	position     INTEGER NOT NULL,
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
	size         INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	-- The bytes, or NULL when they are in the attachment directory, in the
	-- file named sha256 (which must then be a file name: 64 hex digits).
	content      BLOB,
	CHECK (CASE WHEN content IS NULL
		THEN length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*' AND size > 0
		ELSE length(content) = size END),
	UNIQUE (message, position)
) STRICT;

INSERT INTO attachments_0007 (id, message, position, name, content_type, size, sha256, content)
	SELECT id, message, position, name, content_type, size, sha256, content FROM attachments;

-- Dropping a table drops its triggers; the implicit DELETE of a DROP TABLE
-- fires none.
DROP TABLE attachments;

ALTER TABLE attachments_0007 RENAME TO attachments;

-- Which files rows reference, for the sweep of orphan files.
CREATE INDEX attachments_files ON attachments (sha256) WHERE content IS NULL;

CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments
BEGIN
	SELECT RAISE(ABORT, 'attachments is append-only');
END;

CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments
BEGIN
	SELECT RAISE(ABORT, 'attachments is append-only');
END;
