// Package sqlite is the embedded default backend of Parcours: appointment
// booking, questionnaires, secure messaging and a patient directory in one SQLite database, on
// the pure-Go driver modernc.org/sqlite (no cgo).
//
// It suits the demo, tests and small clinics. A Store implements
// portal.Booking (FHIR R4 Slot, https://hl7.org/fhir/R4/slot.html, and
// Appointment, https://hl7.org/fhir/R4/appointment.html),
// portal.Questionnaires (FHIR R4 Questionnaire,
// https://hl7.org/fhir/R4/questionnaire.html, QuestionnaireResponse,
// https://hl7.org/fhir/R4/questionnaireresponse.html, and RiskAssessment,
// https://hl7.org/fhir/R4/riskassessment.html, stored as the JSON received)
// and portal.Directory; Store.Messaging returns portal.Messaging and
// portal.Notifications (threads and messages, FHIR R4 Communication,
// https://hl7.org/fhir/R4/communication.html, with a transactional outbox of
// notifications).
//
// Open creates or upgrades the schema with the migrations embedded in the
// package, each applied once in its own transaction. A file database runs in
// WAL mode with a busy timeout, foreign keys on and synchronous=NORMAL; a new
// file is created readable by its owner only, since it holds health data.
// ":memory:" gives a private in-memory database for tests.
//
// Every instant is stored in UTC (Unix seconds) and returned in the
// establishment's time zone, so that Start and End carry the local offset.
// The time-zone database is embedded (time/tzdata), so a machine without
// zoneinfo files works too.
//
// Booking is atomic: each write runs in an IMMEDIATE transaction (one writer
// at a time, the others wait up to the busy timeout), and a partial unique
// index on booked appointments makes a second booking of one slot impossible
// even if that discipline were bypassed. A questionnaire submission, the
// deletion of its draft and its care-team alert are one transaction too. Contention is retried a bounded
// number of times and reported as portal.ErrBackendUnavailable, never as an
// internal error.
//
// For a demo, Seed loads fictional data (see DemoEstablishment):
//
//	store, err := sqlite.Open(ctx, "parcours.db")
//	...
//	err = store.Seed(ctx, time.Now())
package sqlite

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // establishments' time zones on machines without zoneinfo

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Store is a Parcours backend in one SQLite database. It is safe for
// concurrent use. Create it with Open and release it with Close.
type Store struct {
	db  *sql.DB
	now func() time.Time

	mu   sync.Mutex
	locs map[string]*time.Location
}

var (
	_ portal.Booking   = (*Store)(nil)
	_ portal.Directory = (*Store)(nil)
)

// Option configures a Store.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock the Store reads "now" from: slots that start at or
// before now are neither listed nor bookable, appointments that start at or
// before now cannot be cancelled, and Created/Cancelled record it. The
// default is time.Now. A nil clock keeps the default.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// Connection settings. busyTimeout bounds how long a statement waits for the
// write lock before SQLITE_BUSY; maxOpenConns bounds the pool of a file
// database (SQLite has a single writer, more connections only add readers).
const (
	busyTimeout  = 5 * time.Second
	maxOpenConns = 8
)

// Open opens the SQLite database at path, creating it if needed, and brings
// its schema up to date.
//
// path is a file name, ":memory:" for a private in-memory database (one
// connection, gone on Close), or a "file:" URI as SQLite understands it, to
// which Open appends its own parameters. A plain file name may not contain
// '?'; use a URI for such names. A new plain file is created with
// permissions 0600; the file of a URI is created by SQLite with the process's
// default permissions. Open refuses a database whose schema is newer than
// this package knows.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	tg, err := parseTarget(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if tg.file != "" {
		if err := createPrivate(tg.file); err != nil {
			return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
		}
	}
	db, err := sql.Open("sqlite", tg.dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if tg.memory {
		// Every connection to ":memory:" is a database of its own, and the
		// database is gone when its last connection closes: keep exactly one
		// connection, for ever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	} else {
		db.SetMaxOpenConns(maxOpenConns)
		db.SetMaxIdleConns(maxOpenConns)
	}
	migrations, err := embeddedMigrations()
	if err == nil {
		_, err = migrate(ctx, db, migrations, o.now())
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	return &Store{db: db, now: o.now, locs: make(map[string]*time.Location)}, nil
}

// Close closes the database. A Store must not be used after Close.
func (s *Store) Close() error {
	return s.db.Close()
}

// target is what Open makes of its path argument.
type target struct {
	dsn    string // data source name for the modernc.org/sqlite driver
	memory bool   // an in-memory database: a single connection
	file   string // the plain file to create before opening, if any
}

// DSN parameters. The driver applies busy_timeout first; _txlock=immediate
// makes every read-write transaction BEGIN IMMEDIATE, so that it takes the
// write lock at its start and never fails half-way on a lock upgrade.
var (
	memoryParams = "_pragma=" + url.QueryEscape(fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())) +
		"&_pragma=" + url.QueryEscape("foreign_keys(1)") +
		"&_txlock=immediate"
	fileParams = memoryParams +
		"&_pragma=" + url.QueryEscape("journal_mode(WAL)") +
		"&_pragma=" + url.QueryEscape("synchronous(NORMAL)")
)

