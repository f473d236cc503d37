// Command echo is a well-behaved test plugin: it handles every hook of ABI
// version 1 and answers from its input and configuration.
package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parcours-sante/parcours/sdk/plugin"
)

var config struct {
	URL string `json:"url"`
}

func init() {
	plugin.OnConfigure(func(raw json.RawMessage) error {
		if string(raw) == "null" {
			return nil
		}
		return json.Unmarshal(raw, &config)
	})
	plugin.OnBeforeBooking(func(in plugin.BeforeBooking) (plugin.Decision, error) {
		switch in.Service {
		case "refused":
			return plugin.Refuse("Refusé par l'écho ("+in.Slot.ID+").", "Refused by echo ("+in.Slot.ID+")."), nil
		case "error":
			return plugin.Decision{}, errors.New("echo was asked to fail")
		}
		return plugin.Allow(), nil
	})
	plugin.OnAfterBooking(func(in plugin.AfterBooking) ([]plugin.Effect, error) {
		return post("booked " + in.Appointment), nil
	})
	plugin.OnAfterCancel(func(in plugin.AfterCancel) ([]plugin.Effect, error) {
		return post("cancelled " + in.Appointment), nil
	})
	plugin.OnNotification(func(in plugin.Notification) ([]plugin.Effect, error) {
		return post(fmt.Sprintf("notify %s %s", in.Kind, in.Recipient)), nil
	})
}

func post(body string) []plugin.Effect {
	if config.URL == "" {
		return nil
	}
	return []plugin.Effect{plugin.HTTPPost(config.URL, "text/plain", body)}
}

func main() {}
