package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Messaging is secure messaging (portal.Messaging) and its outbox of
// notifications (portal.Notifications) in a Store's database: threads,
// messages, attachments, read receipts and the outbox rows, each message
// with its attachments and its notification written in one transaction.
//
// An attachment's bytes are a BLOB of its row by default. With
// WithAttachmentDir they are a file of a directory instead, named after
// their SHA-256, written and synced to disk before the transaction that
// references it commits (see WithAttachmentDir). Rows of both kinds may live
// in one database: a directory configured later leaves the BLOBs where they
// are.
//
// Get one with Store.Messaging; it is safe for concurrent use and lives as
// long as its Store.
type Messaging struct {
	s             *Store
	maxAttachment int64
	dir           string // attachment directory; "" keeps the bytes in the database
}

var (
	_ portal.Messaging         = (*Messaging)(nil)
	_ portal.Notifications     = (*Messaging)(nil)
	_ portal.CareTeamDirectory = (*Store)(nil)
)

// MessagingOption configures a Store's Messaging.
type MessagingOption func(*Messaging)

// maxBlob bounds an attachment stored in one BLOB, below SQLite's default
// SQLITE_MAX_LENGTH of 10⁹ bytes.
const maxBlob = 512 << 20

// WithMaxAttachmentSize sets the largest attachment accepted, in bytes
// (ErrAttachmentTooLarge beyond). The default is
// portal.DefaultMaxAttachmentSize (10 MiB); n <= 0 keeps it, and n is lowered
// to 512 MiB, what one SQLite BLOB safely holds.
func WithMaxAttachmentSize(n int64) MessagingOption {
	return func(m *Messaging) {
		if n > 0 {
			m.maxAttachment = min(n, maxBlob)
		}
	}
}

// WithAttachmentDir keeps the bytes of new attachments in files of dir
// rather than in the database; "" (the default) keeps them in the database.
// dir is created with permissions 0700 if it is missing, each file with 0600.
//
// A file is named after the lower-case hex SHA-256 of its bytes
// (AttachmentMeta.SHA256), so identical content is stored once. It is
// written to a temporary file of dir, synced, renamed to its name, and dir is
// synced, all before the transaction that inserts the row referencing it
// commits: a crash never leaves a row without its file, nor a file half
// written under its name. A crash (or a failure) between the file and the
// commit leaves an orphan file that no row references: harmless, and
// removed by SweepAttachmentFiles. Reading checks the SHA-256 of the file's
// bytes against the row: a missing, corrupted or replaced file is an
// ErrInternal error, never other bytes.
//
// Rows written without a directory keep their bytes in the database and stay
// readable; rows referencing files need the directory configured to be read
// (ErrInternal otherwise). One directory belongs to one database: the sweep
// removes whatever files the database does not reference. Back it up with the
// database (see docs/operations.md).
func WithAttachmentDir(dir string) MessagingOption {
	return func(m *Messaging) { m.dir = dir }
}

// Messaging returns the secure messaging of the Store, configured by opts.
func (s *Store) Messaging(opts ...MessagingOption) *Messaging {
	m := &Messaging{s: s, maxAttachment: portal.DefaultMaxAttachmentSize}
	for _, opt := range opts {
		opt(m)
	}
	return m
}

// MaxAttachmentSize returns the largest attachment m accepts, in bytes.
func (m *Messaging) MaxAttachmentSize() int64 { return m.maxAttachment }

// Patient side.

// Threads lists the context patient's threads in an establishment, latest
// message first. An unknown establishment is an ErrNotFound error; a
// practitioner is refused (ErrForbidden: the inbox is theirs).
func (m *Messaging) Threads(ctx context.Context, est string) ([]portal.Thread, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return nil, err
	}
	return readTx(ctx, m.s, "threads", func(tx *sql.Tx) ([]portal.Thread, error) {
		if _, err := establishment(ctx, tx, est); err != nil {
			return nil, err
		}
		return m.threads(ctx, tx, viewer, `t.establishment = ?1`, est)
	})
}

// StartThread starts a thread for the context's patient in t.Service and
// stores its first message, in one transaction with the message's
// notification to the care team. The thread is portal.ThreadNew.
//
// An invalid t is refused first (see portal.NewThread.Validate). A
// t.ClientID this patient already used returns the thread it started, with
// its messages as they are now, if the request is the same (same
// establishment, service, subject, body and attachments), and is an
// ErrIdempotencyKeyReused error otherwise. Then an unknown establishment or
// service is ErrNotFound, and a service the patient has no link with (see
// portal.Messaging) ErrServiceNotLinked. A
// practitioner is refused (ErrForbidden). A refused thread stores nothing.
func (m *Messaging) StartThread(ctx context.Context, t portal.NewThread) (portal.Conversation, error) {
	viewer, err := requireSide(ctx, portal.AuthorPatient)
	if err != nil {
		return portal.Conversation{}, err
	}
	if err := t.Validate(m.maxAttachment); err != nil {
		return portal.Conversation{}, err
	}
	sums := digests(t.Attachments)
	hash := messageHash("start", []string{t.Establishment, t.Service, t.Subject, t.Body}, t.Attachments, sums)
	return writeTx(ctx, m.s, "start thread", func(tx *sql.Tx) (portal.Conversation, error) {
		// Idempotency first, in the same transaction as the insert: a
		// concurrent retry waits for the write lock, then finds the thread.
		_, threadID, found, err := replay(ctx, tx, viewer, t.ClientID, hash)
		if err == nil && !found {
			threadID, err = m.startThread(ctx, tx, viewer, t, hash, sums)
		}
		if err != nil {
			return portal.Conversation{}, err
		}
		return m.conversation(ctx, tx, viewer, threadID)
	})
}

