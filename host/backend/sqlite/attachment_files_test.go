package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sqlitedriver "modernc.org/sqlite"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// sum is the lower-case hex SHA-256 of b, an attachment file's name.
func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// wantMode fails t unless path has permissions perm.
func wantMode(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != perm {
		t.Errorf("%s has permissions %v, want %v", path, got, perm)
	}
}

// TestAttachmentFiles: with a directory, an attachment's bytes are a file
// named after their SHA-256, permissions 0600 in a directory created 0700,
// and the row holds no content; reading gives the bytes back.
func TestAttachmentFiles(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	dir := filepath.Join(t.TempDir(), "data", "attachments") // created, parents included
	m := s.Messaging(sqlite.WithAttachmentDir(dir))
	db := rawDB(t, path)
	camille := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	msg, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "files-key-0001", Body: "Mes résultats",
		Attachments: []portal.NewAttachment{
			{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF},
			{Name: "photo.png", ContentType: portal.ContentTypePNG, Content: testPNG},
		}})
	if err != nil {
		t.Fatal(err)
	}
	wantMode(t, dir, 0o700)
	if got, want := dirNames(t, dir), []string{sum(testPDF), sum(testPNG)}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("the directory holds %q, want %q and nothing else (no temporary file)", got, want)
	}
	for i, content := range [][]byte{testPDF, testPNG} {
		file := filepath.Join(dir, sum(content))
		wantMode(t, file, 0o600)
		if b, err := os.ReadFile(file); err != nil || !bytes.Equal(b, content) {
			t.Errorf("file of attachment %d: %q, %v; want the bytes sent", i, b, err)
		}
		meta, b, err := m.Attachment(camille, msg.ID, msg.Attachments[i].ID)
		if err != nil || !bytes.Equal(b, content) || meta != msg.Attachments[i] || meta.SHA256 != sum(content) {
			t.Errorf("Attachment %d = %+v, %q, %v", i, meta, b, err)
		}
	}
	if got := count(t, db, `SELECT COUNT(*) FROM attachments WHERE content IS NULL AND message = ?`, msg.ID); got != 2 {
		t.Errorf("%d rows of the message without content, want 2", got)
	}
	// A message without attachments writes no file.
	if _, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "files-key-0002", Body: "Merci"}); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, dir); len(got) != 2 {
		t.Errorf("after a message without attachments: %q", got)
	}
	if err := m.CheckAttachmentDir(); err != nil {
		t.Errorf("CheckAttachmentDir: %v", err)
	}
	if got := dirNames(t, dir); len(got) != 2 {
		t.Errorf("CheckAttachmentDir left %q", got)
	}
}

// TestAttachmentFilesDedup: identical content is one file, whoever sends it
// and however often; each row reads it back.
func TestAttachmentFilesDedup(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	dir := t.TempDir()
	m := s.Messaging(sqlite.WithAttachmentDir(dir))
	ctx := context.Background()
	linkPatients(t, s, sqlite.ServiceMaternite, conformancePatients...)
	pdf := portal.NewAttachment{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}
	var reads []func() ([]byte, error)
	for i, p := range conformancePatients {
		nt := question(sqlite.ServiceMaternite, "dedup-thread-"+p)
		nt.Attachments = []portal.NewAttachment{pdf, pdf} // twice in one message, too
		c, err := m.StartThread(asPatient(ctx, p), nt)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range c.Messages[0].Attachments {
			reads = append(reads, func() ([]byte, error) {
				_, b, err := m.Attachment(asPatient(ctx, conformancePatients[i]), c.Messages[0].ID, a.ID)
				return b, err
			})
		}
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{sum(testPDF)}) {
		t.Errorf("the directory holds %q, want one file, %s", got, sum(testPDF))
	}
	if got := count(t, rawDB(t, path), `SELECT COUNT(*) FROM attachments WHERE content IS NULL AND sha256 = ?`, sum(testPDF)); got != 4 {
		t.Errorf("%d rows reference the file, want 4", got)
	}
	for i, read := range reads {
		if b, err := read(); err != nil || !bytes.Equal(b, testPDF) {
			t.Errorf("read %d: %q, %v", i, b, err)
		}
	}
}

