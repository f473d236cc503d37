// Package fhirserver runs the FHIR R4 server of the tests and the demo on
// loopback: Medplum's FHIR engine behind host/backend/fhir/fhirtest's
// server.mjs (pinned by that directory's package-lock.json, installed by
// `npm ci` there). It needs node and the npm packages, as found beside the
// sources: `go run` and `go test` from the repository find them, a binary
// copied elsewhere does not (Available says so).
package fhirserver

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
	"sync"
	"time"
)

// Dir is where server.mjs and its node_modules are.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "fhirtest")
}

// Available reports why the server cannot run here (no node, or the npm
// packages not installed), or nil.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(Dir(), "node_modules", "@medplum", "fhir-router")); err != nil {
		return fmt.Errorf("run `npm ci` in %s: %w", Dir(), err)
	}
	return nil
}

// Server is a running server.
type Server struct {
	// Base is the service base URL, http://127.0.0.1:PORT/fhir/R4.
	Base string
	cmd  *exec.Cmd
	stop context.CancelFunc
	mu   sync.Mutex
	logs []string // the last lines the server wrote
}

// Start runs a fresh, empty server on a free loopback port and waits until
// it answers (30 s at most). Stop it with Stop.
func Start(ctx context.Context) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return StartPort(ctx, port)
}

// StartPort is Start on the loopback port given (taken: an error).
func StartPort(ctx context.Context, port int) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	node, _ := exec.LookPath("node")
	args := []string{"server.mjs"}
	if nodeMajor(node) < 22 {
		// Medplum's client code expects a global WebSocket, built in from
		// Node 22; Node 20 has it behind this flag.
		args = append([]string{"--experimental-websocket"}, args...)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(runCtx, node, args...)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	s := &Server{Base: fmt.Sprintf("http://127.0.0.1:%d/fhir/R4", port), cmd: cmd, stop: cancel}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.logs = append(s.logs, sc.Text())
			if len(s.logs) > 100 {
				s.logs = s.logs[1:]
			}
			s.mu.Unlock()
		}
		close(exited)
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		resp, err := http.Get(s.Base + "/metadata")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			s.Stop()
			return nil, fmt.Errorf("the FHIR server did not start in 30 s: %v\n%s", err, s.Logs())
		case <-exited:
			s.Stop()
			return nil, fmt.Errorf("the FHIR server stopped: %s", s.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Logs returns the last lines the server wrote.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// Stop stops the server and waits for it.
func (s *Server) Stop() {
	s.stop()
	s.cmd.Wait()
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
