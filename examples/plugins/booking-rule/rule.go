// Command booking-rule is an example Parcours plugin: no more than one
// maternity registration per pregnancy. It refuses a booking in the
// maternity service when the patient already holds a booked, future
// appointment there, with a reason in French and English that the widget
// shows.
//
// Build it with `make plugins` (GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared). Its optional configuration names the service:
//
//	{"service": "maternite"}
package main

import (
	"encoding/json"
	"errors"

	"github.com/parcours-sante/parcours/sdk/plugin"
)

// DefaultService is the service the rule applies to without configuration:
// the maternity service of the demo establishment.
const DefaultService = "maternite"

var service = DefaultService

func init() {
	plugin.OnConfigure(configure)
	plugin.OnBeforeBooking(onePerPregnancy)
}

func configure(raw json.RawMessage) error {
	var c struct {
		Service *string `json:"service"`
	}
	if string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	if c.Service != nil {
		if *c.Service == "" {
			return errors.New(`"service" is empty`)
		}
		service = *c.Service
	}
	return nil
}

// onePerPregnancy is the rule.
func onePerPregnancy(in plugin.BeforeBooking) (plugin.Decision, error) {
	if in.Service != service {
		return plugin.Allow(), nil
	}
	for _, a := range in.Booked {
		if a.Service == service {
			return plugin.Refuse(
				"Vous avez déjà une inscription en maternité à venir. Une seule inscription est possible par grossesse : pour la modifier, contactez la maternité.",
				"You already have an upcoming maternity registration. Only one registration is possible per pregnancy: to change it, please contact the maternity unit.",
			), nil
		}
	}
	return plugin.Allow(), nil
}
