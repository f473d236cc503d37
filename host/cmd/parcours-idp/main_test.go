package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestRunRefuses(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"non-loopback address", []string{"-addr", "0.0.0.0:0"}, "loopback only"},
		{"public address", []string{"-addr", "192.0.2.1:8081"}, "loopback only"},
		{"no port", []string{"-addr", "127.0.0.1"}, "-addr"},
		{"http issuer elsewhere", []string{"-addr", "127.0.0.1:0", "-issuer", "http://idp.example"}, "loopback"},
		{"foreign http redirect", []string{"-addr", "127.0.0.1:0", "-redirect", "http://rp.example/cb"}, "loopback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, logger)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}
