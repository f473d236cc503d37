// Command fhirdemo runs a command (`make worker-dev`: workerd) with the
// FHIR server its configuration names, starting that server when it is
// the FHIR test server's to start: a loopback fhir_url
// (http://127.0.0.1:PORT/fhir/R4, the one `make worker-dev` writes) on
// which nothing answers gets the FHIR test server (host/backend/fhir/fhirtest,
// server.mjs) on that port, with the demo's establishment, CH Nord
// (fhir.SeedDemo), until the command ends. A FHIR server that already
// answers there, or one elsewhere, is used as it is: nothing is written to
// it.
//
//	go run ./host/backend/fhir/fhirtest/fhirdemo -config build/worker/config.json -- workerd serve workerd.capnp
//
// Without a command it serves until interrupted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
)

func main() {
	config := flag.String("config", "build/worker/config.json", "the Worker's PARCOURS_CONFIG file, whose fhir_url is the FHIR server")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: fhirdemo [-config FILE] [-- command [args...]]")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *config, flag.Args(), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fhirdemo:", err)
		os.Exit(1)
	}
}

// run starts the FHIR test server if the configuration's fhir_url needs
// it (loopback, nothing answering), then runs args (or waits for ctx).
func run(ctx context.Context, config string, args []string, log io.Writer) error {
	b, err := os.ReadFile(config)
	if err != nil {
		return err
	}
	var c struct {
		FHIRURL string `json:"fhir_url"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("%s: %w", config, err)
	}
	port, err := testServerPort(c.FHIRURL)
	switch {
	case err != nil:
		fmt.Fprintf(log, "fhirdemo: %s: using the FHIR server %s as it is (%v)\n", config, c.FHIRURL, err)
	case answers(ctx, c.FHIRURL):
		fmt.Fprintf(log, "fhirdemo: a FHIR server answers on %s: using it as it is\n", c.FHIRURL)
	default:
		s, err := fhir.StartDemoServer(ctx, port, slog.New(slog.NewTextHandler(log, nil)))
		if err != nil {
			return fmt.Errorf("starting the FHIR test server for %s: %w", c.FHIRURL, err)
		}
		defer s.Stop()
		fmt.Fprintf(log, "fhirdemo: the FHIR test server serves %s on %s\n", fhir.DemoEstablishment, s.Base)
	}
	if len(args) == 0 {
		<-ctx.Done()
		return nil
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Ctrl-C reached the command too (same process group); a SIGTERM
		// sent to this process alone is passed on.
		cmd.Process.Signal(syscall.SIGTERM)
		err = <-done
	}
	if ctx.Err() != nil || interrupted(err) {
		return nil // stopped on purpose (Ctrl-C reaches the command first, often)
	}
	return err
}

// interrupted reports whether a command ended on SIGINT or SIGTERM.
func interrupted(err error) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && (ws.Signal() == syscall.SIGINT || ws.Signal() == syscall.SIGTERM)
}

// testServerPort is the port of a FHIR test server's base URL on loopback
// (http://127.0.0.1:PORT/fhir/R4), or why it is not one.
func testServerPort(base string) (int, error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, err
	}
	host, p, err := net.SplitHostPort(u.Host)
	if err != nil || u.Scheme != "http" || u.Path != "/fhir/R4" {
		return 0, errors.New("not http://127.0.0.1:PORT/fhir/R4")
	}
	if host != "127.0.0.1" {
		return 0, errors.New("not on 127.0.0.1, where the FHIR test server listens")
	}
	return strconv.Atoi(p)
}

// answers reports whether a FHIR server answers on base.
func answers(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metadata", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
