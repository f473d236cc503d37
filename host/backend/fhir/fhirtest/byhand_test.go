package fhirtest_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir/fhirserver"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
)

// TestStartedByHand: `node server.mjs`, as the docs say to start it by hand
// (without the --experimental-websocket that fhirtest.Start passes on Node
// 20), serves FHIR, and SIGTERM stops it, port closed.
func TestStartedByHand(t *testing.T) {
	if err := fhirserver.Available(); err != nil {
		if os.Getenv("PARCOURS_E2E") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var out bytes.Buffer
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = fhirtest.Dir()
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	metadata := fmt.Sprintf("http://127.0.0.1:%d/fhir/R4/metadata", port)
	up := func() bool {
		resp, err := http.Get(metadata)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	// A bound on a hang, not a measure: the server starts in about 2 s.
	deadline := time.After(2 * time.Minute)
	for !up() {
		select {
		case err := <-exited:
			t.Fatalf("node server.mjs exited (%v):\n%.2000s", err, out.String())
		case <-deadline:
			t.Fatalf("node server.mjs does not answer:\n%.2000s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	s := server{t, fmt.Sprintf("http://127.0.0.1:%d/fhir/R4", port)}
	if code, _, pat := s.do("POST", "/Patient", `{"resourceType":"Patient","name":[{"family":"Durand"}]}`); code != 201 || pat["id"] == nil {
		t.Fatalf("create: %d %v", code, pat)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("stopped: %v\n%.2000s", err, out.String())
	}
	if up() {
		t.Fatal("the server still answers after its process stopped")
	}
}
