package main

import (
	"io"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/demoid"
)

func TestScan(t *testing.T) {
	clean := `=== RUN   TestSignIn
time=2026-11-24T10:00:00Z level=INFO msg=sign-in provider=demo kind=patient
ok  	github.com/parcours-sante/parcours/host	1.234s
a timestamp 1764000000123456789 and an appointment apt_0123456789abcdef`
	if found, lines, err := scan(strings.NewReader(clean), io.Discard); found != 0 || lines != 4 || err != nil {
		t.Fatalf("clean log: %d found in %d lines, %v", found, lines, err)
	}
	for name, line := range map[string]string{
		"password":       "level=WARN msg=login password=" + demoid.Password,
		"totp seed":      "secret " + demoid.Accounts[3].TOTPSecret,
		"ins":            "patient ins=" + demoid.Accounts[0].INS + " status=qualifiee",
		"session cookie": "Cookie: __Host-parcours_session=Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1eg",
		"bearer":         "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123",
		"verifier":       "POST /token code_verifier=abcdefghijklmnopqrstuvwxyz0123456789",
		"jwt":            "id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmYy0xIn0.c2ln",
	} {
		var out strings.Builder
		found, _, err := scan(strings.NewReader(clean+"\n"+line+"\n"), &out)
		if found != 1 || err != nil {
			t.Errorf("%s: %d found, %v", name, found, err)
		}
		if strings.Contains(out.String(), strings.Fields(line)[len(strings.Fields(line))-1]) {
			t.Errorf("%s: the report repeats the secret: %s", name, out.String())
		}
	}
}
