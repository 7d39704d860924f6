// The review screen: front, reveal, rate (buttons or keys Space and 1-4), session progress.
// Members: the server schedules (GET next, POST reviews). Guests: ts-fsrs in the browser,
// state in localStorage (or memory when storage is blocked); nothing goes to the server.
(function () {
  "use strict";
  const root = document.getElementById("study");
  if (!root) return;
  const $ = (sel) => root.querySelector(sel);
  const el = {
    card: $("[data-card]"), front: $("[data-front]"), answer: $("[data-answer]"), back: $("[data-back]"),
    bar: $("[data-bar]"), reveal: $("[data-reveal]"), ratings: $("[data-ratings]"),
    done: $("[data-done]"), doneText: $("[data-done-text]"), error: $("[data-error]"),
    progress: root.querySelector(".fc-progress"), progressText: $("[data-progress-text]"),
  };
  const RATINGS = ["again", "hard", "good", "easy"];
  let current = null; // {id, front_html, back_html, intervals, counts}
  let revealed = false;
  let busy = false;
  let done = 0;
  let shownAt = 0;

  function human(seconds) {
    if (seconds < 60) return "<1m";
    const m = seconds / 60, h = m / 60, d = h / 24;
    if (m < 60) return Math.round(m) + "m";
    if (h < 24) return Math.round(h) + "h";
    if (d < 30) return Math.round(d) + "d";
    if (d < 365) return (d / 30).toFixed(1).replace(/\.0$/, "") + "mo";
    return (d / 365).toFixed(1).replace(/\.0$/, "") + "y";
  }

  function showCounts(counts) {
    for (const name of ["new", "learning", "review"]) {
      root.querySelector(`[data-count="${name}"]`).textContent = counts ? counts[name] : 0;
    }
    const left = counts ? counts.new + counts.learning + counts.review : 0;
    const total = done + left;
    const pct = total ? Math.round((100 * done) / total) : 100;
    el.progress.firstElementChild.style.width = pct + "%";
    el.progress.setAttribute("aria-valuenow", String(pct));
    el.progressText.textContent = `${done} reviewed · ${left} to go`;
  }

  function render(card) {
    current = card;
    revealed = false;
    el.error.hidden = true;
    if (!card) {
      el.card.hidden = true;
      el.bar.hidden = true;
      el.done.hidden = false;
      el.doneText.textContent = done
        ? `You reviewed ${done} card${done === 1 ? "" : "s"}. Nothing else is due in this deck now.`
        : "Nothing is due in this deck now. Come back later.";
      showCounts(null);
      return;
    }
    el.front.innerHTML = card.front_html; // sanitised markdown from the server
    el.back.innerHTML = card.back_html;
    el.answer.hidden = true;
    el.card.hidden = false;
    el.done.hidden = true;
    el.bar.hidden = false;
    el.reveal.hidden = false;
    el.ratings.hidden = true;
    for (const name of RATINGS) {
      const slot = root.querySelector(`[data-interval="${name}"]`);
      slot.textContent = card.intervals ? human(card.intervals[name]) : "";
    }
    showCounts(card.counts);
    shownAt = Date.now();
    el.reveal.focus({ preventScroll: true });
  }

  function reveal() {
    if (!current || revealed) return;
    revealed = true;
    el.answer.hidden = false;
    el.reveal.hidden = true;
    el.ratings.hidden = false;
    root.querySelector('[data-rating="good"]').focus({ preventScroll: true });
  }

  function fail(message) {
    el.error.textContent = message;
    el.error.hidden = false;
  }

  async function rate(rating) {
    if (!current || !revealed || busy) return;
    busy = true;
    try {
      await source.rate(current, rating, Date.now() - shownAt);
      done += 1;
      render(await source.next());
    } catch (err) {
      fail(err.message || String(err));
    } finally {
      busy = false;
    }
  }

  // ---- member: the server schedules -------------------------------------------
  function memberSource() {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    async function check(res) {
      if (res.ok) return res;
      let message = `The server answered ${res.status}.`;
      try { message = (await res.json()).message || message; } catch (e) { /* not JSON */ }
      if (res.status === 401) message = "Your session ended: log in again.";
      throw new Error(message);
    }
    return {
      async next() {
        const res = await check(await fetch(root.dataset.nextUrl, { credentials: "same-origin" }));
        return res.status === 204 ? null : res.json();
      },
      async rate(card, rating, durationMs) {
        const url = root.dataset.reviewUrl.replace("/0/", `/${card.id}/`);
        await check(await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ rating, duration_ms: Math.min(durationMs, 86400000) }),
        }));
      },
    };
  }

  // ---- guest: ts-fsrs in the browser, localStorage ------------------------------
  function guestSource() {
    const F = window.FSRS;
    // Desired retention, as members set it on the server (0.80-0.97), kept in this browser.
    const RETENTION_KEY = "adventures:flashcards-retention";
    const make = (r) => F.fsrs(F.generatorParameters({ request_retention: r, enable_fuzz: true }));
    let retention = 0.9;
    try {
      const kept = parseFloat(localStorage.getItem(RETENTION_KEY));
      if (kept >= 0.8 && kept <= 0.97) retention = kept;
    } catch (e) { /* storage blocked: the default */ }
    let scheduler = make(retention);
    const picker = document.getElementById("guest-retention");
    if (picker) {
      picker.value = retention.toFixed(2);
      picker.addEventListener("change", () => {
        retention = parseFloat(picker.value);
        scheduler = make(retention);
        try { localStorage.setItem(RETENTION_KEY, String(retention)); } catch (e) { /* this visit only */ }
      });
    }
    const key = `adventures:flashcards:deck:${root.dataset.deck}`;
    const NEW_PER_DAY = 20;
    const LEARN_AHEAD_MS = 20 * 60 * 1000;
    let store = { cards: {}, day: "", newToday: 0 };
    let memoryOnly = false;
    try {
      store = Object.assign(store, JSON.parse(localStorage.getItem(key) || "{}"));
    } catch (e) {
      memoryOnly = true;
    }
    let cards = [];
    const today = () => new Date().toISOString().slice(0, 10);
    const save = () => {
      if (memoryOnly) return;
      try { localStorage.setItem(key, JSON.stringify(store)); } catch (e) { memoryOnly = true; }
    };
    const stateOf = (id) => {
      const s = store.cards[id];
      return s ? Object.assign({}, s, { due: new Date(s.due), last_review: s.last_review ? new Date(s.last_review) : undefined }) : null;
    };
    function counts(now) {
      if (store.day !== today()) { store.day = today(); store.newToday = 0; }
      const c = { new: 0, learning: 0, review: 0 };
      for (const card of cards) {
        const s = store.cards[card.id];
        if (!s) c.new += 1;
        else if (s.state === F.State.Review && new Date(s.due) <= now) c.review += 1;
        else if (s.state !== F.State.Review && new Date(s.due) <= new Date(+now + LEARN_AHEAD_MS)) c.learning += 1;
      }
      c.new = Math.min(c.new, Math.max(0, NEW_PER_DAY - store.newToday));
      return c;
    }
    function pick(now) {
      const learning = [], reviews = [], ahead = [];
      let fresh = null;
      for (const card of cards) {
        const s = store.cards[card.id];
        if (!s) { fresh = fresh || card; continue; }
        const due = new Date(s.due);
        if (s.state === F.State.Review) { if (due <= now) reviews.push([due, card]); }
        else if (due <= now) learning.push([due, card]);
        else if (due <= new Date(+now + LEARN_AHEAD_MS)) ahead.push([due, card]);
      }
      const first = (list) => list.sort((a, b) => a[0] - b[0])[0]?.[1];
      return first(learning) || first(reviews)
        || (store.newToday < NEW_PER_DAY ? fresh : null) || first(ahead) || null;
    }
    function view(card, now) {
      const s = stateOf(card.id) || F.createEmptyCard(now);
      const preview = scheduler.repeat(s, now);
      const intervals = {};
      RATINGS.forEach((name, i) => {
        intervals[name] = Math.max(0, (preview[i + 1].card.due - now) / 1000);
      });
      return Object.assign({}, card, { intervals, counts: counts(now) });
    }
    // Say that the "new" count is the daily limit, and how many new cards wait for later days.
    function limitNote(now) {
      const note = root.querySelector("[data-new-limit]");
      const unseen = cards.filter((card) => !store.cards[card.id]).length;
      const shown = counts(now).new;
      const later = unseen - shown;
      if (!note || later <= 0) return;
      const when = later <= NEW_PER_DAY ? "tomorrow" : "on later days";
      const started = store.newToday ? `, ${store.newToday} started today` : "";
      note.textContent = shown
        ? `${shown} new card${shown === 1 ? "" : "s"} today (daily limit ${NEW_PER_DAY} for guests${started}; ${later} more ${when}).`
        : `No new cards today: daily limit ${NEW_PER_DAY} for guests reached; ${later} more ${when}.`;
      note.hidden = false;
    }
    return {
      async next() {
        if (!cards.length) {
          const res = await fetch(root.dataset.cardsUrl);
          if (!res.ok) throw new Error(`Could not load the cards (${res.status}).`);
          cards = (await res.json()).cards;
          limitNote(new Date());
        }
        const now = new Date();
        counts(now);
        const card = pick(now);
        return card ? view(card, now) : null;
      },
      async rate(card, rating) {
        const now = new Date();
        const before = stateOf(card.id);
        const grade = RATINGS.indexOf(rating) + 1;
        const after = scheduler.next(before || F.createEmptyCard(now), now, grade).card;
        if (!before) store.newToday += 1;
        store.cards[card.id] = after;
        save();
      },
    };
  }

  const source = root.dataset.mode === "guest" ? guestSource() : memberSource();

  el.reveal.addEventListener("click", reveal);
  el.ratings.addEventListener("click", (e) => {
    const button = e.target.closest("[data-rating]");
    if (button) rate(button.dataset.rating);
  });
  el.card.addEventListener("click", (e) => {
    if (!e.target.closest("a")) reveal();
  });
  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target.closest("input, textarea, select")) return;
    if ((e.key === " " || e.key === "Enter") && !revealed && current) {
      e.preventDefault();
      reveal();
    } else if (revealed && ["1", "2", "3", "4"].includes(e.key)) {
      e.preventDefault();
      rate(RATINGS[Number(e.key) - 1]);
    } else if (e.key === " " && revealed) {
      e.preventDefault(); // space does not re-press the focused rating by accident
    }
  });

  source.next().then(render).catch((err) => {
    el.progressText.textContent = "";
    fail(err.message || String(err));
  });
})();
