package sqlite

import (
	"context"
	"database/sql"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

func paris(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(DemoTimeZone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// seedTime is Monday 23 November 2026, 08:00 in Paris.
func seedTime() time.Time {
	loc, err := time.LoadLocation(DemoTimeZone)
	if err != nil {
		panic(err)
	}
	return time.Date(2026, 11, 23, 8, 0, 0, 0, loc)
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		dsn     string // prefix of the expected DSN
		params  string // the parameters appended
		memory  bool
		file    string
		wantErr bool
	}{
		{name: "Memory", path: ":memory:", dsn: ":memory:?", params: memoryParams, memory: true},
		{name: "RelativeFile", path: "parcours.db", dsn: "parcours.db?", params: fileParams, file: "parcours.db"},
		{name: "AbsoluteFile", path: "/var/lib/parcours/parcours.db", dsn: "/var/lib/parcours/parcours.db?", params: fileParams,
			file: "/var/lib/parcours/parcours.db"},
		{name: "FileWithSpaceAndHash", path: "/tmp/a b#c.db", dsn: "/tmp/a b#c.db?", params: fileParams, file: "/tmp/a b#c.db"},
		{name: "URI", path: "file:/data/parcours.db", dsn: "file:/data/parcours.db?", params: fileParams},
		{name: "URIWithQuery", path: "file:parcours.db?cache=private", dsn: "file:parcours.db?cache=private&", params: fileParams},
		{name: "URIWithEmptyQuery", path: "file:parcours.db?", dsn: "file:parcours.db?", params: fileParams},
		{name: "URIWithFragment", path: "file:parcours.db?mode=rwc#frag", dsn: "file:parcours.db?mode=rwc&", params: fileParams},
		{name: "MemoryURI", path: "file::memory:", dsn: "file::memory:?", params: memoryParams, memory: true},
		{name: "NamedMemoryURI", path: "file:shared?mode=memory&cache=shared", dsn: "file:shared?mode=memory&cache=shared&",
			params: memoryParams, memory: true},
		{name: "Empty", path: "", wantErr: true},
		{name: "QuestionMarkInFileName", path: "what?.db", wantErr: true},
		{name: "BadURIQuery", path: "file:x.db?a=%zz", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTarget(tc.path)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseTarget(%q) = %+v, want an error", tc.path, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := target{dsn: tc.dsn + tc.params, memory: tc.memory, file: tc.file}
			if got != want {
				t.Errorf("parseTarget(%q) =\n%+v\nwant\n%+v", tc.path, got, want)
			}
		})
	}
}

func TestDSNParameters(t *testing.T) {
	for _, want := range []string{"busy_timeout%285000%29", "foreign_keys%281%29", "_txlock=immediate"} {
		if !strings.Contains(memoryParams, want) {
			t.Errorf("memory parameters %q lack %q", memoryParams, want)
		}
	}
	for _, want := range []string{"journal_mode%28WAL%29", "synchronous%28NORMAL%29"} {
		if !strings.Contains(fileParams, want) {
			t.Errorf("file parameters %q lack %q", fileParams, want)
		}
	}
	// The pragmas take effect on every connection.
	s, err := Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fk, timeout int
	if err := s.db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.db.QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 5000 {
		t.Errorf("busy_timeout = %d, %v; want 5000", timeout, err)
	}
}

func TestUnixCeil(t *testing.T) {
	base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    time.Time
		want int64
	}{
		{"WholeSecond", base, base.Unix()},
		{"OneNanosecondAfter", base.Add(time.Nanosecond), base.Unix() + 1},
		{"JustBeforeNextSecond", base.Add(time.Second - time.Nanosecond), base.Unix() + 1},
		{"OtherZone", base.In(paris(t)), base.Unix()},
		{"BeforeEpoch", time.Unix(-10, 500_000_000), -9},
		{"BeforeEpochWhole", time.Unix(-10, 0), -10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := unixCeil(tc.t); got != tc.want {
				t.Errorf("unixCeil(%s) = %d, want %d", tc.t, got, tc.want)
			}
		})
	}
}