// TestAttachmentFileTampered: a file whose bytes are not those of the row
// (changed, truncated, extended, replaced, removed) is an internal error,
// never bytes; sending the same content again repairs it.
func TestAttachmentFileTampered(t *testing.T) {
	s, _ := seededCopy(t, portaltest.NewClock(seedTime))
	dir := t.TempDir()
	m := s.Messaging(sqlite.WithAttachmentDir(dir))
	ctx := context.Background()
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	claire := asPractitioner(ctx, sqlite.DemoPractitionerClaireMartin)
	send := func(key string) portal.Message {
		t.Helper()
		msg, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: key, Body: "Bilan",
			Attachments: []portal.NewAttachment{{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}})
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	msg := send("tamper-key-0001")
	file := filepath.Join(dir, sum(testPDF))
	flipped := slices.Clone(testPDF)
	flipped[len(flipped)-3] ^= 1
	for _, tc := range []struct {
		name   string
		tamper func() error
	}{
		{"one bit changed", func() error { return os.WriteFile(file, flipped, 0o600) }},
		{"truncated", func() error { return os.WriteFile(file, testPDF[:len(testPDF)-1], 0o600) }},
		{"extended", func() error { return os.WriteFile(file, append(slices.Clone(testPDF), ' '), 0o600) }},
		{"replaced by another file", func() error { return os.WriteFile(file, testPNG, 0o600) }},
		{"removed", func() error { return os.Remove(file) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.tamper(); err != nil {
				t.Fatal(err)
			}
			for who, ctx := range map[string]context.Context{"patient": camille, "practitioner": claire} {
				meta, b, err := m.Attachment(ctx, msg.ID, msg.Attachments[0].ID)
				if portal.Code(err) != portal.ErrInternal || b != nil || meta != (portal.AttachmentMeta{}) {
					t.Errorf("Attachment as the %s = %+v, %q, %v; want an internal error and nothing else", who, meta, b, err)
				}
			}
			// The same content sent again rewrites the file: both
			// messages read it.
			again := send("tamper-key-" + sum([]byte(tc.name))[:8])
			for _, x := range []portal.Message{msg, again} {
				if _, b, err := m.Attachment(camille, x.ID, x.Attachments[0].ID); err != nil || !bytes.Equal(b, testPDF) {
					t.Errorf("after sending the content again, message %s: %q, %v", x.ID, b, err)
				}
			}
			wantMode(t, file, 0o600)
		})
	}
	// The directory not configured: a row referencing a file is an
	// internal error too.
	if _, b, err := s.Messaging().Attachment(camille, msg.ID, msg.Attachments[0].ID); portal.Code(err) != portal.ErrInternal || b != nil {
		t.Errorf("Attachment without the directory = %q, %v; want an internal error", b, err)
	}
}

