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

  function define(name, spec) {
    if (customElements.get(name)) return;
    customElements.define(name, class extends HTMLElement {
      static get observedAttributes() { return spec.attrs.concat(['lang']); }
      connectedCallback() {
        if (this._parcoursFrame) return;
        // The shadow root isolates the page's CSS; the cross-origin frame is
        // what isolates the data.
        var root = this.attachShadow({ mode: 'open' });
        // Styles through the CSSOM only: a page CSP without 'unsafe-inline'
        // allows them (an inline <style> would be blocked).
        if (getComputedStyle(this).display === 'inline') this.style.display = 'block';
        var frame = document.createElement('iframe');
        var fs = frame.style;
        fs.display = 'block';
        fs.width = '100%';
        fs.height = '30rem';
        fs.border = '0';
        frame.setAttribute('title', spec.title[lang(this)]);
        frame.setAttribute('referrerpolicy', 'strict-origin');
        frame.setAttribute('allow', '');
        frame.src = source(this, spec);
        root.appendChild(frame);
        this._parcoursFrame = frame;
        frames.push({ frame: frame, element: this });
      }
      disconnectedCallback() {
        var el = this;
        frames = frames.filter(function (f) { return f.element !== el; });
      }
      attributeChangedCallback() {
        var frame = this._parcoursFrame;
        if (!frame) return;
        frame.setAttribute('title', spec.title[lang(this)]);
        var src = source(this, spec);
        if (frame.src !== src) frame.src = src;
      }
    });
  }

  Object.keys(WIDGETS).forEach(function (name) { define(name, WIDGETS[name]); });
})();
