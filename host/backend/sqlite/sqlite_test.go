package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// seedTime is the tests' "now": Monday 23 November 2026, 08:00 in Paris,
// an hour before the first demo slots.
var seedTime = func() time.Time {
	paris, err := time.LoadLocation(sqlite.DemoTimeZone)
	if err != nil {
		panic(err)
	}
	return time.Date(2026, 11, 23, 8, 0, 0, 0, paris)
}()

// openSeeded opens a Store at path (":memory:" or a file) on clock, seeds it
// at the clock's time and closes it at the end of the test.
func openSeeded(t testing.TB, path string, clock *portaltest.Clock) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Seed(ctx, clock.Now()); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return s
}

// fixture returns a BookingFixture on s, whose clock is clock.
func fixture(s *sqlite.Store, clock *portaltest.Clock) portaltest.BookingFixture {
	return portaltest.BookingFixture{
		As: func(t *testing.T, patient string) portal.Booking {
			return portaltest.AsPatient(s, patient)
		},
		Anonymous:     s,
		Establishment: sqlite.DemoEstablishment,
		Service:       sqlite.ServiceMaternite,
		OtherService:  sqlite.ServiceDiabetologie,
		Patients:      []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard, sqlite.DemoPatientInesMoreau},
		SetNow:        clock.Set,
		Now:           clock.Now,
	}
}

// seededCopy opens, on clock, a copy of the template database seeded at
// seedTime, closed at the end of the test, and returns it with its path.
func seededCopy(t *testing.T, clock *portaltest.Clock) (*sqlite.Store, string) {
	t.Helper()
	data, err := os.ReadFile(seededTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "parcours.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
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

// TestBookingConformance runs the suite on file databases, each a copy of
// one seeded at seedTime: WAL mode and a pool of connections, where a read
// may run on another connection than the write before it.
func TestBookingConformance(t *testing.T) {
	portaltest.RunBookingTests(t, func(t *testing.T) portaltest.BookingFixture {
		clock := portaltest.NewClock(seedTime)
		s, _ := seededCopy(t, clock)
		return fixture(s, clock)
	})
}

// TestBookingConformanceMemory runs the suite on in-memory databases, each
// opened and seeded afresh. Seeding takes a while under the race detector,
// so -short leaves this to TestMemoryStore.
func TestBookingConformanceMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the suite runs on file databases; TestMemoryStore covers :memory:")
	}
	portaltest.RunBookingTests(t, func(t *testing.T) portaltest.BookingFixture {
		clock := portaltest.NewClock(seedTime)
		return fixture(openSeeded(t, ":memory:", clock), clock)
	})
}

var template struct {
	once sync.Once
	dir  string
	err  error
}

// seededTemplate returns the path of a closed database file seeded at
// seedTime, made once for the test binary.
func seededTemplate(t *testing.T) string {
	t.Helper()
	template.once.Do(func() {
		template.dir, template.err = os.MkdirTemp("", "parcours-sqlite-test-")
		if template.err != nil {
			return
		}
		ctx := context.Background()
		s, err := sqlite.Open(ctx, filepath.Join(template.dir, "template.db"))
		if err != nil {
			template.err = err
			return
		}
		path := filepath.Join(template.dir, "template.db")
		template.err = errors.Join(s.Seed(ctx, seedTime), s.Close())
		// Closing the last connection checkpoints the WAL into the
		// database file, which is then complete on its own.
		if _, err := os.Stat(path + "-wal"); template.err == nil && err == nil {
			template.err = errors.New("the WAL outlived Close: the database file alone is not a copy")
		}
	})
	if template.err != nil {
		t.Fatalf("template database: %v", template.err)
	}
	return filepath.Join(template.dir, "template.db")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
	os.Exit(code)
}

