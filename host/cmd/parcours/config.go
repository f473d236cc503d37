package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/sdk/portal"

	"github.com/parcours-sante/parcours/host/internal/loopback"
)

// siteConfig is the host's configuration file (-config): the establishments
// one host serves, each with its backend. docs/operations.md describes it.
type siteConfig struct {
	Establishments []establishmentConfig `json:"establishments"`
	// PublicURL is the host's address as browsers reach it, the base of
	// the identity providers' callback (host.Config.PublicURL).
	PublicURL string `json:"public_url"`
	// IdentityProviders are the OpenID Connect providers people sign in
	// with; their accounts are linked in the SQLite store (-db).
	IdentityProviders []host.ProviderSetting `json:"identity_providers"`
}

// identityProviders converts the file's providers for host.Config.
func (c siteConfig) identityProviders(getenv func(string) string) []host.IdentityProvider {
	var out []host.IdentityProvider
	for _, p := range c.IdentityProviders {
		out = append(out, p.Provider(getenv))
	}
	return out
}

// establishmentConfig is one establishment of the file.
type establishmentConfig struct {
	ID      string        `json:"id"`
	Name    string        `json:"name"`
	Backend backendConfig `json:"backend"`
	// Origins are the hospital pages allowed to embed its widgets.
	Origins []string          `json:"origins"`
	Theme   map[string]string `json:"theme"`
	// UrgentHelp is what to do in an emergency, with the numbers to call.
	UrgentHelp portal.Text `json:"urgent_help"`
	// Services, when set, are the only services of the backend offered.
	Services []string `json:"services"`
	// ReleaseDelay releases a sensitive result by itself that long after
	// it was filed ("720h"), if no practitioner released it before; empty:
	// only a practitioner releases it.
	ReleaseDelay string `json:"release_delay"`
}

// releaseDelay is e's release delay, checked by check.
func (e establishmentConfig) releaseDelay() time.Duration {
	d, _ := time.ParseDuration(e.ReleaseDelay)
	return d
}

// backendConfig says where an establishment's data is.
type backendConfig struct {
	// Type is "sqlite" (the host's embedded store, -db) or "fhir".
	Type string `json:"type"`
	// URL is a FHIR server's base URL ("https://fhir.example/R4").
	URL string `json:"url"`
	// TokenEnv names the environment variable holding the bearer token the
	// host sends to the FHIR server; empty for none. Secrets never sit in
	// the file.
	TokenEnv string `json:"token_env"`
	// TimeZone is the IANA zone of an establishment whose Organization
	// does not give one (FHIR); default Europe/Paris.
	TimeZone string `json:"time_zone"`
}

// Backend types.
const (
	backendSQLite = "sqlite"
	backendFHIR   = "fhir"
)

// maxUrgentHelp bounds the urgent-help text in the file, per language.
const maxUrgentHelp = 600

// loadSiteConfig reads and checks the configuration file at path. Its
// errors name the file, the line and the field, all of them at once:
// "sites.json:12: establishments[1].backend.url: …".
func loadSiteConfig(path string, getenv func(string) string) (siteConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return siteConfig{}, err
	}
	return parseSiteConfig(filepath.Base(path), data, getenv)
}

// parseSiteConfig is loadSiteConfig on the file's bytes; name is the
// file's name in errors.
func parseSiteConfig(name string, data []byte, getenv func(string) string) (siteConfig, error) {
	var c siteConfig
	lines, err := fieldLines(data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return c, fmt.Errorf("%s:%d: %v", name, lineAt(data, se.Offset), se)
		}
		return c, fmt.Errorf("%s: %v", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return c, fmt.Errorf("%s:%d: %s: want a %s, not a JSON %s", name, lineAt(data, te.Offset), te.Field, te.Type, te.Value)
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field, _ = strconv.Unquote(field)
			return c, fmt.Errorf("%s:%d: %s: unknown field", name, lines.find(field), field)
		}
		return c, fmt.Errorf("%s: %v", name, err)
	}
	if dec.More() {
		return c, fmt.Errorf("%s: more than one JSON value", name)
	}
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", name, lines.at(path), path, fmt.Sprintf(format, args...)))
	}
	c.check(bad, getenv)
	return c, errors.Join(errs...)
}

