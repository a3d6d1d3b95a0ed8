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

  // The case list is virtual: the table holds a window of rows between two spacer rows
  // sized to the rows above and below it (every row has the same height, set in CSS), and
  // scrolling asks the server for the window in view (`/rows?start=&count=`).
  var list = null;

  function VirtualList(table) {
    this.table = table;
    this.tbody = table.tBodies[0];
    this.total = parseInt(table.dataset.total, 10) || 0;
    this.src = table.dataset.src;
    this.top = this.tbody.querySelector("tr.pad-top > td");
    this.bottom = this.tbody.querySelector("tr.pad-bottom > td");
    var rows = this.rows();
    this.start = parseInt(table.dataset.start, 10) || 0;
    this.count = rows.length;
    this.rowH = rows.length ? rows[0].getBoundingClientRect().height : 97;
    this.seq = 0;
    this.loading = null;
    this.at = -1;
    this.wanted = -1;
    this.pads();
    if (this.start > 0) window.scrollTo(0, this.rowTop(this.start) - this.headH());
  }

  VirtualList.prototype.rows = function () {
    return Array.prototype.slice.call(this.tbody.querySelectorAll("tr.case-row"));
  };
  VirtualList.prototype.headH = function () {
    return this.table.tHead ? this.table.tHead.getBoundingClientRect().height : 0;
  };
  VirtualList.prototype.rowTop = function (index) {
    return window.scrollY + this.tbody.getBoundingClientRect().top + index * this.rowH;
  };
  VirtualList.prototype.pads = function () {
    this.top.style.height = this.start * this.rowH + "px";
    this.bottom.style.height = Math.max(0, this.total - this.start - this.count) * this.rowH + "px";
  };
  VirtualList.prototype.inView = function () {
    var offset = this.headH() - this.tbody.getBoundingClientRect().top;
    var first = Math.max(0, Math.min(this.total - 1, Math.floor(offset / this.rowH)));
    return [first, Math.ceil(window.innerHeight / this.rowH) + 1];
  };
  VirtualList.prototype.update = function () {
    if (!this.total) return;
    var view = this.inView(), first = view[0], n = view[1];
    var from = Math.max(0, first - 4), to = Math.min(this.total, first + n + 4);
    if (from >= this.start && to <= this.start + this.count) { this.focusWanted(); return; }
    this.load(Math.max(0, first - 20), n + 40);
  };
  VirtualList.prototype.load = function (start, count) {
    var key = start + ":" + count;
    if (this.loading === key) return;
    this.loading = key;
    var seq = ++this.seq, self = this;
    var url = this.src + (this.src.indexOf("?") < 0 ? "?" : "&") + "start=" + start + "&count=" + Math.min(200, count);
    fetch(url, { headers: { "HX-Request": "true", Accept: "text/html" }, credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) throw new Error("rows " + answer.status);
        return answer.text().then(function (html) { return [answer.headers.get("X-Case-Start"), html]; });
      })
      .then(function (got) {
        if (seq !== self.seq || list !== self) return;
        self.loading = null;
        self.replace(parseInt(got[0], 10) || 0, got[1]);
        self.update();
      })
      .catch(function () { self.loading = null; });
  };
  VirtualList.prototype.replace = function (start, html) {
    var hadFocus = this.table.contains(document.activeElement);
    var holder = document.createElement("template");
    holder.innerHTML = html;
    this.rows().forEach(function (row) { row.remove(); });
    var fresh = holder.content.querySelectorAll("tr.case-row");
    var before = this.bottom.parentNode;
    for (var i = 0; i < fresh.length; i++) this.tbody.insertBefore(fresh[i], before);
    this.start = start;
    this.count = fresh.length;
    this.pads();
    if (hadFocus && this.wanted < 0 && this.at >= 0) this.wanted = this.at;
    this.focusWanted();
  };
  VirtualList.prototype.row = function (index) {
    return this.tbody.querySelector('tr.case-row[data-index="' + index + '"]');
  };
  VirtualList.prototype.focusWanted = function () {
    if (this.wanted < 0) return;
    var row = this.row(this.wanted);
    if (!row) return;
    this.wanted = -1;
    this.rows().forEach(function (r) { r.classList.remove("focused"); });
    row.classList.add("focused");
    var link = row.querySelector("a.case-link");
    if (link) link.focus({ preventScroll: true });
  };
  VirtualList.prototype.go = function (index) {
    if (!this.total) return;
    this.at = Math.max(0, Math.min(this.total - 1, index));
    var top = this.rowTop(this.at), head = this.headH();
    if (top < window.scrollY + head) window.scrollTo(0, Math.max(0, top - head));
    else if (top + this.rowH > window.scrollY + window.innerHeight) {
      window.scrollTo(0, top + this.rowH - window.innerHeight);
    }
    this.wanted = this.at;
    this.update();
  };

  function startList() {
    var table = document.getElementById("case-table");
    list = table && table.dataset.total !== undefined ? new VirtualList(table) : null;
    if (list) list.update();
  }

  function caseKeys() {
    startList();
    document.addEventListener("htmx:afterSettle", startList);
    var scheduled = false;
    function onScroll() {
      if (scheduled || !list) return;
      scheduled = true;
      requestAnimationFrame(function () { scheduled = false; if (list) list.update(); });
    }
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("resize", onScroll);
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "/") {
        var search = document.getElementById("case-q") || document.getElementById("q");
        if (search) { e.preventDefault(); search.focus(); }
        return;
      }
      if (!list || !list.total) return;
      var inList = list.table.contains(document.activeElement);
      var moves = { j: 1, k: -1, ArrowDown: inList ? 1 : 0, ArrowUp: inList ? -1 : 0 };
      if (moves[e.key]) {
        e.preventDefault();
        list.go(list.at < 0 ? (moves[e.key] > 0 ? list.inView()[0] : 0) : list.at + moves[e.key]);
      } else if (e.key === "Home" || e.key === "End") {
        e.preventDefault();
        list.go(e.key === "Home" ? 0 : list.total - 1);
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

  function queueKeys(form) {
    // Queue work: 1/2 (pairwise 1/2/3) pick the answer, s/c/m focus score, correction and
    // comment, Enter submits (Ctrl+Enter from a text box), x skips, Escape leaves a field.
    var pairwise = form.dataset.kind === "pairwise";
    var picks = pairwise ? { "1": "choice-left", "2": "choice-right", "3": "choice-tie" }
                         : { "1": "verdict-pass", "2": "verdict-fail" };
    var fields = { s: "answer-score", c: "answer-correction", m: "answer-comment" };
    var submit = function () { if (form.requestSubmit) form.requestSubmit(); else form.submit(); };
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      var typing = tag === "textarea" || (tag === "input" && e.target.type !== "radio");
      if (typing) {
        if (e.key === "Escape") { e.target.blur(); e.preventDefault(); }
        else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); }
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (picks[e.key]) {
        var radio = document.getElementById(picks[e.key]);
        if (radio) { e.preventDefault(); radio.checked = true; radio.focus(); }
      } else if (fields[e.key] && document.getElementById(fields[e.key])) {
        e.preventDefault();
        document.getElementById(fields[e.key]).focus();
      } else if (e.key === "x") {
        var skip = document.getElementById("queue-skip");
        if (skip) { e.preventDefault(); skip.requestSubmit ? skip.requestSubmit() : skip.submit(); }
      } else if (e.key === "Enter" && tag !== "button" && tag !== "a") {
        e.preventDefault();
        submit();
      }
    });
  }

  function startKeys(button) {
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "n") { e.preventDefault(); button.click(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) followRun(live);
    var answer = document.getElementById("queue-answer");
    var start = document.getElementById("start-work");
    if (answer) queueKeys(answer);
    else if (start) startKeys(start);
    else if (document.querySelector("article.cell")) reviewKeys();
    else caseKeys();
  });
})();
