package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

const goodConfig = `{
  "establishments": [
    {
      "id": "chu-exemple",
      "name": "CHU Exemple",
      "backend": {"type": "sqlite"},
      "origins": ["https://www.chu-exemple.fr"],
      "theme": {"primary": "#5b2a86"},
      "urgent_help": {"fr": "Appelez le 15.", "en": "Call 15."}
    },
    {
      "id": "ch-nord",
      "backend": {"type": "fhir", "url": "https://fhir.ch-nord.fr/R4", "token_env": "CH_NORD_TOKEN", "time_zone": "Europe/Paris"},
      "origins": ["https://www.ch-nord.fr"],
      "services": ["cardiologie"]
    }
  ]
}
`

func TestSiteConfigGood(t *testing.T) {
	env := func(k string) string {
		if k == "CH_NORD_TOKEN" {
			return "secret"
		}
		return ""
	}
	c, err := parseSiteConfig("sites.json", []byte(goodConfig), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Establishments) != 2 || c.Establishments[1].Backend.URL != "https://fhir.ch-nord.fr/R4" || c.Establishments[0].Theme["primary"] != "#5b2a86" {
		t.Fatalf("parsed %+v", c)
	}
	// The example shipped in examples/ is valid too (its token variable set).
	path := filepath.Join("..", "..", "..", "examples", "config", "sites.json")
	if _, err := loadSiteConfig(path, func(string) string { return "x" }); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// TestSiteConfigErrors: every mistake is reported with the file, the line
// and the field, all of them at once.
func TestSiteConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, file string
		want       []string
	}{
		{"not JSON", "{\n  \"establishments\": [\n    {\"id\": \"a\",}\n  ]\n}", []string{"sites.json:3: invalid character '}'"}},
		{"empty", `{"establishments": []}`, []string{"sites.json:1: establishments: list at least one establishment"}},
		{"unknown field", "{\n  \"establishments\": [\n    {\"id\": \"a\", \"backend\": {\"type\": \"sqlite\"},\n     \"colour\": \"red\"}\n  ]\n}", []string{"sites.json:4: colour: unknown field"}},
		{"wrong type", "{\n  \"establishments\": [\n    {\"id\": 12}\n  ]\n}", []string{"sites.json:3: establishments.id: want a string, not a JSON number"}},
		{"several at once", `{
  "establishments": [
    {"id": "CHU Exemple", "backend": {"type": "sqlite"}},
    {"id": "ch-nord",
     "backend": {"type": "fhir",
                 "url": "http://fhir.ch-nord.fr/R4",
                 "token_env": "CH_NORD_TOKEN",
                 "time_zone": "Europe/Lutece"},
     "origins": ["https://www.ch-nord.fr/page"],
     "theme": {"primary": "red;color:blue", "position": "fixed"},
     "services": ["cardiologie", "cardiologie"]},
    {"id": "ch-nord", "backend": {"type": "oracle"}},
    {"id": "ch-sud", "backend": {"type": "sqlite", "url": "https://x"}},
    {"id": "ch-est", "backend": {"type": "fhir"}}
  ]
}`, []string{
			`sites.json:3: establishments[0].id: "CHU Exemple": want 1 to 63 lower-case letters`,
			`sites.json:6: establishments[1].backend.url: "http://fhir.ch-nord.fr/R4": health data goes over https`,
			`sites.json:7: establishments[1].backend.token_env: the environment variable CH_NORD_TOKEN is not set`,
			`sites.json:8: establishments[1].backend.time_zone: "Europe/Lutece" is not an IANA time zone`,
			`sites.json:9: establishments[1].origins[0]:`,
			`sites.json:10: establishments[1].theme.position: "position" is not a theme property`,
			`sites.json:10: establishments[1].theme.primary: "red;color:blue" is not a plain CSS colour`,
			`sites.json:11: establishments[1].services[1]: "cardiologie": empty, or listed twice`,
			`sites.json:12: establishments[2].id: "ch-nord" is listed twice`,
			`sites.json:12: establishments[2].backend.type: "oracle": want "sqlite" or "fhir"`,
			`sites.json:13: establishments[3].backend: a sqlite backend takes no url`,
			`sites.json:14: establishments[4].backend.url: a fhir backend needs the server's base URL`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseSiteConfig("sites.json", []byte(c.file), noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			got := err.Error()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(c.want) {
				t.Errorf("%d errors, want %d:\n%s", n, len(c.want), got)
			}
		})
	}
}

func TestSiteConfigLoopbackHTTP(t *testing.T) {
	file := `{"establishments": [{"id": "dev", "backend": {"type": "fhir", "url": "http://127.0.0.1:8103/fhir/R4"}}]}`
	if _, err := parseSiteConfig("sites.json", []byte(file), noEnv); err != nil {
		t.Errorf("http to loopback: %v", err)
	}
}

func FuzzParseSiteConfig(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte(`{"establishments": [{"id": "a", "backend": {"type": "sqlite"}}]}`))
	f.Add([]byte(`[[[[[[{}]]]]]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseSiteConfig("f.json", data, noEnv)
		if err == nil && len(c.Establishments) == 0 {
			t.Fatal("a file without establishments accepted")
		}
	})
}