// TestAttachmentFileOrphan: a message whose transaction fails after its
// attachment's file was written (here the outbox refuses the notification,
// as a crash before the commit would) leaves the file and no row. The sweep
// keeps it while it is recent, then removes it, with the temporary files of
// interrupted writes, and never a file that a row references or that is not
// an attachment's.
func TestAttachmentFileOrphan(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	dir := t.TempDir()
	m := s.Messaging(sqlite.WithAttachmentDir(dir))
	db := rawDB(t, path)
	ctx := context.Background()
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	kept, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "orphan-key-0001", Body: "Photo",
		Attachments: []portal.NewAttachment{{Name: "photo.png", ContentType: portal.ContentTypePNG, Content: testPNG}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TRIGGER outbox_broken BEFORE INSERT ON outbox
		BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END`); err != nil {
		t.Fatal(err)
	}
	_, err = m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "orphan-key-0002", Body: "Bilan",
		Attachments: []portal.NewAttachment{{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}})
	if portal.Code(err) != portal.ErrInternal {
		t.Fatalf("Send with a broken outbox: %v, want %s", err, portal.ErrInternal)
	}
	if _, err := db.Exec(`DROP TRIGGER outbox_broken`); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, sum(testPDF))
	if b, err := os.ReadFile(orphan); err != nil || !bytes.Equal(b, testPDF) {
		t.Fatalf("the orphan file: %q, %v; want the bytes, whole", b, err)
	}
	if got := count(t, db, `SELECT COUNT(*) FROM attachments WHERE sha256 = ?`, sum(testPDF)); got != 0 {
		t.Fatalf("%d rows of the failed message's attachment", got)
	}
	// Leftovers of a crash, and a file that is no attachment's.
	tmp := filepath.Join(dir, ".tmp-123456")
	other := filepath.Join(dir, "LISEZMOI.txt")
	for _, f := range []string{tmp, other} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Recent: nothing goes.
	if n, err := m.SweepAttachmentFiles(ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("sweep of recent files = %d, %v; want 0", n, err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range []string{orphan, tmp, other, filepath.Join(dir, sum(testPNG))} {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := m.SweepAttachmentFiles(ctx, time.Hour); err != nil || n != 2 {
		t.Errorf("sweep = %d, %v; want 2 (the orphan and the temporary file)", n, err)
	}
	if got, want := dirNames(t, dir), slices.Sorted(slices.Values([]string{"LISEZMOI.txt", sum(testPNG)})); !slices.Equal(got, want) {
		t.Errorf("after the sweep the directory holds %q, want %q", got, want)
	}
	if _, b, err := m.Attachment(camille, kept.ID, kept.Attachments[0].ID); err != nil || !bytes.Equal(b, testPNG) {
		t.Errorf("the referenced attachment after the sweep: %q, %v", b, err)
	}
	// The message sent again stores its file again.
	msg, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "orphan-key-0002", Body: "Bilan",
		Attachments: []portal.NewAttachment{{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, b, err := m.Attachment(camille, msg.ID, msg.Attachments[0].ID); err != nil || !bytes.Equal(b, testPDF) {
		t.Errorf("the message sent again: %q, %v", b, err)
	}
	// Without a directory the sweep does nothing.
	if n, err := s.Messaging().SweepAttachmentFiles(ctx, 0); err != nil || n != 0 {
		t.Errorf("sweep without a directory = %d, %v", n, err)
	}
}

// TestAttachmentStorageMixed: attachments stored in the database before a
// directory was configured stay readable beside those in files, and a store
// without the directory still reads the former.
func TestAttachmentStorageMixed(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	dir := t.TempDir()
	camille := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	send := func(m *sqlite.Messaging, key string, a portal.NewAttachment) portal.Message {
		t.Helper()
		msg, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: key, Body: "Fichier",
			Attachments: []portal.NewAttachment{a}})
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	inDB := send(s.Messaging(), "mixed-key-0001", portal.NewAttachment{Name: "a.pdf", ContentType: portal.ContentTypePDF, Content: testPDF})
	withDir := s.Messaging(sqlite.WithAttachmentDir(dir))
	inFile := send(withDir, "mixed-key-0002", portal.NewAttachment{Name: "b.png", ContentType: portal.ContentTypePNG, Content: testPNG})
	db := rawDB(t, path)
	if n := count(t, db, `SELECT COUNT(*) FROM attachments WHERE content IS NOT NULL AND message = ?`, inDB.ID); n != 1 {
		t.Errorf("%d rows with content for the first message, want 1", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM attachments WHERE content IS NULL AND message = ?`, inFile.ID); n != 1 {
		t.Errorf("%d rows without content for the second message, want 1", n)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{sum(testPNG)}) {
		t.Errorf("the directory holds %q, want only the second message's file", got)
	}
	for _, tc := range []struct {
		m       *sqlite.Messaging
		msg     portal.Message
		content []byte
	}{
		{withDir, inDB, testPDF}, {withDir, inFile, testPNG}, {s.Messaging(), inDB, testPDF},
	} {
		if _, b, err := tc.m.Attachment(camille, tc.msg.ID, tc.msg.Attachments[0].ID); err != nil || !bytes.Equal(b, tc.content) {
			t.Errorf("Attachment of message %s: %q, %v", tc.msg.ID, b, err)
		}
	}
	// A row's content that is not what its digest says is an internal
	// error as well (the triggers keep the table append-only, so the
	// test goes around them).
	if _, err := db.Exec(`DROP TRIGGER attachments_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE attachments SET content = ? WHERE message = ?`, testPDF[:len(testPDF)-1], inDB.ID); err == nil {
		t.Error("a content that is not of the row's size was accepted")
	}
	flipped := slices.Clone(testPDF)
	flipped[10] ^= 1
	if _, err := db.Exec(`UPDATE attachments SET content = ? WHERE message = ?`, flipped, inDB.ID); err != nil {
		t.Fatal(err)
	}
	if _, b, err := withDir.Attachment(camille, inDB.ID, inDB.Attachments[0].ID); portal.Code(err) != portal.ErrInternal || b != nil {
		t.Errorf("a changed BLOB: %q, %v; want an internal error", b, err)
	}
}

