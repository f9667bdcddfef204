/* Every page: the theme (dark or light, remembered; the system's choice until then) and the
   confirmation a form asks for (data-confirm), e.g. before a drill releases the doors. */
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = window.localStorage.getItem("gate-theme"); } catch (e) { saved = null; }
  if (saved === "dark" || saved === "light") { root.setAttribute("data-theme", saved); }
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var dark = root.getAttribute("data-theme") === "dark" ||
          (!root.getAttribute("data-theme") &&
           window.matchMedia("(prefers-color-scheme: dark)").matches);
        var next = dark ? "light" : "dark";
        root.setAttribute("data-theme", next);
        try { window.localStorage.setItem("gate-theme", next); } catch (e) { /* private mode */ }
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  });
})();
