package fhir

import (
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

func TestRefID(t *testing.T) {
	tests := []struct {
		ref, typ, want string
		ok             bool
	}{
		{"Slot/s1", "Slot", "s1", true},
		{"Slot/s1/_history/3", "Slot", "s1", true},
		{"https://fhir.example/r4/Slot/s1", "Slot", "s1", true},
		{"Schedule/s1", "Slot", "", false},
		{"Slot/", "Slot", "", false},
		{"Slot/a b", "Slot", "", false},
		{"#contained", "Slot", "", false},
		{"Slot/" + strings.Repeat("x", 65), "Slot", "", false},
		{"", "Slot", "", false},
	}
	for _, tc := range tests {
		if got, ok := refID(tc.ref, tc.typ); got != tc.want || ok != tc.ok {
			t.Errorf("refID(%q, %q) = %q, %v; want %q, %v", tc.ref, tc.typ, got, ok, tc.want, tc.ok)
		}
	}
}

const slotJSON = `{"resourceType":"Slot","id":"s1","meta":{"versionId":"v1"},"schedule":{"reference":"Schedule/sch1"},
	"status":"busy","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:30:00+01:00",
	"extension":[{"url":"https://parcours-sante.org/fhir/StructureDefinition/booking-hold","valueString":"k1"}]}`

func TestSlotFrom(t *testing.T) {
	r, err := parseResource([]byte(slotJSON), "Slot")
	if err != nil {
		t.Fatal(err)
	}
	s, err := slotFrom(r)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	if s.ID != "s1" || s.Version != "v1" || s.Schedule != "sch1" || s.Status != "busy" || s.Hold != "k1" ||
		!s.Start.Equal(start) || !s.End.Equal(start.Add(30*time.Minute)) {
		t.Errorf("slotFrom = %+v", s)
	}

	bad := map[string]string{
		"NoSchedule":     `{"resourceType":"Slot","id":"s1","status":"free","start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:30:00Z"}`,
		"EndBeforeStart": `{"resourceType":"Slot","id":"s1","schedule":{"reference":"Schedule/a"},"status":"free","start":"2026-12-01T09:00:00Z","end":"2026-12-01T08:30:00Z"}`,
		"DateOnly":       `{"resourceType":"Slot","id":"s1","schedule":{"reference":"Schedule/a"},"status":"free","start":"2026-12-01","end":"2026-12-02"}`,
		"NoStatus":       `{"resourceType":"Slot","id":"s1","schedule":{"reference":"Schedule/a"},"start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:30:00Z"}`,
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := slotFrom(gjson.Parse(body)); err == nil {
				t.Errorf("slotFrom(%s) succeeded", body)
			}
		})
	}
}

func TestAppointmentFrom(t *testing.T) {
	body := `{"resourceType":"Appointment","id":"a1","meta":{"versionId":"2","lastUpdated":"2026-11-24T10:00:00Z"},"status":"cancelled",
		"identifier":[{"system":"urn:other","value":"x"},{"system":"` + SystemBookingKey + `","value":"k1"}],
		"start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:30:00+01:00",
		"slot":[{"reference":"Slot/s1"}],
		"extension":[{"url":"` + ExtCancellationDate + `","valueDateTime":"2026-11-25T10:00:00+01:00"}],
		"participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"},
			{"actor":{"reference":"Practitioner/pr1","display":"Claire Martin"},"status":"accepted"},
			{"actor":{"reference":"HealthcareService/svc1"},"status":"accepted"}]}`
	a, err := appointmentFrom(gjson.Parse(body))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "a1" || a.Version != "2" || a.Status != "cancelled" || a.Key != "k1" || a.Slot != "s1" || a.Patient != "p1" ||
		a.Practitioner != (portal.Practitioner{ID: "pr1", Name: "Claire Martin"}) || a.Service != "svc1" {
		t.Errorf("appointmentFrom = %+v", a)
	}
	// Without "created", the server's lastUpdated stands in.
	if !a.Created.Equal(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Created = %s, want meta.lastUpdated", a.Created)
	}
	if a.Cancelled == nil || !a.Cancelled.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("Cancelled = %v", a.Cancelled)
	}
	if _, err := appointmentFrom(gjson.Parse(`{"resourceType":"Appointment","id":"a1","status":"booked","participant":[]}`)); err == nil {
		t.Error("an appointment without a patient was accepted")
	}
}

