// Command parcours-idp runs the demo OpenID Connect provider (package
// host/idp) with the demo accounts (host/demoid), the sign-in
// page showing them and their shared password. It listens on loopback
// only: its passwords are public.
//
//	go run ./host/cmd/parcours-idp [-addr 127.0.0.1:8081] [-issuer URL]
//	    [-client-id parcours-demo] [-redirect URI]...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/idp"

	"github.com/parcours-sante/parcours/host/internal/loopback"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], logger); err != nil {
		logger.Error("parcours-idp", "err", err)
		os.Exit(1)
	}
}

func run(args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("parcours-idp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (loopback only)")
	issuer := fs.String("issuer", "", "issuer URL (default http://ADDR)")
	clientID := fs.String("client-id", "parcours-demo", "client_id of the host (public client, PKCE)")
	var redirects listFlag
	fs.Var(&redirects, "redirect", "redirect URI of the client, repeatable (default http://127.0.0.1:8080/auth/callback and http://localhost:8080/auth/callback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ok, err := loopback.Addr(*addr); err != nil {
		return fmt.Errorf("-addr: %w", err)
	} else if !ok {
		return fmt.Errorf("-addr %q: the demo provider has public passwords and listens on loopback only", *addr)
	}
	if *issuer == "" {
		*issuer = "http://" + *addr
	}
	if len(redirects) == 0 {
		redirects = listFlag{"http://127.0.0.1:8080/auth/callback", "http://localhost:8080/auth/callback"}
	}
	var logout []string
	for _, r := range redirects {
		logout = append(logout, strings.TrimSuffix(r, "/auth/callback")+"/")
	}
	p, err := idp.New(idp.Config{
		Issuer: *issuer,
		Clients: []idp.Client{{ID: *clientID, RedirectURIs: redirects,
			PostLogoutRedirectURIs: logout}},
		Users:     idp.UsersFromDemo(demoid.Accounts),
		Logger:    logger,
		DemoHints: true,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("parcours-idp: demo OpenID provider listening", "issuer", *issuer, "addr", ln.Addr().String(), "client_id", *clientID)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
