package idp_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/parcours-sante/parcours/host/demoid"
	"github.com/parcours-sante/parcours/host/idp"
)

// A relying party's test starts the provider on a loopback server and
// discovers it like any OpenID provider.
func ExampleNew() {
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	p, err := idp.New(idp.Config{
		Issuer:     issuer,
		Clients:    []idp.Client{{ID: "parcours-demo", RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"}}},
		Users:      idp.UsersFromDemo(demoid.Accounts),
		SigningKey: testKey(), // optional: default a new RSA key
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.Config.Handler = p
	srv.Start()
	defer srv.Close()

	ctx := oidc.ClientContext(context.Background(), srv.Client())
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		fmt.Println(err)
		return
	}
	rp := oauth2.Config{
		ClientID:    "parcours-demo",
		RedirectURL: "http://127.0.0.1:8080/auth/callback",
		Endpoint:    provider.Endpoint(),
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email"},
	}
	verifier := oauth2.GenerateVerifier() // keep it for the exchange: oauth2.VerifierOption(verifier)
	authURL := rp.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce"))
	fmt.Println(strings.HasPrefix(authURL, issuer+"/authorize?"))
	// Output: true
}
