# workerd configuration of `make worker-dev` and of TestWorker: the Worker
# on 127.0.0.1:8787, offline, with the modules `make worker` writes to
# build/worker. The FHIR server and the rest of the configuration come from
# PARCOURS_CONFIG (see config.go); `make worker-dev` reads it from
# build/worker/config.json. The browser files come from build/worker-assets
# through the ASSETS binding, as Workers static assets do in wrangler.toml.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .parcours),
    # Loopback and private addresses allowed: the FHIR server of a local run.
    (name = "internet", network = (allow = ["public", "private", "local"])),
    # The static assets, read-only (wrangler.toml: [assets]).
    (name = "assets", disk = (path = "../../../build/worker-assets", writable = false)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const parcours :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "../../../build/worker/worker.mjs"),
    (name = "assets.mjs", esModule = embed "../../../build/worker/assets.mjs"),
    (name = "wasm_exec.js", esModule = embed "../../../build/worker/wasm_exec.js"),
    (name = "assets.json", text = embed "../../../build/worker/assets.json"),
    (name = "parcours.wasm", wasm = embed "../../../build/worker/parcours.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "PARCOURS_CONFIG", text = embed "../../../build/worker/config.json"),
    (name = "ASSETS", service = "assets"),
  ],
  globalOutbound = "internet",
);
