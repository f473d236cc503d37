package ui

import "time"

// InZone returns t in the local time of the IANA zone named zone, computed
// without a time-zone database: the browser's Wasm carries none (loading
// one would add the tz parser and 450 KB of zone files), and the server's
// first paint and the browser must render the same text. It knows the
// zones of France, metropolitan and overseas, and the other zones of the
// European Union's summer-time rule (Directive 2000/84/EC: from 01:00 UTC
// on the last Sunday of March to 01:00 UTC on the last Sunday of October);
// any other zone, or none, is UTC, on both sides alike.
func InZone(zone string, t time.Time) time.Time {
	for _, z := range zones {
		if z.id != zone {
			continue
		}
		if z.eu && euSummer(t) {
			return t.In(time.FixedZone(z.summer, z.offset+3600))
		}
		return t.In(time.FixedZone(z.name, z.offset))
	}
	return t.UTC()
}

// Paris is InZone("Europe/Paris", t).
func Paris(t time.Time) time.Time { return InZone("Europe/Paris", t) }

type zone struct {
	id, name, summer string
	offset           int // seconds east of UTC outside summer time
	eu               bool
}

// zones is an array, not a map: laid out in the data at link time, where
// a map literal compiled to 8 KB of initialisation code.
var zones = [...]zone{
	// France and the overseas departments and collectivities.
	{"Europe/Paris", "CET", "CEST", 3600, true},
	{"America/Guadeloupe", "AST", "", -4 * 3600, false},
	{"America/Martinique", "AST", "", -4 * 3600, false},
	{"America/Cayenne", "-03", "", -3 * 3600, false},
	{"Indian/Reunion", "+04", "", 4 * 3600, false},
	{"Indian/Mayotte", "EAT", "", 3 * 3600, false},
	{"Pacific/Noumea", "+11", "", 11 * 3600, false},
	{"Pacific/Tahiti", "-10", "", -10 * 3600, false},
	{"Pacific/Wallis", "+12", "", 12 * 3600, false},
	// Neighbours under the same rule.
	{"Europe/Brussels", "CET", "CEST", 3600, true},
	{"Europe/Luxembourg", "CET", "CEST", 3600, true},
	{"Europe/Monaco", "CET", "CEST", 3600, true},
	{"Europe/Berlin", "CET", "CEST", 3600, true},
	{"Europe/Madrid", "CET", "CEST", 3600, true},
	{"Europe/Rome", "CET", "CEST", 3600, true},
	{"Europe/Zurich", "CET", "CEST", 3600, true},
	{"Europe/Andorra", "CET", "CEST", 3600, true},
	{"Europe/Lisbon", "WET", "WEST", 0, true},
	{"Europe/London", "GMT", "BST", 0, true},
	{"UTC", "UTC", "", 0, false},
}

// euSummer reports whether t falls in the European Union's summer time.
func euSummer(t time.Time) bool {
	t = t.UTC()
	y := t.Year()
	start := lastSunday(y, time.March).Add(time.Hour)
	end := lastSunday(y, time.October).Add(time.Hour)
	return !t.Before(start) && t.Before(end)
}

func lastSunday(y int, mo time.Month) time.Time {
	d := time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	return d.AddDate(0, 0, -int(d.Weekday()))
}
