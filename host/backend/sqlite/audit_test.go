package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// openEmpty opens a new, unseeded file database on clock, closed at the
// end of the test, and returns it with its path.
func openEmpty(t testing.TB, clock *portaltest.Clock) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parcours.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

// TestAuditConformance runs the suite on file databases, and checks after
// each test that the chain still verifies.
func TestAuditConformance(t *testing.T) {
	portaltest.RunAuditTests(t, func(t *testing.T) portaltest.AuditFixture {
		clock := portaltest.NewClock(seedTime)
		s, _ := openEmpty(t, clock)
		t.Cleanup(func() {
			if n, err := s.VerifyAudit(context.Background()); err != nil {
				t.Errorf("VerifyAudit after the test: %d checked, %v", n, err)
			}
		})
		return portaltest.AuditFixture{Log: s, Now: clock.Now}
	})
}

// TestAuditConformanceMemory runs it on ":memory:", whose one connection
// serializes everything.
func TestAuditConformanceMemory(t *testing.T) {
	portaltest.RunAuditTests(t, func(t *testing.T) portaltest.AuditFixture {
		clock := portaltest.NewClock(seedTime)
		s, err := sqlite.Open(context.Background(), ":memory:", sqlite.WithClock(clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return portaltest.AuditFixture{Log: s, Now: clock.Now}
	})
}

func auditSample(i int) portal.AuditEvent {
	return portal.AuditEvent{
		Time: seedTime.Add(time.Duration(i) * time.Second), Action: portal.AuditRead, Operation: "getDocumentContent",
		Outcome: portal.AuditSuccess, AgentKind: "patient", Agent: sqlite.DemoPatientCamilleDurand,
		Patient: sqlite.DemoPatientCamilleDurand, Entity: fmt.Sprintf("DocumentReference/doc-%d", i),
		Establishment: sqlite.DemoEstablishment, Network: "192.0.2.1", Status: 200,
	}
}

func recordN(t testing.TB, s *sqlite.Store, n int) {
	t.Helper()
	for i := range n {
		if err := s.RecordAudit(context.Background(), auditSample(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditAppendOnly: the triggers refuse UPDATE and DELETE, whoever asks.
func TestAuditAppendOnly(t *testing.T) {
	s, path := openEmpty(t, portaltest.NewClock(seedTime))
	if seq, hash, err := s.AuditHead(context.Background()); seq != 0 || hash != "" || err != nil {
		t.Errorf("AuditHead of an empty log = %d, %q, %v", seq, hash, err)
	}
	recordN(t, s, 3)
	db := rawDB(t, path)
	for _, stmt := range []string{
		`UPDATE audit_events SET outcome = '4' WHERE seq = 2`,
		`UPDATE audit_events SET hash = hash`,
		`DELETE FROM audit_events WHERE seq = 3`,
		`DELETE FROM audit_events`,
	} {
		_, err := db.Exec(stmt)
		if err == nil || !strings.Contains(err.Error(), "audit_events is append-only") {
			t.Errorf("%s: %v, want the trigger's refusal", stmt, err)
		}
	}
	if n := count(t, db, `SELECT COUNT(*) FROM audit_events`); n != 3 {
		t.Errorf("%d records after the refused statements, want 3", n)
	}
	if n, err := s.VerifyAudit(context.Background()); n != 3 || err != nil {
		t.Errorf("VerifyAudit = %d, %v; want 3, nil", n, err)
	}
}

// TestAuditTampering drops a trigger, as someone with the file could, and
// changes the log behind the store's back: VerifyAudit names the first
// record that breaks the chain.
func TestAuditTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  []string
		checked int
		seq     int64
		reason  string
	}{
		{"EditedField", []string{
			`DROP TRIGGER audit_events_no_update`,
			`UPDATE audit_events SET outcome = '4', status = 403 WHERE seq = 4`,
		}, 3, 4, "hash does not match"},
		{"EditedAndRehashedWithoutChain", []string{
			// The edited record's own hash recomputed by someone who
			// does not know the encoding: still a mismatch.
			`DROP TRIGGER audit_events_no_update`,
			`UPDATE audit_events SET patient = 'pat-other', hash = lower(hex(randomblob(32))) WHERE seq = 2`,
		}, 1, 2, "hash does not match"},
		{"ReplacedHashes", []string{
			// A record whose hash was replaced: the next one no longer
			// follows it.
			`DROP TRIGGER audit_events_no_update`,
			`UPDATE audit_events SET prev_hash = (SELECT hash FROM audit_events WHERE seq = 1) WHERE seq = 3`,
		}, 2, 3, "prev_hash"},
		{"DeletedRecord", []string{
			`DROP TRIGGER audit_events_no_delete`,
			`DELETE FROM audit_events WHERE seq = 5`,
		}, 4, 6, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, path := openEmpty(t, portaltest.NewClock(seedTime))
			recordN(t, s, 8)
			if n, err := s.VerifyAudit(context.Background()); n != 8 || err != nil {
				t.Fatalf("VerifyAudit before tampering = %d, %v; want 8, nil", n, err)
			}
			db := rawDB(t, path)
			for _, stmt := range tc.tamper {
				if _, err := db.Exec(stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			n, err := s.VerifyAudit(context.Background())
			var ce *sqlite.AuditChainError
			if !errors.As(err, &ce) {
				t.Fatalf("VerifyAudit after tampering = %d, %v; want an *AuditChainError", n, err)
			}
			if n != tc.checked || ce.Seq != tc.seq || ce.ID == "" || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("VerifyAudit = %d, %v; want %d checked and record %d (%q)", n, ce, tc.checked, tc.seq, tc.reason)
			}
		})
	}
}

// TestAuditConcurrentChain: 50 goroutines append at once, on a file
// database with its pool of connections; the chain is linear and complete.
func TestAuditConcurrentChain(t *testing.T) {
	s, _ := openEmpty(t, portaltest.NewClock(seedTime))
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.RecordAudit(context.Background(), auditSample(i)); err != nil {
				t.Errorf("RecordAudit %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if checked, err := s.VerifyAudit(context.Background()); checked != n || err != nil {
		t.Errorf("VerifyAudit = %d, %v; want %d, nil", checked, err, n)
	}
	seq, hash, err := s.AuditHead(context.Background())
	if err != nil || seq != n || len(hash) != 64 {
		t.Errorf("AuditHead = %d, %q, %v; want %d and a SHA-256", seq, hash, err, n)
	}
	got, err := s.AuditEvents(context.Background(), portal.AuditQuery{})
	if err != nil || len(got) != n {
		t.Fatalf("AuditEvents = %d records, %v; want %d", len(got), err, n)
	}
	for i, e := range got {
		if want := fmt.Sprintf("DocumentReference/doc-%d", i); e.Entity != want {
			t.Errorf("record %d: %s, want %s (oldest first)", i, e.Entity, want)
		}
	}
}

// TestAuditTimeStored: the time is stored in UTC, with nanoseconds, fixed
// width, so that text order is time order; a zero Time is the clock's.
func TestAuditTimeStored(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s, path := openEmpty(t, clock)
	e := auditSample(0)
	e.Time = time.Date(2026, 11, 23, 8, 0, 0, 5, time.FixedZone("CET", 3600))
	if err := s.RecordAudit(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	e.Time = time.Time{}
	if err := s.RecordAudit(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	rows, err := db.Query(`SELECT time FROM audit_events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var tm string
		if err := rows.Scan(&tm); err != nil {
			t.Fatal(err)
		}
		got = append(got, tm)
	}
	want := []string{"2026-11-23T07:00:00.000000005Z", "2026-11-23T07:00:00.000000000Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stored times %q, want %q", got, want)
	}
	es, err := s.AuditEvents(context.Background(), portal.AuditQuery{})
	if err != nil || len(es) != 2 || !es[0].Time.Equal(seedTime) || es[0].Time.Location() != time.UTC ||
		es[1].Time.Nanosecond() != 5 {
		t.Errorf("AuditEvents = %+v, %v; want the clock's record first, then the one with 5 ns", es, err)
	}
}

func TestAuditInvalid(t *testing.T) {
	s, _ := openEmpty(t, portaltest.NewClock(seedTime))
	for _, tc := range []struct {
		name   string
		change func(*portal.AuditEvent)
	}{
		{"StatusTooLow", func(e *portal.AuditEvent) { e.Status = 0 }},
		{"StatusTooHigh", func(e *portal.AuditEvent) { e.Status = 600 }},
		{"LongField", func(e *portal.AuditEvent) { e.Entity = strings.Repeat("x", 2000) }},
		{"YearTooLate", func(e *portal.AuditEvent) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := auditSample(0)
			tc.change(&e)
			if err := s.RecordAudit(context.Background(), e); !portal.IsCode(err, portal.ErrInvalid) {
				t.Errorf("RecordAudit = %v, want %s", err, portal.ErrInvalid)
			}
		})
	}
	if _, err := s.AuditEvents(context.Background(), portal.AuditQuery{Limit: -1}); !portal.IsCode(err, portal.ErrInvalid) {
		t.Errorf("AuditEvents(Limit -1) = %v, want %s", err, portal.ErrInvalid)
	}
}

// TestAuditLimitCap: more than 10,000 is cut to 10,000.
func TestAuditLimitCap(t *testing.T) {
	if testing.Short() || raceEnabled() {
		t.Skip("-short or -race: lists 21,000 records, which takes half a minute under the race detector")
	}
	clock := portaltest.NewClock(seedTime)
	s, path := openEmpty(t, clock)
	db := rawDB(t, path)
	// Fill fast with a recursive CTE: the chain does not matter here.
	if _, err := db.Exec(`
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10001)
		INSERT INTO audit_events (seq, id, time, action, operation, outcome, agent_kind, agent, patient,
			entity, establishment, network, status, prev_hash, hash)
		SELECT i, 'aud-' || i, '2026-11-23T07:00:00.000000000Z', 'R', 'op', '0', 'anonymous', '', '', '', '', '', 200, '', ''
		FROM n`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ limit, want int }{{0, 1000}, {10000, 10000}, {50000, 10000}} {
		got, err := s.AuditEvents(context.Background(), portal.AuditQuery{Limit: tc.limit})
		if err != nil || len(got) != tc.want {
			t.Errorf("Limit %d: %d records, %v; want %d", tc.limit, len(got), err, tc.want)
		}
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// BenchmarkRecordAudit measures appends on a file database (WAL,
// synchronous=NORMAL), one writer at a time and eight at once.
func BenchmarkRecordAudit(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("Writers%d", writers), func(b *testing.B) {
			s, _ := openEmpty(b, portaltest.NewClock(seedTime))
			e := auditSample(0)
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := w; i < b.N; i += writers {
						if err := s.RecordAudit(context.Background(), e); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
