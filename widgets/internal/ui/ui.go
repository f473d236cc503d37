// Package ui holds what every Parcours widget shares: the language choice,
// the message catalogue (French first, English second) and the date and time
// formats patients read.
package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
)

// Lang normalises a language attribute to "fr" or "en"; French is the default.
func Lang(s string) string {
	if len(s) >= 2 && (s[:2] == "en" || s[:2] == "EN") {
		return "en"
	}
	return "fr"
}

// Messages is a catalogue from key to French and English text.
type Messages map[string][2]string

// T returns the text for key in lang, or the key itself when it is missing
// (a visible bug rather than an empty label).
func (m Messages) T(lang, key string) string {
	t, ok := m[key]
	if !ok {
		return key
	}
	if lang == "en" && t[1] != "" {
		return t[1]
	}
	return t[0]
}

// Tf formats the text for key with args.
func (m Messages) Tf(lang, key string, args ...any) string {
	return fmt.Sprintf(m.T(lang, key), args...)
}

var (
	daysFR   = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	daysEN   = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	monthsEN = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// Date formats the calendar date of t in its own location: "mardi 24 novembre
// 2026" or "Tuesday 24 November 2026".
func Date(lang string, t time.Time) string {
	return fmt.Sprintf("%s %d %s %d", Weekday(lang, t), t.Day(), month(lang, t), t.Year())
}

// ShortDate formats "mar. 24 nov." / "Tue 24 Nov", for day pickers.
func ShortDate(lang string, t time.Time) string {
	if lang == "en" {
		return fmt.Sprintf("%s %d %s", daysEN[t.Weekday()][:3], t.Day(), monthsEN[t.Month()-1][:3])
	}
	return fmt.Sprintf("%s %d %s", shortDaysFR[t.Weekday()], t.Day(), shortMonthsFR[t.Month()-1])
}

// DayMonthYear formats "20 déc. 2025" / "20 Dec 2025": a date in a list
// or a table that may span years.
func DayMonthYear(lang string, t time.Time) string {
	return fmt.Sprintf("%d %s %d", t.Day(), ShortMonth(lang, t), t.Year())
}

// MonthYear formats "novembre 2026" / "November 2026", for headings of
// months.
func MonthYear(lang string, t time.Time) string {
	return fmt.Sprintf("%s %d", month(lang, t), t.Year())
}

// French abbreviations as the Imprimerie nationale writes them.
var (
	shortDaysFR   = [...]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
	shortMonthsFR = [...]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// ShortMonth returns the abbreviated month of t: "janv.", "Jan".
func ShortMonth(lang string, t time.Time) string {
	if lang == "en" {
		return monthsEN[t.Month()-1][:3]
	}
	return shortMonthsFR[t.Month()-1]
}

// Weekday returns the day name of t.
func Weekday(lang string, t time.Time) string {
	if lang == "en" {
		return daysEN[t.Weekday()]
	}
	return daysFR[t.Weekday()]
}

func month(lang string, t time.Time) string {
	if lang == "en" {
		return monthsEN[t.Month()-1]
	}
	return monthsFR[t.Month()-1]
}

// Clock formats the time of day of t in its own location: "09:30" in French
// ("9 h 30" is also French, but the 24-hour digits are what booking sites use).
func Clock(t time.Time) string {
	return t.Format("15:04")
}

// DateTime formats "mardi 24 novembre 2026 à 09:30" / "Tuesday 24 November
// 2026 at 09:30".
func DateTime(lang string, t time.Time) string {
	if lang == "en" {
		return Date(lang, t) + " at " + Clock(t)
	}
	return Date(lang, t) + " à " + Clock(t)
}

// DecodeState reads the hidden form state a server-rendered widget carries
// from one post to the next: JSON of at most max bytes, without unknown
// fields. An empty value is the zero state. The caller checks the values.
func DecodeState[T any](s string, max int) (T, error) {
	var st T
	if s == "" {
		return st, nil
	}
	if len(s) > max {
		return st, errors.New("form state too large")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, err
	}
	return st, nil
}

// Size formats a byte count as patients read it, in the binary units file
// limits are given in: "320 ko", "2,4 Mo" ("320 KB", "2.4 MB" in English).
func Size(lang string, n int64) string {
	unitB, unitK, unitM, sep := " o", " ko", " Mo", ","
	if lang == "en" {
		unitB, unitK, unitM, sep = " B", " KB", " MB", "."
	}
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + unitB
	case n < 1<<20:
		return strconv.FormatInt((n+1<<10-1)>>10, 10) + unitK
	}
	tenths := (n*10 + 1<<19) >> 20
	return strconv.FormatInt(tenths/10, 10) + sep + strconv.FormatInt(tenths%10, 10) + unitM
}

// SignInLinks returns the links of links of the given kinds ("patient",
// "practitioner"), in the order of kinds, then of links, followed by the
// links of providers of both kinds (Kind "").
func SignInLinks(links []widgets.SignInLink, kinds ...string) []widgets.SignInLink {
	var out []widgets.SignInLink
	for _, k := range kinds {
		for _, l := range links {
			if l.Kind == k {
				out = append(out, l)
			}
		}
	}
	// A provider of both kinds (Kind ""), such as the demo's, once.
	for _, l := range links {
		if l.Kind == "" {
			out = append(out, l)
		}
	}
	return out
}

// Person names who is signed in as the widgets compare people: "patient:<id>"
// or "practitioner:<id>" (a session has one or the other), "" for nobody.
// A form carries it (a post drawn for another person than the session's
// does nothing), and the widgets key what belongs to someone by it.
func Person(p *portal.Patient, pr *portal.Practitioner) string {
	switch {
	case pr != nil:
		return string(portal.AuthorPractitioner) + ":" + pr.ID
	case p != nil:
		return string(portal.AuthorPatient) + ":" + p.ID
	}
	return ""
}

// PersonChanged is the error of a write posted by a form drawn for posted
// (Person's value when it was drawn) in the session of now: none when it
// is the same person or the form named nobody; ErrUnauthenticated when
// the session has ended; ErrSessionChanged when someone else signed in
// (another tab of the browser). Nothing of such a post is done.
func PersonChanged(posted, now string) portal.ErrorCode {
	switch {
	case posted == "" || posted == now:
		return ""
	case now == "":
		return portal.ErrUnauthenticated
	}
	return portal.ErrSessionChanged
}
