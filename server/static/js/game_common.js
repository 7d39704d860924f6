// Shared by the big screen and the phones: API calls, the live stream, timers, sound, speech, and
// the pieces both draw (choices with shapes and labels, standings, podium). All player-typed text
// goes through textContent; only the server's sanitised markdown (the *_html fields: question,
// choices, answer, explanation) is set as HTML.
(function () {
  "use strict";

  const SHAPES = [
    ["▲", "triangle"], ["◆", "diamond"], ["●", "circle"], ["■", "square"], ["★", "star"], ["⬟", "pentagon"],
  ];

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function api(path, body) {
    const init = { method: body === undefined ? "GET" : "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf() } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      return { ok: false, status: 0, data: { error: "network", message: "No connection; trying again helps." } };
    }
    let data = {};
    try { data = await res.json(); } catch (err) { /* not JSON */ }
    return { ok: res.ok, status: res.status, data };
  }

  // EventSource reconnects by itself (sending Last-Event-ID) and the server starts every
  // connection with a fresh snapshot, so a refresh or a lost network ends back in the game.
  function stream(url, handlers, onStatus) {
    let source = null;
    let stopped = false;
    function open() {
      source = new EventSource(url);
      source.onopen = () => onStatus && onStatus(true);
      source.onerror = () => {
        if (stopped) return;
        onStatus && onStatus(false);
        if (source.readyState === EventSource.CLOSED) {
          if (handlers.refused) handlers.refused(); else setTimeout(open, 3000);
        }
      };
      for (const [type, fn] of Object.entries(handlers)) {
        if (type === "refused") continue;
        source.addEventListener(type, (e) => fn(JSON.parse(e.data), e));
      }
    }
    open();
    return {
      close() { stopped = true; if (source) source.close(); },
      reopen() { if (source) source.close(); stopped = false; open(); },
    };
  }

  function countdown(ms, onTick, onEnd) {
    const end = performance.now() + Math.max(0, ms || 0);
    let done = false;
    function tick() {
      const left = Math.max(0, end - performance.now());
      onTick(left);
      if (left <= 0 && !done) { done = true; clearInterval(timer); if (onEnd) onEnd(); }
    }
    const timer = setInterval(tick, 200);
    tick();
    return () => { done = true; clearInterval(timer); };
  }

  // A phone or tablet without a mouse: no "press 1-4" hints there (CSS hides them too).
  function touchOnly() {
    return !!(window.matchMedia && window.matchMedia("(hover: none) and (pointer: coarse)").matches);
  }

  // Markdown from the server (`code`, **bold**), already sanitised; the plain text otherwise.
  function rich(tag, attrs, html, text) {
    const node = el(tag, attrs);
    if (html) setHtml(node, html); else node.textContent = text || "";
    return node;
  }

  function choiceContent(choice, i, withKey) {
    const [shape, name] = SHAPES[i % SHAPES.length];
    return [
      el("span", { class: "shape", "aria-hidden": "true", text: shape }),
      withKey ? el("span", { class: "key", "aria-hidden": "true", text: String(i + 1) }) : null,
      el("span", { class: "sr-only", text: `${name}, choice ${i + 1}: ` }),
      rich("span", { class: "text" }, choice.text_html, choice.text),
    ];
  }

  // What a player sent, as they saw it: the picked choices with their shapes, or the typed text.
  function answerView(question, answer) {
    const box = el("span", { class: "answer-view" });
    if (answer === undefined || answer === null || !question) return box;
    const choices = question.choices || [];
    if (choices.length) {
      const ids = (Array.isArray(answer) ? answer : [answer]).map((a) => String(a).toLowerCase());
      choices.forEach((c, i) => {
        if (!ids.includes(String(c.id).toLowerCase())) return;
        box.append(el("span", { class: `picked c${i % 6}` },
          el("span", { class: "shape", "aria-hidden": "true", text: SHAPES[i % SHAPES.length][0] }),
          rich("span", { class: "text" }, c.text_html, c.text)));
      });
      return box;
    }
    box.append(el("span", { class: "picked typed" }, el("span", { class: "text", text: String(answer) })));
    return box;
  }

  function answerWords(view) {
    return [...view.querySelectorAll(".text")].map((n) => n.textContent.trim()).join(", ");
  }

  function ordinal(n) {
    const s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }

  function movement(row) {
    if (!row.prev_rank || !row.rank || row.prev_rank === row.rank) return { text: "", label: "", cls: "" };
    const d = row.prev_rank - row.rank;
    return d > 0
      ? { text: `▲ ${d}`, label: `up ${d}`, cls: "up" }
      : { text: `▼ ${-d}`, label: `down ${-d}`, cls: "down" };
  }

  function standings(list, rows, mine) {
    list.replaceChildren();
    for (const r of rows || []) {
      const move = movement(r);
      list.append(el("li", { class: r.player_id === mine ? "mine" : null },
        el("span", { class: "rank", text: ordinal(r.rank) }),
        el("span", { class: "name", text: r.nickname }),
        el("span", { class: `move ${move.cls}`, "aria-label": move.label || null, text: move.text }),
        el("span", { class: "pts", text: `${r.score.toLocaleString()}` })));
    }
  }

  function podium(box, rows) {
    box.replaceChildren();
    (rows || []).slice(0, 3).forEach((r, i) => {
      box.append(el("div", { class: `step p${i + 1}` },
        el("span", { class: "medal", "aria-hidden": "true", text: String(r.rank) }),
        el("span", { class: "sr-only", text: `${ordinal(r.rank)} place: ` }),
        el("span", { class: "podium-name", text: r.nickname }),
        el("span", { text: `${r.score.toLocaleString()} pts` })));
    });
  }

  function announce(text) {
    const region = $("announce");
    if (!region) return;
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 60);
  }

  function setHtml(node, html) { node.innerHTML = html || ""; } // server-sanitised markdown only

  // ---- sound: short WebAudio tones, no audio files ----
  const Sound = {
    ctx: null, on: false, music: false, musicTimer: null, step: 0,
    ensure() {
      if (!this.ctx) {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) return null;
        this.ctx = new Ctx();
      }
      if (this.ctx.state === "suspended") this.ctx.resume();
      return this.ctx;
    },
    tone(freq, dur, type, vol) {
      const ctx = this.ensure();
      if (!ctx) return;
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = type || "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(vol || 0.12, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + dur);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + dur + 0.02);
    },
    beep(freq, dur) { if (this.on) this.tone(freq || 660, dur || 0.12, "sine", 0.14); },
    chime() { if (this.on) [523, 659, 784].forEach((f, i) => setTimeout(() => this.tone(f, 0.28, "triangle", 0.14), i * 110)); },
    buzz() { if (this.on) this.tone(170, 0.45, "sawtooth", 0.06); },
    startMusic() {
      if (!this.music || this.musicTimer) return;
      const notes = [262, 330, 392, 523, 392, 330, 294, 349, 440, 587, 440, 349];
      this.musicTimer = setInterval(() => {
        this.tone(notes[this.step++ % notes.length], 0.22, "triangle", 0.035);
      }, 260);
    },
    stopMusic() { clearInterval(this.musicTimer); this.musicTimer = null; },
  };

  function speak(text) {
    if (!("speechSynthesis" in window) || !text) return;
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  }

  function plain(html) {
    const div = document.createElement("div");
    div.innerHTML = html || "";
    return div.textContent.trim();
  }

  // A toggle button that remembers itself (aria-pressed) in localStorage.
  function toggle(button, key, onChange) {
    if (!button) return;
    const set = (on) => {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      try { localStorage.setItem(key, on ? "1" : "0"); } catch (err) { /* private mode */ }
      onChange(on);
    };
    let start = false;
    try { start = localStorage.getItem(key) === "1"; } catch (err) { /* private mode */ }
    set(start);
    button.addEventListener("click", () => set(button.getAttribute("aria-pressed") !== "true"));
  }

  window.Game = { $, el, api, stream, countdown, choiceContent, answerView, answerWords, rich, touchOnly, standings,
    podium, ordinal, movement, announce, setHtml, Sound, speak, plain, toggle, SHAPES };
})();
