"""The console's style sheet and its one script (served from /static/, no inline code,
so the Content-Security-Policy can forbid every inline script)."""

from __future__ import annotations

CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,sans-serif;background:#f4f5f7;color:#1b1f24}
main{max-width:52rem;margin:0 auto;padding:0.75rem}
h1{font-size:1.4rem;margin:0.3rem 0 0.6rem}h2{font-size:1.1rem;margin:1rem 0 0.4rem}
nav{display:flex;flex-wrap:wrap;gap:0.25rem;background:#1b2a3a;padding:0.4rem}
nav a{color:#fff;text-decoration:none;padding:0.55rem 0.8rem;border-radius:6px}
nav a:hover{background:#2d4259}nav form{margin-left:auto}
label{display:block;margin:0.45rem 0;font-weight:600}
input,select,textarea{display:block;width:100%;font:inherit;padding:0.55rem;margin-top:0.2rem;
 border:1px solid #9aa4ae;border-radius:6px;background:#fff}
button,.button{font:inherit;font-weight:600;padding:0.6rem 1rem;border:0;border-radius:6px;
 background:#1f6feb;color:#fff;cursor:pointer;text-decoration:none;display:inline-block;
 margin-top:0.5rem}
button.quiet{background:#3d5570}button.warn{background:#b42318}
.card{background:#fff;padding:0.8rem;border-radius:8px;box-shadow:0 1px 2px #0002}
.inline{display:inline}
.ok{background:#dcfce7;padding:0.5rem;border-radius:6px}
.error{background:#fee2e2;padding:0.5rem;border-radius:6px}
.bar span{display:inline-block;padding:0.2rem 0.55rem;border-radius:99px;background:#e3e8ee;
 margin:0 0.2rem 0.3rem 0}
.mode-lockdown,.mode-release{background:#b42318!important;color:#fff}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:0.45rem;border-bottom:1px solid #e3e8ee}
.alarm{background:#fff1f0;border-left:6px solid #b42318;padding:0.5rem;margin:0.4rem 0;
 border-radius:6px}
.alarm.held,.alarm.tamper{border-color:#c2410c}.alarm p{margin:0 0 0.3rem}
.pending{background:#fff8e1;padding:0.5rem;border-radius:6px}
.feed{list-style:none;padding:0;margin:0;background:#fff;border-radius:8px}
.feed li{padding:0.4rem 0.6rem;border-bottom:1px solid #eef1f4}
.feed li.denial{color:#9a3412}.feed li.alarm{color:#b42318;font-weight:600}
.feed li.visitor{color:#1d4ed8}.feed time,.story time{color:#5b6570;margin-right:0.3rem}
.none{color:#5b6570}.closed{color:#5b6570}
"""

JS = """
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var shown = document.getElementById("live-state");
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function alarmForm(a) {
    var form = el("form", {method: "post", action: "/alarms/ack", "class": "alarm " + a.kind,
                           "data-seq": String(a.seq)});
    var p = el("p");
    p.appendChild(el("b", {}, a.kind.toUpperCase()));
    p.appendChild(document.createTextNode(" " + a.time + " " + a.text));
    form.appendChild(p);
    form.appendChild(el("input", {type: "hidden", name: "csrf", value: csrf}));
    form.appendChild(el("input", {type: "hidden", name: "alarm_seq", value: String(a.seq)}));
    form.appendChild(el("input", {name: "note", required: "", maxlength: "500",
                                  placeholder: "what you found / did"}));
    form.appendChild(el("button", {}, "Acknowledge"));
    return form;
  }
  function showAlarms(alarms) {
    var box = document.getElementById("alarms");
    var keep = {};
    alarms.forEach(function (a) { keep[String(a.seq)] = a; });
    Array.prototype.slice.call(box.children).forEach(function (node) {
      var seq = node.getAttribute("data-seq");
      if (seq === null || !keep[seq]) { box.removeChild(node); } else { delete keep[seq]; }
    });
    alarms.forEach(function (a) {  /* new ones on top; a note being typed stays */
      if (keep[String(a.seq)]) { box.insertBefore(alarmForm(a), box.firstChild); }
    });
    if (!box.children.length) { box.appendChild(el("p", {"class": "none"}, "No open alarms.")); }
  }
  function showPending(pending) {
    var box = document.getElementById("pending");
    box.textContent = "";
    pending.forEach(function (p) {
      var line = el("p", {"class": "pending"}, "Visitor button at ");
      line.appendChild(el("b", {}, p.door));
      line.appendChild(document.createTextNode(" " + p.time + " (" +
        (p.opened ? "door opened" : "door shut") + ") "));
      line.appendChild(el("a", {"class": "button",
        href: "/visitor?pending=" + p.seq + "&door=" + encodeURIComponent(p.door)}, "Register"));
      box.appendChild(line);
    });
    if (!pending.length) { box.appendChild(el("p", {"class": "none"}, "Nobody waiting.")); }
  }
  var source = new EventSource("/live");
  source.addEventListener("open", function () { shown.textContent = "live"; });
  source.addEventListener("error", function () {
    shown.textContent = "reconnecting...";
    if (source.readyState === EventSource.CLOSED) {  /* signed out or expired */
      setTimeout(function () { window.location.reload(); }, 3000);
    }
  });
  source.addEventListener("state", function (ev) {
    var s = JSON.parse(ev.data);
    var mode = document.getElementById("mode");
    mode.textContent = "mode " + s.mode;
    mode.className = "mode-" + s.mode;
    document.getElementById("link").textContent = s.link;
    Object.keys(s.doors).forEach(function (door) {
      var cell = document.querySelector('[data-door="' + CSS.escape(door) + '"]');
      if (cell) { cell.textContent = s.doors[door]; }
    });
  });
  source.addEventListener("feed", function (ev) {
    var item = JSON.parse(ev.data);
    var list = document.getElementById("feed");
    var li = el("li", {"class": item.kind, "data-seq": String(item.seq)});
    li.appendChild(el("time", {}, item.time));
    li.appendChild(document.createTextNode(" " + item.text));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) { list.removeChild(list.lastChild); }
  });
  source.addEventListener("panel", function (ev) {
    var panel = JSON.parse(ev.data);
    showAlarms(panel.alarms);
    showPending(panel.pending);
  });
})();
"""
