/*! Parcours sign-in popup: tells the widget's frame that opened it (same
 * origin only) that the sign-in is complete, then closes. The frame then
 * redeems the session with its own secret; nothing secret travels here. */
(function () {
  'use strict';
  try {
    if (window.opener && !window.opener.closed) {
      window.opener.postMessage({ parcours: 1, type: 'signed-in' }, location.origin);
      setTimeout(function () { window.close(); }, 300);
    }
  } catch (e) { /* opener severed: the frame polls */ }
})();
