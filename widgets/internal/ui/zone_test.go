package ui

import (
	"testing"
	"time"
)

// TestInZoneMatchesTZData checks every zone InZone knows against the
// system's time-zone database, every hour from 2000 to 2037 and
// around each EU switch to the minute.
func TestInZoneMatchesTZData(t *testing.T) {
	for _, z := range zones {
		name := z.id
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skipf("no time-zone database here: %v", err)
		}
		check := func(tm time.Time) {
			t.Helper()
			gn, gof := InZone(name, tm).Zone()
			wn, wo := tm.In(loc).Zone()
			if gn != wn || gof != wo {
				t.Fatalf("InZone(%q, %s) is in %s%+d, want %s%+d", name, tm.UTC().Format(time.RFC3339), gn, gof, wn, wo)
			}
		}
		end := time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)
		for tm := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); tm.Before(end); tm = tm.Add(time.Hour) {
			check(tm)
		}
		for y := 2000; y < 2038; y++ {
			for _, mo := range []time.Month{time.March, time.October} {
				sw := lastSunday(y, mo).Add(time.Hour)
				for d := -2 * time.Minute; d <= 2*time.Minute; d += time.Second {
					check(sw.Add(d))
				}
			}
		}
	}
}

func TestInZoneUnknownIsUTC(t *testing.T) {
	tm := time.Date(2026, 7, 15, 23, 30, 0, 0, time.FixedZone("X", 5*3600))
	for _, zone := range []string{"", "Mars/Olympus", "europe/paris"} {
		if got := InZone(zone, tm); got.Location() != time.UTC || !got.Equal(tm) {
			t.Errorf("InZone(%q) = %s, want %s in UTC", zone, got, tm.UTC())
		}
	}
}

func TestParis(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"2026-01-15T12:00:00Z", "13:00 CET"},
		{"2026-07-15T12:00:00Z", "14:00 CEST"},
		{"2026-03-29T00:59:00Z", "01:59 CET"},
		{"2026-03-29T01:00:00Z", "03:00 CEST"},
		{"2026-10-25T00:59:00Z", "02:59 CEST"},
		{"2026-10-25T01:00:00Z", "02:00 CET"},
	} {
		tm, _ := time.Parse(time.RFC3339, c.in)
		if got := Paris(tm).Format("15:04 MST"); got != c.want {
			t.Errorf("Paris(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