// TestMemoryStore goes once through every method on ":memory:", whose single
// connection would deadlock any call that used the database outside the
// transaction it runs in, with concurrent calls contending for it.
func TestMemoryStore(t *testing.T) {
	clock := portaltest.NewClock(seedTime)
	s := openSeeded(t, ":memory:", clock)
	ctx := context.Background()
	if _, err := s.Establishment(ctx, sqlite.DemoEstablishment); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Services(ctx, sqlite.DemoEstablishment); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DemoPatients(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Patient(ctx, sqlite.DemoPatientInesMoreau); err != nil {
		t.Fatal(err)
	}
	slots, err := s.FreeSlots(ctx, portal.SlotQuery{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceConsultations,
		From: seedTime, To: seedTime.Add(24 * time.Hour),
	})
	if err != nil || len(slots) < 8 {
		t.Fatalf("FreeSlots = %d slots, %v", len(slots), err)
	}

	patients := []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard, sqlite.DemoPatientInesMoreau}
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			as := portal.WithSubject(ctx, portal.Subject{Patient: patients[i%len(patients)]})
			sl := slots[i%8]
			a, err := s.Book(as, portal.BookRequest{
				Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceConsultations, Slot: sl.ID,
				IdempotencyKey: fmt.Sprintf("memory-key-%02d", i),
			})
			if portal.Code(err) == portal.ErrSlotUnavailable {
				return
			}
			if err != nil {
				t.Errorf("Book: %v", err)
				return
			}
			if _, err := s.Appointments(as); err != nil {
				t.Errorf("Appointments: %v", err)
			}
			if _, err := s.Appointment(as, a.ID); err != nil {
				t.Errorf("Appointment: %v", err)
			}
			if i%2 == 0 {
				if _, err := s.Cancel(as, a.ID); err != nil {
					t.Errorf("Cancel: %v", err)
				}
			}
		})
	}
	wg.Wait()
	booked := 0
	for _, p := range patients {
		as, err := s.Appointments(portal.WithSubject(ctx, portal.Subject{Patient: p}))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Status == portal.StatusBooked {
				booked++
			}
		}
	}
	free, err := s.FreeSlots(ctx, portal.SlotQuery{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceConsultations,
		From: seedTime, To: seedTime.Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if booked+len(free) != len(slots) {
		t.Errorf("%d booked appointments and %d free slots, want them to add up to the %d slots", booked, len(free), len(slots))
	}
}

// rawDB opens the database file of a Store for inspection.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func firstFree(t *testing.T, s *sqlite.Store, service string) portal.Slot {
	t.Helper()
	slots, err := s.FreeSlots(context.Background(), portal.SlotQuery{
		Establishment: sqlite.DemoEstablishment, Service: service,
		From: seedTime, To: seedTime.Add(7 * 24 * time.Hour),
	})
	if err != nil || len(slots) == 0 {
		t.Fatalf("FreeSlots(%s) = %d slots, %v", service, len(slots), err)
	}
	return slots[0]
}

// TestConcurrentBookingOfOneSlot has 50 patients book the same slot at once
// on a file database: exactly one gets it, the others are told it is taken,
// and the database holds one appointment.
func TestConcurrentBookingOfOneSlot(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	slot := firstFree(t, s, sqlite.ServiceMaternite)

	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: fmt.Sprintf("pat-concurrent-%02d", i)})
			<-start
			_, errs[i] = s.Book(ctx, portal.BookRequest{
				Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slot.ID,
				IdempotencyKey: fmt.Sprintf("concurrent-key-%02d", i),
			})
		})
	}
	close(start)
	wg.Wait()

	codes := map[portal.ErrorCode]int{}
	for _, err := range errs {
		codes[portal.Code(err)]++
	}
	if codes[""] != 1 || codes[portal.ErrSlotUnavailable] != n-1 {
		t.Errorf("outcomes by code = %v, want 1 success and %d %s", codes, n-1, portal.ErrSlotUnavailable)
	}
	db := rawDB(t, path)
	if got := count(t, db, `SELECT COUNT(*) FROM appointments`); got != 1 {
		t.Errorf("%d appointment rows, want 1", got)
	}
	if got := count(t, db, `SELECT COUNT(*) FROM appointments WHERE slot = ? AND status = 'booked'`, slot.ID); got != 1 {
		t.Errorf("%d booked appointments for slot %s, want 1", got, slot.ID)
	}
}