// parseTarget interprets Open's path argument.
func parseTarget(path string) (target, error) {
	switch {
	case path == "":
		return target{}, errors.New("empty database path")
	case path == ":memory:":
		return target{dsn: ":memory:?" + memoryParams, memory: true}, nil
	case strings.HasPrefix(path, "file:"):
		rest, query, hasQuery := strings.Cut(strings.TrimPrefix(path, "file:"), "?")
		query, _, _ = strings.Cut(query, "#")
		q, err := url.ParseQuery(query)
		if err != nil {
			return target{}, fmt.Errorf("invalid URI parameters: %w", err)
		}
		memory := rest == ":memory:" || q.Get("mode") == "memory"
		params := fileParams
		if memory {
			params = memoryParams
		}
		uri, _, _ := strings.Cut(path, "#")
		sep := "?"
		if hasQuery {
			sep = "&"
			if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
				sep = ""
			}
		}
		return target{dsn: uri + sep + params, memory: memory}, nil
	case strings.Contains(path, "?"):
		return target{}, errors.New("a file name may not contain '?'; use a file: URI")
	}
	return target{dsn: path + "?" + fileParams, file: path}, nil
}

// createPrivate creates the database file, if it does not exist yet, with
// permissions 0600: it will hold health data. SQLite gives its -wal and -shm
// files the permissions of the database file.
func createPrivate(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// Transactions.

// maxAttempts bounds how often a transaction is tried when SQLite reports
// contention (SQLITE_BUSY, SQLITE_LOCKED) or a unique constraint that another
// writer may have raced for; a new attempt sees that writer's work.
const maxAttempts = 5

// read runs fn in a read-only (deferred) transaction, a consistent snapshot.
func (s *Store) read(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, op, true, fn)
}

// write runs fn in a read-write IMMEDIATE transaction.
func (s *Store) write(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, op, false, fn)
}

// inTx runs fn in a transaction and commits it, trying again on contention.
// An error that fn returns as a *portal.Error is an outcome and is returned
// as is; any other error is reported as ErrBackendUnavailable or ErrInternal.
func (s *Store) inTx(ctx context.Context, op string, readOnly bool, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := tryTx(ctx, s.db, readOnly, fn)
		if err == nil {
			return nil
		}
		var pe *portal.Error
		if errors.As(err, &pe) {
			return pe
		}
		if attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return dbError(ctx, op, err)
		}
		// Exponential backoff with jitter: 2, 4, 8, 16 ms on average.
		d := time.Duration(1<<attempt) * time.Millisecond
		d = d/2 + rand.N(d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return dbError(ctx, op, err)
		case <-t.C:
		}
	}
}

func tryTx(ctx context.Context, db *sql.DB, readOnly bool, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// busy reports whether err is SQLite contention.
func busy(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// retryable reports whether trying the transaction again may succeed.
func retryable(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return busy(err)
}

// dbError reports a failure of the database itself: ErrBackendUnavailable
// when it is contention or the caller's context ending (trying again later
// may work), ErrInternal otherwise. The detail is for logs only.
func dbError(ctx context.Context, op string, err error) *portal.Error {
	if ctx.Err() != nil || busy(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return portal.Errorf(portal.ErrBackendUnavailable, "sqlite: %s: %v", op, err)
	}
	return portal.Errorf(portal.ErrInternal, "sqlite: %s: %v", op, err)
}

// Time.

// location returns the *time.Location named tz, cached.
func (s *Store) location(tz string) (*time.Location, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if loc, ok := s.locs[tz]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	s.locs[tz] = loc
	return loc, nil
}

// unixCeil returns the smallest Unix second not before t.
func unixCeil(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// fromUnix returns the instant sec in loc.
func fromUnix(sec int64, loc *time.Location) time.Time {
	return time.Unix(sec, 0).In(loc)
}

// newID returns a random, unguessable id: prefix and 128 bits from
// crypto/rand in lower-case base32.
func newID(prefix string) string {
	return prefix + strings.ToLower(crand.Text())
}

// fieldsDigest is the SHA-256 (hex) of head followed by each field
// length-prefixed ("|len:field"), so that no two field lists share an
// encoding: what a request asked for, stored with its idempotency key.
func fieldsDigest(head string, fields []string) string {
	h := sha256.New()
	io.WriteString(h, head)
	for _, f := range fields {
		fmt.Fprintf(h, "|%d:%s", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}
