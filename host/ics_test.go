package host

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parcours-sante/parcours/sdk/portal"
)

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// icsAppointment is an appointment at 09:30 Paris time (08:30 UTC in winter).
func icsAppointment() (portal.Appointment, portal.Establishment) {
	start := time.Date(2026, 11, 24, 9, 30, 0, 0, paris)
	return portal.Appointment{
			ID:            "apt_7f3k2",
			Establishment: "chu-exemple",
			Service:       "maternite",
			ServiceName:   portal.Text{FR: "Maternité", EN: "Maternity"},
			Practitioner:  portal.Practitioner{ID: "pr-1", Name: "Dr Élise Lefèvre"},
			Slot:          "slot-1",
			Start:         start,
			End:           start.Add(30 * time.Minute),
			Status:        portal.StatusBooked,
			Created:       start.Add(-48 * time.Hour),
		}, portal.Establishment{
			ID: "chu-exemple", Name: "CHU Exemple", TimeZone: "Europe/Paris",
		}
}

var icsNow = time.Date(2026, 11, 23, 8, 0, 0, 0, paris)

// checkICSLines checks the RFC 5545 §3.1 framing of an iCalendar object and
// returns its unfolded content lines.
func checkICSLines(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("the object does not end with CRLF")
	}
	physical := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	var logical []string
	for i, l := range physical {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d %q holds a bare CR or LF", i+1, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets, more than 75: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 (a character split by folding?): %q", i+1, l)
		}
		if rest, ok := strings.CutPrefix(l, " "); ok && i > 0 {
			logical[len(logical)-1] += rest
			continue
		}
		logical = append(logical, l)
	}
	return logical
}

// icsProperty returns the value of the first unfolded line named name.
func icsProperty(t *testing.T, lines []string, name string) string {
	t.Helper()
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return v
		}
	}
	t.Fatalf("no %s line in %q", name, lines)
	return ""
}

func TestICSExact(t *testing.T) {
	apt, est := icsAppointment()
	want := "BEGIN:VCALENDAR\r\n" +
		"VERSION:2.0\r\n" +
		"PRODID:-//Parcours//Parcours//FR\r\n" +
		"CALSCALE:GREGORIAN\r\n" +
		"METHOD:PUBLISH\r\n" +
		"BEGIN:VEVENT\r\n" +
		"UID:apt_7f3k2@parcours\r\n" +
		"DTSTAMP:20261123T070000Z\r\n" +
		"DTSTART:20261124T083000Z\r\n" +
		"DTEND:20261124T090000Z\r\n" +
		"SUMMARY:Rendez-vous Maternité — CHU Exemple\r\n" +
		"LOCATION:CHU Exemple\r\n" +
		"DESCRIPTION:Avec Dr Élise Lefèvre\r\n" +
		"SEQUENCE:0\r\n" +
		"STATUS:CONFIRMED\r\n" +
		"END:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	if got := string(ICS(apt, est, "fr", icsNow)); got != want {
		t.Errorf("ICS =\n%q\nwant\n%q", got, want)
	}
}

