package host

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// ICS returns an iCalendar object (RFC 5545) with one event for apt, for the
// patient's own calendar: "add to my calendar". Times are UTC; lines end in
// CRLF and are folded at 75 octets without splitting a UTF-8 character.
func ICS(apt portal.Appointment, est portal.Establishment, lang string, now time.Time) []byte {
	const stamp = "20060102T150405Z"
	summary := "Rendez-vous " + apt.ServiceName.In(lang) + " — " + est.Name
	desc := "Avec " + apt.Practitioner.Name
	status := "CONFIRMED"
	if lang == "en" {
		summary = "Appointment " + apt.ServiceName.In(lang) + " — " + est.Name
		desc = "With " + apt.Practitioner.Name
	}
	if apt.Status == portal.StatusCancelled {
		status = "CANCELLED"
	}
	var b bytes.Buffer
	line := func(name, value string) { foldLine(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Parcours//Parcours//FR")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("BEGIN", "VEVENT")
	line("UID", icsText(apt.ID)+"@parcours")
	line("DTSTAMP", now.UTC().Format(stamp))
	line("DTSTART", apt.Start.UTC().Format(stamp))
	line("DTEND", apt.End.UTC().Format(stamp))
	line("SUMMARY", icsText(summary))
	line("LOCATION", icsText(est.Name))
	line("DESCRIPTION", icsText(desc))
	// A cancellation is a new revision of the same event (same UID), so a
	// calendar that imported the booking updates it.
	seq := "0"
	if apt.Status == portal.StatusCancelled {
		seq = "1"
	}
	line("SEQUENCE", seq)
	line("STATUS", status)
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return b.Bytes()
}

// icsText escapes a TEXT value (RFC 5545 §3.3.11). Line breaks become \n;
// other control characters, which TEXT may not hold, are dropped.
func icsText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return strings.Map(func(c rune) rune {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return -1
		}
		return c
	}, r.Replace(s))
}

// foldLine writes one content line folded at 75 octets (RFC 5545 §3.1).
func foldLine(b *bytes.Buffer, s string) {
	n := 0
	for len(s) > 0 {
		_, size := utf8.DecodeRuneInString(s)
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteString(s[:size])
		n += size
		s = s[size:]
	}
	b.WriteString("\r\n")
}
