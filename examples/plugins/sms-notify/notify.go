// Command sms-notify is an example Parcours plugin: after a booking or a
// cancellation it asks the host to POST a text message to the hospital's SMS
// gateway. The plugin has no network access: it returns an HTTP effect, and
// the host sends it only if the configuration grants the gateway's origin
// (for example "http:http://127.0.0.1:9099").
//
// The message carries no health data: no service, no practitioner, no time;
// the gateway finds the recipient from the appointment id on its side.
//
// Configuration (required):
//
//	{"url": "http://127.0.0.1:9099/sms", "signature": "CHU Exemple"}
package main

import (
	"encoding/json"
	"errors"
	"net/url"

	"github.com/parcours-sante/parcours/sdk/plugin"
)

var config struct {
	URL       string `json:"url"`
	Signature string `json:"signature"`
}

func init() {
	plugin.OnConfigure(configure)
	plugin.OnAfterBooking(func(in plugin.AfterBooking) ([]plugin.Effect, error) {
		return sms(in.Appointment, in.Establishment, "Votre rendez-vous est confirmé.")
	})
	plugin.OnAfterCancel(func(in plugin.AfterCancel) ([]plugin.Effect, error) {
		return sms(in.Appointment, in.Establishment, "Votre rendez-vous est annulé.")
	})
}

func configure(raw json.RawMessage) error {
	if string(raw) == "null" {
		return errors.New(`configuration required: {"url": "…", "signature": "…"}`)
	}
	if err := json.Unmarshal(raw, &config); err != nil {
		return err
	}
	u, err := url.Parse(config.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New(`"url" must be an absolute http(s) URL`)
	}
	return nil
}

// Message is the body posted to the gateway.
type Message struct {
	Appointment   string `json:"appointment"`
	Establishment string `json:"establishment"`
	Text          string `json:"text"`
}

func sms(appointment, establishment, text string) ([]plugin.Effect, error) {
	if config.Signature != "" {
		text += " " + config.Signature
	}
	body, err := json.Marshal(Message{Appointment: appointment, Establishment: establishment, Text: text})
	if err != nil {
		return nil, err
	}
	return []plugin.Effect{plugin.HTTPPost(config.URL, "application/json", string(body))}, nil
}
