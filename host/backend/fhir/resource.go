package fhir

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// This file reads the FHIR resources the backend uses, from the server's
// JSON (https://hl7.org/fhir/R4/json.html), with gjson. Nothing here trusts
// the server: every id is checked, every instant parsed, and a resource
// that lacks what the backend needs is an error, never a panic.

// URLs and systems of this backend. docs/fhir.md documents them.
const (
	// ExtTimeZone is the HL7 extension carrying an Organization's IANA
	// time zone as a valueCode
	// (http://hl7.org/fhir/extensions/StructureDefinition-timezone.html).
	ExtTimeZone = "http://hl7.org/fhir/StructureDefinition/timezone"
	// ExtTranslation carries the English text of a string element
	// (http://hl7.org/fhir/R4/extension-translation.html).
	ExtTranslation = "http://hl7.org/fhir/StructureDefinition/translation"
	// ExtCancellationDate is the R5 Appointment.cancellationDate as an R4
	// cross-version extension (https://hl7.org/fhir/R4/versions.html#extensions):
	// when the patient cancelled, on the backend's clock.
	ExtCancellationDate = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.cancellationDate"
	// ExtUrgentHelp is an Organization's urgent-help text (valueString,
	// English in a translation), shown in an emergency.
	ExtUrgentHelp = "https://parcours-sante.org/fhir/StructureDefinition/urgent-help"
	// ExtBookingHold marks a busy Slot with the booking key
	// (SystemBookingKey) of the booking that took it, so that a retry of
	// that booking recognises its own hold and a cancellation frees only
	// the slot its appointment holds.
	ExtBookingHold = "https://parcours-sante.org/fhir/StructureDefinition/booking-hold"
	// SystemBookingKey is the identifier system of the Appointments
	// Parcours books: the value is a digest of the patient id and the
	// request's idempotency key (see bookingKey), so that a conditional
	// create on it finds a retried booking.
	SystemBookingKey = "https://parcours-sante.org/fhir/sid/booking-key"
	// SystemTag and TagDemo mark fictional patients (meta.tag) that a
	// demonstration may sign in as.
	SystemTag = "https://parcours-sante.org/fhir/CodeSystem/tag"
	TagDemo   = "demo"
)

// idRE is the syntax of a FHIR logical id (https://hl7.org/fhir/R4/datatypes.html#id).
var idRE = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)

// validID reports whether s can be a logical id. Ids from requests are
// checked before they reach a URL: an id that cannot exist is not found.
func validID(s string) bool { return idRE.MatchString(s) }

// refID returns the id in reference ref ("Type/id", an absolute URL ending
// so, with or without "/_history/v") if it names a resource of type typ.
func refID(ref, typ string) (string, bool) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] != typ || !validID(parts[len(parts)-1]) {
		return "", false
	}
	return parts[len(parts)-1], true
}

// ref returns the relative reference "typ/id".
func ref(typ, id string) string { return typ + "/" + id }

// parseResource parses body as one resource of type typ with a valid id.
func parseResource(body []byte, typ string) (gjson.Result, error) {
	if !gjson.ValidBytes(body) {
		return gjson.Result{}, fmt.Errorf("%s: not JSON", typ)
	}
	r := gjson.ParseBytes(body)
	if !r.IsObject() {
		return gjson.Result{}, fmt.Errorf("%s: not a JSON object", typ)
	}
	if got := r.Get("resourceType").String(); got != typ {
		return gjson.Result{}, fmt.Errorf("%s: resourceType %q", typ, got)
	}
	if !validID(r.Get("id").String()) {
		return gjson.Result{}, fmt.Errorf("%s: no valid id", typ)
	}
	return r, nil
}

// bundle is one page of a search or the answer to a transaction
// (https://hl7.org/fhir/R4/bundle.html).
type bundle struct {
	resources []gjson.Result // entry.resource, in order
	responses []gjson.Result // entry.response, in order (transactions)
	next      string         // the link with relation "next", if any
}

