/*! Parcours loader: embeds Parcours patient-portal widgets in any page.
 * <script src="https://HOST/parcours.js" integrity="sha384-…" crossorigin="anonymous" async></script>
 * <parcours-booking establishment="chu-exemple" service="maternite" lang="fr"></parcours-booking>
 * <parcours-questionnaire establishment="chu-exemple" questionnaire="maternite-inscription"></parcours-questionnaire>
 * <parcours-messages establishment="chu-exemple" service="maternite"></parcours-messages>
 * <parcours-inbox establishment="chu-exemple"></parcours-inbox>
 * <parcours-documents establishment="chu-exemple"></parcours-documents>
 * <parcours-access establishment="chu-exemple"></parcours-access>
 * Each widget renders in an iframe on the Parcours host's origin, so the page's
 * own scripts never see health data. Events carry only non-health data. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !window.customElements || !window.URL) return;
  var HOST = new URL(script.src).origin;
  var PAGE = window.location.origin;

  var WIDGETS = {
    'parcours-booking': {
      path: '/w/booking',
      attrs: ['establishment', 'service', 'practitioner'],
      title: { fr: 'Prise de rendez-vous', en: 'Appointment booking' },
      events: ['parcours:booked', 'parcours:cancelled']
    },
    'parcours-questionnaire': {
      path: '/w/questionnaire',
      attrs: ['establishment', 'questionnaire'],
      title: { fr: 'Questionnaire', en: 'Questionnaire' },
      // The result page may lead to booking, in the same frame.
      events: ['parcours:submitted', 'parcours:booked', 'parcours:cancelled']
    },
    'parcours-messages': {
      path: '/w/messages',
      attrs: ['establishment', 'service'],
      title: { fr: 'Messagerie avec l\u2019\u00e9quipe soignante', en: 'Messages with your care team' },
      events: ['parcours:message-sent']
    },
    'parcours-inbox': {
      path: '/w/inbox',
      attrs: ['establishment'],
      title: { fr: 'Messages des patients', en: 'Patient messages' },
      events: ['parcours:message-sent']
    },
    'parcours-documents': {
      path: '/w/documents',
      attrs: ['establishment'],
      title: { fr: 'Documents et r\u00e9sultats', en: 'Documents and results' },
      events: ['parcours:document-uploaded', 'parcours:document-released']
    },
    'parcours-access': {
      path: '/w/access',
      attrs: ['establishment'],
      title: { fr: 'Acc\u00e8s \u00e0 mon dossier', en: 'Access to my record' },
      events: ['parcours:access-granted', 'parcours:access-revoked']
    }
  };
  // The detail of each event: its keys, all strings, never health data.
  var DETAIL = {
    'parcours:booked': ['appointment', 'start'],
    'parcours:cancelled': ['appointment', 'start'],
    'parcours:submitted': ['questionnaire', 'response'],
    'parcours:message-sent': ['thread', 'message'],
    'parcours:document-uploaded': ['document'],
    'parcours:document-released': ['document'],
    'parcours:access-granted': ['grant'],
    'parcours:access-revoked': ['grant']
  };
  // Theme custom properties read on the element and passed to the frame.
  var THEME = ['primary', 'on-primary', 'background', 'surface', 'text', 'error', 'font', 'radius'];

  var frames = []; // [{frame, element}]

  function elementFor(source) {
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].frame.contentWindow === source) return frames[i].element;
    }
    return null;
  }

  window.addEventListener('message', function (ev) {
    if (ev.origin !== HOST) return;
    var el = elementFor(ev.source);
    if (!el) return;
    var d = ev.data;
    if (!d || typeof d !== 'object' || d.parcours !== 1) return;
    if (d.type === 'resize') {
      if (typeof d.height === 'number' && isFinite(d.height) && d.height >= 0 && d.height <= 20000) {
        el._parcoursFrame.style.height = Math.ceil(d.height) + 'px';
      }
      return;
    }
    if (d.type === 'event') {
      var spec = WIDGETS[el.localName];
      var detail = d.detail;
      if (!spec || spec.events.indexOf(d.name) < 0 || !detail || typeof detail !== 'object') return;
      // Each event once: an adopted frame sends again, on hello, those
      // it sent before (unheard, or heard as the adoption ran).
      if (typeof d.id === 'string') {
        var seen = el._parcoursSeen || (el._parcoursSeen = {});
        if (seen[d.id]) return;
        seen[d.id] = true;
      }
      var out = {};
      var keys = DETAIL[d.name];
      for (var i = 0; i < keys.length; i++) {
        if (typeof detail[keys[i]] !== 'string') return;
        out[keys[i]] = detail[keys[i]].slice(0, 128);
      }
      el.dispatchEvent(new CustomEvent(d.name, { bubbles: true, composed: true, detail: out }));
    }
  });

  function lang(el) {
    var l = el.getAttribute('lang') || document.documentElement.getAttribute('lang') || 'fr';
    return l.slice(0, 2).toLowerCase() === 'en' ? 'en' : 'fr';
  }

  function source(el, spec) {
    var u = new URL(spec.path, HOST);
    spec.attrs.forEach(function (a) {
      var v = el.getAttribute(a);
      if (v) u.searchParams.set(a, v);
    });
    u.searchParams.set('lang', lang(el));
    u.searchParams.set('parent', PAGE);
    var style = window.getComputedStyle(el);
    THEME.forEach(function (t) {
      var v = style.getPropertyValue('--parcours-' + t).trim();
      if (v) u.searchParams.set('theme-' + t, v.slice(0, 100));
    });
    return u.toString();
  }

  // sameSource: the same widget document, parameters in any order.
  function sameSource(a, b) {
    try {
      var x = new URL(a), y = new URL(b);
      if (x.origin !== y.origin || x.pathname !== y.pathname) return false;
      var px = Array.from(x.searchParams.entries()).map(JSON.stringify).sort();
      var py = Array.from(y.searchParams.entries()).map(JSON.stringify).sort();
      return px.join() === py.join();
    } catch (e) {
      return false;
    }
  }

  // parsed: whether the parser is done with el's markup (its declarative
  // shadow root and frame included): the document is parsed, or a node
  // follows el (the parser adds nodes in order).
  function parsed(el) {
    if (document.readyState !== 'loading') return true;
    for (var n = el; n; n = n.parentNode) if (n.nextSibling) return true;
    return false;
  }

  // styled calls f once the page's stylesheets have loaded (at the latest
  // on the window's load): the theme is read from the element's computed
  // style, which lacks the rules of a stylesheet still loading, and an
  // async loader may run before the page's CSS has arrived.
  function styled(f) {
    var links = document.readyState === 'complete' ? [] : Array.prototype.filter.call(
      document.querySelectorAll('link[rel~="stylesheet" i]'), function (l) { return !l.sheet && !l.disabled; });
    if (!links.length) return f();
    var left = links.length, done = false;
    var fin = function () {
      if (done) return;
      done = true;
      window.removeEventListener('load', fin);
      links.forEach(function (l) { l.removeEventListener('load', one); l.removeEventListener('error', one); });
      f();
    };
    var one = function () { if (--left === 0) fin(); };
    links.forEach(function (l) { l.addEventListener('load', one); l.addEventListener('error', one); });
    window.addEventListener('load', fin); // a sheet that failed before this ran
  }

  // display makes an element the page left inline a block. Styles go
  // through the CSSOM only: a page CSP without 'unsafe-inline' allows them
  // (an inline <style> would be blocked).
  function display(el) {
    if (getComputedStyle(el).display === 'inline') el.style.display = 'block';
  }

  // place gives el its frame: the markup's (adopted), or a new one (frame
  // null, the page's stylesheets in).
  function place(el, spec, root, frame) {
    var adopted = !!frame;
    if (!adopted) {
      frame = document.createElement('iframe');
      display(el);
    }
    var fs = frame.style;
    fs.display = 'block';
    fs.width = '100%';
    if (!adopted) fs.height = '30rem';
    fs.border = '0';
    frame.setAttribute('title', spec.title[lang(el)]);
    frame.setAttribute('referrerpolicy', 'strict-origin');
    frame.setAttribute('allow', '');
    if (!adopted) frame.src = source(el, spec);
    Array.prototype.slice.call(root.childNodes).forEach(function (c) {
      if (c !== frame) root.removeChild(c);
    });
    if (!adopted) root.appendChild(frame);
    el._parcoursFrame = frame;
    frames.push({ frame: frame, element: el });
    if (adopted) {
      // An adopted frame may have reported its size before this script
      // listened: it is asked again.
      try { frame.contentWindow.postMessage({ parcours: 1, type: 'hello' }, HOST); } catch (e) { /* not loaded yet: it reports on load */ }
      correct(el, spec);
    }
  }

  // correct sets el's frame's address again (a reload) if it is not the
  // one the element's attributes, the page and its theme make, once the
  // page's stylesheets are in: before, a frame with the page's theme would
  // be reloaded without it.
  function correct(el, spec) {
    styled(function () {
      var frame = el._parcoursFrame;
      if (!frame || !el.isConnected) return;
      display(el);
      var src = source(el, spec);
      if (!sameSource(frame.src, src)) frame.src = src;
    });
  }

  function define(name, spec) {
    if (customElements.get(name)) return;
    customElements.define(name, class extends HTMLElement {
      static get observedAttributes() { return spec.attrs.concat(['lang']); }
      connectedCallback() {
        if (this._parcoursFrame || this._parcoursWait) return;
        // Defined before the parser is done with the element (a cached
        // loader, a blocking script tag), it waits for the rest of its
        // markup, which may hold its frame, rather than make a second one.
        var el = this;
        if (!parsed(el)) {
          var wait = function () {
            if (!parsed(el)) return;
            parsing.disconnect();
            document.removeEventListener('DOMContentLoaded', wait);
            el._parcoursWait = false;
            if (el.isConnected) el.connectedCallback();
          };
          var parsing = new MutationObserver(wait);
          parsing.observe(document, { childList: true, subtree: true });
          document.addEventListener('DOMContentLoaded', wait);
          el._parcoursWait = true;
          return;
        }
        // The snippet may carry the frame in a declarative shadow root
        // (<template shadowrootmode="open"><iframe …>): the browser requests
        // the widget while it parses the page, before this script runs. That
        // frame is adopted; its address is set again (a reload) only if it
        // is not the one the element's attributes and the page make.
        var root = this.shadowRoot;
        var frame = root && root.querySelector('iframe');
        // The shadow root isolates the page's CSS; the cross-origin frame is
        // what isolates the data.
        if (!root) root = this.attachShadow({ mode: 'open' });
        if (frame) return place(el, spec, root, frame);
        // A new frame's address carries the page's theme: it is made once
        // the page's stylesheets are in.
        el._parcoursWait = true;
        styled(function () {
          el._parcoursWait = false;
          if (el.isConnected && !el._parcoursFrame) place(el, spec, root, null);
        });
      }
      disconnectedCallback() {
        var el = this;
        frames = frames.filter(function (f) { return f.element !== el; });
      }
      attributeChangedCallback() {
        var frame = this._parcoursFrame;
        if (!frame) return;
        frame.setAttribute('title', spec.title[lang(this)]);
        correct(this, spec);
      }
    });
  }

  Object.keys(WIDGETS).forEach(function (name) { define(name, WIDGETS[name]); });
})();