// TestConcurrentBookingManySlots has patients race for a few slots, each
// patient trying every slot in a different order: every slot ends up with
// exactly one booked appointment, and no call fails otherwise.
func TestConcurrentBookingManySlots(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	slots, err := s.FreeSlots(context.Background(), portal.SlotQuery{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceConsultations,
		From: seedTime, To: seedTime.Add(24 * time.Hour),
	})
	if err != nil || len(slots) < 4 {
		t.Fatalf("FreeSlots = %d, %v", len(slots), err)
	}
	slots = slots[:4]

	const patients = 16
	var mu sync.Mutex
	won := map[string]int{}
	var wg sync.WaitGroup
	for p := range patients {
		wg.Go(func() {
			ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: fmt.Sprintf("pat-many-%02d", p)})
			for k := range slots {
				sl := slots[(p+k)%len(slots)]
				a, err := s.Book(ctx, portal.BookRequest{
					Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceConsultations, Slot: sl.ID,
					IdempotencyKey: fmt.Sprintf("many-%02d-%s", p, sl.ID),
				})
				switch portal.Code(err) {
				case "":
					mu.Lock()
					won[a.Slot]++
					mu.Unlock()
				case portal.ErrSlotUnavailable:
				default:
					t.Errorf("patient %d, slot %s: %v", p, sl.ID, err)
				}
			}
		})
	}
	wg.Wait()
	for _, sl := range slots {
		if won[sl.ID] != 1 {
			t.Errorf("slot %s: %d successful bookings, want 1", sl.ID, won[sl.ID])
		}
	}
	if got := count(t, rawDB(t, path), `SELECT COUNT(*) FROM appointments WHERE status = 'booked'`); got != len(slots) {
		t.Errorf("%d booked appointments, want %d", got, len(slots))
	}
}

// TestConcurrentRetriesOnFile sends one booking request many times at once,
// as a client retrying over a flaky network might: one appointment results.
func TestConcurrentRetriesOnFile(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	slot := firstFree(t, s, sqlite.ServiceDiabetologie)
	ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: sqlite.DemoPatientInesMoreau})
	r := portal.BookRequest{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceDiabetologie, Slot: slot.ID,
		IdempotencyKey: "retry-key-0001",
	}
	const n = 30
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, err := s.Book(ctx, r)
			ids[i], errs[i] = a.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Errorf("retry %d: %s, %v; want %s", i, ids[i], errs[i], ids[0])
		}
	}
	if got := count(t, rawDB(t, path), `SELECT COUNT(*) FROM appointments`); got != 1 {
		t.Errorf("%d appointment rows, want 1", got)
	}
}

// TestBusyDatabase holds the write lock from another connection: a booking
// waits for it and, when its context ends first, reports the backend
// unavailable, not an internal error; once the lock is released it succeeds.
func TestBusyDatabase(t *testing.T) {
	s, path := seededCopy(t, portaltest.NewClock(seedTime))
	slot := firstFree(t, s, sqlite.ServiceMaternite)
	release := holdWriteLock(t, path)

	subject := portal.WithSubject(context.Background(), portal.Subject{Patient: sqlite.DemoPatientLucasBernard})
	r := portal.BookRequest{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slot.ID,
		IdempotencyKey: "busy-key-0001",
	}
	ctx, cancel := context.WithTimeout(subject, 200*time.Millisecond)
	defer cancel()
	_, err := s.Book(ctx, r)
	if portal.Code(err) != portal.ErrBackendUnavailable {
		t.Errorf("Book while the database is locked: %v, want %s", err, portal.ErrBackendUnavailable)
	}

	release()
	if _, err := s.Book(subject, r); err != nil {
		t.Errorf("Book after the lock was released: %v", err)
	}
}

// holdWriteLock takes the write lock of the database file at path from a
// connection of its own, until release is called.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	conn, err := rawDB(t, path).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFileDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parcours.db")
	clock := portaltest.NewClock(seedTime)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(ctx, seedTime); err != nil {
		t.Fatal(err)
	}
	slot := firstFree(t, s, sqlite.ServiceMaternite)
	subject := portal.WithSubject(ctx, portal.Subject{Patient: sqlite.DemoPatientCamilleDurand})
	a, err := s.Book(subject, portal.BookRequest{
		Establishment: sqlite.DemoEstablishment, Service: sqlite.ServiceMaternite, Slot: slot.ID,
		IdempotencyKey: "file-key-0001",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("database file permissions %v, want -rw------- (it holds health data)", perm)
		}
	}
	db := rawDB(t, path)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}

	// The appointment outlives the Store.
	s2, err := sqlite.Open(ctx, path, sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Appointment(subject, a.ID)
	if err != nil || got.Status != portal.StatusBooked || !got.Start.Equal(a.Start) {
		t.Errorf("after reopening: Appointment(%s) = %+v, %v", a.ID, got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"EmptyPath", ""},
		{"QuestionMarkInFileName", filepath.Join(dir, "what?.db")},
		{"MissingDirectory", filepath.Join(dir, "missing", "parcours.db")},
		{"Directory", dir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tc.path)
			}
		})
	}
}

