package portaltest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	c := portaltest.NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %s, want %s", got, start)
	}
	later := start.Add(48 * time.Hour)
	c.Set(later)
	if got := c.Now(); !got.Equal(later) {
		t.Errorf("Now after Set = %s, want %s", got, later)
	}
	if got := c.Advance(time.Minute); !got.Equal(later.Add(time.Minute)) || !c.Now().Equal(got) {
		t.Errorf("Advance = %s, Now = %s; want both %s", got, c.Now(), later.Add(time.Minute))
	}

	// Safe for concurrent use: run with -race.
	c.Set(start)
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c.Advance(time.Second)
			_ = c.Now()
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(n*time.Second); !got.Equal(want) {
		t.Errorf("after %d concurrent Advance(1s): %s, want %s", n, got, want)
	}
}

// recorder is a portal.Booking that records the subject each call carries.
type recorder struct {
	mu    sync.Mutex
	calls map[string]string // method -> patient in context ("" for none)
}

func (r *recorder) record(ctx context.Context, method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, _ := portal.SubjectFrom(ctx)
	r.calls[method] = s.Patient
}

func (r *recorder) Establishment(ctx context.Context, id string) (portal.Establishment, error) {
	r.record(ctx, "Establishment")
	return portal.Establishment{ID: id}, nil
}

func (r *recorder) Services(ctx context.Context, est string) ([]portal.Service, error) {
	r.record(ctx, "Services")
	return nil, nil
}

func (r *recorder) FreeSlots(ctx context.Context, q portal.SlotQuery) ([]portal.Slot, error) {
	r.record(ctx, "FreeSlots")
	return nil, nil
}

func (r *recorder) Book(ctx context.Context, req portal.BookRequest) (portal.Appointment, error) {
	r.record(ctx, "Book")
	return portal.Appointment{Slot: req.Slot}, nil
}

func (r *recorder) Cancel(ctx context.Context, id string) (portal.Appointment, error) {
	r.record(ctx, "Cancel")
	return portal.Appointment{ID: id}, nil
}

func (r *recorder) Appointments(ctx context.Context) ([]portal.Appointment, error) {
	r.record(ctx, "Appointments")
	return nil, nil
}

func (r *recorder) Appointment(ctx context.Context, id string) (portal.Appointment, error) {
	r.record(ctx, "Appointment")
	return portal.Appointment{ID: id}, nil
}

func TestAsPatient(t *testing.T) {
	rec := &recorder{calls: map[string]string{}}
	b := portaltest.AsPatient(rec, "pat-test")
	// A subject already in the context is replaced: the wrapper acts as
	// its patient only.
	ctx := portal.WithSubject(context.Background(), portal.Subject{Patient: "pat-other"})
	b.Establishment(ctx, "e")
	b.Services(ctx, "e")
	b.FreeSlots(ctx, portal.SlotQuery{})
	b.Book(ctx, portal.BookRequest{Slot: "s"})
	b.Cancel(ctx, "a")
	b.Appointments(ctx)
	b.Appointment(ctx, "a")
	for _, m := range []string{"Establishment", "Services", "FreeSlots", "Book", "Cancel", "Appointments", "Appointment"} {
		got, called := rec.calls[m]
		if !called || got != "pat-test" {
			t.Errorf("%s: called %v with patient %q, want pat-test", m, called, got)
		}
	}
}

// ExampleClock shows the clock a fixture shares between the implementation
// under test and the suite.
func ExampleClock() {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	clock := portaltest.NewClock(time.Date(2026, 11, 23, 8, 0, 0, 0, paris))
	now := clock.Now // give this to the implementation, e.g. sqlite.WithClock(clock.Now)
	clock.Advance(90 * time.Minute)
	fmt.Println(now().Format("Mon 2 Jan 15:04"))
	// Output: Mon 23 Nov 09:30
}
