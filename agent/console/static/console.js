/* The live page: doors, mode, alarms, visitors waiting and the feed, kept current by
   server-sent events. A new alarm beeps (Web Audio), shows in the title and, if the guard
   allowed it, as a notification. The page's words come from the server (meta "texts"). */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var T = JSON.parse(document.querySelector('meta[name="texts"]').content);
  var shown = document.getElementById("live-state");
  var baseTitle = document.title;
  var seen = null;  /* alarm seqs already known; null until the first panel */
  var audio = null;
  var soundOn = true;
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) { audio = new Ctx(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
    return audio;
  }
  function beep() {
    var ctx = context();
    if (!ctx || !soundOn) { return; }
    [0, 0.35, 0.7].forEach(function (at) {  /* three short high tones */
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + 0.2);
    });
  }
  function notify(a) {
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(a.label, {body: a.time + " " + a.text, tag: "gate-" + a.seq}); }
      catch (e) { /* some browsers allow notifications only from a service worker */ }
    }
  }
  var soundButton = document.getElementById("sound");
  soundButton.addEventListener("click", function () {
    soundOn = !soundOn || !audio;
    context();
    soundButton.textContent = soundOn ? T["Sound on"] : T["Sound off"];
    if (window.Notification && Notification.permission === "default") {
      Notification.requestPermission();
    }
  });
  function showAlarms(alarms) {
    var box = document.getElementById("alarms");
    document.getElementById("alarm-count").textContent = String(alarms.length);
    document.title = alarms.length ? "(" + alarms.length + ") " + T["ALARM"] + " - " + baseTitle
                                   : baseTitle;
    var fresh = [];
    alarms.forEach(function (a) { if (seen !== null && !seen[a.seq]) { fresh.push(a); } });
    seen = {};
    alarms.forEach(function (a) { seen[a.seq] = true; });
    if (fresh.length) { beep(); fresh.forEach(notify); }
    var form = box.querySelector("form");
    var note = form ? form.querySelector("input[name=note]").value : "";
    box.textContent = "";
    if (!alarms.length) { box.appendChild(el("p", {"class": "none"}, T["No open alarms."])); return; }
    form = el("form", {method: "post", action: "/alarms/ack", "class": "alarms card"});
    form.appendChild(el("input", {type: "hidden", name: "csrf", value: csrf}));
    form.appendChild(el("input", {type: "hidden", name: "alarm_seq", value: String(alarms[0].seq)}));
    var list = el("ul", {"class": "alarm-list"});
    alarms.forEach(function (a) {
      var li = el("li", {"class": "alarm " + a.kind, "data-seq": String(a.seq)});
      li.appendChild(el("b", {}, a.label));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("time", {}, a.time));
      li.appendChild(document.createTextNode(" " + a.text));
      list.appendChild(li);
    });
    form.appendChild(list);
    var input = el("input", {name: "note", required: "", maxlength: "500",
                             placeholder: T["what you found / did"], "aria-label": T["Note"]});
    input.value = note;  /* a note being typed stays */
    form.appendChild(input);
    form.appendChild(el("button", {name: "all", value: "no"}, T["Acknowledge the newest"]));
    form.appendChild(el("button", {name: "all", value: "yes", "class": "quiet"},
                        T["Acknowledge all"]));
    box.appendChild(form);
  }
  function showPending(pending) {
    var box = document.getElementById("pending");
    box.textContent = "";
    pending.forEach(function (p) {
      var line = el("p", {"class": "pending"}, p.text + " ");
      line.appendChild(el("a", {"class": "button",
        href: "/visitor?pending=" + p.seq + "&door=" + encodeURIComponent(p.door)}, T["Register"]));
      box.appendChild(line);
    });
    if (!pending.length) { box.appendChild(el("p", {"class": "none"}, T["Nobody waiting."])); }
  }
  var lastTouch = Date.now();  /* a guard touching the page keeps the session from idling */
  function touched() {
    if (Date.now() - lastTouch < 60000) { return; }
    lastTouch = Date.now();
    fetch("/alive", {method: "POST", credentials: "same-origin",
                     headers: {"Content-Type": "application/x-www-form-urlencoded"},
                     body: "csrf=" + encodeURIComponent(csrf)});
  }
  ["pointerdown", "keydown", "touchstart"].forEach(function (kind) {
    document.addEventListener(kind, touched, {passive: true});
  });
  var source = new EventSource("/live");
  source.addEventListener("open", function () { shown.textContent = T["live"]; });
  source.addEventListener("error", function () {
    shown.textContent = T["reconnecting..."];
    if (source.readyState === EventSource.CLOSED) {  /* signed out or expired */
      setTimeout(function () { window.location.reload(); }, 3000);
    }
  });
  source.addEventListener("state", function (ev) {
    var s = JSON.parse(ev.data);
    var mode = document.getElementById("mode");
    mode.textContent = s.mode_words;
    mode.className = "mode-" + s.mode;
    document.getElementById("link").textContent = s.link;
    Object.keys(s.doors).forEach(function (door) {
      var cell = document.querySelector('[data-door="' + CSS.escape(door) + '"]');
      if (cell) {
        cell.textContent = s.doors[door];
        cell.className = s.alarm_doors.indexOf(door) >= 0 ? "door-alarm" : "";
      }
    });
    showBanners(s.banners || []);
  });
  function showBanners(lines) {  /* the muster's banner: shown, counted, gone as it changes */
    var box = document.getElementById("banners");
    var now = lines.join("\n");
    if (!box || box.getAttribute("data-shown") === now) { return; }
    box.setAttribute("data-shown", now);
    while (box.firstChild) { box.removeChild(box.firstChild); }
    lines.forEach(function (line) {
      var p = el("p", {"class": "alarm banner", "role": "alert"});
      p.appendChild(el("b", {}, line));
      p.appendChild(document.createTextNode(" "));
      p.appendChild(el("a", {"class": "button", "href": "/muster"}, T["Open the muster list"]));
      box.appendChild(p);
    });
  }
  source.addEventListener("feed", function (ev) {
    var item = JSON.parse(ev.data);
    var list = document.getElementById("feed");
    var li = el("li", {"class": item.kind, "data-seq": String(item.seq)});
    li.appendChild(el("time", {}, item.time));
    li.appendChild(document.createTextNode(" " + item.text));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 50) { list.removeChild(list.lastChild); }
    showVehicle(item);
  });
  function showVehicle(item) {  // a camera's read: its picture and outcome on top
    var box = document.getElementById("vehicles");
    if (!item.vehicle || !box) { return; }
    Array.prototype.slice.call(box.querySelectorAll("li.none")).forEach(function (n) {
      box.removeChild(n);
    });
    var li = el("li", {"class": item.kind, "data-seq": String(item.seq)});
    if (item.picture) {
      li.appendChild(el("img", {src: "/plates/picture?id=" + encodeURIComponent(item.picture),
                                alt: T["plate picture"], width: "160"}));
    }
    li.appendChild(el("time", {}, item.time));
    li.appendChild(document.createTextNode(" " + item.text));
    box.insertBefore(li, box.firstChild);
    while (box.children.length > 3) { box.removeChild(box.lastChild); }
  }
  source.addEventListener("panel", function (ev) {
    var panel = JSON.parse(ev.data);
    showAlarms(panel.alarms);
    showPending(panel.pending);
  });
})();