func TestMemoryURI(t *testing.T) {
	// A shared-cache in-memory URI is an in-memory database like ":memory:".
	s := openSeeded(t, "file:parcours-test-memory?mode=memory&cache=shared", portaltest.NewClock(seedTime))
	if _, err := s.Establishment(context.Background(), sqlite.DemoEstablishment); err != nil {
		t.Fatal(err)
	}
}

// TestNewerSchema refuses a database migrated by a newer program.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parcours.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := rawDB(t, path).Exec(`INSERT INTO schema_migrations (version, name, applied_utc) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(context.Background(), path); err == nil {
		s.Close()
		t.Fatal("Open of a database at a newer schema version succeeded, want an error")
	}
}

func TestClosedStore(t *testing.T) {
	s, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = s.Establishment(context.Background(), sqlite.DemoEstablishment)
	if portal.Code(err) != portal.ErrInternal {
		t.Errorf("Establishment on a closed Store: %v, want %s", err, portal.ErrInternal)
	}
}

func TestCancelledContext(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Services(ctx, sqlite.DemoEstablishment)
	if portal.Code(err) != portal.ErrBackendUnavailable {
		t.Errorf("Services with a cancelled context: %v, want %s", err, portal.ErrBackendUnavailable)
	}
}

func TestDirectory(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	ctx := context.Background()
	ps, err := s.DemoPatients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []portal.Patient{
		{ID: sqlite.DemoPatientLucasBernard, GivenName: "Lucas", FamilyName: "Bernard"},
		{ID: sqlite.DemoPatientCamilleDurand, GivenName: "Camille", FamilyName: "Durand"},
		{ID: sqlite.DemoPatientInesMoreau, GivenName: "Inès", FamilyName: "Moreau"},
	}
	if fmt.Sprint(ps) != fmt.Sprint(want) {
		t.Errorf("DemoPatients = %v, want %v", ps, want)
	}
	for _, w := range want {
		p, err := s.Patient(ctx, w.ID)
		if err != nil || p != w {
			t.Errorf("Patient(%s) = %+v, %v; want %+v", w.ID, p, err, w)
		}
	}
	if _, err := s.Patient(ctx, "pat-nobody"); portal.Code(err) != portal.ErrNotFound {
		t.Errorf("Patient(unknown): %v, want %s", err, portal.ErrNotFound)
	}

	empty, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if ps, err := empty.DemoPatients(ctx); err != nil || ps == nil || len(ps) != 0 {
		t.Errorf("DemoPatients of an unseeded database = %v, %v; want an empty list", ps, err)
	}
}

func TestServicesOfDemo(t *testing.T) {
	s := openSeeded(t, ":memory:", portaltest.NewClock(seedTime))
	svcs, err := s.Services(context.Background(), sqlite.DemoEstablishment)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sv := range svcs {
		line := sv.ID + " " + sv.Name.FR + "/" + sv.Name.EN + ":"
		for _, p := range sv.Practitioners {
			line += " " + p.Name + " (" + p.Role.FR + ")"
		}
		got = append(got, line)
	}
	want := []string{
		"maternite Maternité/Maternity: Antoine Girard (Gynécologue-obstétricien) Claire Martin (Sage-femme) Sophie Lefebvre (Sage-femme)",
		"diabetologie Diabétologie/Diabetology: Julien Roux (Diabétologue) Nathalie Fournier (Infirmière en éducation thérapeutique)",
		"consultations Consultations externes/Outpatient consultations: Hélène Faure (Médecin généraliste) Marc Lambert (Médecin généraliste)",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Services =\n%q\nwant\n%q", got, want)
	}
}
