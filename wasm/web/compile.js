/*! Parcours Wasm compiler: a dedicated worker of the widget frame (frame.js)
 * that fetches and compiles the widget's Wasm off the frame's main thread
 * and hands the compiled module back. Fetched and compiled on the main
 * thread, the Wasm's body (6.8 MB decoded) held it for over a second on a
 * phone (measured in issue 8), and a click waited that long. */
'use strict';
self.onmessage = function (ev) {
  var url = ev.data && ev.data.wasm;
  // Only a path on this origin (the frame's own assets).
  if (typeof url !== 'string' || !/^\/[^/\\]/.test(url)) return;
  var compiled = WebAssembly.compileStreaming
    ? WebAssembly.compileStreaming(fetch(url, { credentials: 'same-origin' }))
    : fetch(url, { credentials: 'same-origin' }).then(function (r) { return r.arrayBuffer(); }).then(function (b) { return WebAssembly.compile(b); });
  compiled.then(function (module) {
    self.postMessage({ module: module });
  }, function (err) {
    self.postMessage({ error: String(err) });
  });
};
