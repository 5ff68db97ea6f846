// vaxbook page enhancements. Every page works without this file; it only
// makes waiting and repeated clicks nicer.
(function () {
  "use strict";

  // A form marked data-submit-once disables its buttons after the first
  // submit; the server's idempotency key still guards a second one.
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) {
          b.disabled = true;
          b.setAttribute("aria-disabled", "true");
        });
      }, 0);
    });
  });

  // data-countdown="UNIX_SECONDS" shows the minutes and seconds left; the
  // server-rendered end time beside it stays the reference.
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var end = parseInt(el.getAttribute("data-countdown"), 10) * 1000;
    var template = el.getAttribute("data-template") || "{m}:{s}";
    function tick() {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var s = String(left % 60).padStart(2, "0");
      el.textContent = template.replace("{m}", String(Math.floor(left / 60))).replace("{s}", s);
      if (left > 0) window.setTimeout(tick, 1000);
    }
    el.hidden = false;
    tick();
  });

  // data-refresh="URL" replaces the element's content with the fragment at
  // URL every few seconds (the staff dashboard's charts).
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    var url = el.getAttribute("data-refresh");
    var every = parseInt(el.getAttribute("data-refresh-seconds") || "3", 10) * 1000;
    function load() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { el.innerHTML = html; el.setAttribute("data-refreshed", String(Date.now())); })
        .catch(function () {})
        .finally(function () { window.setTimeout(load, every); });
    }
    window.setTimeout(load, every);
  });
})();
