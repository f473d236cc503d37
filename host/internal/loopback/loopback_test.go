package loopback_test

import (
	"net/url"
	"testing"

	"github.com/parcours-sante/parcours/host/internal/loopback"
)

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true,
		"": false, "0.0.0.0": false, "::": false, "192.168.1.2": false, "localhost.example.org": false,
		"[::1]": false, "example.org": false, "::ffff:127.0.0.1": true,
	} {
		if got := loopback.Host(host); got != want {
			t.Errorf("Host(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:80": true, "localhost:0": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.1:443": false,
	} {
		got, err := loopback.Addr(addr)
		if err != nil || got != want {
			t.Errorf("Addr(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := loopback.Addr("127.0.0.1"); err == nil {
		t.Error("Addr without a port: no error")
	}
}

func TestSecure(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://rdv.chu-exemple.fr": true, "https://10.0.0.1:8443/x": true,
		"http://127.0.0.1:8080": true, "http://localhost/": true, "http://[::1]:80": true,
		"http://rdv.chu-exemple.fr": false, "http://10.0.0.1": false, "ftp://localhost": false,
		"//localhost": false, "HTTP://localhost": true, "http://localhost.example.org": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := loopback.Secure(u); got != want {
			t.Errorf("Secure(%q) = %v, want %v", raw, got, want)
		}
	}
}