// startThread checks that patient may write to t.Service, inserts the thread
// and its first message, and returns the thread's id.
func (m *Messaging) startThread(ctx context.Context, tx *sql.Tx, patient portal.Author, t portal.NewThread, hash string, sums []string) (string, error) {
	if _, err := establishment(ctx, tx, t.Establishment); err != nil {
		return "", err
	}
	if err := serviceExists(ctx, tx, t.Establishment, t.Service); err != nil {
		return "", err
	}
	var linked bool
	if err := tx.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM appointments
				WHERE patient = ?1 AND establishment = ?2 AND service = ?3 AND status = 'booked')
			OR EXISTS (SELECT 1 FROM threads
				WHERE patient = ?1 AND establishment = ?2 AND service = ?3)
			OR EXISTS (SELECT 1 FROM questionnaire_submissions
				WHERE patient = ?1 AND establishment = ?2 AND service = ?3)`,
		patient.ID, t.Establishment, t.Service).Scan(&linked); err != nil {
		return "", err
	}
	if !linked {
		return "", portal.Errorf(portal.ErrServiceNotLinked, "patient has no link with service %q of establishment %q", t.Service, t.Establishment)
	}
	id, now := newID("thr_"), m.s.now().Unix()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO threads (id, establishment, service, patient, subject, status, created_utc, updated_utc, last_message_utc)
		VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?)`,
		id, t.Establishment, t.Service, patient.ID, t.Subject, now, now, now); err != nil {
		return "", err
	}
	_, err := m.insertMessage(ctx, tx, id, patient, t.ClientID, hash, t.Body, t.Attachments, sums, now)
	return id, err
}

// Both sides.

// Thread returns a thread the context's subject may read, with its messages
// oldest first. Any other thread is reported exactly as an unknown one,
// ErrNotFound.
func (m *Messaging) Thread(ctx context.Context, id string) (portal.Conversation, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.Conversation{}, err
	}
	return readTx(ctx, m.s, "thread", func(tx *sql.Tx) (portal.Conversation, error) {
		return m.conversation(ctx, tx, viewer, id)
	})
}

// Send stores a message of the context's subject in a thread they may read,
// in one transaction with its notification to the other side, and moves the
// thread's status (see portal.Messaging).
//
// An invalid message is refused first (see portal.NewMessage.Validate). A
// ClientID this author already used returns the message stored then if the
// request is the same (same thread, body and attachments), and is an
// ErrIdempotencyKeyReused error otherwise. A thread the subject may not read
// is ErrNotFound, as an unknown one. A refused message stores nothing.
func (m *Messaging) Send(ctx context.Context, threadID string, nm portal.NewMessage) (portal.Message, error) {
	author, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.Message{}, err
	}
	if err := nm.Validate(m.maxAttachment); err != nil {
		return portal.Message{}, err
	}
	sums := digests(nm.Attachments)
	hash := messageHash("send", []string{threadID, nm.Body}, nm.Attachments, sums)
	return writeTx(ctx, m.s, "send", func(tx *sql.Tx) (portal.Message, error) {
		id, _, found, err := replay(ctx, tx, author, nm.ClientID, hash)
		if err == nil && !found {
			id, err = m.send(ctx, tx, author, threadID, nm, hash, sums)
		}
		if err != nil {
			return portal.Message{}, err
		}
		return m.message(ctx, tx, id)
	})
}

// send inserts a new message in a thread author may read, moves the thread's
// status and returns the message's id.
func (m *Messaging) send(ctx context.Context, tx *sql.Tx, author portal.Author, threadID string, nm portal.NewMessage, hash string, sums []string) (string, error) {
	t, err := m.thread(ctx, tx, author, threadID)
	if err != nil {
		return "", err
	}
	status := portal.ThreadAnswered
	if author.Kind == portal.AuthorPatient {
		status = portal.ThreadWaiting
		if t.Status == portal.ThreadNew {
			status = portal.ThreadNew
		}
	}
	now := m.s.now().Unix()
	if _, err := tx.ExecContext(ctx, `
		UPDATE threads SET status = ?, updated_utc = ?, last_message_utc = ? WHERE id = ?`,
		status, now, now, t.ID); err != nil {
		return "", err
	}
	return m.insertMessage(ctx, tx, t.ID, author, nm.ClientID, hash, nm.Body, nm.Attachments, sums, now)
}

