package portaltest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// AuditFixture is an implementation of portal.AuditLog under test.
// RunAuditTests makes one per test.
//
// The log need not be empty, and may be shared by the tests (a FHIR
// server's): every test records events about patients of its own, with
// random ids, and lists them by patient or within a time window no other
// test uses.
type AuditFixture struct {
	// Log is the audit log.
	Log portal.AuditLog
	// Now returns the implementation's clock; the suite records events
	// around it.
	Now func() time.Time
}

// RunAuditTests runs the conformance suite of portal.AuditLog, each test
// on a fixture of its own from newFixture. Errors are compared by code
// (portal.Code) and times with time.Time.Equal; the events the suite
// records have whole milliseconds, which every backend keeps.
//
// Beyond the comments of portal.AuditLog, the suite requires that a listing
// be ordered by Time (records of equal Time in a stable order, which After
// follows), that an unknown action, outcome or agent kind, or an agent id
// that does not fit its kind, be ErrInvalid and record nothing, and that an
// After naming no record be ErrInvalid.
func RunAuditTests(t *testing.T, newFixture func(t *testing.T) AuditFixture) {
	tests := []struct {
		name string
		run  func(t *testing.T, fx AuditFixture)
	}{
		{"RecordAndList", testAuditRecordAndList},
		{"PatientFilter", testAuditPatientFilter},
		{"SinceUntil", testAuditSinceUntil},
		{"AfterCursorPaging", testAuditPaging},
		{"NewestFirst", testAuditNewest},
		{"Limit", testAuditLimit},
		{"ConcurrentAppends", testAuditConcurrent},
		{"InvalidEvent", testAuditInvalid},
		{"UnknownCursor", testAuditUnknownCursor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			if fx.Log == nil || fx.Now == nil {
				t.Fatal("fixture: Log and Now are required")
			}
			tc.run(t, fx)
		})
	}
}

// auditPatient returns a patient id no other test uses.
func auditPatient(name string) string {
	return "conformance-audit-" + name + "-" + strings.ToLower(rand.Text()[:12])
}

// auditBase returns an instant near the fixture's clock, in whole seconds.
func auditBase(fx AuditFixture) time.Time {
	return fx.Now().UTC().Truncate(time.Second)
}

// auditEvent returns a patient's successful read of a document at tm.
func auditEvent(patient string, tm time.Time) portal.AuditEvent {
	return portal.AuditEvent{
		Time: tm, Action: portal.AuditRead, Operation: "getDocumentContent", Outcome: portal.AuditSuccess,
		AgentKind: "patient", Agent: patient, Patient: patient, Entity: "DocumentReference/doc-1",
		Establishment: "chu-exemple", Network: "192.0.2.10", Status: 200,
	}
}

func recordAudit(t *testing.T, fx AuditFixture, e portal.AuditEvent) {
	t.Helper()
	if err := fx.Log.RecordAudit(context.Background(), e); err != nil {
		t.Fatalf("RecordAudit(%+v): %v", e, err)
	}
}

func auditEvents(t *testing.T, fx AuditFixture, q portal.AuditQuery) []portal.AuditEvent {
	t.Helper()
	es, err := fx.Log.AuditEvents(context.Background(), q)
	if err != nil {
		t.Fatalf("AuditEvents(%+v): %v", q, err)
	}
	return es
}

// sameAudit reports whether got is want as recorded: the same fields, Time
// equal and in UTC, and an ID.
func sameAudit(got, want portal.AuditEvent) bool {
	if got.ID == "" || !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		return false
	}
	got.ID, want.ID = "", ""
	got.Time, want.Time = time.Time{}, time.Time{}
	return got == want
}

// wantOrdered fails unless es are ordered by Time with unique, non-empty IDs.
func wantOrdered(t *testing.T, what string, es []portal.AuditEvent) {
	t.Helper()
	seen := map[string]bool{}
	for i, e := range es {
		if e.ID == "" || seen[e.ID] {
			t.Errorf("%s: record %d has an empty or repeated ID %q", what, i, e.ID)
		}
		seen[e.ID] = true
		if i > 0 && e.Time.Before(es[i-1].Time) {
			t.Errorf("%s: record %d (%s) is older than the one before it (%s)", what, i, e.Time, es[i-1].Time)
		}
	}
}

