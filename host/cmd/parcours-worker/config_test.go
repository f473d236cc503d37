package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBuild(t *testing.T) {
	for _, raw := range []string{``, `{}`, `{"fhir_url": "http://127.0.0.1:1/fhir"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "state_jurisdiction": "mars"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "fhir_call_timeout": "soon"}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "fhir_call_timeout": "2h"}`,
		// The name is the FHIR server's: a name here would be ignored.
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x", "name": "CH Nord"}}`} {
		if _, err := build([]byte(raw), nil, noSecrets, platform{}); err == nil {
			t.Errorf("build(%q) succeeded", raw)
		}
	}
	var auth string
	fhirSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		http.NotFound(w, r)
	}))
	defer fhirSrv.Close()
	h, err := build([]byte(`{"public_url": "http://127.0.0.1:8787", "fhir_url": "`+fhirSrv.URL+`",
		"establishment": {"id": "chu-exemple", "origins": ["http://127.0.0.1:8000"]}}`), nil, secrets{"FHIR_TOKEN": "secret"}.get, platform{})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/establishments/chu-exemple/services", nil))
	if w.Code == 0 || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("API answer: %d, Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
	if auth != "" && auth != "Bearer secret" {
		t.Errorf("Authorization %q", auth)
	}
}

// TestTestClock: test_clock is refused unless public_url is a loopback
// address; on, its route sets the clock of the host (a session's expiry
// follows it) and answers only requests addressed to a loopback host.
// TestDemoSignInOnLoopbackOnly: the demo sign-in lets anyone act as a
// demo-tagged patient of the FHIR server; a Worker refuses it unless its
// public_url is on loopback, as the standalone host refuses -demo-signin on
// a public address.
func TestDemoSignInOnLoopbackOnly(t *testing.T) {
	cfg := func(public string) []byte {
		return []byte(`{"public_url": "` + public + `", "fhir_url": "http://127.0.0.1:1/fhir", "demo_sign_in": true, "establishment": {"id": "ch-nord"}}`)
	}
	for _, public := range []string{"", "https://rdv.chu-exemple.fr", "http://rdv.chu-exemple.fr", "https://127.0.0.1:8787", "http://0.0.0.0:8787"} {
		_, err := build(cfg(public), nil, noSecrets, platform{})
		if err == nil || !strings.Contains(err.Error(), "demo_sign_in") {
			t.Errorf("demo_sign_in with public_url %q: %v, want a refusal naming demo_sign_in", public, err)
		}
	}
	for _, public := range []string{"http://127.0.0.1:8787", "http://localhost:8787"} {
		if _, err := build(cfg(public), nil, noSecrets, platform{}); err != nil {
			t.Errorf("demo_sign_in with public_url %q: %v", public, err)
		}
	}
}

func TestTestClock(t *testing.T) {
	fhirSrv := httptest.NewServer(http.NotFoundHandler())
	defer fhirSrv.Close()
	cfg := func(public string) []byte {
		return []byte(`{"public_url": "` + public + `", "fhir_url": "` + fhirSrv.URL + `", "test_clock": true,
			"establishment": {"id": "chu-exemple", "origins": ["https://www.chu-exemple.fr"]},
			"establishments": [{"id": "chu-autre", "origins": ["https://www.chu-autre.fr"]}]}`)
	}
	for _, public := range []string{"", "https://rdv.chu-exemple.fr", "http://rdv.chu-exemple.fr", "https://127.0.0.1:8787", "http://0.0.0.0:8787"} {
		_, err := build(cfg(public), nil, noSecrets, platform{})
		if err == nil || !strings.Contains(err.Error(), "test_clock") {
			t.Errorf("test_clock with public_url %q: %v, want a refusal naming test_clock", public, err)
		}
	}
	h, err := build(cfg("http://127.0.0.1:8787"), nil, noSecrets, platform{})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, url, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, url, strings.NewReader(body)))
		return w
	}
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	if w := do("PUT", "http://rdv.chu-exemple.fr"+TestClockPath, at.Format(time.RFC3339)); w.Code != http.StatusNotFound {
		t.Errorf("PUT %s on a public host name: %d, want the host's 404", TestClockPath, w.Code)
	}
	if w := do("PUT", "http://127.0.0.1:8787"+TestClockPath, "tomorrow"); w.Code != http.StatusBadRequest {
		t.Errorf("PUT a malformed time: %d, want 400", w.Code)
	}
	if w := do("PUT", "http://127.0.0.1:8787"+TestClockPath, at.Format(time.RFC3339)); w.Code != http.StatusOK || w.Body.String() != at.Format(time.RFC3339Nano) {
		t.Fatalf("PUT the clock: %d %q", w.Code, w.Body)
	}
	if w := do("GET", "http://localhost:8787"+TestClockPath, ""); w.Body.String() != at.Format(time.RFC3339Nano) {
		t.Errorf("GET the clock: %q, want %s", w.Body, at)
	}
	// "establishments" adds to "establishment": each page may embed its
	// own establishment's widgets.
	for est, origin := range map[string]string{"chu-exemple": "https://www.chu-exemple.fr", "chu-autre": "https://www.chu-autre.fr"} {
		r := do("GET", "http://127.0.0.1:8787/w/booking?establishment="+est, "")
		if csp := r.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors "+origin) {
			t.Errorf("widget of %s: CSP %q, want frame-ancestors %s", est, csp, origin)
		}
	}
}