// parseBundle parses body as a Bundle.
func parseBundle(body []byte) (bundle, error) {
	if !gjson.ValidBytes(body) {
		return bundle{}, errors.New("Bundle: not JSON")
	}
	r := gjson.ParseBytes(body)
	if r.Get("resourceType").String() != "Bundle" {
		return bundle{}, fmt.Errorf("Bundle: resourceType %q", r.Get("resourceType").String())
	}
	var b bundle
	r.Get("entry").ForEach(func(_, e gjson.Result) bool {
		if res := e.Get("resource"); res.IsObject() {
			b.resources = append(b.resources, res)
		}
		b.responses = append(b.responses, e.Get("response"))
		return true
	})
	r.Get("link").ForEach(func(_, l gjson.Result) bool {
		if l.Get("relation").String() == "next" {
			b.next = l.Get("url").String()
			return false
		}
		return true
	})
	return b, nil
}

// extension returns the extension of r with url, if any
// (https://hl7.org/fhir/R4/extensibility.html).
func extension(r gjson.Result, url string) gjson.Result {
	var found gjson.Result
	r.Get("extension").ForEach(func(_, e gjson.Result) bool {
		if e.Get("url").String() == url {
			found = e
			return false
		}
		return true
	})
	return found
}

// text returns the string element field of r in French, with its English
// translation (ExtTranslation on "_field") if present.
func text(r gjson.Result, field string) portal.Text {
	t := portal.Text{FR: r.Get(field).String()}
	r.Get("_" + field + ".extension").ForEach(func(_, e gjson.Result) bool {
		if e.Get("url").String() != ExtTranslation {
			return true
		}
		if lang := extension(e, "lang").Get("valueCode").String(); lang == "en" || strings.HasPrefix(lang, "en-") {
			t.EN = extension(e, "content").Get("valueString").String()
			return false
		}
		return true
	})
	return t
}