// MarkRead records that the context's subject read, now, every message of
// the other side in a thread they may read (ErrNotFound otherwise). A
// message they read before keeps its first read time; when any receipt is
// new, the thread's Updated moves.
func (m *Messaging) MarkRead(ctx context.Context, threadID string) error {
	reader, err := portal.RequireAuthor(ctx)
	if err != nil {
		return err
	}
	return m.s.write(ctx, "mark read", func(tx *sql.Tx) error {
		if _, err := m.thread(ctx, tx, reader, threadID); err != nil {
			return err
		}
		name, err := authorName(ctx, tx, reader)
		if err != nil {
			return err
		}
		now := m.s.now().Unix()
		res, err := tx.ExecContext(ctx, `
			INSERT INTO message_reads (message, reader_kind, reader_id, reader_name, read_utc)
			SELECT id, ?, ?, ?, ? FROM messages WHERE thread = ? AND author_kind <> ?
			ON CONFLICT (message, reader_kind, reader_id) DO NOTHING`,
			reader.Kind, reader.ID, name, now, threadID, reader.Kind)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE threads SET updated_utc = ? WHERE id = ?`, now, threadID)
		return err
	})
}

// Attachment returns an attachment of a message, with its bytes, if the
// context's subject may read the message's thread. Any other attachment,
// and an attachment asked for with another message's id, is reported
// exactly as an unknown one, ErrNotFound.
//
// The bytes, from the database or from the attachment directory, are
// checked against the row's size and SHA-256: a mismatch, or a file that is
// missing or unreadable, is an ErrInternal error (whose detail, for the logs,
// names the attachment and the file).
func (m *Messaging) Attachment(ctx context.Context, messageID, attachmentID string) (portal.AttachmentMeta, []byte, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	type row struct {
		meta    portal.AttachmentMeta
		content []byte
		inFile  bool
	}
	r, err := readTx(ctx, m.s, "attachment", func(tx *sql.Tx) (row, error) {
		r := row{meta: portal.AttachmentMeta{ID: attachmentID}}
		a := &r.meta
		err := tx.QueryRowContext(ctx, `
			SELECT a.name, a.content_type, a.size, a.sha256, a.content, a.content IS NULL
			FROM attachments a JOIN messages m ON m.id = a.message JOIN threads t ON t.id = m.thread
			WHERE a.id = ?1 AND a.message = ?2 AND `+viewerScope(viewer, 3),
			attachmentID, messageID, viewer.ID).Scan(&a.Name, &a.ContentType, &a.Size, &a.SHA256, &r.content, &r.inFile)
		if errors.Is(err, sql.ErrNoRows) {
			// The same error whoever's attachment it is, or none.
			return r, portal.Errorf(portal.ErrNotFound, "attachment %q of message %q not found", attachmentID, messageID)
		}
		return r, err
	})
	if err != nil {
		return portal.AttachmentMeta{}, nil, err
	}
	// The file is read after the transaction: a referenced file is never
	// removed, and the check below catches any other change.
	content, where := r.content, "database"
	if r.inFile {
		if content, where, err = m.readFile(r.meta); err != nil {
			return portal.AttachmentMeta{}, nil, portal.Errorf(portal.ErrInternal,
				"sqlite: attachment %s of message %s: %v", attachmentID, messageID, err)
		}
	}
	if err := checkContent(content, r.meta); err != nil {
		return portal.AttachmentMeta{}, nil, portal.Errorf(portal.ErrInternal,
			"sqlite: attachment %s of message %s (%s): %v", attachmentID, messageID, where, err)
	}
	return r.meta, content, nil
}

// MessageEstablishment returns the establishment of a message's thread if
// the context's subject may read the thread; any other message is reported
// exactly as an unknown one, ErrNotFound. The host asks it before serving an
// attachment, to serve only those of the establishments it serves.
func (m *Messaging) MessageEstablishment(ctx context.Context, messageID string) (string, error) {
	viewer, err := portal.RequireAuthor(ctx)
	if err != nil {
		return "", err
	}
	return readTx(ctx, m.s, "message establishment", func(tx *sql.Tx) (string, error) {
		var est string
		err := tx.QueryRowContext(ctx, `
			SELECT t.establishment FROM messages m JOIN threads t ON t.id = m.thread
			WHERE m.id = ?1 AND `+viewerScope(viewer, 2), messageID, viewer.ID).Scan(&est)
		if errors.Is(err, sql.ErrNoRows) {
			return "", portal.Errorf(portal.ErrNotFound, "message %q not found", messageID)
		}
		return est, err
	})
}

// Care-team side.

// Inbox lists the threads of an establishment in the services the context's
// practitioner belongs to, selected by f, latest message first. An unknown
// establishment, or an unknown service in f, is an ErrNotFound error; a
// service the practitioner does not belong to has no thread for them. A
// patient is refused (ErrForbidden).
func (m *Messaging) Inbox(ctx context.Context, est string, f portal.InboxFilter) ([]portal.Thread, error) {
	viewer, err := requireSide(ctx, portal.AuthorPractitioner)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return readTx(ctx, m.s, "inbox", func(tx *sql.Tx) ([]portal.Thread, error) {
		if _, err := establishment(ctx, tx, est); err != nil {
			return nil, err
		}
		if f.Service != "" {
			if err := serviceExists(ctx, tx, est, f.Service); err != nil {
				return nil, err
			}
		}
		return m.threads(ctx, tx, viewer, `t.establishment = ?1 AND (?2 = '' OR t.status = ?2) AND (?3 = '' OR t.service = ?3)`,
			est, string(f.Status), f.Service)
	})
}

// Assign gives a thread of the practitioner's services to the context's
// practitioner, whoever had it, and moves its Updated unless it was theirs
// already. The status does not change.
func (m *Messaging) Assign(ctx context.Context, threadID string) (portal.Thread, error) {
	return m.careTeamUpdate(ctx, "assign", threadID, func(p portal.Author, t portal.Thread) (string, []any) {
		if t.AssignedTo == p.ID {
			return "", nil
		}
		return `assigned_to = ?`, []any{p.ID}
	})
}

// Close closes a thread of the practitioner's services. Closing a closed
// thread returns it unchanged.
func (m *Messaging) Close(ctx context.Context, threadID string) (portal.Thread, error) {
	return m.careTeamUpdate(ctx, "close", threadID, func(_ portal.Author, t portal.Thread) (string, []any) {
		if t.Status == portal.ThreadClosed {
			return "", nil
		}
		return `status = ?`, []any{portal.ThreadClosed}
	})
}

// careTeamUpdate runs a practitioner's change of a thread they may read:
// change returns the SET clause and its arguments, or "" for no change.
func (m *Messaging) careTeamUpdate(ctx context.Context, op, threadID string, change func(portal.Author, portal.Thread) (string, []any)) (portal.Thread, error) {
	p, err := requireSide(ctx, portal.AuthorPractitioner)
	if err != nil {
		return portal.Thread{}, err
	}
	return writeTx(ctx, m.s, op, func(tx *sql.Tx) (portal.Thread, error) {
		t, err := m.thread(ctx, tx, p, threadID)
		if err != nil {
			return t, err
		}
		set, args := change(p, t)
		if set == "" {
			return t, nil
		}
		args = append(args, m.s.now().Unix(), threadID)
		if _, err := tx.ExecContext(ctx, `UPDATE threads SET `+set+`, updated_utc = ? WHERE id = ?`, args...); err != nil {
			return t, err
		}
		return m.thread(ctx, tx, p, threadID)
	})
}

// Outbox.

// ClaimNotifications claims at most limit notifications, oldest first, that
// are not acknowledged and whose lease, if any, has ended by the Store's
// clock, for lease (rounded up to the second). See portal.Notifications.
func (m *Messaging) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]portal.Notification, error) {
	if err := portal.ValidateClaim(limit, lease); err != nil {
		return nil, err
	}
	return writeTx(ctx, m.s, "claim notifications", func(tx *sql.Tx) ([]portal.Notification, error) {
		now := m.s.now()
		out := []portal.Notification{}
		var ids []any
		err := query(ctx, tx, `
			SELECT o.id, o.message, o.thread, o.recipient, o.created_utc, o.attempts,
				t.establishment, t.service, t.patient, e.time_zone
			FROM outbox o JOIN threads t ON t.id = o.thread JOIN establishments e ON e.id = t.establishment
			WHERE o.delivered_utc IS NULL AND (o.lease_until_utc IS NULL OR o.lease_until_utc <= ?)
			ORDER BY o.id LIMIT ?`, []any{now.Unix(), limit}, func(rows *sql.Rows) error {
			var n portal.Notification
			var created int64
			var tz string
			if err := rows.Scan(&n.ID, &n.Message, &n.Thread, &n.Recipient, &created, &n.Attempts,
				&n.Establishment, &n.Service, &n.Patient, &tz); err != nil {
				return err
			}
			loc, err := m.s.location(tz)
			if err != nil {
				return err
			}
			n.Created, n.Attempts = fromUnix(created, loc), n.Attempts+1
			out = append(out, n)
			ids = append(ids, n.ID)
			return nil
		})
		if err != nil || len(ids) == 0 {
			return out, err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE outbox SET attempts = attempts + 1, lease_until_utc = ?
			WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`,
			append([]any{unixCeil(now.Add(lease))}, ids...)...)
		return out, err
	})
}

