package host_test

import (
	"testing"

	"github.com/parcours-sante/parcours/host"
)

func TestValidPublicURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://rdv.chu-exemple.fr": true, "https://rdv.chu-exemple.fr:8443/": true, "http://127.0.0.1:8080": true,
		"": false, "rdv.chu-exemple.fr": false, "https://rdv.chu-exemple.fr/portail": false,
		"http://rdv.chu-exemple.fr": false, "https://": false, "https://a b": false,
	} {
		if got := host.ValidPublicURL(s); got != want {
			t.Errorf("ValidPublicURL(%q) = %v, want %v", s, got, want)
		}
	}
}
