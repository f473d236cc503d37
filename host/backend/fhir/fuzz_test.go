package fhir

import "testing"

// The parsers of what a FHIR server sends are fuzzed: whatever the server
// answers, they return a value or an error, never panic, and what they
// accept has the shape the backend relies on.

func FuzzParseOperationOutcome(f *testing.F) {
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","details":{"text":"Not found"}}]}`))
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":{"code":"x"}}`))
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[1,"a",null,{"code":7}]}`))
	f.Add([]byte(`<html>Bad gateway</html>`))
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"diagnostics":"INS 2 79 03 51 215 189 89"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		issues, ok := parseOperationOutcome(body)
		if !ok && issues != nil {
			t.Fatalf("issues %v from a body that is not an OperationOutcome", issues)
		}
		for _, c := range issueCodes(issues) {
			if !tokenRE.MatchString(c) {
				t.Fatalf("issue code %q in an error detail is not a token", c)
			}
		}
		for _, i := range issues {
			if d := redact(i.Diagnostics); len(d) > maxDiagnostics+len("…") || insLike.MatchString(d) {
				t.Fatalf("redact(%q) = %q", i.Diagnostics, d)
			}
		}
		classify(500, issues, opBook)
	})
}

func FuzzParseSlot(f *testing.F) {
	f.Add([]byte(slotJSON))
	f.Add([]byte(`{"resourceType":"Slot","id":"s","schedule":{"reference":"Schedule/x/_history/1"},"status":"free","start":"2026-12-01T09:00:00.5Z","end":"2026-12-01T09:00:01Z"}`))
	f.Add([]byte(`{"resourceType":"Slot","id":"s","schedule":{"reference":"Schedule/"},"status":"free","start":"2026-13-01T09:00:00Z"}`))
	f.Add([]byte(`{"resourceType":"Slot","id":"../../Patient","schedule":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseResource(body, "Slot")
		if err != nil {
			return
		}
		s, err := slotFrom(r)
		if err != nil {
			return
		}
		if !validID(s.ID) || !validID(s.Schedule) || !s.End.After(s.Start) || s.Status == "" {
			t.Fatalf("slotFrom accepted %+v", s)
		}
	})
}

func FuzzParseAppointment(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Appointment","id":"a1","status":"booked","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:30:00+01:00",
		"created":"2026-11","slot":[{"reference":"Slot/s1"}],"participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"HealthcareService/h"}}]}`))
	f.Add([]byte(`{"resourceType":"Appointment","id":"a1","status":"booked","participant":[{"actor":{"reference":"Patient/p1"}}],"extension":[{"url":"` + ExtCancellationDate + `","valueDateTime":"2026"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseResource(body, "Appointment")
		if err != nil {
			return
		}
		a, err := appointmentFrom(r)
		if err != nil {
			return
		}
		if !validID(a.ID) || !validID(a.Patient) || (a.Slot != "" && !validID(a.Slot)) || (a.Service != "" && !validID(a.Service)) || a.End.Before(a.Start) {
			t.Fatalf("appointmentFrom accepted %+v", a)
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"https://x/r4/Slot?p=2"}],"entry":[{"resource":{"resourceType":"Slot","id":"s"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"201 Created","location":"Slot/s/_history/1"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":{"resource":1},"link":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := parseBundle(body)
		if err != nil {
			return
		}
		for _, r := range b.resources {
			if !r.IsObject() {
				t.Fatalf("resource %s is not an object", r.Raw)
			}
			// What the backend then does with a resource must not
			// panic either.
			slotFrom(r)
			scheduleFrom(r)
			appointmentFrom(r)
			practitionerRoleFrom(r)
			practitionerFrom(r)
			healthcareServiceFrom(r)
			organizationFrom(r)
			patientFrom(r)
			edit(r.Raw, func(res map[string]any) { setExtension(res, ExtBookingHold, "valueString", "k") })
		}
	})
}
