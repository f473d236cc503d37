package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestWorker builds the Worker, runs it under workerd on loopback in front
// of the FHIR test server with the demo data, and reads and signs in
// through it with sdk/client. It runs under PARCOURS_E2E=1 (make test) or
// PARCOURS_WORKER=1.
func TestWorker(t *testing.T) {
	if os.Getenv("PARCOURS_E2E") != "1" && os.Getenv("PARCOURS_WORKER") != "1" {
		t.Skip("skipping: the Worker test runs under PARCOURS_E2E=1 or PARCOURS_WORKER=1 (make test)")
	}
	workerd, _ := filepath.Abs("node_modules/.bin/workerd")
	if _, err := os.Stat(workerd); err != nil {
		t.Skipf("skipping: workerd is not installed: run `npm ci` in host/cmd/parcours-worker (needs npm): %v", err)
	}
	ctx := context.Background()
	base := fhirtest.Start(t)
	b, err := fhir.New(fhir.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SeedDemo(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	build := exec.Command("go", "build", "-tags", "parcours_nocompress", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "parcours.wasm"), ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Worker: %v\n%s", err, out)
	}
	copyFile(t, "worker.mjs", filepath.Join(dir, "worker.mjs"))
	copyFile(t, "state.mjs", filepath.Join(dir, "state.mjs"))
	copyFile(t, filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"), filepath.Join(dir, "wasm_exec.js"))
	addr := freeAddr(t)
	url := "http://" + addr
	cfg := fmt.Sprintf(`{"public_url": %q, "fhir_url": %q, "establishment": {"id": %q, "origins": ["http://127.0.0.1:8081"]}, "demo_sign_in": true}`,
		url, base, fhir.DemoEstablishment)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	capnp, err := os.ReadFile("workerd.capnp")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(capnp), "../../../build/worker/", "")
	conf = strings.ReplaceAll(conf, "127.0.0.1:8787", addr)
	os.WriteFile(filepath.Join(dir, "workerd.capnp"), []byte(conf), 0o644)

	var logs bytes.Buffer
	cmd := exec.Command(workerd, "serve", "workerd.capnp")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := http.Get(url + "/")
		if err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workerd did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	c := client.New(url)
	services, err := c.Services(ctx, fhir.DemoEstablishment)
	if err != nil || len(services) == 0 {
		t.Fatalf("services: %v, %v\n%s", services, err, logs.String())
	}
	r, err := http.Get(url + "/api/v1/establishments/" + fhir.DemoEstablishment + "/services")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("API Cache-Control %q, want no-store", cc)
	}
	patients, err := c.DemoPatients(ctx)
	if err != nil || len(patients) == 0 {
		t.Fatalf("demo patients: %v, %v", patients, err)
	}
	if _, err := c.DemoSignIn(ctx, patients[0].ID); err != nil {
		t.Fatalf("demo sign-in: %v\n%s", err, logs.String())
	}
	if p, err := c.CurrentPatient(ctx); err != nil || p == nil || p.ID != patients[0].ID {
		t.Fatalf("current patient: %v, %v", p, err)
	}
	if _, err := c.Appointments(ctx); err != nil {
		t.Errorf("appointments: %v", err)
	}
	// The patient finds the city doctor by RPPS and grants him access: a
	// FHIR Consent on the establishment's server, through the Worker.
	doctor, err := c.PractitionerByRPPS(ctx, fhir.DemoCityDoctorRPPS)
	if err != nil || doctor.ID != fhir.DemoCityDoctor {
		t.Fatalf("RPPS look-up: %+v, %v\n%s", doctor, err, logs.String())
	}
	g, err := c.GrantAccess(ctx, fhir.DemoEstablishment, doctor.ID)
	if err != nil || !g.Active() {
		t.Fatalf("grant: %+v, %v", g, err)
	}
	// Every access to health data through the Worker is an AuditEvent on
	// the FHIR server: the appointments read and the grant among them.
	events, err := b.AuditEvents(ctx, portal.AuditQuery{Patient: patients[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, e := range events {
		ops[e.Operation] = true
	}
	for _, op := range []string{"listAppointments", "grantAccess", "getPractitionerByRPPS"} {
		if !ops[op] {
			t.Errorf("no AuditEvent of %s through the Worker; recorded: %v", op, ops)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
