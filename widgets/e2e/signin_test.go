package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	hospitalsite "github.com/parcours-sante/parcours/examples/hospital-site"
	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/idp"
	"github.com/parcours-sante/parcours/host/oidc"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// TestSignInInChromium signs a patient in through a real OpenID provider
// from a widget embedded by a page of another site, in Chromium with
// third-party cookies blocked: the host over HTTPS on 127.0.0.1, the page
// on localhost (another site), the provider on its own origin. Driven by
// signin.test.mjs.
func TestSignInInChromium(t *testing.T) {
	node, chromium := browserTools(t)

	assets := buildWasm(t)
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "signin.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostURL := "https://" + hostLn.Addr().String()
	idpLn, idpURL := listen(t)
	siteLn, siteURL := listen(t)
	// localhost and 127.0.0.1 are different sites: the frame is third-party.
	siteURL = "http://localhost:" + siteLn.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):]

	provider, err := idp.New(idp.Config{
		Issuer:  idpURL,
		Clients: []idp.Client{{ID: "parcours-e2e", RedirectURIs: []string{hostURL + "/auth/callback"}}},
		Users:   idp.UsersFromDemo(demoid.Accounts),
	})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, idpLn, provider)
	h, err := host.New(host.Config{
		Booking:           store,
		Directory:         store,
		Questionnaires:    store,
		Messaging:         store.Messaging(),
		CareTeam:          store,
		Documents:         store.Documents(),
		Establishments:    []host.Establishment{{ID: sqlite.DemoEstablishment, Origins: []string{siteURL}}},
		Assets:            os.DirFS(assets),
		IdentityProviders: []host.IdentityProvider{{Name: demoid.Provider, OIDC: oidc.Config{Issuer: idpURL, ClientID: "parcours-e2e"}}},
		PublicURL:         hostURL,
		Accounts:          store,
		Audit:             store,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	hostSrv := &httptest.Server{Listener: hostLn, Config: &http.Server{Handler: h}}
	hostSrv.StartTLS() // a self-signed certificate: Chromium runs with --ignore-certificate-errors
	t.Cleanup(hostSrv.Close)
	serve(t, siteLn, hospitalsite.Handler(hospitalsite.Config{HostOrigin: hostURL, LoaderSRI: host.LoaderSRI()}))

	runCtx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, "--test", "--test-reporter=spec", "signin.test.mjs")
	cmd.Env = append(os.Environ(), "SITE_URL="+siteURL, "HOST_URL="+hostURL, "IDP_URL="+idpURL, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser tests failed: %v\n%s", err, out)
	}
	t.Logf("browser tests:\n%s", out)
	// The audit holds the sign-in, with its person.
	events, err := store.AuditEvents(ctx, portal.AuditQuery{Patient: sqlite.DemoPatientCamilleDurand})
	if err != nil {
		t.Fatal(err)
	}
	signedIn := false
	for _, e := range events {
		signedIn = signedIn || e.Operation == "signIn" && e.Outcome == "0"
	}
	if !signedIn {
		t.Errorf("no successful sign-in in the audit: %+v", events)
	}
}