// TestAttachmentDirUnusable: a directory that cannot be created is an error
// of CheckAttachmentDir, and of a message with attachments, which stores
// nothing.
func TestAttachmentDirUnusable(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m := s.Messaging(sqlite.WithAttachmentDir(filepath.Join(blocker, "attachments")))
	if err := m.CheckAttachmentDir(); err == nil {
		t.Error("CheckAttachmentDir under a file: no error")
	}
	camille := asPatient(context.Background(), sqlite.DemoPatientCamilleDurand)
	before := count(t, rawDB(t, path), `SELECT COUNT(*) FROM messages`)
	_, err := m.Send(camille, sqlite.DemoThreadMaternite, portal.NewMessage{ClientID: "unusable-key-0001", Body: "Bilan",
		Attachments: []portal.NewAttachment{{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}})
	if portal.Code(err) != portal.ErrInternal {
		t.Errorf("Send = %v, want %s", err, portal.ErrInternal)
	}
	if after := count(t, rawDB(t, path), `SELECT COUNT(*) FROM messages`); after != before {
		t.Errorf("%d messages stored", after-before)
	}
	if err := s.Messaging().CheckAttachmentDir(); err != nil {
		t.Errorf("CheckAttachmentDir without a directory: %v", err)
	}
}

// Environment of the crashing child of TestAttachmentFileCrash.
const (
	crashDBEnv  = "PARCOURS_TEST_CRASH_DB"
	crashDirEnv = "PARCOURS_TEST_CRASH_DIR"
	crashExit   = 3
)

// TestAttachmentFileCrash kills a process in the middle of storing a
// message, after its attachment's file was written and before the commit:
// a trigger on the outbox calls a function that exits. The database then
// holds nothing of the message, and the directory the whole file (an orphan,
// that the sweep removes once old) and no temporary file; the message sent
// again is stored.
func TestAttachmentFileCrash(t *testing.T) {
	if db := os.Getenv(crashDBEnv); db != "" {
		crashWhileSending(t, db, os.Getenv(crashDirEnv)) // exits
		t.Fatal("the child did not crash")
	}
	if testing.Short() {
		t.Skip("-short: runs a child process")
	}
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	dir := t.TempDir()
	db := rawDB(t, path)
	if _, err := db.Exec(`CREATE TRIGGER outbox_crash BEFORE INSERT ON outbox
		BEGIN SELECT parcours_test_crash(); END`); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAttachmentFileCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != crashExit {
		t.Fatalf("the child: %v, want exit status %d:\n%s", err, crashExit, out)
	}
	if _, err := db.Exec(`DROP TRIGGER outbox_crash`); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, `SELECT COUNT(*) FROM messages WHERE client_id = 'crash-key-0001'`) +
		count(t, db, `SELECT COUNT(*) FROM attachments WHERE sha256 = ?`, sum(testPDF)); got != 0 {
		t.Errorf("%d rows of the message that crashed", got)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{sum(testPDF)}) {
		t.Errorf("after the crash the directory holds %q, want the file alone", got)
	}
	file := filepath.Join(dir, sum(testPDF))
	if b, err := os.ReadFile(file); err != nil || !bytes.Equal(b, testPDF) {
		t.Errorf("the orphan file: %q, %v; want the bytes, whole", b, err)
	}
	wantMode(t, file, 0o600)

	m := s.Messaging(sqlite.WithAttachmentDir(dir))
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	if n, err := m.SweepAttachmentFiles(ctx, time.Hour); err != nil || n != 1 {
		t.Errorf("sweep = %d, %v; want the orphan removed", n, err)
	}
	camille := asPatient(ctx, sqlite.DemoPatientCamilleDurand)
	msg, err := m.Send(camille, sqlite.DemoThreadMaternite, crashMessage())
	if err != nil {
		t.Fatal(err)
	}
	if _, b, err := m.Attachment(camille, msg.ID, msg.Attachments[0].ID); err != nil || !bytes.Equal(b, testPDF) {
		t.Errorf("the message sent again: %q, %v", b, err)
	}
}

func crashMessage() portal.NewMessage {
	return portal.NewMessage{ClientID: "crash-key-0001", Body: "Bilan",
		Attachments: []portal.NewAttachment{{Name: "bilan.pdf", ContentType: portal.ContentTypePDF, Content: testPDF}}}
}

// crashWhileSending, in the child, sends a message whose notification's
// insert calls parcours_test_crash, which exits at once: no commit, no
// cleanup.
func crashWhileSending(t *testing.T, db, dir string) {
	if err := sqlitedriver.RegisterScalarFunction("parcours_test_crash", 0,
		func(*sqlitedriver.FunctionContext, []driver.Value) (driver.Value, error) {
			os.Exit(crashExit)
			return nil, nil
		}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Messaging(sqlite.WithAttachmentDir(dir)).Send(asPatient(ctx, sqlite.DemoPatientCamilleDurand), sqlite.DemoThreadMaternite, crashMessage())
	t.Fatalf("Send returned %v", err)
}