// check reports every problem of c to bad, with the field's path.
func (c siteConfig) check(bad func(path, format string, args ...any), getenv func(string) string) {
	if len(c.Establishments) == 0 {
		bad("establishments", "list at least one establishment")
	}
	if c.PublicURL != "" {
		if !host.ValidPublicURL(c.PublicURL) {
			bad("public_url", "%q: want https://host[:port] (http only on a loopback address)", c.PublicURL)
		}
	}
	if len(c.IdentityProviders) > 0 && c.PublicURL == "" {
		bad("public_url", "identity providers need the host's public URL (their callback is public_url/auth/callback)")
	}
	host.CheckProviderSettings(c.IdentityProviders, getenv, "the environment variable", bad)
	seen := map[string]bool{}
	for i, e := range c.Establishments {
		at := func(field string) string { return fmt.Sprintf("establishments[%d].%s", i, field) }
		switch {
		case !multi.ValidID(e.ID):
			bad(at("id"), "%q: want 1 to 63 lower-case letters, digits and hyphens (it appears in the embedding code)", e.ID)
		case seen[e.ID]:
			bad(at("id"), "%q is listed twice", e.ID)
		}
		seen[e.ID] = true
		e.Backend.check(at("backend"), bad, getenv)
		for j, o := range e.Origins {
			if _, err := host.NormalizeOrigin(o); err != nil {
				bad(fmt.Sprintf("%s[%d]", at("origins"), j), "%v", err)
			}
		}
		for _, k := range sortedKeys(e.Theme) {
			if err := host.CheckTheme(k, e.Theme[k]); err != nil {
				bad(at("theme."+k), "%v", err)
			}
		}
		for lang, s := range map[string]string{"fr": e.UrgentHelp.FR, "en": e.UrgentHelp.EN} {
			if len([]rune(s)) > maxUrgentHelp {
				bad(at("urgent_help."+lang), "longer than %d characters", maxUrgentHelp)
			}
		}
		if e.ReleaseDelay != "" {
			if d, err := time.ParseDuration(e.ReleaseDelay); err != nil || d <= 0 {
				bad(at("release_delay"), "%q: want a positive duration such as \"720h\"", e.ReleaseDelay)
			}
		}
		for j, s := range e.Services {
			if s == "" || slices.Index(e.Services, s) != j {
				bad(fmt.Sprintf("%s[%d]", at("services"), j), "%q: empty, or listed twice", s)
			}
		}
	}
}

func (b backendConfig) check(path string, bad func(path, format string, args ...any), getenv func(string) string) {
	switch b.Type {
	case backendSQLite:
		if b.URL != "" || b.TokenEnv != "" || b.TimeZone != "" {
			bad(path, "a sqlite backend takes no url, token_env or time_zone (its data says them)")
		}
	case backendFHIR:
		u, err := url.Parse(b.URL)
		switch {
		case b.URL == "":
			bad(path+".url", "a fhir backend needs the server's base URL")
		case err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
			bad(path+".url", "%q is not an absolute URL without query", b.URL)
		case !loopback.Secure(u):
			bad(path+".url", "%q: health data goes over https (http only to a loopback address)", b.URL)
		}
		if b.TokenEnv != "" && getenv(b.TokenEnv) == "" {
			bad(path+".token_env", "the environment variable %s is not set", b.TokenEnv)
		}
		if b.TimeZone != "" {
			if _, err := time.LoadLocation(b.TimeZone); err != nil {
				bad(path+".time_zone", "%q is not an IANA time zone", b.TimeZone)
			}
		}
	default:
		bad(path+".type", "%q: want %q or %q", b.Type, backendSQLite, backendFHIR)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lineIndex maps the path of each field of a JSON document
// ("establishments[1].backend.url") to the line it starts on.
type lineIndex struct {
	lines map[string]int
	paths []string // in document order
}

// at returns the line of path, or of its nearest parent listed.
func (l lineIndex) at(path string) int {
	for p := path; p != ""; {
		if n, ok := l.lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 1
}

// find returns the line of the first field named name, at any depth.
func (l lineIndex) find(name string) int {
	for _, p := range l.paths {
		if p == name || strings.HasSuffix(p, "."+name) {
			return l.lines[p]
		}
	}
	return 1
}

// fieldLines walks a JSON document with the standard decoder's tokens and
// records the line of every field and array element.
func fieldLines(data []byte) (lineIndex, error) {
	idx := lineIndex{lines: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	record := func(path string) {
		// InputOffset is just past the previous token: the next one starts
		// after spaces, a comma or a colon.
		off := dec.InputOffset()
		for off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
			off++
		}
		idx.lines[path] = lineAt(data, off)
		idx.paths = append(idx.paths, path)
	}
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > 32 {
			return errors.New("nested more than 32 levels")
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				p := k.(string)
				if path != "" {
					p = path + "." + p
				}
				// The key's own line: the value follows it.
				idx.lines[p] = lineAt(data, dec.InputOffset()-1)
				idx.paths = append(idx.paths, p)
				if err := walk(p, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				p := fmt.Sprintf("%s[%d]", path, i)
				record(p)
				if err := walk(p, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		return err
	}
	return idx, walk("", 0)
}

// lineAt is the 1-based line of byte offset off of data.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}
