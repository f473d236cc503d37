package sqlite

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestUpgradeKeepsAttachmentBlobs builds a database at the schema before
// attachment files (version 6) holding an attachment in a BLOB, and opens
// it: migration 7 keeps the row, which reads back with or without an
// attachment directory, keeps the table append-only, and refuses a row
// without content whose digest is not a file name.
func TestUpgradeKeepsAttachmentBlobs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parcours.db")
	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var before int
	for i, m := range ms {
		if strings.HasSuffix(m.name, "_attachment_files.sql") {
			before = i
		}
	}
	if before == 0 {
		t.Fatal("no migration *_attachment_files.sql")
	}
	old := rawOpen(t, path)
	if _, err := migrate(ctx, old, ms[:before], seedTime()); err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n")
	sum := digests([]portal.NewAttachment{{Content: pdf}})[0]
	for _, stmt := range []string{
		`INSERT INTO establishments (id, name, time_zone) VALUES ('chu-ancien', 'CHU Ancien', 'Europe/Paris')`,
		`INSERT INTO services (establishment, id, name_fr, position) VALUES ('chu-ancien', 'maternite', 'Maternité', 1)`,
		`INSERT INTO threads (id, establishment, service, patient, subject, status, created_utc, updated_utc, last_message_utc)
			VALUES ('thr_old', 'chu-ancien', 'maternite', 'pat-ancien', 'Question', 'new', 1, 1, 1)`,
		`INSERT INTO messages (id, thread, author_kind, author_id, author_name, client_id, request_hash, body, created_utc)
			VALUES ('msg_old', 'thr_old', 'patient', 'pat-ancien', '', 'old-key-0001', 'h', 'Bonjour', 1)`,
	} {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.Exec(`INSERT INTO attachments (id, message, position, name, content_type, size, sha256, content)
		VALUES ('att_old', 'msg_old', 0, 'bilan.pdf', 'application/pdf', ?, ?, ?)`, len(pdf), sum, pdf); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	patient := portal.WithSubject(ctx, portal.Subject{Patient: "pat-ancien"})
	want := portal.AttachmentMeta{ID: "att_old", Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Size: int64(len(pdf)), SHA256: sum}
	for _, m := range []*Messaging{s.Messaging(), s.Messaging(WithAttachmentDir(t.TempDir()))} {
		meta, b, err := m.Attachment(patient, "msg_old", "att_old")
		if err != nil || meta != want || !bytes.Equal(b, pdf) {
			t.Errorf("the attachment after the upgrade (directory %q) = %+v, %q, %v", m.dir, meta, b, err)
		}
	}
	db := rawOpen(t, path)
	for _, stmt := range []string{`UPDATE attachments SET name = 'x.pdf'`, `DELETE FROM attachments`} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused (append-only)", stmt, err)
		}
	}
	for _, digest := range []string{"../../etc/passwd", strings.ToUpper(sum), sum[:63], sum + "0"} {
		if _, err := db.Exec(`INSERT INTO attachments (id, message, position, name, content_type, size, sha256, content)
			VALUES ('att_bad', 'msg_old', 1, 'b.pdf', 'application/pdf', 10, ?, NULL)`, digest); err == nil {
			t.Errorf("a row without content named %q was accepted", digest)
		}
	}
	if _, err := db.Exec(`INSERT INTO attachments (id, message, position, name, content_type, size, sha256, content)
		VALUES ('att_file', 'msg_old', 1, 'b.pdf', 'application/pdf', 10, ?, NULL)`, sum); err != nil {
		t.Errorf("a row referencing a file: %v", err)
	}
}
