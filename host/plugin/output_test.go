package plugin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/plugin"
)

func TestParseDecision(t *testing.T) {
	long := strings.Repeat("é", plugin.MaxReasonRunes+1)
	for _, tc := range []struct {
		name, out string
		ok        bool
		allow     bool
		errMsg    string
	}{
		{"allow", `{"allow":true}`, true, true, ""},
		{"refuse without reason", `{"allow":false}`, true, false, ""},
		{"refuse with reason", `{"allow":false,"reason":{"fr":"Non.","en":"No."}}`, true, false, ""},
		{"plugin error", `{"error":"boom"}`, true, false, "boom"},
		{"allow missing", `{}`, false, false, ""},
		{"unknown field", `{"allow":true,"x":1}`, false, false, ""},
		{"trailing data", `{"allow":true}{}`, false, false, ""},
		{"not JSON", `allow`, false, false, ""},
		{"array", `[true]`, false, false, ""},
		{"reason when allowed", `{"allow":true,"reason":{"fr":"x"}}`, false, false, ""},
		{"reason without French", `{"allow":false,"reason":{"en":"x"}}`, false, false, ""},
		{"reason too long", `{"allow":false,"reason":{"fr":"` + long + `"}}`, false, false, ""},
		{"reason with a control character", `{"allow":false,"reason":{"fr":"a\nb"}}`, false, false, ""},
		{"error with allow", `{"allow":true,"error":"x"}`, false, false, ""},
		{"not UTF-8", "{\"allow\":false,\"reason\":{\"fr\":\"\xff\"}}", false, false, ""},
		{"too large", `{"allow":true,"reason":null}` + strings.Repeat(" ", plugin.MaxOutputBytes), false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := plugin.ParseDecision([]byte(tc.out))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseDecision(%.80s) = %+v, %v; want ok=%v", tc.out, d, err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, plugin.ErrInvalidOutput) {
					t.Errorf("error %v does not wrap ErrInvalidOutput", err)
				}
				return
			}
			if d.Allow != tc.allow || d.Error != tc.errMsg {
				t.Errorf("ParseDecision = %+v", d)
			}
		})
	}
}

func TestParseEffects(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		ok        bool
	}{
		{"none", `{}`, true},
		{"post", `{"effects":[{"http":{"method":"POST","url":"http://127.0.0.1:9099/sms","body":"x"}}]}`, true},
		{"error", `{"error":"x"}`, true},
		{"GET", `{"effects":[{"http":{"method":"GET","url":"http://127.0.0.1:9099/"}}]}`, false},
		{"no kind", `{"effects":[{}]}`, false},
		{"unknown kind", `{"effects":[{"file":{"path":"/etc/passwd"}}]}`, false},
		{"relative URL", `{"effects":[{"http":{"method":"POST","url":"/sms"}}]}`, false},
		{"user info", `{"effects":[{"http":{"method":"POST","url":"http://u:p@127.0.0.1/"}}]}`, false},
		{"other scheme", `{"effects":[{"http":{"method":"POST","url":"file:///etc/passwd"}}]}`, false},
		{"body too large", `{"effects":[{"http":{"method":"POST","url":"http://a/","body":"` + strings.Repeat("x", plugin.MaxEffectBodyBytes+1) + `"}}]}`, false},
		{"too many", `{"effects":[` + strings.TrimSuffix(strings.Repeat(`{"http":{"method":"POST","url":"http://a/"}},`, plugin.MaxEffects+1), ",") + `]}`, false},
		{"error with effects", `{"error":"x","effects":[{"http":{"method":"POST","url":"http://a/"}}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := plugin.ParseEffects([]byte(tc.out))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseEffects = %+v, %v; want ok=%v", e, err, tc.ok)
			}
			if err == nil && len(e.Effects) > 0 && e.Effects[0].HTTP.ContentType != "application/json" {
				t.Errorf("default content type = %q", e.Effects[0].HTTP.ContentType)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	g, err := plugin.NewGrants([]string{"http:HTTP://127.0.0.1:9099/"})
	if err != nil {
		t.Fatal(err)
	}
	for url, ok := range map[string]bool{
		"http://127.0.0.1:9099/sms":        true,
		"http://127.0.0.1:9099":            true,
		"https://127.0.0.1:9099/sms":       false,
		"http://127.0.0.1:9098/sms":        false,
		"http://127.0.0.1/sms":             false,
		"http://127.0.0.1:9099.evil/sms":   false,
		"http://evil.example/?h=127.0.0.1": false,
	} {
		err := g.Allows(plugin.Effect{HTTP: &plugin.HTTPEffect{Method: "POST", URL: url}})
		if (err == nil) != ok {
			t.Errorf("Allows(%s) = %v, want ok=%v", url, err, ok)
		}
	}
	for _, bad := range []string{"http", "fs:/etc", "http:127.0.0.1:9099", "http:http://h/path", "http:http://u@h"} {
		if _, err := plugin.ParseCapability(bad); err == nil {
			t.Errorf("ParseCapability(%q) succeeded", bad)
		}
	}
}

func TestParseHooks(t *testing.T) {
	if h, err := plugin.ParseHooks([]byte(`["before_booking","after_message"]`)); err != nil || len(h) != 2 {
		t.Errorf("ParseHooks = %v, %v", h, err)
	}
	for _, bad := range []string{`["before_booking","before_booking"]`, `["on_login"]`, `{}`, `[1]`} {
		if _, err := plugin.ParseHooks([]byte(bad)); err == nil {
			t.Errorf("ParseHooks(%s) succeeded", bad)
		}
	}
}
