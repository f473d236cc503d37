package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/idp"
)

// demoClientID is the host's registration at the demo identity provider.
const demoClientID = "parcours-demo"

// startDemoIdP serves the demo identity provider (host/idp, the demo
// accounts, their hints on its pages) on ln for the host at hostOrigin, and
// returns its issuer URL. It stops when ln is closed.
func startDemoIdP(ln net.Listener, hostOrigin string, log *slog.Logger) (string, error) {
	issuer := "http://" + ln.Addr().String()
	p, err := idp.New(idp.Config{
		Issuer:    issuer,
		Clients:   []idp.Client{{ID: demoClientID, RedirectURIs: []string{hostOrigin + "/auth/callback"}}},
		Users:     idp.UsersFromDemo(demoid.Accounts),
		Logger:    log,
		DemoHints: true,
	})
	if err != nil {
		return "", err
	}
	srv := newServer(p, log)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Error("demo identity provider stopped", "err", err)
		}
	}()
	return issuer, nil
}