func TestRequestHash(t *testing.T) {
	r := portal.BookRequest{Establishment: "e", Service: "s", Slot: "x", IdempotencyKey: "key-00001"}
	tests := []struct {
		name string
		r    portal.BookRequest
		same bool
	}{
		{"SameRequestOtherKey", portal.BookRequest{Establishment: "e", Service: "s", Slot: "x", IdempotencyKey: "key-00002"}, true},
		{"OtherSlot", portal.BookRequest{Establishment: "e", Service: "s", Slot: "y"}, false},
		{"OtherService", portal.BookRequest{Establishment: "e", Service: "t", Slot: "x"}, false},
		{"OtherEstablishment", portal.BookRequest{Establishment: "f", Service: "s", Slot: "x"}, false},
		// Without length prefixes these would collide with each other.
		{"ShiftedBoundary", portal.BookRequest{Establishment: "e|1:s", Service: "", Slot: "x"}, false},
		{"MovedCharacter", portal.BookRequest{Establishment: "es", Service: "", Slot: "x"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := requestHash(tc.r) == requestHash(r); got != tc.same {
				t.Errorf("requestHash(%+v) == requestHash(%+v) is %v, want %v", tc.r, r, got, tc.same)
			}
		})
	}
}

func TestAppointmentIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newID("apt_")
		if len(id) != len("apt_")+26 || !strings.HasPrefix(id, "apt_") || strings.ToLower(id) != id {
			t.Fatalf("appointment id %q: want apt_ and 26 lower-case base32 characters (128 bits)", id)
		}
		if seen[id] {
			t.Fatalf("appointment id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestDemoSlots(t *testing.T) {
	loc := paris(t)
	tests := []struct {
		name     string
		now      time.Time
		weekdays int
		first    string // id of the first slot, of the first practitioner
	}{
		{"FromMonday", time.Date(2026, 11, 23, 8, 0, 0, 0, loc), 10, "sl-claire-martin-20261123T0900"},
		{"FromSaturday", time.Date(2026, 11, 28, 12, 0, 0, 0, loc), 10, "sl-claire-martin-20261130T0900"},
		{"FromWednesdayEvening", time.Date(2026, 11, 25, 23, 30, 0, 0, loc), 10, "sl-claire-martin-20261125T0900"},
		// 23:30 UTC on Tuesday is already Wednesday in Paris.
		{"DateTakenInParis", time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC), 10, "sl-claire-martin-20261125T0900"},
		// Summer time ends on 25 October 2026 in Paris.
		{"AcrossDaylightSavingChange", time.Date(2026, 10, 19, 8, 0, 0, 0, loc), 10, "sl-claire-martin-20261019T0900"},
	}
	practitioners := 0
	for _, sv := range demoServices {
		practitioners += len(sv.practitioners)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slots := demoSlots(tc.now, loc)
			if want := tc.weekdays * practitioners * 12; len(slots) != want {
				t.Errorf("%d slots, want %d", len(slots), want)
			}
			if len(slots) > 0 && slots[0].id != tc.first {
				t.Errorf("first slot %s, want %s", slots[0].id, tc.first)
			}
			ids := map[string]bool{}
			for _, s := range slots {
				local := s.start.In(loc)
				h, m := local.Hour(), local.Minute()
				inHours := (h >= 9 && h < 12) || (h >= 14 && h < 17)
				switch {
				case ids[s.id]:
					t.Errorf("slot id %s repeated", s.id)
				case local.Weekday() == time.Saturday || local.Weekday() == time.Sunday:
					t.Errorf("slot %s on a %s", s.id, local.Weekday())
				case !inHours || (m != 0 && m != 30) || local.Second() != 0:
					t.Errorf("slot %s starts at %s local time, outside opening hours", s.id, local.Format("15:04:05"))
				case s.end.Sub(s.start) != SlotLength:
					t.Errorf("slot %s lasts %s", s.id, s.end.Sub(s.start))
				case s.id != slotID(s.practitioner, s.start):
					t.Errorf("slot id %s, want %s", s.id, slotID(s.practitioner, s.start))
				}
				ids[s.id] = true
			}
		})
	}
}