// parseInstant parses a FHIR instant: date, time to the second and zone
// (https://hl7.org/fhir/R4/datatypes.html#instant).
func parseInstant(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// parseDateTime parses a FHIR dateTime, a partial date being its first
// instant in UTC (https://hl7.org/fhir/R4/datatypes.html#dateTime).
func parseDateTime(s string) (time.Time, bool) {
	if t, ok := parseInstant(s); ok {
		return t, true
	}
	for _, layout := range []string{"2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// formatInstant writes t as a FHIR instant to the second, in t's zone.
func formatInstant(t time.Time) string { return t.Truncate(time.Second).Format(time.RFC3339) }

// active reads an "active" element, which is true when absent.
func active(r gjson.Result) bool {
	a := r.Get("active")
	return !a.Exists() || a.Bool()
}

// organization is an establishment (https://hl7.org/fhir/R4/organization.html).
type organization struct {
	ID         string
	Name       string
	Active     bool
	TimeZone   string // empty: Config.TimeZone
	UrgentHelp portal.Text
}

func organizationFrom(r gjson.Result) (organization, error) {
	o := organization{
		ID:       r.Get("id").String(),
		Name:     r.Get("name").String(),
		Active:   active(r),
		TimeZone: extension(r, ExtTimeZone).Get("valueCode").String(),
	}
	if !validID(o.ID) || o.Name == "" {
		return organization{}, errors.New("Organization: no id or name")
	}
	if u := extension(r, ExtUrgentHelp); u.Exists() {
		o.UrgentHelp = text(u, "valueString")
	}
	return o, nil
}

// healthcareService is a service (https://hl7.org/fhir/R4/healthcareservice.html).
type healthcareService struct {
	ID           string
	Organization string // providedBy
	Name         portal.Text
	Active       bool
}

func healthcareServiceFrom(r gjson.Result) (healthcareService, error) {
	s := healthcareService{ID: r.Get("id").String(), Name: text(r, "name"), Active: active(r)}
	org, ok := refID(r.Get("providedBy.reference").String(), "Organization")
	if !validID(s.ID) || !ok || s.Name.FR == "" {
		return healthcareService{}, errors.New("HealthcareService: no id, providedBy Organization or name")
	}
	s.Organization = org
	return s, nil
}

// practitionerRole links a practitioner to services (https://hl7.org/fhir/R4/practitionerrole.html).
type practitionerRole struct {
	ID           string
	Practitioner string
	Services     []string
	Role         portal.Text // code[0].text, or its first coding's display
	Active       bool
}

func practitionerRoleFrom(r gjson.Result) (practitionerRole, error) {
	p := practitionerRole{ID: r.Get("id").String(), Active: active(r)}
	pr, ok := refID(r.Get("practitioner.reference").String(), "Practitioner")
	if !validID(p.ID) || !ok {
		return practitionerRole{}, errors.New("PractitionerRole: no id or practitioner")
	}
	p.Practitioner = pr
	r.Get("healthcareService").ForEach(func(_, s gjson.Result) bool {
		if id, ok := refID(s.Get("reference").String(), "HealthcareService"); ok {
			p.Services = append(p.Services, id)
		}
		return true
	})
	code := r.Get("code.0")
	p.Role = text(code, "text")
	if p.Role.FR == "" {
		p.Role = text(code.Get("coding.0"), "display")
	}
	return p, nil
}

// practitionerFrom reads a Practitioner (https://hl7.org/fhir/R4/practitioner.html)
// as id, display name and RPPS number (its identifier of system
// portal.SystemRPPS, when well formed).
func practitionerFrom(r gjson.Result) (portal.Practitioner, error) {
	p := portal.Practitioner{ID: r.Get("id").String(), Name: humanName(preferredName(r))}
	if !validID(p.ID) || p.Name == "" {
		return portal.Practitioner{}, errors.New("Practitioner: no id or name")
	}
	r.Get("identifier").ForEach(func(_, id gjson.Result) bool {
		if v := id.Get("value").String(); id.Get("system").String() == portal.SystemRPPS && portal.ValidRPPS(v) {
			p.RPPS = v
		}
		return p.RPPS == ""
	})
	return p, nil
}

// preferredName returns the HumanName to show (https://hl7.org/fhir/R4/datatypes.html#HumanName):
// the usual one, else the official one, else the first.
func preferredName(r gjson.Result) gjson.Result {
	names := r.Get("name").Array()
	for _, use := range []string{"usual", "official"} {
		for _, n := range names {
			if n.Get("use").String() == use {
				return n
			}
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return gjson.Result{}
}

// humanName writes a HumanName as its text, else "prefix given family".
func humanName(n gjson.Result) string {
	if t := strings.TrimSpace(n.Get("text").String()); t != "" {
		return t
	}
	var parts []string
	for _, key := range []string{"prefix", "given"} {
		n.Get(key).ForEach(func(_, v gjson.Result) bool {
			if s := strings.TrimSpace(v.String()); s != "" {
				parts = append(parts, s)
			}
			return true
		})
	}
	if f := strings.TrimSpace(n.Get("family").String()); f != "" {
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}

// schedule is a practitioner's agenda in a service (https://hl7.org/fhir/R4/schedule.html):
// its actors are one Practitioner and the HealthcareService(s).
type schedule struct {
	ID           string
	Practitioner string
	Services     []string
	Active       bool
}

func scheduleFrom(r gjson.Result) (schedule, error) {
	s := schedule{ID: r.Get("id").String(), Active: active(r)}
	r.Get("actor").ForEach(func(_, a gjson.Result) bool {
		ref := a.Get("reference").String()
		if id, ok := refID(ref, "Practitioner"); ok && s.Practitioner == "" {
			s.Practitioner = id
		} else if id, ok := refID(ref, "HealthcareService"); ok {
			s.Services = append(s.Services, id)
		}
		return true
	})
	if !validID(s.ID) || s.Practitioner == "" || len(s.Services) == 0 {
		return schedule{}, errors.New("Schedule: no id, Practitioner actor or HealthcareService actor")
	}
	return s, nil
}

// slot is a bookable period (https://hl7.org/fhir/R4/slot.html).
type slot struct {
	ID         string
	Version    string // meta.versionId, for If-Match
	Schedule   string
	Status     string // free, busy, busy-unavailable, busy-tentative, entered-in-error
	Start, End time.Time
	Hold       string // the ExtBookingHold of a slot Parcours booked
	Raw        string // the resource's JSON, for an update
}

func slotFrom(r gjson.Result) (slot, error) {
	s := slot{
		ID:      r.Get("id").String(),
		Version: r.Get("meta.versionId").String(),
		Status:  r.Get("status").String(),
		Hold:    extension(r, ExtBookingHold).Get("valueString").String(),
		Raw:     r.Raw,
	}
	sched, ok := refID(r.Get("schedule.reference").String(), "Schedule")
	if !validID(s.ID) || !ok || s.Status == "" {
		return slot{}, errors.New("Slot: no id, schedule or status")
	}
	s.Schedule = sched
	var okStart, okEnd bool
	s.Start, okStart = parseInstant(r.Get("start").String())
	s.End, okEnd = parseInstant(r.Get("end").String())
	if !okStart || !okEnd || !s.End.After(s.Start) {
		return slot{}, fmt.Errorf("Slot/%s: no valid period", s.ID)
	}
	return s, nil
}

// appointment is a booking (https://hl7.org/fhir/R4/appointment.html).
type appointment struct {
	ID           string
	Version      string
	Status       string
	Key          string // the SystemBookingKey identifier, if Parcours booked it
	Slot         string
	Patient      string
	Practitioner portal.Practitioner // id and participant display
	Service      string
	Start, End   time.Time
	Created      time.Time
	Cancelled    *time.Time
	Raw          string // the resource's JSON, for an update
}

func appointmentFrom(r gjson.Result) (appointment, error) {
	a := appointment{
		ID:      r.Get("id").String(),
		Version: r.Get("meta.versionId").String(),
		Status:  r.Get("status").String(),
		Raw:     r.Raw,
	}
	r.Get("identifier").ForEach(func(_, i gjson.Result) bool {
		if i.Get("system").String() == SystemBookingKey {
			a.Key = i.Get("value").String()
			return false
		}
		return true
	})
	a.Slot, _ = refID(r.Get("slot.0.reference").String(), "Slot")
	r.Get("participant").ForEach(func(_, p gjson.Result) bool {
		actor := p.Get("actor")
		ref := actor.Get("reference").String()
		if id, ok := refID(ref, "Patient"); ok && a.Patient == "" {
			a.Patient = id
		} else if id, ok := refID(ref, "Practitioner"); ok && a.Practitioner.ID == "" {
			a.Practitioner = portal.Practitioner{ID: id, Name: actor.Get("display").String()}
		} else if id, ok := refID(ref, "HealthcareService"); ok && a.Service == "" {
			a.Service = id
		}
		return true
	})
	if !validID(a.ID) || a.Status == "" || a.Patient == "" {
		return appointment{}, errors.New("Appointment: no id, status or Patient participant")
	}
	var okStart, okEnd bool
	a.Start, okStart = parseInstant(r.Get("start").String())
	a.End, okEnd = parseInstant(r.Get("end").String())
	if !okStart || !okEnd || a.End.Before(a.Start) {
		return appointment{}, fmt.Errorf("Appointment/%s: no valid period", a.ID)
	}
	created, ok := parseDateTime(r.Get("created").String())
	if !ok {
		created, _ = parseInstant(r.Get("meta.lastUpdated").String())
	}
	a.Created = created
	if c, ok := parseDateTime(extension(r, ExtCancellationDate).Get("valueDateTime").String()); ok {
		a.Cancelled = &c
	}
	return a, nil
}

// patient is a Patient (https://hl7.org/fhir/R4/patient.html).
type patient struct {
	portal.Patient
	INS  []identifier // identifiers of the INS systems
	Demo bool
}

type identifier struct{ System, Value string }

func patientFrom(r gjson.Result) (patient, error) {
	n := preferredName(r)
	p := patient{Patient: portal.Patient{
		ID:         r.Get("id").String(),
		GivenName:  strings.TrimSpace(n.Get("given.0").String()),
		FamilyName: strings.TrimSpace(n.Get("family").String()),
	}}
	if !validID(p.ID) {
		return patient{}, errors.New("Patient: no valid id")
	}
	r.Get("identifier").ForEach(func(_, i gjson.Result) bool {
		if sys := i.Get("system").String(); isINSSystem(sys) {
			p.INS = append(p.INS, identifier{sys, i.Get("value").String()})
		}
		return true
	})
	r.Get("meta.tag").ForEach(func(_, t gjson.Result) bool {
		if t.Get("system").String() == SystemTag && t.Get("code").String() == TagDemo {
			p.Demo = true
			return false
		}
		return true
	})
	return p, nil
}
