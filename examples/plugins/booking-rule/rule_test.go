package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/plugin"
	sdk "github.com/parcours-sante/parcours/sdk/plugin"
)

// TestRule runs the rule through the SDK's dispatcher, exactly as the host
// calls it, and validates the output as the host does.
func TestRule(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		service string
		booked  []plugin.BookedAppointment
		allow   bool
	}{
		{"first maternity registration", "maternite", nil, true},
		{"second maternity registration", "maternite", []plugin.BookedAppointment{{Service: "maternite", Start: start}}, false},
		{"maternity with other services booked", "maternite", []plugin.BookedAppointment{{Service: "diabetologie", Start: start}}, true},
		{"other service with maternity booked", "diabetologie", []plugin.BookedAppointment{{Service: "maternite", Start: start}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := json.Marshal(plugin.BeforeBooking{Establishment: "chu-exemple", Service: tc.service, Booked: tc.booked})
			d, err := plugin.ParseDecision(sdk.Handle(string(plugin.HookBeforeBooking), in))
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != tc.allow {
				t.Fatalf("allow = %v, want %v", d.Allow, tc.allow)
			}
			if !tc.allow && (d.Reason == nil || d.Reason.FR == "" || d.Reason.EN == "") {
				t.Errorf("a refusal needs a French and an English reason: %+v", d.Reason)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	defer func() { service = DefaultService }()
	for _, tc := range []struct {
		config string
		ok     bool
	}{
		{"null", true},
		{`{}`, true},
		{`{"service":"obstetrique"}`, true},
		{`{"service":""}`, false},
		{`{"service":1}`, false},
	} {
		res, err := plugin.ParseConfigureResult(sdk.Configure([]byte(tc.config)))
		if err != nil {
			t.Fatal(err)
		}
		if (res.Error == "") != tc.ok {
			t.Errorf("Configure(%s) = %+v, want ok=%v", tc.config, res, tc.ok)
		}
	}
	if service != "obstetrique" {
		t.Errorf("service = %q after configuration", service)
	}
}
