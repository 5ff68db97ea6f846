// Polls the ticket as the server asks (poll_after_s) and updates the page.
// The status region is aria-live="polite", so screen readers announce
// changes without interrupting. Without this script the page still works.
(function () {
  "use strict";
  var main = document.getElementById("waitroom");
  if (!main || !main.dataset.ticket) { return; }
  var ticket = main.dataset.ticket;
  var region = document.getElementById("status");
  var lastStatus = null;

  function minutes(s) {
    if (s < 60) { return "less than a minute"; }
    if (s < 120) { return "about a minute"; }
    return "about " + Math.ceil(s / 60) + " minutes";
  }

  function render(t) {
    var pos = region.querySelector("[data-field=position]");
    var wait = region.querySelector("[data-field=wait]");
    var updated = region.querySelector("[data-field=updated]");
    if (t.status !== lastStatus && lastStatus !== null) {
      window.location.reload();
      return;
    }
    lastStatus = t.status;
    if (pos && t.position) { pos.textContent = String(t.position); }
    if (wait) { wait.textContent = minutes(t.estimated_wait_s); }
    if (updated) { updated.textContent = new Date().toLocaleTimeString(); }
  }

  function poll(after) {
    window.setTimeout(function () {
      fetch("/v1/waiting-room/tickets/" + encodeURIComponent(ticket), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (t) {
          if (!t) { poll(30); return; }
          render(t);
          poll(t.poll_after_s || 5);
        })
        .catch(function () { poll(30); });
    }, Math.max(1, after) * 1000);
  }

  lastStatus = null;
  fetch("/v1/waiting-room/tickets/" + encodeURIComponent(ticket), {credentials: "same-origin"})
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (t) { if (t) { lastStatus = t.status; poll(t.poll_after_s || 5); } })
    .catch(function () { poll(30); });
})();
