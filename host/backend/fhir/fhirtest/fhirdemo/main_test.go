package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirserver"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
)

// TestMain doubles as the command fhirdemo runs: with FHIRDEMO_BASE set,
// the test binary reads the demo's Organization there and exits 0 when
// its status is FHIRDEMO_WANT.
func TestMain(m *testing.M) {
	if base := os.Getenv("FHIRDEMO_BASE"); base != "" {
		resp, err := http.Get(base + "/Organization/" + fhir.DemoEstablishment)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		resp.Body.Close()
		if strconv.Itoa(resp.StatusCode) != os.Getenv("FHIRDEMO_WANT") {
			fmt.Fprintf(os.Stderr, "Organization/%s: %d, want %s\n", fhir.DemoEstablishment, resp.StatusCode, os.Getenv("FHIRDEMO_WANT"))
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func needServer(t *testing.T) {
	if err := fhirserver.Available(); err != nil {
		if os.Getenv("PARCOURS_E2E") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// config writes a Worker configuration naming base as its FHIR server.
func config(t *testing.T, base string) string {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(`{"public_url":"http://127.0.0.1:8787","fhir_url":"`+base+`","establishment":{"id":"ch-nord"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartsTheDemoServer: `make worker-dev`'s configuration on a fresh
// machine, a loopback FHIR URL where nothing answers: the command runs
// with the FHIR test server there, serving CH Nord, and the server stops
// with it.
func TestStartsTheDemoServer(t *testing.T) {
	needServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/fhir/R4", ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	t.Setenv("FHIRDEMO_BASE", base)
	t.Setenv("FHIRDEMO_WANT", "200")
	if err := run(context.Background(), config(t, base), []string{os.Args[0]}, io.Discard); err != nil {
		t.Fatalf("the command did not find CH Nord on %s: %v", base, err)
	}
	if answers(context.Background(), base) {
		t.Fatal("the FHIR test server outlived the command")
	}
}

// TestUsesARunningServerAsItIs: a FHIR server already answering on the
// configured URL is used, and nothing is written to it.
func TestUsesARunningServerAsItIs(t *testing.T) {
	needServer(t)
	base := fhirtest.Start(t)
	t.Setenv("FHIRDEMO_BASE", base)
	t.Setenv("FHIRDEMO_WANT", "404")
	if err := run(context.Background(), config(t, base), []string{os.Args[0]}, io.Discard); err != nil {
		t.Fatalf("the running server was seeded, or not used: %v", err)
	}
	if !answers(context.Background(), base) {
		t.Fatal("the running server was stopped")
	}
}

func TestTestServerPort(t *testing.T) {
	for _, c := range []struct {
		url  string
		port int
	}{
		{"http://127.0.0.1:8103/fhir/R4", 8103},
		{"https://127.0.0.1:8103/fhir/R4", 0},
		{"http://fhir.chu-exemple.fr:8103/fhir/R4", 0},
		{"http://10.0.0.1:8103/fhir/R4", 0},
		{"http://127.0.0.1/fhir/R4", 0},
		{"http://127.0.0.1:8103/fhir", 0},
	} {
		port, err := testServerPort(c.url)
		if port != c.port || (err == nil) != (c.port != 0) {
			t.Errorf("testServerPort(%q) = %d, %v; want %d", c.url, port, err, c.port)
		}
	}
	if err := run(context.Background(), filepath.Join(t.TempDir(), "config.json"), nil, io.Discard); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("a missing configuration: %v", err)
	}
}