func auditIDs(es []portal.AuditEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testAuditRecordAndList(t *testing.T, fx AuditFixture) {
	patient := auditPatient("list")
	base := auditBase(fx)
	paris := time.FixedZone("CET", 3600)
	events := []portal.AuditEvent{
		auditEvent(patient, base.Add(-2*time.Second)),
		{
			Time: base.Add(-time.Second).In(paris), Action: portal.AuditUpdate, Operation: "releaseDocument",
			Outcome: portal.AuditSuccess, AgentKind: "practitioner", Agent: "pr-conformance", Patient: patient,
			Entity: "DocumentReference/doc-2", Establishment: "chu-exemple", Network: "2001:db8::1", Status: 200,
		},
		{
			// An anonymous, refused request: no agent, no entity, no
			// establishment.
			Time: base.Add(1500 * time.Millisecond), Action: portal.AuditExecute, Operation: "listThreads",
			Outcome: portal.AuditDenied, AgentKind: "anonymous", Patient: patient, Status: 401,
		},
		{
			Time: base.Add(3 * time.Second), Action: portal.AuditCreate, Operation: "bookAppointment",
			Outcome: portal.AuditFailed, AgentKind: "patient", Agent: patient, Patient: patient,
			Entity: "Appointment/ap-é \"quoted\"", Establishment: "chu-exemple", Network: "192.0.2.10", Status: 503,
		},
	}
	for _, e := range events {
		recordAudit(t, fx, e)
	}
	got := auditEvents(t, fx, portal.AuditQuery{Patient: patient})
	if len(got) != len(events) {
		t.Fatalf("AuditEvents(patient): %d records, want %d: %+v", len(got), len(events), got)
	}
	wantOrdered(t, "AuditEvents", got)
	for i, want := range events {
		if !sameAudit(got[i], want) {
			t.Errorf("record %d:\n got %+v\nwant %+v (with an ID, Time in UTC)", i, got[i], want)
		}
	}
	// Listed again: the same records, IDs included.
	if again := auditEvents(t, fx, portal.AuditQuery{Patient: patient}); !slices.Equal(auditIDs(again), auditIDs(got)) {
		t.Errorf("listed again: %q, want %q", auditIDs(again), auditIDs(got))
	}
}

func testAuditPatientFilter(t *testing.T, fx AuditFixture) {
	p1, p2 := auditPatient("p1"), auditPatient("p2")
	base := auditBase(fx)
	recordAudit(t, fx, auditEvent(p1, base))
	recordAudit(t, fx, auditEvent(p2, base.Add(time.Second)))
	recordAudit(t, fx, auditEvent(p1, base.Add(2*time.Second)))
	noPatient := auditEvent(p1, base.Add(3*time.Second))
	noPatient.Patient, noPatient.Entity = "", "" // a sign-in, say
	recordAudit(t, fx, noPatient)

	for _, tc := range []struct {
		patient string
		want    int
	}{{p1, 2}, {p2, 1}, {auditPatient("none"), 0}} {
		got := auditEvents(t, fx, portal.AuditQuery{Patient: tc.patient})
		if len(got) != tc.want {
			t.Errorf("AuditEvents(Patient %s): %d records, want %d", tc.patient, len(got), tc.want)
		}
		for _, e := range got {
			if e.Patient != tc.patient {
				t.Errorf("AuditEvents(Patient %s) lists a record of %q", tc.patient, e.Patient)
			}
		}
	}
	// Unfiltered, bounded to the test's window: all four.
	all := auditEvents(t, fx, portal.AuditQuery{Since: base, Until: base.Add(4 * time.Second)})
	var mine int
	for _, e := range all {
		if e.Patient == p1 || e.Patient == p2 || (e.Patient == "" && e.Agent == p1) {
			mine++
		}
	}
	if mine != 4 {
		t.Errorf("AuditEvents without a patient: %d of the test's 4 records", mine)
	}
}

func testAuditSinceUntil(t *testing.T, fx AuditFixture) {
	patient := auditPatient("window")
	base := auditBase(fx)
	var times []time.Time
	for i := range 5 {
		tm := base.Add(time.Duration(i) * time.Second)
		times = append(times, tm)
		recordAudit(t, fx, auditEvent(patient, tm))
	}
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         []time.Time
	}{
		{"Open", time.Time{}, time.Time{}, times},
		{"SinceIncluded", times[2], time.Time{}, times[2:]},
		{"UntilExcluded", time.Time{}, times[2], times[:2]},
		{"Both", times[1], times[4], times[1:4]},
		{"BetweenRecords", times[1].Add(time.Millisecond), times[3], times[2:3]},
		{"OtherTimeZone", times[1].In(time.FixedZone("UTC-5", -5*3600)), times[3].In(time.FixedZone("UTC+9", 9*3600)), times[1:3]},
		{"Empty", times[3], times[3], nil},
		{"AfterAll", times[4].Add(time.Millisecond), time.Time{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := auditEvents(t, fx, portal.AuditQuery{Patient: patient, Since: tc.since, Until: tc.until})
			var gotTimes []time.Time
			for _, e := range got {
				gotTimes = append(gotTimes, e.Time)
			}
			if !slices.EqualFunc(gotTimes, tc.want, time.Time.Equal) {
				t.Errorf("Since %s Until %s: %v, want %v", tc.since, tc.until, gotTimes, tc.want)
			}
		})
	}
}

