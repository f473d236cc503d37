// The Parcours Worker's entry: one Go instance per isolate, reused across
// requests (host/cloudflare). JS reads the request body and builds the
// Response from the plain {status, headers, body} that Go returns, in the
// request's own continuation; Go never holds a Request or Response object.
import "./wasm_exec.js";
import mod from "./parcours.wasm";
import { serveAsset } from "./assets.mjs";

let ready = null;

function start() {
  const go = new Go();
  const p = WebAssembly.instantiate(mod, go.importObject).then((inst) => {
    // run executes main until it blocks in select{}: parcoursServe is set.
    go.run(inst).finally(() => { if (ready === p) ready = null; });
    return go;
  });
  p.catch(() => { if (ready === p) ready = null; });
  return (ready = p);
}

export default {
  async fetch(request, env, ctx) {
    const asset = await serveAsset(request, env);
    if (asset) return asset;
    let go = await (ready ?? start());
    if (go.exited) go = await start(); // a panic ended the instance
    const body = request.method === "GET" || request.method === "HEAD"
      ? null : new Uint8Array(await request.arrayBuffer());
    const res = await new Promise((resolve) =>
      globalThis.parcoursServe(
        { method: request.method, url: request.url, headers: [...request.headers], body },
        env, resolve));
    const empty = request.method === "HEAD" || res.status === 204 || res.status === 304;
    return new Response(empty ? null : res.body, { status: res.status, headers: res.headers });
  },
};
