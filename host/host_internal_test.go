package host

import "testing"

func TestNormalizeOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"https://www.chu-exemple.fr", "https://www.chu-exemple.fr", true},
		{"HTTPS://WWW.CHU-Exemple.FR/", "https://www.chu-exemple.fr", true},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081", true},
		{"http://[::1]:8081", "http://[::1]:8081", true},
		{"https://xn--hpital-fva.fr", "https://xn--hpital-fva.fr", true},
		{"https://a.fr;script-src", "", false},
		{"https://a.fr,b.fr", "", false},
		{"https://*.chu-exemple.fr", "", false},
		{"https://a'b.fr", "", false},
		{"https://hôpital.fr", "", false},
		{"https://-a.fr", "", false},
		{"https://a.fr:0", "", false},
		{"https://a.fr:99999", "", false},
		{"https://a.fr:08080", "", false},
		{"https://a.fr/path", "", false},
		{"https://user@a.fr", "", false},
		{"ftp://a.fr", "", false},
		{"a.fr", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeOrigin(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}