func testAuditPaging(t *testing.T, fx AuditFixture) {
	patient := auditPatient("paging")
	base := auditBase(fx)
	// 23 records, by threes at the same instant: a cursor must order
	// records of equal Time too.
	const n = 23
	for i := range n {
		e := auditEvent(patient, base.Add(time.Duration(i/3)*time.Second))
		e.Entity = fmt.Sprintf("DocumentReference/doc-%d", i)
		recordAudit(t, fx, e)
	}
	all := auditEvents(t, fx, portal.AuditQuery{Patient: patient})
	if len(all) != n {
		t.Fatalf("AuditEvents: %d records, want %d", len(all), n)
	}
	wantOrdered(t, "AuditEvents", all)

	for _, size := range []int{1, 4, 7} {
		t.Run(fmt.Sprintf("PagesOf%d", size), func(t *testing.T) {
			var paged []portal.AuditEvent
			after := ""
			for pages := 0; ; pages++ {
				if pages > n+1 {
					t.Fatalf("paging does not end: %d pages", pages)
				}
				page := auditEvents(t, fx, portal.AuditQuery{Patient: patient, After: after, Limit: size})
				if len(page) > size {
					t.Fatalf("page of %d records, want at most Limit %d", len(page), size)
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, page...)
				after = page[len(page)-1].ID
			}
			if !slices.Equal(auditIDs(paged), auditIDs(all)) {
				t.Errorf("paged by %d:\n%q\nwant the listing's\n%q", size, auditIDs(paged), auditIDs(all))
			}
		})
	}
	// After combines with Since and Until.
	mid := all[10]
	got := auditEvents(t, fx, portal.AuditQuery{Patient: patient, After: mid.ID, Until: base.Add(5 * time.Second)})
	var want []string
	for _, e := range all[11:] {
		if e.Time.Before(base.Add(5 * time.Second)) {
			want = append(want, e.ID)
		}
	}
	if !slices.Equal(auditIDs(got), want) {
		t.Errorf("After %s Until +5s: %q, want %q", mid.ID, auditIDs(got), want)
	}
}

// testAuditNewest: Newest lists the exact reverse of the oldest-first
// listing, and its cursor pages towards older records.
func testAuditNewest(t *testing.T, fx AuditFixture) {
	patient := auditPatient("newest")
	base := auditBase(fx)
	const n = 14
	for i := range n {
		e := auditEvent(patient, base.Add(time.Duration(i/3)*time.Second))
		e.Entity = fmt.Sprintf("DocumentReference/doc-%d", i)
		recordAudit(t, fx, e)
	}
	oldest := auditIDs(auditEvents(t, fx, portal.AuditQuery{Patient: patient}))
	want := slices.Clone(oldest)
	slices.Reverse(want)
	if got := auditIDs(auditEvents(t, fx, portal.AuditQuery{Patient: patient, Newest: true})); !slices.Equal(got, want) {
		t.Fatalf("Newest:\n%q\nwant the reverse of the oldest-first listing\n%q", got, want)
	}
	for _, size := range []int{1, 4} {
		var paged []string
		after := ""
		for pages := 0; pages <= n+1; pages++ {
			page := auditEvents(t, fx, portal.AuditQuery{Patient: patient, After: after, Limit: size, Newest: true})
			if len(page) == 0 {
				break
			}
			paged = append(paged, auditIDs(page)...)
			after = page[len(page)-1].ID
		}
		if !slices.Equal(paged, want) {
			t.Errorf("Newest paged by %d:\n%q\nwant\n%q", size, paged, want)
		}
	}
	// The cursor combines with Since: from the 6th newest, towards the
	// oldest, not before base+2s.
	got := auditIDs(auditEvents(t, fx, portal.AuditQuery{Patient: patient, After: want[5], Since: base.Add(2 * time.Second), Newest: true}))
	all := auditEvents(t, fx, portal.AuditQuery{Patient: patient, Newest: true})
	var wantSince []string
	for _, e := range all[6:] {
		if !e.Time.Before(base.Add(2 * time.Second)) {
			wantSince = append(wantSince, e.ID)
		}
	}
	if !slices.Equal(got, wantSince) {
		t.Errorf("Newest After %s Since +2s: %q, want %q", want[5], got, wantSince)
	}
}

