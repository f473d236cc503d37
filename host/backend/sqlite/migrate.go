package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema migrations, applied in version order. A
// released migration is never edited: a change of schema is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one step of the schema, named NNNN_description.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// embeddedMigrations returns the package's migrations.
func embeddedMigrations() ([]migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return loadMigrations(sub)
}

// loadMigrations reads the *.sql files at the root of fsys. Their versions
// must run 1, 2, 3 … without gap or repetition.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		v, err := migrationVersion(e.Name())
		if err != nil {
			return nil, err
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations: %s has version %d, want %d (versions run 1, 2, 3 … without gap or repetition)", m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrationVersion parses the version of a migration file name of the form
// NNNN_description.sql: digits, an underscore, a description of lower-case
// letters, digits and underscores.
func migrationVersion(name string) (int, error) {
	base, ok := strings.CutSuffix(name, ".sql")
	digits, desc, ok2 := strings.Cut(base, "_")
	if !ok || !ok2 || digits == "" || desc == "" {
		return 0, fmt.Errorf("migrations: %q is not named NNNN_description.sql", name)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("migrations: %q: the version must be decimal digits", name)
		}
	}
	for _, c := range desc {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return 0, fmt.Errorf("migrations: %q: the description may hold only a-z, 0-9 and _", name)
		}
	}
	v, err := strconv.Atoi(digits)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("migrations: %q: the version must be a number from 1", name)
	}
	return v, nil
}

// migrate applies the migrations the database lacks, each in its own
// IMMEDIATE transaction together with its row in schema_migrations, and
// returns the versions it applied. Since a transaction checks again whether
// its version is applied once it holds the write lock, processes opening the
// same database at once apply each migration once. A database holding a
// version beyond ms is refused: it was written by a newer program.
func migrate(ctx context.Context, db *sql.DB, ms []migration, now time.Time) ([]int, error) {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version     INTEGER NOT NULL PRIMARY KEY,
	name        TEXT    NOT NULL,
	applied_utc INTEGER NOT NULL
) STRICT`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var latest int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if latest > len(ms) {
		return nil, fmt.Errorf("migrations: the database schema is at version %d, newer than this program's %d", latest, len(ms))
	}
	var applied []int
	for _, m := range ms {
		ok, err := applyMigration(ctx, db, m, now)
		if err != nil {
			return applied, err
		}
		if ok {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// applyMigration applies m unless it is already, and reports whether it did.
func applyMigration(ctx context.Context, db *sql.DB, m migration, now time.Time) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_utc) VALUES (?, ?, ?)`,
		m.version, m.name, now.Unix()); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	return true, nil
}
