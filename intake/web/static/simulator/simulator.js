// The phone simulator: texts and calls through the server, which signs them as Twilio
// would. Plain JS, no build step, no inline code (the Content-Security-Policy forbids it).
"use strict";

(function () {
  const POLL_MS = 2000;
  const STORE = "intake.simulator.threads";
  const $ = (id) => document.getElementById(id);
  const phoneEl = $("phone");
  const base = phoneEl.dataset.base.replace(/\/$/, "");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const which = $("which");
  const number = $("number");

  // threads[phone] = [{who: "me"|"line", text, kind, channel, id, status}]
  const saved = JSON.parse(sessionStorage.getItem(STORE) || "{}");
  const threads = saved.threads || {};
  const seen = saved.seen || {}; // phone -> outbox rows already shown ("id@sent_at")
  const unread = {};
  let call = null; // the call state the server last answered
  let typed = "";

  function save() {
    sessionStorage.setItem(STORE, JSON.stringify({ threads, seen }));
  }

  function current() {
    return which.value === "caregiver" ? number.value.trim() : which.value;
  }

  function phones() {
    const list = [number.value.trim()];
    for (const option of which.options) {
      if (option.value !== "caregiver") list.push(option.value);
    }
    return list.filter((p) => p);
  }

  async function send(path, data) {
    const response = await fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(data),
      credentials: "same-origin",
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (e) {
      answer = {};
    }
    if (!response.ok) {
      throw new Error(answer.error || "The simulator answered HTTP " + response.status + ".");
    }
    return answer;
  }

  function problem(text) {
    const el = $("problem");
    el.textContent = text || "";
    el.hidden = !text;
  }

  // A link, or a phone number as texts write them (1-800-THE-LOST, (212) 555-0147):
  // kept whole on screen. The dashboard keeps the same pattern (intake/web/dashboard.py).
  const WHOLE = /https?:\/\/\S+|\+?\(?\d{1,4}\)?(?:[-. ]?\(?[0-9A-Z]{2,}\)?){2,}/g;

  function withWholeNumbers(element, words) {
    let start = 0;
    for (const match of words.matchAll(WHOLE)) {
      element.append(words.slice(start, match.index));
      const span = document.createElement("span");
      span.className = "whole";
      span.textContent = match[0]; // always text: never markup from a message
      element.append(span);
      start = match.index + match[0].length;
    }
    element.append(words.slice(start));
  }

  function add(phone, item) {
    (threads[phone] = threads[phone] || []).push(item);
    save();
  }

  // --- the thread ---------------------------------------------------------------------

  const KINDS = {
    followup: "follow-up",
    alert: "alert",
    alert_call: "alert call",
    relay: "relayed text",
    alert_taken: "alert update",
    late_reply: "late reply",
  };

  function bubble(item) {
    const li = document.createElement("li");
    li.className = "msg " + (item.who === "me" ? "me" : "line");
    const from = document.createElement("span");
    from.className = "from";
    let label = item.who === "me" ? "You" : "The line";
    if (item.id !== undefined) label += " (" + (KINDS[item.kind] || String(item.kind).replace(/_/g, " ")) + ")";
    if (item.photo) label += " (photo)";
    from.textContent = label;
    const text = document.createElement("span");
    text.className = "text";
    withWholeNumbers(text, item.text || "");
    li.append(from, text);
    if (item.status === "failed" || item.unsent) {
      const note = document.createElement("span");
      note.className = "failed";
      note.textContent = item.unsent ? "Not sent." : "Not delivered (Twilio refused it).";
      li.append(note);
    }
    if (item.channel === "voice" && item.status === "sent") {
      const answer = document.createElement("button");
      answer.type = "button";
      answer.textContent = "Answer this call";
      answer.addEventListener("click", () => answerCall(item.id));
      li.append(answer);
    }
    return li;
  }

  function render() {
    const phone = current();
    const list = $("thread");
    list.replaceChildren(...(threads[phone] || []).map(bubble));
    list.lastElementChild?.scrollIntoView({ block: "nearest" });
    $("caregiver-number").hidden = which.value !== "caregiver";
    unread[phone] = 0;
    for (const option of which.options) {
      const who = option.value === "caregiver" ? number.value.trim() : option.value;
      const name = option.value === "caregiver" ? "Caregiver" : option.dataset.name + " (" + who + ")";
      option.textContent = unread[who] ? name + " - " + unread[who] + " new" : name;
    }
  }

  let timer = null;
  let polling = false;

  async function poll() {
    clearTimeout(timer);
    if (polling) return;
    polling = true;
    try {
      const answer = await send("/inbox", { phones: phones() });
      let changed = false;
      for (const [phone, texts] of Object.entries(answer.texts)) {
        const known = new Set(seen[phone] || []);
        for (const t of texts) {
          const key = t.id + "@" + t.at; // a new database numbers its rows from 1 again
          if (known.has(key)) continue;
          known.add(key);
          add(phone, { who: "line", text: t.body, kind: t.kind, channel: t.channel, id: t.id, status: t.status });
          if (phone !== current()) unread[phone] = (unread[phone] || 0) + 1;
          changed = true;
        }
        seen[phone] = [...known];
      }
      if (changed) {
        save();
        render();
      }
    } catch (e) {
      // the next poll tries again; a send shows its own problem
    } finally {
      polling = false;
      timer = setTimeout(poll, POLL_MS);
    }
  }

  async function text(body, photo) {
    const phone = current();
    problem("");
    const mine = { who: "me", text: body || "", photo: !!photo };
    add(phone, mine);
    render();
    try {
      const answer = await send("/text", { phone, body: body || "", photo: !!photo });
      for (const reply of answer.replies) add(phone, { who: "line", text: reply });
    } catch (e) {
      mine.unsent = true;
      save();
      problem(e.message);
    }
    render();
    poll(); // what the text set off (an alert, a relayed text) shows without waiting
  }

  $("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = $("body").value;
    if (!body.trim()) return;
    $("body").value = "";
    text(body, false);
  });
  $("photo").addEventListener("click", () => text("", true));
  for (const el of [which, number]) {
    el.addEventListener("change", () => {
      render();
      poll();
    });
  }

  // --- calls --------------------------------------------------------------------------

  const WAITS = {
    dtmf: "The line waits for you to press keys.",
    "dtmf speech": "The line waits for you to press keys or speak.",
    speech: "The line waits for you to speak.",
    record: "The line is recording: speak your message, or stay silent.",
    "": "The call has ended.",
  };

  function showCall(state) {
    call = state;
    clearKeys();
    $("call-panel").hidden = false;
    $("call-title").textContent = "On a call with the line (" + state.phone + ")";
    $("spoken").replaceChildren(
      ...state.heard.map((line) => {
        const li = document.createElement("li");
        if (line.who === "you") {
          li.className = "you";
          withWholeNumbers(li, "You: " + line.text);
        } else {
          li.className = line.who ? "leg" : "said";
          withWholeNumbers(li, (line.who ? "(" + line.who + " hears) " : "") + line.text);
        }
        li.lang = line.lang ? line.lang.slice(0, 2) : "en";
        return li;
      })
    );
    $("spoken").lastElementChild?.scrollIntoView({ block: "nearest" });
    $("call-waits").textContent = WAITS[state.waits] ?? state.waits;
    for (const button of document.querySelectorAll("#call-panel .key, #send-keys, #silence, #hangup")) {
      button.disabled = state.ended;
    }
    // The line hears speech only where its Gather says input="... speech" (or records).
    const speaks = !state.ended && (state.waits.split(" ").includes("speech") || state.waits === "record");
    for (const el of [$("speech"), $("speak").querySelector("button")]) el.disabled = !speaks;
    $("speech-off").hidden = speaks || state.ended;
  }

  let quiet = null; // Twilio's wait after the last key, when no key count or # ends them

  function clearKeys() {
    clearTimeout(quiet);
    typed = "";
    $("keys-typed").textContent = "";
    $("keys-when").textContent = "";
  }

  async function callMove(move, value) {
    if (!call || call.ended) return;
    // Keys typed go once, with this move or not at all: a second click, or the quiet
    // timer, while the line answers must not press them again.
    clearKeys();
    if (move === "keys" && !value) return;
    problem("");
    try {
      showCall(await send("/calls/" + encodeURIComponent(call.id), { move, value: value || "" }));
    } catch (e) {
      problem(e.message);
    }
  }

  async function begin(path, data) {
    problem("");
    try {
      showCall(await send(path, data));
      $("call-panel").scrollIntoView({ block: "start" });
      $("call-title").focus();
    } catch (e) {
      problem(e.message);
    }
  }

  function startCall() {
    begin("/calls", { phone: current(), staff_answer: $("staff-answer").checked });
  }

  function answerCall(outboxId) {
    begin("/calls/answer", { phone: current(), outbox: outboxId });
  }

  // Keys go as Twilio sends them: at once when the Gather's numDigits are reached (a
  // one-key question) or its finishOnKey is pressed; otherwise (a number of any length)
  // after the Gather's timeout with no further key, as on a real phone.
  function pressKey(key) {
    if (!call || call.ended) return;
    clearTimeout(quiet);
    typed += key;
    $("keys-typed").textContent = typed;
    const finished = (call.finish || "").includes(key);
    if (finished || (call.digits && typed.length >= call.digits)) {
      callMove("keys", typed);
    } else if (call.timeout) {
      const keys = typed;
      const end = call.finish ? ", or press " + call.finish.charAt(0) : "";
      $("keys-when").textContent = "(sent after " + call.timeout + " s without a key" + end + ")";
      quiet = setTimeout(() => callMove("keys", keys), call.timeout * 1000);
    }
  }

  $("call").addEventListener("click", startCall);
  for (const button of document.querySelectorAll("#call-panel .key")) {
    button.addEventListener("click", () => pressKey(button.dataset.key));
  }
  $("send-keys").addEventListener("click", () => callMove("keys", typed));
  $("silence").addEventListener("click", () => callMove("silence"));
  $("hangup").addEventListener("click", () => callMove("hangup"));
  $("speak").addEventListener("submit", (event) => {
    event.preventDefault();
    const words = $("speech").value;
    $("speech").value = "";
    callMove("speech", words);
  });

  render();
  poll();
})();
