package host

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/parcours-sante/parcours/host/internal/loopback"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// ValidPublicURL reports whether s can be a host's public URL, the base of
// its sign-in callback (s + "/auth/callback"): https://host[:port] with no
// path, http only on a loopback address. Both configurations (the
// standalone host's file, the Worker's PARCOURS_CONFIG) check public_url
// with it.
func ValidPublicURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && (u.Path == "" || u.Path == "/") && loopback.Secure(u)
}

// ProviderSetting is one OpenID Connect provider as the host's
// configuration files write it, in their "identity_providers" list: the
// standalone host's -config file and the Worker's PARCOURS_CONFIG
// (docs/operations.md):
//
//	{"name": "psc", "kind": "practitioner",
//	 "issuer": "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet",
//	 "client_id": "parcours-chu-exemple", "client_secret_env": "PSC_CLIENT_SECRET",
//	 "scopes": ["scope_all"], "acr_values": ["eidas1"],
//	 "label": {"fr": "Pro Santé Connect", "en": "Pro Santé Connect"}}
//
// The client secret never sits in the file: ClientSecretEnv names where
// it is (an environment variable, a Worker secret); empty, the host is a
// public client (PKCE only).
type ProviderSetting struct {
	// Name names it in the account links and the sign-in URL
	// ("franceconnect", "psc").
	Name string `json:"name"`
	// Kind: "patient", "practitioner", or empty (the account links
	// decide).
	Kind            string   `json:"kind"`
	Issuer          string   `json:"issuer"`
	ClientID        string   `json:"client_id"`
	ClientSecretEnv string   `json:"client_secret_env"`
	Scopes          []string `json:"scopes"`
	// ACRValues are the accepted authentication levels ("eidas1").
	ACRValues []string    `json:"acr_values"`
	Label     portal.Text `json:"label"`
}

// CheckProviderSettings reports each problem of ps through bad, with the
// field it concerns ("identity_providers[1].issuer"), all of them rather
// than the first. secret reads the secret a ClientSecretEnv names ("" when
// unset); secretKind says what those names are in the messages ("the
// environment variable", "the Worker secret").
func CheckProviderSettings(ps []ProviderSetting, secret func(name string) string, secretKind string, bad func(field, format string, args ...any)) {
	names := map[string]bool{}
	for i, p := range ps {
		at := func(field string) string { return fmt.Sprintf("identity_providers[%d].%s", i, field) }
		switch {
		case !validName(p.Name):
			bad(at("name"), "%q: want 1 to 40 lower-case letters, digits and hyphens", p.Name)
		case names[p.Name]:
			bad(at("name"), "%q is listed twice", p.Name)
		}
		names[p.Name] = true
		if p.Kind != "" && p.Kind != string(portal.AuthorPatient) && p.Kind != string(portal.AuthorPractitioner) {
			bad(at("kind"), "%q: want \"patient\", \"practitioner\" or none (the account links decide)", p.Kind)
		}
		if u, err := url.Parse(p.Issuer); err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
			!loopback.Secure(u) {
			bad(at("issuer"), "%q: want the provider's https issuer URL (http only on a loopback address)", p.Issuer)
		}
		if p.ClientID == "" {
			bad(at("client_id"), "the host's client id at the provider is required")
		}
		if p.ClientSecretEnv != "" {
			if !validSecretName(p.ClientSecretEnv) {
				bad(at("client_secret_env"), "%q: want the name of %s (letters, digits and _)", p.ClientSecretEnv, secretKind)
			} else if secret(p.ClientSecretEnv) == "" {
				bad(at("client_secret_env"), "%s %s is not set", secretKind, p.ClientSecretEnv)
			}
		}
		for j, s := range p.Scopes {
			if s == "" || s == "openid" || strings.ContainsAny(s, " \t\r\n\"") {
				bad(fmt.Sprintf("%s[%d]", at("scopes"), j), "%q: want one scope besides openid (always asked)", s)
			}
		}
		for j, s := range p.ACRValues {
			if s == "" || strings.ContainsAny(s, " \t\r\n\"") {
				bad(fmt.Sprintf("%s[%d]", at("acr_values"), j), "%q: want one authentication level (\"eidas1\")", s)
			}
		}
	}
}

// Provider returns p for Config.IdentityProviders, its client secret read
// with secret. The caller sets what its platform needs (OIDC.HTTPClient,
// OIDC.Now).
func (p ProviderSetting) Provider(secret func(name string) string) IdentityProvider {
	ip := IdentityProvider{Name: p.Name, Kind: portal.AuthorKind(p.Kind), Label: p.Label}
	ip.OIDC.Issuer, ip.OIDC.ClientID, ip.OIDC.Scopes, ip.OIDC.ACRValues = p.Issuer, p.ClientID, p.Scopes, p.ACRValues
	if p.ClientSecretEnv != "" {
		ip.OIDC.ClientSecret = secret(p.ClientSecretEnv)
	}
	return ip
}

// validSecretName accepts the name of an environment variable or a
// Worker secret: letters, digits and _, not starting with a digit.
func validSecretName(s string) bool {
	for i, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != "" && len(s) <= 64
}
