package ui

import (
	"context"
	"testing"
	"time"
)

func TestLang(t *testing.T) {
	for in, want := range map[string]string{"": "fr", "fr": "fr", "fr-FR": "fr", "en": "en", "en-GB": "en", "EN": "en", "de": "fr", "e": "fr"} {
		if got := Lang(in); got != want {
			t.Errorf("Lang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMessages(t *testing.T) {
	m := Messages{"hello": {"Bonjour %s", "Hello %s"}, "fr-only": {"Seulement", ""}}
	for _, tc := range []struct{ lang, key, want string }{
		{"fr", "hello", "Bonjour %s"},
		{"en", "hello", "Hello %s"},
		{"en", "fr-only", "Seulement"},
		{"fr", "missing", "missing"},
	} {
		if got := m.T(tc.lang, tc.key); got != tc.want {
			t.Errorf("T(%s, %s) = %q, want %q", tc.lang, tc.key, got, tc.want)
		}
	}
	if got := m.Tf("en", "hello", "Camille"); got != "Hello Camille" {
		t.Errorf("Tf = %q", got)
	}
}

func TestDates(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name string
		t    time.Time
		lang string
		f    func(string, time.Time) string
		want string
	}{
		{"date fr", time.Date(2026, 11, 24, 9, 30, 0, 0, paris), "fr", Date, "mardi 24 novembre 2026"},
		{"date en", time.Date(2026, 11, 24, 9, 30, 0, 0, paris), "en", Date, "Tuesday 24 November 2026"},
		{"short fr", time.Date(2026, 11, 24, 9, 30, 0, 0, paris), "fr", ShortDate, "mar. 24 nov."},
		{"short fr février", time.Date(2027, 2, 1, 9, 0, 0, 0, paris), "fr", ShortDate, "lun. 1 févr."},
		{"short fr août", time.Date(2027, 8, 15, 9, 0, 0, 0, paris), "fr", ShortDate, "dim. 15 août"},
		{"short en", time.Date(2026, 11, 24, 9, 30, 0, 0, paris), "en", ShortDate, "Tue 24 Nov"},
		{"datetime fr", time.Date(2026, 11, 24, 9, 30, 0, 0, paris), "fr", DateTime, "mardi 24 novembre 2026 à 09:30"},
		{"datetime en", time.Date(2026, 11, 24, 14, 0, 0, 0, paris), "en", DateTime, "Tuesday 24 November 2026 at 14:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f(tc.lang, tc.t); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The date is the one of the time's own location (the establishment's
// offset), not the browser's: 23:30 in Paris is still the same day.
func TestDateUsesOwnOffset(t *testing.T) {
	late := time.Date(2026, 11, 24, 23, 30, 0, 0, time.FixedZone("CET", 3600))
	if got := Date("fr", late); got != "mardi 24 novembre 2026" {
		t.Errorf("got %q", got)
	}
}

func TestFlush(t *testing.T) {
	events := []string{"a", "b"}
	var got []string
	Flush(&events, func(e string) { got = append(got, e) })
	if len(events) != 0 || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("flushed %q, left %q", got, events)
	}
	events = append(events, "c")
	Flush(&events, nil)
	if len(events) != 0 {
		t.Fatalf("with no listener, %q left", events)
	}
}

func TestSizesAreInTheLimitsUnits(t *testing.T) {
	for _, c := range []struct {
		lang string
		n    int64
		want string
	}{
		{"fr", 512, "512 o"}, {"fr", 2048, "2 ko"}, {"fr", 10 << 20, "10,0 Mo"}, {"fr", 2_500_000, "2,4 Mo"},
		{"en", 512, "512 B"}, {"en", 2_500_000, "2.4 MB"},
	} {
		if got := Size(c.lang, c.n); got != c.want {
			t.Errorf("Size(%s, %d) = %q, want %q", c.lang, c.n, got, c.want)
		}
	}
}

func TestDatesWithYears(t *testing.T) {
	d := time.Date(2025, time.December, 20, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct{ got, want string }{
		{DayMonthYear("fr", d), "20 déc. 2025"}, {DayMonthYear("en", d), "20 Dec 2025"},
		{MonthYear("fr", d), "décembre 2025"}, {MonthYear("en", d), "December 2025"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestSettle: the effects run until none is left, at most max of them, and
// none once ctx has ended.
func TestSettle(t *testing.T) {
	type cmd func(context.Context, *int) int
	var step cmd = func(_ context.Context, calls *int) int { *calls++; return *calls }
	// apply asks for another call until n calls were made.
	apply := func(n int) func(int) cmd {
		return func(done int) cmd {
			if done >= n {
				return nil
			}
			return step
		}
	}
	for _, c := range []struct {
		need, max, calls int
		settled          bool
	}{{3, 4, 3, true}, {3, 3, 3, true}, {5, 3, 3, false}} {
		calls := 0
		if got := Settle(context.Background(), &calls, step, apply(c.need), c.max); got != c.settled || calls != c.calls {
			t.Errorf("%d needed, at most %d: settled %v after %d calls, want %v after %d", c.need, c.max, got, calls, c.settled, c.calls)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	if Settle(ctx, &calls, step, apply(3), 4) || calls != 0 {
		t.Errorf("ctx ended: %d calls", calls)
	}
}
