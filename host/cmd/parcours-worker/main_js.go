//go:build js && wasm

// Command parcours-worker is the Parcours edge host on Cloudflare Workers:
// the same host.New handler as the standalone server (host/cmd/parcours),
// with a FHIR R4 server as the system of record. worker.mjs instantiates
// this Go program once per isolate and calls it for every request (see
// host/cloudflare).
//
// Configuration comes from the Worker's environment: PARCOURS_CONFIG, a
// JSON var (see config.go), the secret FHIR_TOKEN, a bearer token for the
// FHIR server (optional), the identity providers' client secrets, under
// the names PARCOURS_CONFIG gives them (client_secret_env), and
// PARCOURS_STATE, the Durable Object namespace
// of class ParcoursState (state.mjs) that keeps sessions, rate limits and
// sign-ins under way for every isolate. The browser files are the Worker's
// static assets (the ASSETS binding), which assets.mjs serves outside Go;
// their paths come from the module assets.json (globalThis.parcoursAssets),
// both written by `make worker`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"syscall/js"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/cloudflare"
)

func main() {
	cloudflare.Register("parcoursServe", http.HandlerFunc(serve))
	select {}
}

// stateBinding names the Durable Object namespace of the host's State.
const stateBinding = "PARCOURS_STATE"

var (
	mu      sync.Mutex
	handler http.Handler
	loadErr error
)

// serve builds the host on the first request, when the env is known, and
// keeps it for the isolate's lifetime (it holds no JS object).
func serve(w http.ResponseWriter, r *http.Request) {
	h, err := load(r.Context())
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "the worker is misconfigured; see its logs", http.StatusInternalServerError)
		return
	}
	h.ServeHTTP(w, r)
}

func load(ctx context.Context) (http.Handler, error) {
	mu.Lock()
	defer mu.Unlock()
	if handler != nil || loadErr != nil {
		return handler, loadErr
	}
	env, _ := cloudflare.Env(ctx)
	str := func(name string) string {
		if v := env.Get(name); v.Truthy() {
			return v.String()
		}
		return ""
	}
	if !env.Get(stateBinding).Truthy() {
		loadErr = fmt.Errorf("the Durable Object binding %s (class ParcoursState) is missing: see wrangler.toml", stateBinding)
		slog.Error("parcours-worker: " + loadErr.Error())
		return nil, loadErr
	}
	var assets []byte
	if v := js.Global().Get("parcoursAssets"); v.Type() == js.TypeString {
		assets = []byte(v.String())
	}
	handler, loadErr = build([]byte(str("PARCOURS_CONFIG")), assets, str, platform{
		transport: cloudflare.Transport{},
		state: func(jurisdiction string) host.State {
			return cloudflare.DurableState{Binding: stateBinding, Jurisdiction: jurisdiction}
		},
		afterFunc: cloudflare.AfterFunc,
	})
	if loadErr != nil {
		slog.Error("parcours-worker: " + loadErr.Error())
	}
	return handler, loadErr
}
