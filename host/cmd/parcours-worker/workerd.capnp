# workerd configuration of `make worker-dev`: the Worker on 127.0.0.1:8787,
# offline, with the modules `make worker` writes to build/worker. The
# FHIR server and the rest of the configuration come from PARCOURS_CONFIG
# (see config.go); `make worker-dev` reads it from build/worker/config.json.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .parcours),
    # Loopback and private addresses allowed: the FHIR server of a local run.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const parcours :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "../../../build/worker/worker.mjs"),
    (name = "wasm_exec.js", esModule = embed "../../../build/worker/wasm_exec.js"),
    (name = "state.mjs", esModule = embed "../../../build/worker/state.mjs"),
    (name = "parcours.wasm", wasm = embed "../../../build/worker/parcours.wasm"),
  ],
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "PARCOURS_CONFIG", text = embed "../../../build/worker/config.json"),
    (name = "PARCOURS_STATE", durableObjectNamespace = "ParcoursState"),
  ],
  # Sessions and rate limits: one Durable Object per key, in memory for a
  # local run (on Cloudflare: SQLite-backed, see wrangler.toml).
  durableObjectNamespaces = [(className = "ParcoursState", uniqueKey = "parcours-state", enableSql = true)],
  durableObjectStorage = (inMemory = void),
  globalOutbound = "internet",
);