func testAuditLimit(t *testing.T, fx AuditFixture) {
	patient := auditPatient("limit")
	base := auditBase(fx)
	for i := range 5 {
		recordAudit(t, fx, auditEvent(patient, base.Add(time.Duration(i)*time.Second)))
	}
	all := auditEvents(t, fx, portal.AuditQuery{Patient: patient})
	if len(all) != 5 {
		t.Fatalf("Limit 0 (1,000): %d records, want 5", len(all))
	}
	for _, limit := range []int{1, 2, 5, 6, 20000} {
		got := auditEvents(t, fx, portal.AuditQuery{Patient: patient, Limit: limit})
		want := all[:min(limit, len(all))]
		if !slices.Equal(auditIDs(got), auditIDs(want)) {
			t.Errorf("Limit %d: %q, want the oldest %q", limit, auditIDs(got), auditIDs(want))
		}
	}
}

func testAuditConcurrent(t *testing.T, fx AuditFixture) {
	patient := auditPatient("concurrent")
	base := auditBase(fx)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			e := auditEvent(patient, base.Add(time.Duration(i)*time.Millisecond))
			e.Entity = fmt.Sprintf("DocumentReference/doc-%d", i)
			if err := fx.Log.RecordAudit(context.Background(), e); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent RecordAudit: %v", err)
	}
	got := auditEvents(t, fx, portal.AuditQuery{Patient: patient})
	if len(got) != n {
		t.Fatalf("after %d concurrent appends: %d records", n, len(got))
	}
	wantOrdered(t, "AuditEvents", got)
	entities := map[string]bool{}
	for _, e := range got {
		entities[e.Entity] = true
	}
	if len(entities) != n {
		t.Errorf("%d distinct records, want %d", len(entities), n)
	}
}

func testAuditInvalid(t *testing.T, fx AuditFixture) {
	patient := auditPatient("invalid")
	base := auditBase(fx)
	for _, tc := range []struct {
		name   string
		change func(*portal.AuditEvent)
	}{
		{"UnknownAction", func(e *portal.AuditEvent) { e.Action = "X" }},
		{"NoAction", func(e *portal.AuditEvent) { e.Action = "" }},
		{"UnknownOutcome", func(e *portal.AuditEvent) { e.Outcome = "12" }},
		{"UnknownAgentKind", func(e *portal.AuditEvent) { e.AgentKind = "robot" }},
		{"AnonymousWithAnAgent", func(e *portal.AuditEvent) { e.AgentKind = "anonymous" }},
		{"PatientWithoutAnAgent", func(e *portal.AuditEvent) { e.Agent = "" }},
		{"NoOperation", func(e *portal.AuditEvent) { e.Operation = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := auditEvent(patient, base)
			tc.change(&e)
			if err := fx.Log.RecordAudit(context.Background(), e); !portal.IsCode(err, portal.ErrInvalid) {
				t.Errorf("RecordAudit(%+v) = %v, want %s", e, err, portal.ErrInvalid)
			}
		})
	}
	if got := auditEvents(t, fx, portal.AuditQuery{Patient: patient}); len(got) != 0 {
		t.Errorf("refused events were recorded: %+v", got)
	}
}

func testAuditUnknownCursor(t *testing.T, fx AuditFixture) {
	patient := auditPatient("cursor")
	recordAudit(t, fx, auditEvent(patient, auditBase(fx)))
	var b [8]byte
	rand.Read(b[:])
	after := fmt.Sprintf("no-such-record-%x", binary.BigEndian.Uint64(b[:]))
	_, err := fx.Log.AuditEvents(context.Background(), portal.AuditQuery{Patient: patient, After: after})
	if !portal.IsCode(err, portal.ErrInvalid) {
		t.Errorf("AuditEvents(After %q) = %v, want %s", after, err, portal.ErrInvalid)
	}
}
