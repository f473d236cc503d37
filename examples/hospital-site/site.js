// The demo page listens to the widget's events, as a hospital's analytics
// or page logic would. They carry ids and times only.
document.addEventListener('DOMContentLoaded', function () {
  var log = document.getElementById('event-log');
  ['parcours:booked', 'parcours:cancelled', 'parcours:submitted', 'parcours:message-sent', 'parcours:document-uploaded', 'parcours:document-released', 'parcours:access-granted', 'parcours:access-revoked'].forEach(function (name) {
    document.addEventListener(name, function (ev) {
      var li = document.createElement('li');
      li.className = 'event';
      li.setAttribute('data-event', name);
      li.textContent = name + ' ' + JSON.stringify(ev.detail);
      log.appendChild(li);
    });
  });
});