func TestTextTranslation(t *testing.T) {
	r := gjson.Parse(`{"name":"Maternité","_name":{"extension":[
		{"url":"urn:other","valueString":"x"},
		{"url":"` + ExtTranslation + `","extension":[{"url":"lang","valueCode":"de"},{"url":"content","valueString":"Geburtshilfe"}]},
		{"url":"` + ExtTranslation + `","extension":[{"url":"lang","valueCode":"en-GB"},{"url":"content","valueString":"Maternity"}]}]}}`)
	if got := text(r, "name"); got != (portal.Text{FR: "Maternité", EN: "Maternity"}) {
		t.Errorf("text = %+v", got)
	}
	if got := text(gjson.Parse(`{"name":"Seul"}`), "name"); got != (portal.Text{FR: "Seul"}) {
		t.Errorf("text without translation = %+v", got)
	}
}

func TestOrganizationTimeZone(t *testing.T) {
	o, err := organizationFrom(gjson.Parse(`{"resourceType":"Organization","id":"o","name":"CH",
		"extension":[{"url":"` + ExtTimeZone + `","valueCode":"America/Cayenne"}]}`))
	if err != nil || o.TimeZone != "America/Cayenne" || !o.Active {
		t.Errorf("organizationFrom = %+v, %v", o, err)
	}
}

// TestEdit checks that an update keeps what the backend does not own.
func TestEdit(t *testing.T) {
	raw := `{"resourceType":"Slot","id":"s1","meta":{"versionId":"3","lastUpdated":"x","tag":[{"code":"t"}]},
		"comment":"<b>&</b>","x-decimal":0.10000000000000000555,"status":"free",
		"extension":[{"url":"urn:keep","valueInteger":1},{"url":"` + ExtBookingHold + `","valueString":"old"}]}`
	out, err := edit(raw, func(res map[string]any) {
		res["status"] = "busy"
		setExtension(res, ExtBookingHold, "valueString", "new")
	})
	if err != nil {
		t.Fatal(err)
	}
	r := gjson.ParseBytes(out)
	switch {
	case r.Get("status").String() != "busy":
		t.Errorf("status not changed: %s", out)
	case r.Get("meta.versionId").Exists() || r.Get("meta.lastUpdated").Exists() || r.Get("meta.tag.0.code").String() != "t":
		t.Errorf("meta: want the tag kept and the server's fields dropped: %s", out)
	case r.Get("x-decimal").Raw != "0.10000000000000000555":
		t.Errorf("decimal changed: %s", r.Get("x-decimal").Raw)
	case r.Get("comment").String() != "<b>&</b>":
		t.Errorf("comment changed: %s", out)
	case extension(r, "urn:keep").Get("valueInteger").Int() != 1 || extension(r, ExtBookingHold).Get("valueString").String() != "new" ||
		r.Get("extension.#").Int() != 2:
		t.Errorf("extensions: want urn:keep kept and one hold, new: %s", out)
	}
	out, err = edit(string(out), func(res map[string]any) { removeExtension(res, ExtBookingHold) })
	if err != nil || gjson.GetBytes(out, "extension.#").Int() != 1 {
		t.Errorf("removeExtension: %s, %v", out, err)
	}
}

func TestValidINS(t *testing.T) {
	tests := map[string]bool{
		"279035121518989":  true,  // the test NIR of the example bundle
		"185127511504263":  true,  // the other one
		"279035121518988":  false, // wrong key
		"27903512151898":   false, // too short
		"2790351215189890": false,
		"27903512151898a":  false,
		"+79035121518989":  false,
		"":                 false,
		// Corsica: 2A counts as 19 and 2B as 18 in the key.
		"185122A11504223": true,
		"185122B11504250": true,
		"185122A11504250": false,
	}
	for ins, want := range tests {
		if got := ValidINS(ins); got != want {
			t.Errorf("ValidINS(%q) = %v, want %v", ins, got, want)
		}
	}
}

func TestBookingKey(t *testing.T) {
	k := bookingKey("p1", "key-12345")
	switch {
	case k != bookingKey("p1", "key-12345"):
		t.Error("bookingKey is not deterministic")
	case k == bookingKey("p2", "key-12345"):
		t.Error("bookingKey is not scoped to the patient")
	case bookingKey("a", "bc-123456") == bookingKey("ab", "c-123456"):
		t.Error("bookingKey confuses the boundary between patient and key")
	case !validToken(k):
		t.Errorf("bookingKey %q is not a plain token for a search URL", k)
	}
}

func validToken(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return len(s) == 64
}
