/*! Parcours widget frame: runs inside the widget's iframe, on the host's
 * origin. It sizes the frame to its content, relays widget events to the
 * embedding page (only to the exact origin the host validated) and starts
 * the Wasm. */
(function () {
  'use strict';
  var root = document.documentElement;
  var parentOrigin = root.getAttribute('data-parent-origin') || '';
  var embedded = window.parent !== window && parentOrigin !== '';

  function post(msg) {
    if (embedded) window.parent.postMessage(msg, parentOrigin);
  }

  var lastHeight = -1;
  function reportSize() {
    var h = Math.ceil(document.body ? document.body.getBoundingClientRect().height : root.scrollHeight);
    if (h !== lastHeight) {
      lastHeight = h;
      post({ parcours: 1, type: 'resize', height: h });
    }
  }
  if (window.ResizeObserver) {
    new ResizeObserver(reportSize).observe(document.body || root);
  }
  reportSize();

  // Called by the Go side (syscall/js) for widget events: a name and a flat
  // object of strings (ids and dates, never health data).
  window.parcoursFrame = {
    emit: function (name, detail) {
      var d = {};
      if (detail && typeof detail === 'object') {
        Object.keys(detail).forEach(function (k) { d[k] = String(detail[k]); });
      }
      post({ parcours: 1, type: 'event', name: String(name), detail: d });
    },
    focus: function (id) {
      var el = document.getElementById(id);
      if (el) el.focus({ preventScroll: false });
    }
  };

  // Events of a form post answered by the host (the Wasm was not running
  // yet): relay them as the Wasm would have.
  var pending = document.getElementById('parcours-events');
  if (pending) {
    try {
      JSON.parse(pending.textContent).forEach(function (e) {
        window.parcoursFrame.emit(e.name, e.detail);
      });
    } catch (e) { /* malformed: nothing to relay */ }
  }

  function failed(err) {
    root.setAttribute('data-wasm-error', String(err));
    var msg = document.createElement('p');
    msg.setAttribute('role', 'alert');
    msg.className = 'pc-error';
    msg.textContent = root.lang === 'en'
      ? 'This service cannot be displayed right now. Please reload the page.'
      : 'Ce service ne peut pas s\u2019afficher pour le moment. Veuillez recharger la page.';
    var mount = document.getElementById('parcours-root');
    (mount || document.body).appendChild(msg);
    if (window.console) console.error('parcours:', err);
  }

  var self = document.currentScript;
  var wasm = self && self.getAttribute('data-wasm');
  if (!wasm || typeof Go === 'undefined' || !window.WebAssembly) {
    if (wasm) failed('WebAssembly is not available');
    return;
  }
  var go = new Go();
  var load = WebAssembly.instantiateStreaming
    ? WebAssembly.instantiateStreaming(fetch(wasm), go.importObject)
    : fetch(wasm).then(function (r) { return r.arrayBuffer(); }).then(function (b) { return WebAssembly.instantiate(b, go.importObject); });
  load.then(function (r) {
    if (performance.mark) performance.mark('parcours:wasm-instantiated');
    root.setAttribute('data-wasm', 'running');
    return go.run(r.instance);
  }).catch(failed);
})();