func TestICS(t *testing.T) {
	longName := "Service de gynécologie-obstétrique, maternité et néonatalogie — hôpital Édouard-Herriot, pavillon « Été »"
	tests := []struct {
		name   string
		modify func(*portal.Appointment, *portal.Establishment)
		lang   string
		want   map[string]string // property -> unfolded value
		folded bool              // some line must be folded
	}{
		{
			name: "French",
			lang: "fr",
			want: map[string]string{
				"SUMMARY":     "Rendez-vous Maternité — CHU Exemple",
				"DESCRIPTION": "Avec Dr Élise Lefèvre",
				"STATUS":      "CONFIRMED",
				"SEQUENCE":    "0",
			},
		},
		{
			name: "English",
			lang: "en",
			want: map[string]string{
				"SUMMARY":     "Appointment Maternity — CHU Exemple",
				"DESCRIPTION": "With Dr Élise Lefèvre",
			},
		},
		{
			name:   "English falls back to the French service name",
			lang:   "en",
			modify: func(a *portal.Appointment, _ *portal.Establishment) { a.ServiceName.EN = "" },
			want:   map[string]string{"SUMMARY": "Appointment Maternité — CHU Exemple"},
		},
		{
			name:   "cancelled",
			lang:   "fr",
			modify: func(a *portal.Appointment, _ *portal.Establishment) { a.Status = portal.StatusCancelled },
			want:   map[string]string{"STATUS": "CANCELLED", "SEQUENCE": "1"},
		},
		{
			name: "times in UTC whatever the zone",
			lang: "fr",
			modify: func(a *portal.Appointment, _ *portal.Establishment) {
				// Summer time in Paris is UTC+2; Réunion is UTC+4.
				a.Start = time.Date(2026, 7, 1, 14, 0, 0, 0, paris)
				a.End = time.Date(2026, 7, 1, 18, 45, 0, 0, time.FixedZone("RET", 4*3600))
			},
			want: map[string]string{"DTSTART": "20260701T120000Z", "DTEND": "20260701T144500Z"},
		},
		{
			name: "escaping of TEXT",
			lang: "fr",
			modify: func(a *portal.Appointment, e *portal.Establishment) {
				e.Name = `CHU; site Nord, bât. A\B`
				a.Practitioner.Name = "Dr Martin,\r\nsage-femme;\rbureau\n2"
				a.ID = "apt;1,2"
			},
			want: map[string]string{
				"LOCATION":    `CHU\; site Nord\, bât. A\\B`,
				"SUMMARY":     `Rendez-vous Maternité — CHU\; site Nord\, bât. A\\B`,
				"DESCRIPTION": `Avec Dr Martin\,\nsage-femme\;\nbureau\n2`,
				"UID":         `apt\;1\,2@parcours`,
			},
		},
		{
			name: "control characters dropped",
			lang: "fr",
			modify: func(a *portal.Appointment, _ *portal.Establishment) {
				a.Practitioner.Name = "Dr\x00 Martin\x1b[31m\x7f\tB"
			},
			want: map[string]string{"DESCRIPTION": "Avec Dr Martin[31m\tB"},
		},
		{
			name: "long accented summary is folded",
			lang: "fr",
			modify: func(a *portal.Appointment, e *portal.Establishment) {
				a.ServiceName.FR = longName
				e.Name = strings.Repeat("Hôpital Émile-Roux ", 6)
			},
			want: map[string]string{
				"SUMMARY":  "Rendez-vous " + strings.ReplaceAll(longName, ",", `\,`) + " — " + strings.Repeat("Hôpital Émile-Roux ", 6),
				"LOCATION": strings.Repeat("Hôpital Émile-Roux ", 6),
			},
			folded: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apt, est := icsAppointment()
			if tt.modify != nil {
				tt.modify(&apt, &est)
			}
			b := ICS(apt, est, tt.lang, icsNow)
			lines := checkICSLines(t, b)
			if lines[0] != "BEGIN:VCALENDAR" || lines[len(lines)-1] != "END:VCALENDAR" {
				t.Errorf("not one VCALENDAR: first %q, last %q", lines[0], lines[len(lines)-1])
			}
			if n := strings.Count(string(b), "BEGIN:VEVENT"); n != 1 {
				t.Errorf("%d VEVENTs, want 1", n)
			}
			if tt.folded && !bytes.Contains(b, []byte("\r\n ")) {
				t.Error("no folded line")
			}
			for name, want := range tt.want {
				if got := icsProperty(t, lines, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, name := range []string{"DTSTAMP", "DTSTART", "DTEND"} {
				v := icsProperty(t, lines, name)
				if _, err := time.Parse("20060102T150405Z", v); err != nil {
					t.Errorf("%s %q is not a UTC date-time: %v", name, v, err)
				}
			}
		})
	}
}

func TestFoldLine(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "\r\n"},
		{"short", "VERSION:2.0", "VERSION:2.0\r\n"},
		{"exactly 75 octets", a(75), a(75) + "\r\n"},
		{"76 octets", a(76), a(75) + "\r\n a\r\n"},
		{"continuation holds 74 octets", a(75 + 74 + 1), a(75) + "\r\n " + a(74) + "\r\n a\r\n"},
		{"2-byte character at the limit moves down", a(74) + "é", a(74) + "\r\n é\r\n"},
		{"2-byte character fits exactly", a(73) + "é", a(73) + "é\r\n"},
		{"3-byte character at the limit", a(73) + "—", a(73) + "\r\n —\r\n"},
		{"4-byte character at the limit", a(72) + "🏥", a(72) + "\r\n 🏥\r\n"},
		{"4-byte character fits exactly", a(71) + "🏥", a(71) + "🏥\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			foldLine(&b, tt.in)
			if got := b.String(); got != tt.want {
				t.Errorf("foldLine(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
		})
	}

	t.Run("accented text of every length", func(t *testing.T) {
		for n := 0; n < 200; n++ {
			s := "SUMMARY:" + strings.Repeat("é", n/2) + strings.Repeat("a", n%2) + strings.Repeat("—", n/3)
			var b bytes.Buffer
			foldLine(&b, s)
			lines := checkICSLines(t, b.Bytes())
			if len(lines) != 1 || lines[0] != s {
				t.Fatalf("n=%d: unfolds to %q, want %q", n, lines, s)
			}
		}
	})
}
