package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/plugin"
	sdk "github.com/parcours-sante/parcours/sdk/plugin"
)

func TestNotify(t *testing.T) {
	if res, _ := plugin.ParseConfigureResult(sdk.Configure([]byte("null"))); res.Error == "" {
		t.Error("sms-notify accepted no configuration")
	}
	if res, _ := plugin.ParseConfigureResult(sdk.Configure([]byte(`{"url":"ftp://x"}`))); res.Error == "" {
		t.Error("sms-notify accepted an ftp URL")
	}
	res, err := plugin.ParseConfigureResult(sdk.Configure([]byte(`{"url":"http://127.0.0.1:9099/sms","signature":"CHU Exemple"}`)))
	if err != nil || res.Error != "" {
		t.Fatal(res, err)
	}
	in, _ := json.Marshal(plugin.AfterBooking{Appointment: "apt-1", Establishment: "chu-exemple", Service: "maternite"})
	out, err := plugin.ParseEffects(sdk.Handle(string(plugin.HookAfterBooking), in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Effects) != 1 || out.Effects[0].HTTP.URL != "http://127.0.0.1:9099/sms" {
		t.Fatalf("effects = %+v", out.Effects)
	}
	body := out.Effects[0].HTTP.Body
	if want := `{"appointment":"apt-1","establishment":"chu-exemple","text":"Votre rendez-vous est confirmé. CHU Exemple"}`; body != want {
		t.Errorf("body = %s, want %s", body, want)
	}
	if strings.Contains(body, "maternite") {
		t.Error("the message names the service")
	}
	g, _ := plugin.NewGrants([]string{"http:http://127.0.0.1:9099"})
	if err := g.Allows(out.Effects[0]); err != nil {
		t.Errorf("the documented grant does not cover the effect: %v", err)
	}
}