func tableCounts(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range []string{"establishments", "services", "practitioners", "service_practitioners", "patients", "slots", "appointments",
		"questionnaires", "questionnaire_drafts", "questionnaire_submissions", "care_team_alerts"} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[table] = n
	}
	return counts
}

// TestSeedIdempotent seeds again on the same day, which changes nothing, and
// on the next day, which adds that day's slots and keeps the bookings.
func TestSeedIdempotent(t *testing.T) {
	ctx := context.Background()
	now := seedTime()
	s, err := Open(ctx, ":memory:", WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if err := s.Seed(ctx, now); err != nil {
		t.Fatal(err)
	}
	// Seeded on a Monday: ten weekdays, 7 practitioners with slots (and a city
	// doctor of no service), 12 slots a day.
	want := map[string]int{
		"establishments": 1, "services": 3, "practitioners": 8, "service_practitioners": 7,
		"patients": 3, "slots": 10 * 7 * 12, "appointments": 0,
		"questionnaires": 4, "questionnaire_drafts": 0, "questionnaire_submissions": 0, "care_team_alerts": 0,
	}
	if got := tableCounts(t, s.db); !maps.Equal(got, want) {
		t.Fatalf("after Seed: %v, want %v", got, want)
	}

	subject := portal.WithSubject(ctx, portal.Subject{Patient: DemoPatientCamilleDurand})
	slot := slotID("pr-claire-martin", time.Date(2026, 11, 24, 10, 0, 0, 0, paris(t)))
	a, err := s.Book(subject, portal.BookRequest{
		Establishment: DemoEstablishment, Service: ServiceMaternite, Slot: slot, IdempotencyKey: "seed-key-0001",
	})
	if err != nil {
		t.Fatal(err)
	}
	want["appointments"] = 1
	// A draft and a submission with its alert survive re-seeding too.
	if _, err := s.SaveDraft(subject, portal.QuestionnaireDraft{
		Establishment: DemoEstablishment, Questionnaire: DemoQuestionnaireEPDS,
		Response: []byte(`{"resourceType":"QuestionnaireResponse","status":"in-progress"}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(subject, portal.QuestionnaireSubmission{
		ID: "qr-seed-1", Establishment: DemoEstablishment, Questionnaire: DemoQuestionnaireMaternite,
		Response:       []byte(`{"resourceType":"QuestionnaireResponse","status":"completed"}`),
		Result:         portal.QuestionnaireResult{Level: "B", CareTeamAlert: true},
		IdempotencyKey: "seed-key-0002",
	}); err != nil {
		t.Fatal(err)
	}
	want["questionnaire_drafts"], want["questionnaire_submissions"], want["care_team_alerts"] = 1, 1, 1

	if err := s.Seed(ctx, now); err != nil {
		t.Fatal(err)
	}
	if got := tableCounts(t, s.db); !maps.Equal(got, want) {
		t.Errorf("after a second Seed: %v, want %v", got, want)
	}

	// A day later, the window reaches the Monday after next: 7 × 12 more.
	now = now.Add(24 * time.Hour)
	if err := s.Seed(ctx, now); err != nil {
		t.Fatal(err)
	}
	want["slots"] += 7 * 12
	if got := tableCounts(t, s.db); !maps.Equal(got, want) {
		t.Errorf("after a Seed a day later: %v, want %v", got, want)
	}
	got, err := s.Appointment(subject, a.ID)
	if err != nil || got.Status != portal.StatusBooked {
		t.Errorf("the booking after re-seeding: %+v, %v", got, err)
	}
	free, err := s.FreeSlots(ctx, portal.SlotQuery{
		Establishment: DemoEstablishment, Service: ServiceMaternite, From: now, To: now.Add(SeedDays * 24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range free {
		if f.ID == slot {
			t.Errorf("booked slot %s is free again after re-seeding", slot)
		}
	}
}
