// The browser files (parcours.wasm, wasm_exec.js) under their
// content-hashed paths, from the Worker's static assets (the ASSETS
// binding; package internal/workerassets writes them and assets.json,
// their paths, a text module), with the headers
// the standalone host sends for them (host/assets.go): immutable for a
// year, the pre-compressed brotli or gzip sibling when the client takes
// it, an ETag of the content hash per coding, If-None-Match. Go never sees
// these 7 MB: they are not in the Worker's module and cross no bridge.
import paths from "./assets.json";

// The Go host reads the paths (host.Config.AssetPaths) when it starts:
// the widget documents load the files from them.
globalThis.parcoursAssets = paths;

const hashed = /^\/a\/(parcours\.([0-9a-f]{12})\.wasm|wasm_exec\.([0-9a-f]{12})\.js)$/;

// negotiate picks "br", "gzip" or "" (identity) as the host does (RFC 9110
// §12.5.3: q=0 refuses a coding, "*" stands for the others).
function negotiate(accept) {
  const q = new Map();
  let star = -1;
  for (const part of (accept || "").split(",")) {
    const [name, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (!name) continue;
    let w = 1;
    for (const p of params) {
      if (p.startsWith("q=")) {
        const f = Number(p.slice(2));
        w = p.length > 2 && f >= 0 && f <= 1 ? f : 0;
      }
    }
    if (name === "*") star = w; else q.set(name, w);
  }
  let best = "", bestQ = 0;
  for (const c of ["br", "gzip"]) {
    const w = q.has(c) ? q.get(c) : Math.max(star, 0);
    if (w > bestQ) { best = c; bestQ = w; }
  }
  return best;
}

// serveAsset answers request from env.ASSETS, or returns null for the
// host to answer (any other path, or a file the assets lack).
export async function serveAsset(request, env) {
  const url = new URL(request.url);
  const m = hashed.exec(url.pathname);
  if (!m || !env.ASSETS || (request.method !== "GET" && request.method !== "HEAD")) return null;
  const hash = m[2] || m[3];
  let coding = negotiate(request.headers.get("Accept-Encoding"));
  let res = null;
  if (coding) {
    res = await env.ASSETS.fetch(new URL(url.pathname + (coding === "br" ? ".br" : ".gz"), url));
    if (!res.ok) { coding = ""; res = null; }
  }
  res ??= await env.ASSETS.fetch(new URL(url.pathname, url));
  if (!res.ok) return null;
  const etag = coding ? `"${hash}-${coding}"` : `"${hash}"`;
  const headers = new Headers({
    "Content-Type": m[2] ? "application/wasm" : "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept-Encoding",
    "ETag": etag,
    "Cross-Origin-Resource-Policy": "same-origin",
  });
  if (url.protocol === "https:") headers.set("Strict-Transport-Security", "max-age=31536000");
  if (coding) headers.set("Content-Encoding", coding);
  const inm = request.headers.get("If-None-Match");
  if (inm && (inm === etag || inm === "*")) {
    await res.body?.cancel();
    return new Response(null, { status: 304, headers });
  }
  // The body is already encoded: "manual" keeps the runtime from encoding it again.
  return new Response(request.method === "HEAD" ? null : res.body, { status: 200, headers, encodeBody: "manual" });
}
