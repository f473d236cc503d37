// Package loopback tells whether a host name or a listen address stays on
// this machine: the one check behind every "loopback only" rule of Parcours
// (the demo sign-in, the demo identity provider, plain-HTTP identity
// providers and backends in development).
package loopback

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Host reports whether host (a name or an IP address, without port or
// brackets) is a loopback: "localhost" in any case, an address of
// 127.0.0.0/8, or ::1.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Secure reports whether u may carry tokens or health data: https, or
// plain http to a loopback host (development and tests on this machine).
func Secure(u *url.URL) bool {
	return u.Scheme == "https" || u.Scheme == "http" && Host(u.Hostname())
}

// Addr reports whether the host of addr ("host:port") is a loopback; an
// address without a port is an error. An empty host (":8080", every
// interface) is not a loopback.
func Addr(addr string) (bool, error) {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen address %q: %w", addr, err)
	}
	return Host(h), nil
}
