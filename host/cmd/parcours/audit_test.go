package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// auditDB writes n audit records alternately about two patients, one a
// minute from 2026-11-23 08:00 UTC, into a new database file.
func auditDB(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for i := range n {
		patient := []string{"pat-a", "pat-b"}[i%2]
		err := s.RecordAudit(ctx, portal.AuditEvent{
			Time: start.Add(time.Duration(i) * time.Minute), Action: portal.AuditRead, Operation: "getDocument",
			Outcome: portal.AuditSuccess, AgentKind: "practitioner", Agent: "pr-x", Patient: patient,
			Entity: "DocumentReference/doc-1", Establishment: "chu-exemple", Network: "192.0.2.1", Status: 200,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestAuditExport(t *testing.T) {
	db := auditDB(t, 1205) // more than a page of 1,000
	ctx := context.Background()
	var out, progress bytes.Buffer
	if err := auditCmd(ctx, []string{"export", "-db", db}, &out, &progress); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1205 || !strings.Contains(progress.String(), "1205 records") {
		t.Fatalf("%d lines, progress %q; want 1205", len(lines), progress.String())
	}
	ids := map[string]bool{}
	last := ""
	for i, l := range lines {
		r := gjson.Parse(l)
		if r.Get("resourceType").String() != "AuditEvent" || r.Get("action").String() != "R" ||
			r.Get("agent.0.who.reference").String() != "Practitioner/pr-x" || !strings.HasPrefix(r.Get("id").String(), "aud-") {
			t.Fatalf("line %d is not the AuditEvent recorded: %s", i+1, l)
		}
		if rec := r.Get("recorded").String(); rec < last {
			t.Fatalf("line %d recorded %s before %s: want oldest first", i+1, rec, last)
		} else {
			last = rec
		}
		ids[r.Get("id").String()] = true
	}
	if len(ids) != 1205 {
		t.Errorf("%d distinct ids, want 1205", len(ids))
	}

	// One patient, a window, into a file that must not exist yet.
	file := filepath.Join(t.TempDir(), "pat-a.ndjson")
	args := []string{"export", "-db", db, "-patient", "pat-a", "-since", "2026-11-23T08:10:00Z", "-until", "2026-11-23T08:20:00+00:00", "-o", file}
	if err := auditCmd(ctx, args, &out, &progress); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(got) != 5 { // minutes 10, 12, 14, 16, 18
		t.Fatalf("window export: %d lines, want 5", len(got))
	}
	for _, l := range got {
		if gjson.Get(l, `entity.#(what.reference=="Patient/pat-a")`).Exists() == false {
			t.Errorf("a record not about pat-a: %s", l)
		}
	}
	if err := auditCmd(ctx, args, &out, &progress); err == nil {
		t.Error("export over an existing file: want an error, not an overwrite")
	}
}

func TestAuditExportRefusesBadInput(t *testing.T) {
	db := auditDB(t, 1)
	for name, args := range map[string][]string{
		"missing database": {"export", "-db", filepath.Join(t.TempDir(), "typo.db")},
		"bad since":        {"export", "-db", db, "-since", "yesterday"},
		"empty window":     {"export", "-db", db, "-since", "2026-11-24T00:00:00Z", "-until", "2026-11-23T00:00:00Z"},
		"extra argument":   {"export", "-db", db, "more"},
		"unknown command":  {"purge"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, progress bytes.Buffer
			if err := auditCmd(context.Background(), args, &out, &progress); err == nil {
				t.Errorf("audit %v: no error", args)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(db), "typo.db")); err == nil {
		t.Error("a mistyped database name created a database")
	}
}

func TestAuditVerify(t *testing.T) {
	db := auditDB(t, 6)
	var out, progress bytes.Buffer
	if err := auditCmd(context.Background(), []string{"verify", "-db", db}, &out, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "6 records, chain intact; head seq 6 hash ") {
		t.Errorf("verify printed %q", progress.String())
	}
	// Someone with the file drops the trigger and edits a record.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`DROP TRIGGER audit_events_no_update`, `UPDATE audit_events SET outcome = '4', status = 403 WHERE seq = 3`} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	progress.Reset()
	err = auditCmd(context.Background(), []string{"verify", "-db", db}, &out, &progress)
	if !errors.Is(err, errAuditBroken) || !strings.Contains(progress.String(), "2 records checked before") {
		t.Errorf("verify after tampering: %v, %q", err, progress.String())
	}
}
