package plugin

import (
	"fmt"
	"net/url"
	"strings"
)

// Capability is a named permission granted to one plugin by configuration.
// A plugin has no ambient authority: no file system, no network, no
// environment. It returns effects, and the host performs an effect only when
// one of the plugin's capabilities covers it.
//
// ABI version 1 knows one kind:
//
//	http:<origin>   HTTP effects to exactly that origin, for example
//	                "http:http://127.0.0.1:9099" or "http:https://sms.chu-exemple.fr"
type Capability string

// ParseCapability checks s and returns it in canonical form (the origin in
// lower case, without a trailing slash).
func ParseCapability(s string) (Capability, error) {
	kind, arg, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return "", fmt.Errorf("capability %q: want kind:argument, for example http:http://127.0.0.1:9099", s)
	}
	switch kind {
	case "http":
		u, err := url.Parse(strings.TrimRight(arg, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return "", fmt.Errorf("capability %q: %q is not an origin (scheme://host[:port])", s, arg)
		}
		return Capability("http:" + strings.ToLower(u.Scheme+"://"+u.Host)), nil
	}
	return "", fmt.Errorf("capability %q: unknown kind %q (ABI version %d knows http)", s, kind, ABIVersion)
}

// Grants is the set of capabilities of one plugin.
type Grants map[Capability]bool

// NewGrants parses caps into Grants.
func NewGrants(caps []string) (Grants, error) {
	g := Grants{}
	for _, s := range caps {
		c, err := ParseCapability(s)
		if err != nil {
			return nil, err
		}
		g[c] = true
	}
	return g, nil
}

// Allows returns nil when g covers e, or an error naming the missing
// capability. e must have passed ParseEffects.
func (g Grants) Allows(e Effect) error {
	if e.HTTP == nil {
		return fmt.Errorf("effect of no known kind")
	}
	origin, err := EffectOrigin(e.HTTP.URL)
	if err != nil {
		return err
	}
	c := Capability("http:" + origin)
	if !g[c] {
		return fmt.Errorf("capability %q not granted", c)
	}
	return nil
}
