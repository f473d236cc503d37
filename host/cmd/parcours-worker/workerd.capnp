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
    (name = "state.mjs", esModule = embed "../../../build/worker/state.mjs"),
    (name = "assets.json", text = embed "../../../build/worker/assets.json"),
    (name = "parcours.wasm", wasm = embed "../../../build/worker/parcours.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "PARCOURS_CONFIG", text = embed "../../../build/worker/config.json"),
    (name = "PARCOURS_STATE", durableObjectNamespace = "ParcoursState"),
    (name = "ASSETS", service = "assets"),
  ],
  # Sessions and rate limits: one Durable Object per key, in memory for a
  # local run (on Cloudflare: SQLite-backed, see wrangler.toml).
  durableObjectNamespaces = [(className = "ParcoursState", uniqueKey = "parcours-state", enableSql = true)],
  durableObjectStorage = (inMemory = void),
  globalOutbound = "internet",
);
