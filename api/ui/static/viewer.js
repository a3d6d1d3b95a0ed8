// AutoForge Nexus viewer: live run progress over the run's WebSocket stream, and keyboard
// moves through the case list (j/k or arrows, Enter opens, / searches). No inline scripts.
(function () {
  "use strict";

  function followRun(live) {
    if (live.dataset.terminal === "true") return;
    var runId = live.dataset.run;
    var total = parseInt(live.dataset.total, 10) || 0;
    var bar = document.getElementById("run-progress");
    var text = document.getElementById("run-done");
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/v1/streams/runs/" + encodeURIComponent(runId) + "/events");
    var reloading = false;
    function reload() {
      if (reloading) return;
      reloading = true;
      setTimeout(function () { location.reload(); }, 300);
    }
    socket.onmessage = function (message) {
      var event = JSON.parse(message.data).data || {};
      if (event.total) total = parseInt(event.total, 10) || total;
      if (event.done !== undefined && total) {
        var done = parseInt(event.done, 10) || 0;
        var percent = Math.min(100, Math.round((100 * done) / total));
        bar.value = percent;
        text.textContent = done + "/" + total + " cells (" + percent + "%)";
      }
      if (event.final) { socket.close(); reload(); }
    };
    socket.onerror = function () { setTimeout(reload, 2000); };
  }

  function caseKeys() {
    var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("tr.case-row")); };
    var at = -1;
    document.addEventListener("htmx:afterSwap", function () { at = -1; });
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
      var all = rows();
      if (e.key === "/") {
        var search = document.getElementById("case-q") || document.getElementById("q");
        if (search) { e.preventDefault(); search.focus(); }
        return;
      }
      if (!all.length) return;
      if (e.key === "j" || e.key === "ArrowDown" || e.key === "k" || e.key === "ArrowUp") {
        if (e.key.indexOf("Arrow") === 0 && !all.some(function (r) { return r.classList.contains("focused"); }) && at < 0 && e.key === "ArrowUp") return;
        e.preventDefault();
        at = Math.max(0, Math.min(all.length - 1, at + (e.key === "j" || e.key === "ArrowDown" ? 1 : -1)));
        all.forEach(function (r) { r.classList.remove("focused"); });
        all[at].classList.add("focused");
        var link = all[at].querySelector("a.case-link");
        if (link) link.focus();
      }
    });
  }

  function reviewKeys() {
    // On a case: [ and ] walk the filtered cases, 1 / 2 mark the first cell pass / fail and
    // move to its Save button (Enter saves).
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" && e.target.type !== "radio") return;
      if (tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
      var link = { "[": "prev-case", "]": "next-case" }[e.key];
      if (link) {
        var target = document.getElementById(link);
        if (target) { e.preventDefault(); target.click(); }
        return;
      }
      var verdict = { "1": "pass", "2": "fail" }[e.key];
      var form = document.querySelector("details.annotate[open] form");
      if (!verdict || !form) return;
      e.preventDefault();
      form.querySelector('input[name="verdict"][value="' + verdict + '"]').checked = true;
      form.querySelector('button[type="submit"]').focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) followRun(live);
    if (document.querySelector("article.cell")) reviewKeys(); else caseKeys();
  });
})();
