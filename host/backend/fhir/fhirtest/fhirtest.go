// Package fhirtest starts a real FHIR R4 server on loopback for tests: the
// FHIR engine of Medplum (its router and in-memory repository, pinned by
// package-lock.json in this directory, installed by `npm ci` here, which
// `make test` runs) behind server.mjs. It is the server the FHIR backend's
// conformance runs use; see server.mjs for what it supports and lacks.
package fhirtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Dir is this package's directory, where server.mjs and node_modules are.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Start runs a fresh, empty server for t and returns its base URL
// (http://127.0.0.1:PORT/fhir/R4); it stops when t ends. Without node or the
// npm packages it skips t, unless PARCOURS_E2E=1 makes that a failure (as
// for the browser tests).
func Start(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(Dir(), "node_modules", "@medplum", "fhir-router"))
	}
	if err != nil {
		if os.Getenv("PARCOURS_E2E") == "1" {
			t.Fatalf("the FHIR test server needs node and `npm ci` in %s: %v", Dir(), err)
		}
		t.Skipf("skipping: the FHIR test server needs node and `npm ci` in %s: %v", Dir(), err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"server.mjs"}
	if nodeMajor(node) < 22 {
		// Medplum's client code expects a global WebSocket, built in from
		// Node 22; Node 20 has it behind this flag.
		args = append([]string{"--experimental-websocket"}, args...)
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case logs <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d/fhir/R4", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/metadata")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			var lines []string
			for len(logs) > 0 {
				lines = append(lines, <-logs)
			}
			t.Fatalf("the FHIR test server did not start in 30 s: %v\n%s", err, strings.Join(lines, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP address")
	}
	return addr.Port, nil
}

// nodeMajor is node's major version, 0 if unknown.
func nodeMajor(node string) int {
	b, err := exec.Command(node, "--version").Output()
	if err != nil {
		return 0
	}
	var major int
	fmt.Sscanf(strings.TrimPrefix(strings.TrimSpace(string(b)), "v"), "%d", &major)
	return major
}
