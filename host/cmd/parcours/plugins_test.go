package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPluginConfigs(t *testing.T) {
	settings := filepath.Join(t.TempDir(), "plugins.json")
	os.WriteFile(settings, []byte(`{"sms-notify":{"config":{"url":"http://127.0.0.1:9099/sms"},"timeout":"50ms","on_error":"allow","pool_size":2}}`), 0o600)
	o := pluginOptions{
		paths:    "p/booking-rule.wasm, p/sms-notify.wasm",
		grants:   "sms-notify=http:http://127.0.0.1:9099 http:https://sms.example",
		settings: settings,
	}
	pcs, err := o.pluginConfigs(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcs) != 2 || pcs[0].Name != "booking-rule" || pcs[1].Name != "sms-notify" {
		t.Fatalf("plugins = %+v", pcs)
	}
	sms := pcs[1]
	if len(sms.Grants) != 2 || sms.Timeout != 50*time.Millisecond || sms.OnError != "allow" || sms.PoolSize != 2 || !strings.Contains(string(sms.Config), "9099/sms") {
		t.Errorf("sms-notify = %+v", sms)
	}
	for _, bad := range []pluginOptions{
		{paths: "a.wasm", grants: "b=http:http://x"},
		{paths: "a.wasm", grants: "a"},
		{paths: "a.wasm", settings: filepath.Join(t.TempDir(), "none.json")},
	} {
		if _, err := bad.pluginConfigs(false); err == nil {
			t.Errorf("pluginConfigs(%+v) succeeded", bad)
		}
	}
	if pcs, err := (pluginOptions{}).pluginConfigs(false); err != nil || len(pcs) != 0 {
		t.Errorf("no plugins: %v, %v", pcs, err)
	}
}