// secrets are Worker secrets by name, for build.
type secrets map[string]string

func (s secrets) get(name string) string { return s[name] }

func noSecrets(string) string { return "" }

// TestIdentityProvidersConfig: every mistake in identity_providers is
// refused, named by its field; the client secret comes from the Worker
// secret the configuration names, never from the JSON.
func TestIdentityProvidersConfig(t *testing.T) {
	cfg := func(public, idps string) []byte {
		return []byte(`{"public_url": "` + public + `", "fhir_url": "http://127.0.0.1:1/fhir",
			"establishment": {"id": "chu-exemple"}, "identity_providers": [` + idps + `]}`)
	}
	const ok = `{"name": "psc", "kind": "practitioner", "issuer": "https://auth.esante.example", "client_id": "parcours"}`
	for _, tc := range []struct {
		name, public, idps, want string
	}{
		{"no public_url", "", ok, "public_url"},
		{"public_url with a path", "https://rdv.chu-exemple.fr/portail", ok, "public_url"},
		{"public_url over http", "http://rdv.chu-exemple.fr", ok, "public_url"},
		{"no name", "https://rdv.chu-exemple.fr", `{"issuer": "https://a.example", "client_id": "c"}`, "identity_providers[0].name"},
		{"upper-case name", "https://rdv.chu-exemple.fr", `{"name": "PSC", "issuer": "https://a.example", "client_id": "c"}`, "identity_providers[0].name"},
		{"name twice", "https://rdv.chu-exemple.fr", ok + "," + ok, `identity_providers[1].name: "psc" is listed twice`},
		{"unknown kind", "https://rdv.chu-exemple.fr", `{"name": "fc", "kind": "nurse", "issuer": "https://a.example", "client_id": "c"}`, "identity_providers[0].kind"},
		{"issuer over http", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "http://a.example", "client_id": "c"}`, "identity_providers[0].issuer"},
		{"issuer with a query", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example/?x=1", "client_id": "c"}`, "identity_providers[0].issuer"},
		{"no client_id", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example"}`, "identity_providers[0].client_id"},
		{"secret not set", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example", "client_id": "c", "client_secret_env": "FC_SECRET"}`, "Worker secret FC_SECRET is not set"},
		{"secret name", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example", "client_id": "c", "client_secret_env": "fc-secret"}`, "identity_providers[0].client_secret_env"},
		{"secret in the JSON", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example", "client_id": "c", "client_secret": "s3cret"}`, `unknown field "client_secret"`},
		{"empty scope", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example", "client_id": "c", "scopes": ["profile", ""]}`, "identity_providers[0].scopes[1]"},
		{"openid scope", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example", "client_id": "c", "scopes": ["openid"]}`, "identity_providers[0].scopes[0]"},
		{"acr with a space", "https://rdv.chu-exemple.fr", `{"name": "fc", "issuer": "https://a.example", "client_id": "c", "acr_values": ["eidas1 eidas2"]}`, "identity_providers[0].acr_values[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(cfg(tc.public, tc.idps), nil, noSecrets, platform{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("build: %v, want an error naming %q", err, tc.want)
			}
		})
	}
	// Several mistakes are reported together.
	_, err := build(cfg("https://rdv.chu-exemple.fr", `{"name": "A"}`), nil, noSecrets, platform{})
	if err == nil || !strings.Contains(err.Error(), "identity_providers[0].name") || !strings.Contains(err.Error(), "identity_providers[0].issuer") || !strings.Contains(err.Error(), "identity_providers[0].client_id") {
		t.Errorf("build: %v, want name, issuer and client_id named", err)
	}
	// The other settings of this configuration.
	for _, raw := range []string{
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x", "release_delay": "soon"}}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "establishments": [{"id": "y", "release_delay": "-72h"}]}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "messages_per_minute": -1}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "max_document_size": -1}`,
		`{"fhir_url": "http://127.0.0.1:1/fhir", "establishment": {"id": "x"}, "fhir_token": "s3cret"}`,
	} {
		if _, err := build([]byte(raw), nil, noSecrets, platform{}); err == nil {
			t.Errorf("build(%s) succeeded", raw)
		}
	}
}

// TestIdentityProviderCalls: the sign-in's calls to the identity provider
// go through the platform's transport (the Worker's fetch), each on a
// timer of the platform's (a JS timer of the request on Workers), never a
// Go timer; the authorization request carries the configured scopes and
// acr_values; a provider that does not answer in time fails the sign-in
// with 503, not a hung request.
func TestIdentityProviderCalls(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	timers := 0
	idpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		iss := "http://" + r.Host
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer": %q, "authorization_endpoint": %q, "token_endpoint": %q, "jwks_uri": %q,
			"id_token_signing_alg_values_supported": ["RS256"], "response_types_supported": ["code"], "subject_types_supported": ["public"]}`,
			iss, iss+"/authorize", iss+"/token", iss+"/keys")
	}))
	defer idpSrv.Close()
	p := platform{
		transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			calls = append(calls, r.URL.Path)
			mu.Unlock()
			if _, ok := r.Context().Deadline(); !ok {
				t.Errorf("call to %s without a deadline", r.URL)
			}
			return http.DefaultTransport.RoundTrip(r)
		}),
		afterFunc: func(d time.Duration, f func()) func() bool {
			mu.Lock()
			timers++
			mu.Unlock()
			if d != oidcCallTimeout {
				t.Errorf("timer of %s, want %s", d, oidcCallTimeout)
			}
			return time.AfterFunc(d, f).Stop
		},
	}
	raw := []byte(`{"public_url": "http://127.0.0.1:8787", "fhir_url": "http://127.0.0.1:1/fhir",
		"establishment": {"id": "chu-exemple"},
		"identity_providers": [{"name": "psc", "kind": "practitioner", "issuer": "` + idpSrv.URL + `", "client_id": "parcours",
			"client_secret_env": "PSC_SECRET", "scopes": ["scope_all"], "acr_values": ["eidas1"]}]}`)
	h, err := build(raw, nil, secrets{"PSC_SECRET": "s3cret"}.get, p)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:8787/auth/signin?provider=psc", nil))
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusSeeOther || loc == nil || loc.Path != "/authorize" {
		t.Fatalf("sign-in start: %d to %q, want a redirect to the provider's authorization endpoint", w.Code, w.Header().Get("Location"))
	}
	q := loc.Query()
	if q.Get("client_id") != "parcours" || q.Get("scope") != "openid scope_all" || q.Get("acr_values") != "eidas1" ||
		q.Get("redirect_uri") != "http://127.0.0.1:8787/auth/callback" || q.Get("code_challenge_method") != "S256" {
		t.Errorf("authorization request %v", q)
	}
	mu.Lock()
	if !slices.Equal(calls, []string{"/.well-known/openid-configuration"}) || timers != 1 {
		t.Errorf("calls %v on %d timers, want the discovery on one", calls, timers)
	}
	mu.Unlock()

	// A provider that never answers: its timer ends the call.
	hang := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer stuck.Close()
	defer close(hang)
	p.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(time.Millisecond, f).Stop }
	raw = []byte(`{"public_url": "http://127.0.0.1:8787", "fhir_url": "http://127.0.0.1:1/fhir",
		"establishment": {"id": "chu-exemple"},
		"identity_providers": [{"name": "psc", "issuer": "` + stuck.URL + `", "client_id": "parcours"}]}`)
	if h, err = build(raw, nil, noSecrets, p); err != nil {
		t.Fatal(err)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:8787/auth/signin?provider=psc", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("sign-in with a provider that does not answer: %d, want 503", w.Code)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWranglerIdentityProviderExample: the identity provider wrangler.toml
// shows in its comments, added to its PARCOURS_CONFIG, is one the Worker
// accepts once its secret is set, and refuses without it.
func TestWranglerIdentityProviderExample(t *testing.T) {
	toml, err := os.ReadFile("wrangler.toml")
	if err != nil {
		t.Fatal(err)
	}
	var example []string
	in := false
	for _, line := range strings.Split(string(toml), "\n") {
		c, ok := strings.CutPrefix(line, "#   ")
		if ok && strings.HasPrefix(c, `"identity_providers"`) {
			in = true
		}
		if in {
			if !ok {
				break
			}
			example = append(example, c)
		}
	}
	if len(example) == 0 {
		t.Fatal(`wrangler.toml: no commented "identity_providers" example`)
	}
	_, raw, ok := strings.Cut(string(toml), "PARCOURS_CONFIG = '''")
	raw, _, _ = strings.Cut(raw, "'''")
	i := strings.LastIndex(raw, "}")
	if !ok || i < 0 {
		t.Fatal("wrangler.toml: no PARCOURS_CONFIG")
	}
	cfg := []byte(raw[:i] + ",\n" + strings.Join(example, "\n") + "}")
	if _, err := build(cfg, nil, secrets{"PSC_CLIENT_SECRET": "s3cret"}.get, platform{}); err != nil {
		t.Errorf("wrangler.toml's example: %v\n%s", err, cfg)
	}
	if _, err := build(cfg, nil, noSecrets, platform{}); err == nil || !strings.Contains(err.Error(), "PSC_CLIENT_SECRET is not set") {
		t.Errorf("wrangler.toml's example without its secret: %v", err)
	}
}
