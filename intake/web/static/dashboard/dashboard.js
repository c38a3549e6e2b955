// Live pages without a reload: every element with data-poll is refreshed from that
// address every few seconds (an HTML fragment the server rendered and escaped).
// Plain JS, no build step; the Content-Security-Policy allows only this file.
(function () {
  "use strict";
  var EVERY_MS = 3000;

  function say(element, text) {
    var note = document.getElementById("poll-note");
    if (!note) {
      note = document.createElement("p");
      note.id = "poll-note";
      note.className = "offline";
      note.setAttribute("role", "status");
      element.parentNode.insertBefore(note, element.parentNode.firstChild);
    }
    note.textContent = text;
  }

  function clear() {
    var note = document.getElementById("poll-note");
    if (note) { note.remove(); }
  }

  function refresh(element) {
    var url = element.getAttribute("data-poll");
    fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401) {
          say(element, "You are signed out. Reload the page to sign in again.");
          return null;
        }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        clear();
        if (element.innerHTML.trim() !== html.trim()) {
          if (element.contains(document.activeElement)) { return; } // keep keyboard focus
          element.innerHTML = html;
        }
      })
      .catch(function () {
        say(element, "The line cannot be reached just now; trying again.");
      });
  }

  function start() {
    var elements = document.querySelectorAll("[data-poll]");
    elements.forEach(function (element) {
      setInterval(function () { refresh(element); }, EVERY_MS);
    });
  }

  // A form with data-confirm (mark found, close, remove from the roster) asks first: a
  // tap at night can slip.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  document.addEventListener("DOMContentLoaded", start);
})();
