package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestMigrationVersion(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    int
		wantErr bool
	}{
		{"FourDigits", "0001_directory.sql", 1, false},
		{"NoPadding", "12_add_index.sql", 12, false},
		{"DigitsInDescription", "0003_fhir_r4.sql", 3, false},
		{"Zero", "0000_nothing.sql", 0, true},
		{"NoDescription", "0001.sql", 0, true},
		{"EmptyDescription", "0001_.sql", 0, true},
		{"NoVersion", "_directory.sql", 0, true},
		{"LetterInVersion", "00a1_directory.sql", 0, true},
		{"NegativeVersion", "-1_directory.sql", 0, true},
		{"UpperCaseDescription", "0001_Directory.sql", 0, true},
		{"DashInDescription", "0001_add-index.sql", 0, true},
		{"NotSQL", "0001_directory.txt", 0, true},
		{"VersionOverflow", "99999999999999999999999_x.sql", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := migrationVersion(tc.file)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("migrationVersion(%q) = %d, %v; want %d, error %v", tc.file, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	tests := []struct {
		name     string
		fs       fstest.MapFS
		versions []int
		wantErr  string
	}{
		{"Empty", fstest.MapFS{}, nil, ""},
		{"OrderedByVersionNotName", fstest.MapFS{
			"2_b.sql":  file("SELECT 2"),
			"10_a.sql": file("SELECT 10"),
			"1_c.sql":  file("SELECT 1"),
			"3_d.sql":  file("SELECT 3"), "4_e.sql": file(""), "5_f.sql": file(""), "6_g.sql": file(""),
			"7_h.sql": file(""), "8_i.sql": file(""), "9_j.sql": file(""),
		}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ""},
		{"OtherFilesIgnored", fstest.MapFS{
			"0001_a.sql": file("SELECT 1"), "README.md": file("#"), "sub/0002_b.sql": file("SELECT 2"),
		}, []int{1}, ""},
		{"Gap", fstest.MapFS{"0001_a.sql": file(""), "0003_c.sql": file("")}, nil, "want 2"},
		{"Duplicate", fstest.MapFS{"0001_a.sql": file(""), "0001_b.sql": file("")}, nil, "want 2"},
		{"NotFromOne", fstest.MapFS{"0002_b.sql": file("")}, nil, "want 1"},
		{"BadName", fstest.MapFS{"0001-a.sql": file("")}, nil, "NNNN_description.sql"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.fs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadMigrations: %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var versions []int
			for _, m := range ms {
				versions = append(versions, m.version)
			}
			if !slices.Equal(versions, tc.versions) {
				t.Errorf("versions %v, want %v", versions, tc.versions)
			}
		})
	}
}

func TestEmbeddedMigrations(t *testing.T) {
	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Fatalf("%d embedded migrations, the upgrade test needs at least 2", len(ms))
	}
}

// rawOpen opens path with the Store's DSN, without migrating.
func rawOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	tg, err := parseTarget(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", tg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type appliedMigration struct {
	version int
	name    string
	applied int64
}

func appliedMigrations(t *testing.T, db *sql.DB) []appliedMigration {
	t.Helper()
	rows, err := db.Query(`SELECT version, name, applied_utc FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []appliedMigration
	for rows.Next() {
		var m appliedMigration
		if err := rows.Scan(&m.version, &m.name, &m.applied); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReopenAppliesNothingTwice opens a file database twice: the second Open
// applies no migration and the record of the first is untouched.
func TestReopenAppliesNothingTwice(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parcours.db")
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(ctx, path, WithClock(func() time.Time { return first }))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path, WithClock(func() time.Time { return first.Add(24 * time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	got := appliedMigrations(t, rawOpen(t, path))
	if len(got) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d: %v", len(got), len(ms), got)
	}
	for i, m := range ms {
		if got[i].version != m.version || got[i].name != m.name || got[i].applied != first.Unix() {
			t.Errorf("schema_migrations row %d = %+v, want version %d %s applied at the first Open", i, got[i], m.version, m.name)
		}
	}

	applied, err := migrate(ctx, rawOpen(t, path), ms, first)
	if err != nil || len(applied) != 0 {
		t.Errorf("migrate on an up-to-date database applied %v, %v; want nothing", applied, err)
	}
}

// TestUpgradeFromOlderSchema builds a database at version 1 holding data and
// opens it: Open applies the later migrations only and the data is kept.
func TestUpgradeFromOlderSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parcours.db")
	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	old := rawOpen(t, path)
	applied, err := migrate(ctx, old, ms[:1], seedTime())
	if err != nil || !slices.Equal(applied, []int{1}) {
		t.Fatalf("migrate to version 1: %v, %v", applied, err)
	}
	if _, err := old.Exec(`INSERT INTO establishments (id, name, time_zone) VALUES ('chu-ancien', 'CHU Ancien', 'Europe/Paris')`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, err := s.Establishment(ctx, "chu-ancien")
	if err != nil || e.Name != "CHU Ancien" || e.UrgentHelp.FR != "" || e.UrgentHelp.EN != "" {
		t.Errorf("Establishment after the upgrade = %+v, %v", e, err)
	}
	got := appliedMigrations(t, rawOpen(t, path))
	if len(got) != len(ms) {
		t.Fatalf("schema_migrations = %v, want %d rows", got, len(ms))
	}
	for i, m := range ms {
		if got[i].version != m.version {
			t.Errorf("schema_migrations row %d = %+v, want version %d", i, got[i], m.version)
		}
	}
	// The upgraded schema works: the demo seed needs the later tables.
	if err := s.Seed(ctx, seedTime()); err != nil {
		t.Fatal(err)
	}
}

// TestFailedMigrationRollsBack applies a migration that fails half-way:
// nothing of it remains and it is not recorded, so a fixed migration can run.
func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	db := rawOpen(t, filepath.Join(t.TempDir(), "parcours.db"))
	ms := []migration{
		{1, "0001_ok.sql", "CREATE TABLE a (x INTEGER);"},
		{2, "0002_broken.sql", "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);"},
	}
	applied, err := migrate(ctx, db, ms, seedTime())
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("migrate: %v, want the error of 0002_broken.sql", err)
	}
	if !slices.Equal(applied, []int{1}) {
		t.Errorf("applied %v, want [1]", applied)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'b'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table b of the failed migration: count %d, %v; want it rolled back", n, err)
	}
	if got := appliedMigrations(t, db); len(got) != 1 {
		t.Errorf("schema_migrations = %v, want version 1 only", got)
	}

	ms[1].sql = "CREATE TABLE b (x INTEGER);"
	applied, err = migrate(ctx, db, ms, seedTime())
	if err != nil || !slices.Equal(applied, []int{2}) {
		t.Errorf("migrate after the fix: %v, %v; want [2]", applied, err)
	}
}
