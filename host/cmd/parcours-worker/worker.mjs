// The Parcours Worker's entry: one Go instance per isolate, reused across
// requests (host/cloudflare). JS reads the request body and builds the
// Response from the plain status, headers and body that Go returns, in the
// request's own continuation; Go never holds a Request or Response object.
// Headers cross as one string each way: each name and value followed by
// "\n" (host/cloudflare's joinHeaders; header values hold no newline).
import "./wasm_exec.js";
import mod from "./parcours.wasm";
import { serveAsset } from "./assets.mjs";
// The Durable Object class of the host's State, and globalThis.parcoursState.
export { ParcoursState } from "./state.mjs";

function joinHeaders(headers) {
  let s = "";
  for (const [k, v] of headers) s += k + "\n" + v + "\n";
  return s;
}

function splitHeaders(s) {
  const parts = s.split("\n");
  const headers = new Headers();
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  return headers;
}

// parcoursFetch is cloudflare.Transport's fetch: it sends the request,
// reads the whole response and calls done(id, status, statusText,
// headers, body), or done(id, 0, error) if fetch failed, so that one round
// trip is one call out of Go and one call back. It returns the call's
// AbortController: Go aborts it when the request's context ends (a
// timeout), and done then reports the failure.
globalThis.parcoursFetch = (id, url, method, headers, body, done) => {
  const ac = new AbortController();
  fetch(url, { method, headers: splitHeaders(headers), body, redirect: "manual", signal: ac.signal })
    .then(async (res) => {
      const bytes = new Uint8Array(await res.arrayBuffer());
      done(id, res.status, res.statusText, joinHeaders(res.headers), bytes);
    })
    .catch((err) => done(id, 0, String(err)));
  return ac;
};

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
    const [status, headers, resBody] = await new Promise((resolve) =>
      globalThis.parcoursServe(
        { method: request.method, url: request.url, headers: joinHeaders(request.headers), body },
        env, (...res) => resolve(res)));
    const empty = request.method === "HEAD" || status === 204 || status === 304;
    return new Response(empty ? null : resBody, { status, headers: splitHeaders(headers) });
  },
};