// AckNotification records a notification delivered, at the Store's clock;
// it is never claimed again. Acknowledging it again keeps the first time; an
// unknown id is an ErrNotFound error.
func (m *Messaging) AckNotification(ctx context.Context, id int64) error {
	return m.s.write(ctx, "ack notification", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE outbox SET delivered_utc = COALESCE(delivered_utc, ?) WHERE id = ?`, m.s.now().Unix(), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			return portal.Errorf(portal.ErrNotFound, "notification %d not found", id)
		}
		return err
	})
}

// Care-team directory.

// Practitioner returns a practitioner by id, or an ErrNotFound error.
func (s *Store) Practitioner(ctx context.Context, id string) (portal.Practitioner, error) {
	return readTx(ctx, s, "practitioner", func(tx *sql.Tx) (portal.Practitioner, error) {
		ps, err := practitioners(ctx, tx, `id = ?`, id)
		if err == nil && len(ps) == 0 {
			err = portal.Errorf(portal.ErrNotFound, "practitioner %q not found", id)
		}
		if err != nil {
			return portal.Practitioner{}, err
		}
		return ps[0], nil
	})
}

// DemoPractitioners lists the fictional practitioners flagged for
// demonstrations, ordered by name. It is empty unless the database was
// seeded (see Seed).
func (s *Store) DemoPractitioners(ctx context.Context) ([]portal.Practitioner, error) {
	return readTx(ctx, s, "demo practitioners", func(tx *sql.Tx) ([]portal.Practitioner, error) {
		return practitioners(ctx, tx, `demo = ?`, 1)
	})
}

// practitioners reads the practitioners matching filter, a condition with
// one parameter, arg, ordered by name.
func practitioners(ctx context.Context, tx *sql.Tx, filter string, arg any) ([]portal.Practitioner, error) {
	out := []portal.Practitioner{}
	err := query(ctx, tx, `SELECT id, name, role_fr, role_en, coalesce(rpps, '') FROM practitioners WHERE `+filter+` ORDER BY name, id`,
		[]any{arg}, func(rows *sql.Rows) error {
			var p portal.Practitioner
			if err := rows.Scan(&p.ID, &p.Name, &p.Role.FR, &p.Role.EN, &p.RPPS); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	return out, err
}

// Transactions with a result.

// readTx runs fn in a read-only transaction of s (see Store.read) and
// returns its result, or the zero value and the error.
func readTx[T any](ctx context.Context, s *Store, op string, fn func(*sql.Tx) (T, error)) (T, error) {
	return txResult(ctx, s, op, true, fn)
}

// writeTx runs fn in a read-write transaction of s (see Store.write) and
// returns its result, or the zero value and the error.
func writeTx[T any](ctx context.Context, s *Store, op string, fn func(*sql.Tx) (T, error)) (T, error) {
	return txResult(ctx, s, op, false, fn)
}

func txResult[T any](ctx context.Context, s *Store, op string, readOnly bool, fn func(*sql.Tx) (T, error)) (T, error) {
	var out T
	err := s.inTx(ctx, op, readOnly, func(tx *sql.Tx) error {
		var err error
		out, err = fn(tx) // the last attempt's result
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// Reading threads and messages.

// requireSide returns the context's subject if it is of side kind: an
// ErrUnauthenticated error without a subject, ErrForbidden for the other
// side.
func requireSide(ctx context.Context, kind portal.AuthorKind) (portal.Author, error) {
	a, err := portal.RequireAuthor(ctx)
	if err == nil && a.Kind != kind {
		return portal.Author{}, portal.Errorf(portal.ErrForbidden, "a %s may not do this", a.Kind)
	}
	return a, err
}

// viewerScope returns the condition on threads t that keeps those viewer may
// read, its argument, viewer.ID, being parameter ?param: a patient's own
// threads, or the threads of the services a practitioner belongs to. Every
// read of a thread goes through it.
func viewerScope(viewer portal.Author, param int) string {
	if viewer.Kind == portal.AuthorPatient {
		return fmt.Sprintf(`t.patient = ?%d`, param)
	}
	return fmt.Sprintf(`EXISTS (SELECT 1 FROM service_practitioners sp
		WHERE sp.establishment = t.establishment AND sp.service = t.service AND sp.practitioner = ?%d)`, param)
}

// threads reads the threads viewer may read that match filter, latest
// message first, with viewer's unread counts. filter is a condition on
// threads t whose parameters are numbered, ?1 to ?len(args).
func (m *Messaging) threads(ctx context.Context, tx *sql.Tx, viewer portal.Author, filter string, args ...any) ([]portal.Thread, error) {
	// Unread: the other side's messages without a receipt. Only the other
	// side writes receipts of a message (MarkRead), so any receipt is one
	// of the viewer's side.
	args = append(args, viewer.ID, viewer.Kind)
	n := len(args)
	out := []portal.Thread{}
	err := query(ctx, tx, fmt.Sprintf(`
		SELECT t.id, t.establishment, t.service, t.patient, p.given_name, p.family_name, t.subject, t.status,
			COALESCE(t.assigned_to, ''), t.created_utc, t.updated_utc, t.last_message_utc, e.time_zone,
			(SELECT COUNT(*) FROM messages m WHERE m.thread = t.id AND m.author_kind <> ?%d
				AND NOT EXISTS (SELECT 1 FROM message_reads r WHERE r.message = m.id))
		FROM threads t JOIN establishments e ON e.id = t.establishment
		LEFT JOIN patients p ON p.id = t.patient
		WHERE (%s) AND %s
		ORDER BY t.last_message_utc DESC, (SELECT MAX(seq) FROM messages m WHERE m.thread = t.id) DESC`,
		n, filter, viewerScope(viewer, n-1)), args, func(rows *sql.Rows) error {
		var t portal.Thread
		var given, family sql.NullString
		var created, updated, last int64
		var tz string
		if err := rows.Scan(&t.ID, &t.Establishment, &t.Service, &t.Patient, &given, &family, &t.Subject, &t.Status,
			&t.AssignedTo, &created, &updated, &last, &tz, &t.Unread); err != nil {
			return err
		}
		loc, err := m.s.location(tz)
		if err != nil {
			return err
		}
		if given.Valid {
			t.PatientName = portal.Patient{GivenName: given.String, FamilyName: family.String}.DisplayName()
		}
		t.Created, t.Updated, t.LastMessage = fromUnix(created, loc), fromUnix(updated, loc), fromUnix(last, loc)
		out = append(out, t)
		return nil
	})
	return out, err
}

// thread reads one thread viewer may read; any other is ErrNotFound.
func (m *Messaging) thread(ctx context.Context, tx *sql.Tx, viewer portal.Author, id string) (portal.Thread, error) {
	ts, err := m.threads(ctx, tx, viewer, `t.id = ?1`, id)
	if err != nil {
		return portal.Thread{}, err
	}
	if len(ts) == 0 {
		// The same error for a thread viewer may not read and an
		// unknown one: nothing tells them apart.
		return portal.Thread{}, portal.Errorf(portal.ErrNotFound, "thread %q not found", id)
	}
	return ts[0], nil
}

// conversation reads a thread viewer may read with its messages.
func (m *Messaging) conversation(ctx context.Context, tx *sql.Tx, viewer portal.Author, id string) (portal.Conversation, error) {
	t, err := m.thread(ctx, tx, viewer, id)
	if err != nil {
		return portal.Conversation{}, err
	}
	msgs, err := m.messages(ctx, tx, `m.thread = ?`, id)
	if err != nil {
		return portal.Conversation{}, err
	}
	return portal.Conversation{Thread: t, Messages: msgs}, nil
}

// message reads one message by id. Its author just wrote or retried it, so
// it needs no scope.
func (m *Messaging) message(ctx context.Context, tx *sql.Tx, id string) (portal.Message, error) {
	msgs, err := m.messages(ctx, tx, `m.id = ?`, id)
	if err != nil {
		return portal.Message{}, err
	}
	if len(msgs) == 0 {
		return portal.Message{}, fmt.Errorf("message %q vanished", id)
	}
	return msgs[0], nil
}

// messages reads the messages matching filter (a condition on messages m
// with one parameter, arg), oldest first, with their attachments and read
// receipts, times in their establishment's time zone.
func (m *Messaging) messages(ctx context.Context, tx *sql.Tx, filter string, arg any) ([]portal.Message, error) {
	out := []portal.Message{}
	index := map[string]int{}
	var loc *time.Location
	err := query(ctx, tx, `
		SELECT m.id, m.thread, m.client_id, m.author_kind, m.author_id, m.author_name, m.body, m.created_utc, e.time_zone
		FROM messages m JOIN threads t ON t.id = m.thread JOIN establishments e ON e.id = t.establishment
		WHERE `+filter+` ORDER BY m.seq`, []any{arg}, func(rows *sql.Rows) error {
		var msg portal.Message
		var created int64
		var tz string
		if err := rows.Scan(&msg.ID, &msg.Thread, &msg.ClientID, &msg.Author.Kind, &msg.Author.ID, &msg.Author.Name,
			&msg.Body, &created, &tz); err != nil {
			return err
		}
		var err error
		if loc, err = m.s.location(tz); err != nil {
			return err
		}
		msg.Created = fromUnix(created, loc)
		msg.Attachments, msg.ReadBy = []portal.AttachmentMeta{}, []portal.ReadReceipt{}
		index[msg.ID] = len(out)
		out = append(out, msg)
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	err = query(ctx, tx, `
		SELECT a.message, a.id, a.name, a.content_type, a.size, a.sha256
		FROM attachments a JOIN messages m ON m.id = a.message
		WHERE `+filter+` ORDER BY a.message, a.position`, []any{arg}, func(rows *sql.Rows) error {
		var msgID string
		var a portal.AttachmentMeta
		if err := rows.Scan(&msgID, &a.ID, &a.Name, &a.ContentType, &a.Size, &a.SHA256); err != nil {
			return err
		}
		i := index[msgID]
		out[i].Attachments = append(out[i].Attachments, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = query(ctx, tx, `
		SELECT r.message, r.reader_kind, r.reader_id, r.reader_name, r.read_utc
		FROM message_reads r JOIN messages m ON m.id = r.message
		WHERE `+filter+` ORDER BY r.read_utc, r.rowid`, []any{arg}, func(rows *sql.Rows) error {
		var msgID string
		var r portal.ReadReceipt
		var at int64
		if err := rows.Scan(&msgID, &r.Reader.Kind, &r.Reader.ID, &r.Reader.Name, &at); err != nil {
			return err
		}
		r.At = fromUnix(at, loc)
		i := index[msgID]
		out[i].ReadBy = append(out[i].ReadBy, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// query runs q with args and calls scan for each row.
func query(ctx context.Context, tx *sql.Tx, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Writing messages.

// replay looks for the message author stored under clientID. found reports
// one; a message asked with another request (hash) is an
// ErrIdempotencyKeyReused error.
func replay(ctx context.Context, tx *sql.Tx, author portal.Author, clientID, hash string) (id, thread string, found bool, err error) {
	var prev string
	err = tx.QueryRowContext(ctx, `
		SELECT id, thread, request_hash FROM messages WHERE author_kind = ? AND author_id = ? AND client_id = ?`,
		author.Kind, author.ID, clientID).Scan(&id, &thread, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", false, nil
	case err != nil:
		return "", "", false, err
	case prev != hash:
		return "", "", false, portal.Errorf(portal.ErrIdempotencyKeyReused, "client id already used by message %s for another message", id)
	}
	return id, thread, true, nil
}

// insertMessage inserts a message of author in thread with its attachments,
// and the notification of the other side, and returns the message's id.
// sums are the attachments' digests. With an attachment directory, the
// attachments' files are written and synced first: tx, which holds the write
// lock, commits only after them, and no sweep runs in between.
func (m *Messaging) insertMessage(ctx context.Context, tx *sql.Tx, thread string, author portal.Author, clientID, hash, body string,
	atts []portal.NewAttachment, sums []string, now int64) (string, error) {
	name, err := authorName(ctx, tx, author)
	if err != nil {
		return "", err
	}
	if m.dir != "" && len(atts) > 0 {
		if err := m.writeFiles(atts, sums); err != nil {
			return "", err
		}
	}
	id := newID("msg_")
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO messages (id, thread, author_kind, author_id, author_name, client_id, request_hash, body, created_utc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, thread, author.Kind, author.ID, name, clientID, hash, body, now); err != nil {
		// A unique violation means another writer got in first despite
		// the write lock; inTx tries again and replay then finds it.
		return "", err
	}
	for i, a := range atts {
		content := a.Content
		if m.dir != "" {
			content = nil // NULL: in the file named sums[i]
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO attachments (id, message, position, name, content_type, size, sha256, content)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			newID("att_"), id, i, a.Name, a.ContentType, len(a.Content), sums[i], content); err != nil {
			return "", err
		}
	}
	recipient := portal.AuthorPractitioner
	if author.Kind == portal.AuthorPractitioner {
		recipient = portal.AuthorPatient
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (message, thread, recipient, created_utc) VALUES (?, ?, ?, ?)`,
		id, thread, recipient, now); err != nil {
		return "", err
	}
	return id, nil
}

