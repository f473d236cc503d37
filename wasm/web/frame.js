/*! Parcours widget frame: runs inside the widget's iframe, on the host's
 * origin. It sizes the frame to its content, relays widget events to the
 * embedding page (only to the exact origin the host validated), answers the
 * widget's form posts in place until the Wasm runs, and starts the Wasm. */
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
  // Widget events carry an id (this document's, and a count), so that the
  // loader relays each once. Those sent before the loader said hello are
  // kept: a frame of the page's markup works before the loader runs, and
  // the loader ignores a frame's messages until it adopts it.
  var doc = Math.random().toString(36).slice(2), count = 0, early = [], greeted = false;
  // The loader asks again when it adopts a frame that the page's markup
  // requested before the loader ran (its first reports and events may
  // have gone unheard).
  window.addEventListener('message', function (ev) {
    if (embedded && ev.source === window.parent && ev.origin === parentOrigin &&
        ev.data && ev.data.parcours === 1 && ev.data.type === 'hello') {
      greeted = true;
      early.splice(0).forEach(post);
      lastHeight = -1;
      reportSize();
    }
  });

  // Called by the Go side (syscall/js) for widget events: a name and a flat
  // object of strings (ids and dates, never health data).
  window.parcoursFrame = {
    emit: function (name, detail) {
      var d = {};
      if (detail && typeof detail === 'object') {
        Object.keys(detail).forEach(function (k) { d[k] = String(detail[k]); });
      }
      var msg = { parcours: 1, type: 'event', name: String(name), detail: d, id: doc + '.' + (++count) };
      if (!greeted && early.length < 20) early.push(msg);
      post(msg);
    },
    focus: function (id) {
      var el = document.getElementById(id);
      if (el) el.focus({ preventScroll: false });
    }
  };

  // Events of a form post answered by the host (the Wasm was not running
  // yet): relay them as the Wasm would have.
  function relay(el) {
    if (!el) return;
    try {
      JSON.parse(el.textContent).forEach(function (e) {
        window.parcoursFrame.emit(e.name, e.detail);
      });
    } catch (e) { /* malformed: nothing to relay */ }
  }
  relay(document.getElementById('parcours-events'));

  // The controls only the Wasm handles (type="button": the form's submit
  // buttons work before it) are marked unavailable until it runs, so that
  // a press that cannot do anything yet says so (dimmed, and "unavailable"
  // to screen readers). The Wasm's first render drops the mark: it sets
  // every attribute of the nodes it takes over.
  function unavailable() {
    if (running()) return;
    [].forEach.call(document.querySelectorAll('#parcours-root button[type="button"]'), function (b) {
      E.setAttribute.call(b, 'aria-disabled', 'true');
    });
  }

  // Until the Wasm runs, the widget's buttons post its form and the host
  // answers with the next screen. Navigating would abort the Wasm's
  // download: the post is fetched and the answer swapped in instead. The
  // Wasm starts between two posts (start waits for the swap), so it reads
  // the latest screen and state; then it handles the buttons itself.
  // (Named controls shadow a form's members: call the prototypes'.)
  var E = Element.prototype, F = HTMLFormElement.prototype;
  unavailable();
  var inflight = false, bypass = false, start = null, signedIn = null;
  document.addEventListener('submit', function (ev) {
    var form = ev.target, sub = ev.submitter || null;
    var attr = function (a) {
      return (sub && sub.hasAttribute('form' + a) ? sub.getAttribute('form' + a) : E.getAttribute.call(form, a)) || '';
    };
    if (bypass || running() ||
        !('submitter' in ev) || !F.requestSubmit || !window.DOMParser || !(form instanceof HTMLFormElement) ||
        !E.matches.call(form, 'form.pc-form') || attr('method').toLowerCase() !== 'post' ||
        !/^(application\/x-www-form-urlencoded|multipart\/form-data)?$/i.test(attr('enctype'))) return;
    ev.preventDefault();
    if (inflight) return; // one post at a time
    if (saving) {
      // After the background save under way: the host takes the posts
      // in the order the patient made them.
      // (A post would reach the host first only to find its answers
      // overwritten by the older ones of the save.)
      if (!afterSave.length) afterSave.push(function () {
        if (document.contains(form)) F.requestSubmit.call(form, sub);
      });
      return;
    }
    var body = new FormData(form, sub);
    if (sub && sub.name && body.getAll(sub.name).indexOf(sub.value) < 0) body.append(sub.name, sub.value); // older FormData
    inflight = true;
    E.setAttribute.call(form, 'aria-busy', 'true');
    fetch(attr('action') || location.href, {
      // A form with files (a message's composer) posts them as multipart.
      method: 'POST', body: /^multipart/i.test(attr('enctype')) ? body : new URLSearchParams(body),
      credentials: 'same-origin', redirect: 'follow'
    }).then(function (res) {
      var html = /^text\/html/i.test(res.headers.get('Content-Type'));
      if (html && res.status >= 400) {
        // Refused by the host (the session ended, too many requests, files
        // far too large), or not answered (its backend down): say why
        // above the widget, what was written kept in its form, to press
        // again. (Sent again as an ordinary post, files and rate-limit
        // token included, it would leave the bare error page.)
        return res.text().then(function (t) {
          refused(t, res.status);
          return null;
        });
      }
      if (!res.ok || !html) throw new Error('HTTP ' + res.status);
      return res.text();
    }).then(function (html) {
      if (html === null) {
        E.removeAttribute.call(form, 'aria-busy');
        return;
      }
      refused('');
      // Without its stylesheet (the frame has it), which this document's
      // CSP would refuse: the nonce is another.
      var doc = new DOMParser().parseFromString(html.replace(/<style[\s\S]*?<\/style>/gi, ''), 'text/html');
      var byId = function (d, id) { return d.getElementById(id); };
      var next = byId(doc, 'parcours-root'), cur = byId(document, 'parcours-root');
      if (!next || !cur) throw new Error('no widget in the answer');
      cur.parentNode.replaceChild(document.adoptNode(next), cur);
      ['parcours-state', 'parcours-events'].forEach(function (id) {
        var old = byId(document, id), src = byId(doc, id);
        if (old) old.parentNode.removeChild(old);
        if (src) document.body.appendChild(document.adoptNode(src));
      });
      [].forEach.call(doc.documentElement.attributes, function (a) { // lang, data-* (not ours: data-wasm*)
        if (/^(lang|data-(?!wasm).*)$/.test(a.name)) root.setAttribute(a.name, a.value);
      });
      document.title = doc.title;
      relay(byId(document, 'parcours-events'));
      unavailable();
      window.parcoursFrame.focus('pc-step-title');
    }).catch(function (err) {
      // Not answered in place: post the ordinary way.
      if (window.console) console.warn('parcours: form post by navigation:', err);
      E.removeAttribute.call(form, 'aria-busy');
      bypass = true;
      try {
        F.requestSubmit.call(form, sub);
      } finally {
        bypass = false;
      }
    }).then(done, done);
    function done() {
      inflight = false;
      settle();
    }
  }, true);

  // refused shows, above the widget, why the host refused a post (the
  // alert of its answer), or removes the message (html ''), as the next
  // post answered and the Wasm's start do.
  function refused(html, status) {
    var el = document.getElementById('parcours-refused');
    if (!html) {
      if (el) el.parentNode.removeChild(el);
      return;
    }
    var alert = new DOMParser().parseFromString(html, 'text/html').querySelector('[role="alert"]');
    var widget = document.getElementById('parcours-root');
    if (!el && widget) {
      el = document.createElement('p');
      el.id = 'parcours-refused';
      el.className = 'pc-error';
      el.setAttribute('role', 'alert');
      widget.parentNode.insertBefore(el, widget);
    }
    if (el) el.textContent = alert ? alert.textContent : 'HTTP ' + status;
  }

  // settle runs what waited for the posts under way (a form post, a
  // background save): a submit pressed meanwhile, the Wasm's start, the
  // session's re-reading after a sign-in.
  var afterSave = [];
  function settle() {
    if (inflight || saving) return;
    var q = afterSave.splice(0);
    q.forEach(function (f) { f(); });
    if (inflight || saving) return;
    if (start) start();
    var f = signedIn;
    signedIn = null;
    if (f) f();
  }

  // Answers are saved as the patient gives them, until the Wasm runs: a
  // change in a form marked data-parcours-autosave (a page of questions,
  // signed in) posts it in the background with the action "save", and the
  // host keeps the page's answers in the patient's draft (204, no
  // document). Nothing is lost meanwhile either way: the answers stay in
  // the page and go with its next post, or to the Wasm. One save at a
  // time, the latest values after it; a submit, the Wasm's start and a
  // sign-in's re-reading wait for it. html[data-parcours-saved] counts the
  // saves the host confirmed.
  var saving = false, resave = false, saved = 0;
  function autosave() {
    var form = document.querySelector('form.pc-form[data-parcours-autosave]');
    if (!form || inflight || bypass || running() || !F.requestSubmit || !window.DOMParser) return;
    if (saving) { resave = true; return; }
    var body = new URLSearchParams(new FormData(form));
    body.set('a', 'save');
    saving = true;
    fetch(E.getAttribute.call(form, 'action') || location.href, {
      method: 'POST', body: body, credentials: 'same-origin', redirect: 'error',
      keepalive: body.toString().length < 60000 // the page may close meanwhile
    }).then(function (res) {
      if (res.status !== 204) return;
      // The draft's new time goes into the state the Wasm starts from (a
      // draft it did not save would look saved in another tab).
      var at = res.headers.get('Parcours-Draft-Saved'), el = document.getElementById('parcours-state');
      if (at && el) {
        try {
          var st = JSON.parse(el.textContent);
          st.draft_saved = at;
          el.textContent = JSON.stringify(st);
        } catch (e) { /* no state: the Wasm loads it */ }
      }
      root.setAttribute('data-parcours-saved', String(++saved));
    }, function () { /* not saved: the answers go with the next post */ }).then(function () {
      saving = false;
      if (resave) {
        resave = false;
        autosave();
      }
      settle();
    });
  }
  document.addEventListener('change', function (ev) {
    var t = ev.target;
    if (ev.isTrusted && t && t.form && E.matches.call(t.form, 'form.pc-form[data-parcours-autosave]')) autosave();
  }, true);
  // Answers given before this script ran (it comes after the page, and
  // after a form post by navigation it may still be on its way).
  if (touched().length) autosave();
  function running() {
    return root.getAttribute('data-wasm') === 'running' && !root.hasAttribute('data-wasm-error');
  }

  // Sign-in with an identity provider: its pages refuse to show in a frame,
  // so a link marked data-parcours-signin opens them in a popup. The frame
  // keeps a secret (verifier) and passes only its SHA-256 (handoff); once
  // signed in, the popup (same origin) pings the frame, which takes the
  // session with its secret: the session cookie is then set in this frame,
  // partitioned under the embedding page's site when third-party cookies
  // are blocked. Without a ping (an opener severed on the way) the frame
  // polls. Then the widget re-reads its session (its hidden
  // data-parcours-session-changed button), or the document reloads.
  var signin = null;
  function b64url(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function endSignIn(ok) {
    if (!signin) return;
    clearInterval(signin.timer);
    signin = null;
    if (!ok) return;
    // The widget's hidden button re-reads the session: handled by the Wasm
    // when it runs, else a form post the host answers; a widget without a
    // form and without its Wasm reloads instead.
    // A form post under way would swallow the click (one post at a time)
    // and answer with what it saw before the sign-in: the click waits for
    // its answer.
    if (inflight || saving) {
      signedIn = sessionChanged;
      return;
    }
    sessionChanged();
  }
  function sessionChanged() {
    var btn = document.querySelector('[data-parcours-session-changed]');
    if (btn && (running() || btn.form)) btn.click(); else location.reload();
  }
  function redeem() {
    var s = signin;
    if (!s || s.busy) return;
    if (Date.now() > s.until) return endSignIn(false);
    s.busy = true;
    fetch('/api/v1/session/handoff', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ verifier: s.verifier })
    }).then(function (res) {
      s.busy = false;
      if (signin !== s) return;
      if (res.status === 204) endSignIn(true);
      else if (res.status !== 404) endSignIn(false);
    }, function () { s.busy = false; });
  }
  window.addEventListener('message', function (ev) {
    if (signin && ev.origin === location.origin && ev.source === signin.popup &&
        ev.data && ev.data.parcours === 1 && ev.data.type === 'signed-in') redeem();
  });
  window.addEventListener('focus', function () { if (signin) redeem(); });
  document.addEventListener('click', function (ev) {
    var a = ev.target && ev.target.closest && ev.target.closest('a[data-parcours-signin]');
    if (!a || !window.crypto || !crypto.subtle || !window.TextEncoder) return; // a new tab, then
    ev.preventDefault();
    var raw = new Uint8Array(32);
    crypto.getRandomValues(raw);
    var verifier = b64url(raw);
    // Opened now, while the click's user activation holds; addressed once
    // the digest is ready.
    var popup = window.open('', 'parcours-signin', 'popup,width=520,height=720');
    crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)).then(function (d) {
      var url = a.href + (a.href.indexOf('?') < 0 ? '?' : '&') + 'handoff=' + b64url(new Uint8Array(d));
      if (popup) popup.location.href = url;
      else popup = window.open(url, '_blank');
      if (signin) clearInterval(signin.timer);
      signin = { verifier: verifier, popup: popup, until: Date.now() + 10 * 60 * 1000, busy: false };
      signin.timer = setInterval(redeem, 3000);
    });
  }, true);

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
  // What the patient typed or chose in the server's form before the Wasm
  // ran: the Wasm's first render sets each control from the widget's model
  // (which knows only what the host was posted), so these are put back and
  // announced to it as the patient's own input and change events.
  function touched() {
    var out = [], scope = document.getElementById('parcours-root');
    if (!scope) return out;
    [].forEach.call(scope.querySelectorAll('input, textarea, select'), function (el) {
      var t = (el.type || '').toLowerCase();
      if (t === 'radio') {
        if (el.checked && !el.defaultChecked) out.push({ el: el, checked: true });
      } else if (t === 'checkbox') {
        if (el.checked !== el.defaultChecked) out.push({ el: el, checked: el.checked });
      } else if (t === 'file') {
        if (el.files && el.files.length) out.push({ el: el, files: true }); // kept by the same node
      } else if (el.tagName === 'SELECT') {
        if ([].some.call(el.options, function (o) { return o.selected !== o.defaultSelected; })) out.push({ el: el, value: el.value });
      } else if (t !== 'file' && t !== 'hidden' && el.value !== el.defaultValue) {
        out.push({ el: el, value: el.value });
      }
    });
    return out;
  }
  function restore(list) {
    list.forEach(function (c) {
      if (!c.el.isConnected || c.el.disabled) return; // not on the Wasm's screen
      if (c.files) {
        // Files chosen before the Wasm ran: the widget reads them on change.
        if (c.el.files && c.el.files.length) c.el.dispatchEvent(new Event('change', { bubbles: true }));
        return;
      }
      if ('checked' in c) {
        if (c.el.checked === c.checked) return;
        c.el.checked = c.checked;
      } else {
        if (c.el.value === c.value) return;
        c.el.value = c.value;
        if (c.el.value !== c.value) return; // no longer one of its options
        c.el.dispatchEvent(new Event('input', { bubbles: true }));
      }
      c.el.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }
  // Once the Wasm's first render is done (it marks parcours:interactive):
  // usually before go.run returns, else when the mark comes.
  function whenInteractive(f) {
    var name = 'parcours:interactive';
    if (!performance.getEntriesByName) return;
    if (performance.getEntriesByName(name).length) return f();
    if (!window.PerformanceObserver) return;
    var obs = new PerformanceObserver(function (l) {
      if (l.getEntriesByName(name).length) { obs.disconnect(); f(); }
    });
    obs.observe({ entryTypes: ['mark'] });
  }

  // The Wasm is fetched and compiled in a worker (compile.js), once the
  // widget has painted: on this thread, its body (6.8 MB decoded), handed
  // over at once by a warm cache, and its compilation held the main thread
  // for over a second on a phone (measured in issue 8), holding back the
  // first paint (when preloaded from the head) and the first click. Nothing
  // is lost meanwhile: the buttons post the form (above).
  function begin() {
    if (!begin) return;
    begin = null;
    var go = new Go();
    compile().then(function (module) {
      return WebAssembly.instantiate(module, go.importObject);
    }).then(function (instance) {
      if (performance.mark) performance.mark('parcours:wasm-instantiated');
      return new Promise(function (resolve) {
        start = function () {
          start = null;
          refused('');
          root.setAttribute('data-wasm', 'running');
          var before = touched();
          resolve(go.run(instance));
          if (before.length) whenInteractive(function () { restore(before); });
        };
        if (!inflight && !saving) start();
      });
    }).catch(failed);
  }
  // compile resolves with the compiled module: from the worker
  // (compile.js), so that neither the body nor the compilation holds this
  // thread, else here. The worker that sent the module is kept for the
  // page's life (idle, it costs no CPU): V8 compiles a Wasm function on
  // this thread the first time it runs (1,400 functions, 1.1 MB of code
  // in the booking widget's start, every visit), and only Chromium's Wasm
  // code cache spares a later visit that; the cache is written later,
  // once the hot functions are optimised, through the context that
  // compiled the module, and a terminated worker drops it (measured in
  // issue 8; docs/RATIONALE.md).
  var kept = null;
  function compile() {
    var here = function () {
      return WebAssembly.compileStreaming
        ? WebAssembly.compileStreaming(fetch(wasm))
        : fetch(wasm).then(function (r) { return r.arrayBuffer(); }).then(function (b) { return WebAssembly.compile(b); });
    };
    var compiler = self && self.getAttribute('data-compiler');
    if (!compiler || !window.Worker) return here();
    return new Promise(function (resolve, reject) {
      var worker;
      try {
        worker = new Worker(compiler);
      } catch (e) {
        return resolve(here()); // refused (a CSP): here
      }
      worker.onmessage = function (ev) {
        var d = ev.data;
        if (d && d.module instanceof WebAssembly.Module) {
          worker.onmessage = worker.onerror = worker.onmessageerror = null;
          kept = worker;
          return resolve(d.module);
        }
        worker.terminate();
        if (window.console) console.warn('parcours: compiling the Wasm here:', d && d.error);
        resolve(here());
      };
      // The worker did not load or run, or its module could not be
      // received: here, as without it.
      worker.onerror = worker.onmessageerror = function (e) {
        if (e && e.preventDefault) e.preventDefault();
        worker.terminate();
        resolve(here());
      };
      worker.postMessage({ wasm: wasm });
    });
  }
  var painted = function () { return performance.getEntriesByName && performance.getEntriesByName('first-contentful-paint').length > 0; };
  if (painted() || !window.PerformanceObserver) {
    begin();
  } else {
    try {
      new PerformanceObserver(function (list, obs) {
        obs.disconnect();
        setTimeout(function () { if (begin) begin(); }, 0);
      }).observe({ type: 'paint', buffered: true });
    } catch (e) { /* paint entries unsupported: the timer below */ }
    // A frame that does not paint (hidden, or off-screen and throttled)
    // still starts its Wasm.
    setTimeout(function () { if (begin) begin(); }, 3000);
  }
})();