// authorName returns a's name as the directory knows it: "Given FAMILY" for
// a patient, "" for a patient it does not list.
func authorName(ctx context.Context, tx *sql.Tx, a portal.Author) (string, error) {
	if a.Kind == portal.AuthorPractitioner {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM practitioners WHERE id = ?`, a.ID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return name, err
	}
	var p portal.Patient
	err := tx.QueryRowContext(ctx, `SELECT given_name, family_name FROM patients WHERE id = ?`, a.ID).
		Scan(&p.GivenName, &p.FamilyName)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return p.DisplayName(), err
}

// digests returns the lower-case hex SHA-256 of each attachment's content.
func digests(atts []portal.NewAttachment) []string {
	out := make([]string, len(atts))
	for i, a := range atts {
		sum := sha256.Sum256(a.Content)
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}

// messageHash is the digest of what a message request asks for, stored with
// its client id to recognise a retry of the same request: the kind of
// request, its fields, and each attachment's name, type and digest. Each part
// is length-prefixed, so that no two requests share an encoding.
func messageHash(kind string, fields []string, atts []portal.NewAttachment, sums []string) string {
	parts := slices.Clone(fields)
	for i, a := range atts {
		parts = append(parts, a.Name, a.ContentType, sums[i])
	}
	return fieldsDigest(fmt.Sprintf("message/v1/%s/%d", kind, len(fields)), parts)
}

// Attachment files.

const (
	// attachmentDirMode is the permissions of an attachment directory the
	// Store creates; files get 0600 (os.CreateTemp's): health data.
	attachmentDirMode = 0o700
	// tempFilePrefix starts the name of a file being written. A crash may
	// leave one; SweepAttachmentFiles removes it.
	tempFilePrefix = ".tmp-"
	// sweepBatch bounds the files one transaction of the sweep checks, so
	// that it holds the write lock briefly.
	sweepBatch = 100
)

// isDigest reports whether s is a lower-case hex SHA-256, the name of an
// attachment file.
func isDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// filePath returns the path of the attachment file of digest sum.
func (m *Messaging) filePath(sum string) (string, error) {
	if m.dir == "" {
		return "", errors.New("the bytes are in a file and no attachment directory is configured")
	}
	if !isDigest(sum) {
		return "", fmt.Errorf("the digest %q is not a SHA-256", sum)
	}
	return filepath.Join(m.dir, sum), nil
}

// checkContent reports an error unless content has meta's size and SHA-256.
func checkContent(content []byte, meta portal.AttachmentMeta) error {
	if int64(len(content)) != meta.Size {
		return fmt.Errorf("%d bytes, the row says %d", len(content), meta.Size)
	}
	sum := sha256.Sum256(content)
	if got := hex.EncodeToString(sum[:]); got != meta.SHA256 {
		return fmt.Errorf("SHA-256 %s, the row says %s", got, meta.SHA256)
	}
	return nil
}

// readFile reads the file of an attachment, at most one byte more than its
// size (checkContent then refuses a longer file); where is its path, for the
// logs.
func (m *Messaging) readFile(meta portal.AttachmentMeta) (content []byte, where string, err error) {
	path, err := m.filePath(meta.SHA256)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, path, err
	}
	defer f.Close()
	content, err = io.ReadAll(io.LimitReader(f, meta.Size+1))
	return content, path, err
}

// writeFiles makes sure that the attachment directory holds the file of each
// attachment, under its digest sums[i], and that the directory's entries
// are on disk.
func (m *Messaging) writeFiles(atts []portal.NewAttachment, sums []string) error {
	if err := os.MkdirAll(m.dir, attachmentDirMode); err != nil {
		return fmt.Errorf("attachment directory: %w", err)
	}
	for i, a := range atts {
		if err := m.writeFile(a.Content, sums[i]); err != nil {
			return fmt.Errorf("attachment file: %w", err)
		}
	}
	if err := syncDir(m.dir); err != nil {
		return fmt.Errorf("attachment directory: %w", err)
	}
	return nil
}

// writeFile stores content in the file named sum (its digest), unless that
// file holds it already: identical content is stored once. A file of that
// name that holds anything else (damaged) is replaced. The bytes go to a
// temporary file of the directory, synced, then renamed: the name never
// shows a partial file.
func (m *Messaging) writeFile(content []byte, sum string) error {
	path, err := m.filePath(sum)
	if err != nil {
		return err
	}
	if same, err := fileHolds(path, content); err != nil || same {
		return err
	}
	f, err := os.CreateTemp(m.dir, tempFilePrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// fileHolds reports whether the file at path exists and holds exactly
// content.
func fileHolds(path string, content []byte) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(len(content))+1))
	if err != nil {
		return false, err
	}
	return bytes.Equal(b, content), nil
}

// syncDir flushes dir's entries (a rename) to disk. Windows cannot sync a
// directory; NTFS journals renames.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// CheckAttachmentDir creates the attachment directory if it is missing
// (permissions 0700) and checks that files can be created in it, so that a
// wrong directory stops a host at its start rather than failing its first
// attachment. Without a directory it does nothing.
func (m *Messaging) CheckAttachmentDir() error {
	if m.dir == "" {
		return nil
	}
	if err := os.MkdirAll(m.dir, attachmentDirMode); err != nil {
		return fmt.Errorf("sqlite: attachment directory: %w", err)
	}
	f, err := os.CreateTemp(m.dir, tempFilePrefix+"check-*")
	if err != nil {
		return fmt.Errorf("sqlite: attachment directory: %w", err)
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("sqlite: attachment directory: %w", err)
	}
	return nil
}

// SweepAttachmentFiles removes from the attachment directory the files that
// no row references and that were last modified more than minAge ago, and
// returns how many it removed: the orphans that a crash, or a failure,
// between an attachment's file and its transaction's commit leaves behind,
// and the temporary files of interrupted writes. Any other file is left
// alone. Without an attachment directory it does nothing.
//
// Every file is written, and every sweep removes, under the database's
// write lock, so a message that references a file never commits between the
// sweep's check and its removal, and no write is under way while the sweep
// removes a temporary file. minAge (an hour, say) is a further margin, for a
// file being copied in by hand, for instance. The directory must be this
// database's alone.
func (m *Messaging) SweepAttachmentFiles(ctx context.Context, minAge time.Duration) (int, error) {
	if m.dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(m.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, portal.Errorf(portal.ErrInternal, "sqlite: sweep attachment files: %v", err)
	}
	cutoff := time.Now().Add(-max(minAge, 0))
	var old []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !isDigest(name) && !strings.HasPrefix(name, tempFilePrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			old = append(old, name)
		}
	}
	removed := 0
	for batch := range slices.Chunk(old, sweepBatch) {
		err := m.s.write(ctx, "sweep attachment files", func(tx *sql.Tx) error {
			for _, name := range batch {
				if isDigest(name) {
					var referenced bool
					if err := tx.QueryRowContext(ctx, `
						SELECT EXISTS (SELECT 1 FROM attachments WHERE content IS NULL AND sha256 = ?)`,
						name).Scan(&referenced); err != nil {
						return err
					}
					if referenced {
						continue
					}
				}
				err := os.Remove(filepath.Join(m.dir, name))
				switch {
				case err == nil:
					removed++
				case !errors.Is(err, fs.ErrNotExist):
					return err
				}
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}
