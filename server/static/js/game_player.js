// The player's phone: join with a nickname, then follow the game over Server-Sent Events.
// The token lives in localStorage, so a refresh or a lost network comes back to the same player.
(function () {
  "use strict";
  const G = window.Game;
  const storeKey = (pin) => `adventures.game.${pin}`;
  const load = (pin) => { try { return JSON.parse(localStorage.getItem(storeKey(pin)) || "null"); } catch (e) { return null; } };
  const save = (pin, v) => { try { localStorage.setItem(storeKey(pin), JSON.stringify(v)); } catch (e) { /* private mode */ } };

  function showError(message) {
    const box = G.$("error");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function join(pin, nickname) {
    const before = load(pin);
    const body = { nickname };
    if (before && before.player_token) body.player_token = before.player_token;
    const res = await G.api(`/api/games/${pin}/join`, body);
    if (!res.ok) { showError(res.data.message || `Could not join (${res.status}).`); return null; }
    const me = { player_id: res.data.player_id, player_token: res.data.player_token, nickname: res.data.nickname };
    save(pin, me);
    return me;
  }

  // ---- /play: PIN and nickname ----
  const joinPage = document.querySelector("form#join-form[data-api]");
  if (joinPage) {
    joinPage.addEventListener("submit", async (e) => {
      e.preventDefault();
      showError("");
      const pin = joinPage.pin.value.replace(/\D/g, "");
      if (pin.length !== 6) { showError("A game PIN has 6 digits."); return; }
      if (await join(pin, joinPage.nickname.value)) window.location.href = `/play/${pin}`;
    });
    return;
  }

  const root = G.$("player");
  if (!root) return;
  const PIN = root.dataset.pin;
  const API = root.dataset.api;
  const SELF = root.dataset.mode === "self";
  const VIEWS = ["join", "wait", "ready", "question", "sent", "result", "standings", "ended", "kicked"];
  let me = load(PIN);
  let state = { seq: -1 };
  let source = null;
  let stopTimer = null;
  let picked = new Set();
  let current = null; // the open question
  let answering = false;
  let sentAnswer = null; // what this phone sent for the open question, shown while waiting

  function show(name) { for (const v of VIEWS) G.$(`v-${v}`).hidden = v !== name; }

  function bar(info, phase) {
    if (!info) return;
    if (me) G.$("me-name").textContent = me.nickname;
    if (info.score !== undefined) G.$("me-score").textContent = info.score.toLocaleString();
    const ranked = info.rank && phase !== "lobby" && !(phase === "question" && !info.prev_rank && !info.score);
    G.$("me-rank").textContent = ranked ? `${G.ordinal(info.rank)} place` : "not ranked yet";
  }

  // ---- joining on this page (the QR code and the join link lead here) ----
  G.$("join-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("");
    const got = await join(PIN, e.target.nickname.value);
    if (got) { me = got; connect(); }
  });

  function connect() {
    if (!me) { show("join"); return; }
    G.$("me-name").textContent = me.nickname;
    if (source) source.close();
    source = G.stream(`${API}/events?token=${encodeURIComponent(me.player_token)}`, {
      state: (s) => { state = s; render(s); },
      question: phase, reveal: phase, standings: phase, running: phase, ended: phase,
      kicked: () => kicked(),
      refused: () => refused(),
    }, (up) => { G.$("conn").hidden = up; });
  }

  async function refused() {
    // The server turned the stream down: an unknown token (an old game with this PIN) or a kick.
    const res = await G.api(`${API}/state?token=${encodeURIComponent(me.player_token)}`);
    if (res.ok && res.data.kicked) { kicked(); return; }
    if (res.ok && res.data.me) { setTimeout(() => source && source.reopen(), 3000); return; }
    if (res.ok && res.data.phase !== "ended") {
      // Not in this game (any more): keep the old token so the server can tell a kicked player.
      show("join");
      showError("Join this game with a nickname.");
      return;
    }
    show("kicked");
  }

  function kicked() {
    if (source) source.close();
    if (stopTimer) stopTimer();
    show("kicked");
    G.announce("You were removed from this game.");
  }

  function phase(data) {
    if (data.seq < state.seq) return;
    if (data.seq === state.seq && data.phase === state.phase) return;
    const merged = Object.assign({}, state, data);
    if (data.phase === "reveal" && data.me) {
      merged.my_answer = data.me;
      merged.me = Object.assign({}, state.me, { score: data.me.score, rank: data.me.rank, prev_rank: data.me.prev_rank });
    }
    if (data.phase === "question") merged.my_answer = { answered: false };
    if (data.phase === "ended" && data.me) merged.me = Object.assign({}, state.me, data.me);
    state = merged;
    render(state);
  }

  function render(s) {
    showError("");
    bar(s.me, s.phase);
    if (stopTimer && !(s.phase === "question" || (SELF && s.question && !(s.my_answer || {}).answered && !s.reveal))) {
      stopTimer(); stopTimer = null;
    }
    if (s.phase === "lobby") {
      show("wait");
      G.$("wait-title").textContent = "You're in!";
      G.$("wait-text").textContent = "See your nickname on the big screen. The game starts soon.";
      return;
    }
    if (s.phase === "ended") return ended(s);
    if (SELF) return selfPaced(s);
    if (s.phase === "question") {
      if (s.my_answer && s.my_answer.answered) {
        if (s.question) current = s.question;
        return sent("Waiting for the others…", s.my_answer.answer);
      }
      return ask(s.question, s.remaining_ms, s.grace_ms);
    }
    if (s.phase === "reveal") return result(s, s.my_answer || {}, s.reveal, false);
    if (s.phase === "standings") return board(s);
  }

  function selfPaced(s) {
    if (s.phase !== "running") return;
    const count = s.question_count;
    if (s.position < 0 || s.position === undefined) {
      show("ready");
      return;
    }
    if (s.position >= count) {
      show("wait");
      G.$("wait-title").textContent = "All done!";
      G.$("wait-text").textContent = `You scored ${s.me.score.toLocaleString()} points. The podium shows when the host ends the game.`;
      return;
    }
    if (s.reveal) return result(s, s.my_answer || {}, s.reveal, true);
    return ask(s.question, s.remaining_ms, s.grace_ms);
  }

  // ---- a question ----
  function ask(q, remaining, grace) {
    if (!q) return;
    const fresh = !current || current.id !== q.id || G.$("v-question").hidden;
    current = q;
    show("question");
    if (!fresh) return;
    picked = new Set();
    answering = false;
    sentAnswer = null;
    G.$("q-num").textContent = `Question ${q.index + 1} of ${q.count}`;
    G.$("q-points").textContent = q.points === 2000 ? "Double points" : q.points === 0 ? "No points" : "";
    G.setHtml(G.$("q-text"), q.text_html);
    G.setHtml(G.$("q-code"), q.code_html);
    const list = G.$("q-choices");
    list.replaceChildren();
    const form = G.$("q-form");
    const input = G.$("q-input");
    const choice = ["single", "truefalse", "multi"].includes(q.kind);
    form.hidden = choice && q.kind !== "multi";
    G.$("q-input-label").hidden = choice;
    input.required = !choice;
    input.value = "";
    input.type = "text";
    input.inputMode = q.kind === "numeric" ? "decimal" : "text";
    // Key hints only where there is a keyboard: a touch screen hides them (here and in CSS).
    const keys = !G.touchOnly();
    const n = (q.choices || []).length;
    const helps = { single: ["Tap an answer", ` (or press 1–${n})`], truefalse: ["Tap True or False", " (or press 1–2)"],
      multi: ["Pick every right answer, then send", ` (keys 1–${n} pick, Enter sends)`],
      type: ["Type your answer", ""], numeric: ["Type a number", ""] };
    const [help, hint] = helps[q.kind] || ["", ""];
    G.$("q-help").replaceChildren(help, keys && hint ? G.el("span", { class: "kbd-hint", text: hint }) : "", help ? "." : "");
    (q.choices || []).forEach((c, i) => {
      const b = G.el("button", { type: "button", class: `choice c${i % 6}`, "data-id": c.id,
        "aria-pressed": q.kind === "multi" ? "false" : null }, ...G.choiceContent(c, i, keys));
      b.addEventListener("click", () => pick(c.id, b));
      list.append(G.el("li", {}, b));
    });
    G.$("q-submit").textContent = q.kind === "multi" ? "Send answer" : "Send";
    timer(remaining, grace);
    G.announce(`Question ${q.index + 1} of ${q.count}: ${G.plain(q.text_html)}. ${n ? `${n} choices.` : ""} ${Math.round((remaining || 0) / 1000)} seconds.`);
    // No choice gets the focus (a ring on one reads as already picked): the question itself
    // takes it, so Tab goes on to the first choice and 1–4 work at once.
    if (!choice) input.focus({ preventScroll: true });
    else G.$("v-question").focus({ preventScroll: true });
  }

  function timer(remaining, grace) {
    if (stopTimer) stopTimer();
    const limit = (current.time_limit || 20) * 1000;
    const fill = G.$("t-fill"), num = G.$("t-num");
    let warned = false;
    stopTimer = G.countdown(remaining, (left) => {
      fill.style.width = `${(100 * left) / limit}%`;
      fill.classList.toggle("low", left <= 5000);
      num.textContent = `${Math.ceil(left / 1000)} s`;
      if (left <= 5000 && left > 0 && !warned) { warned = true; G.announce("5 seconds left"); }
    }, () => {
      if (G.$("v-question").hidden) return;
      if (SELF) setTimeout(refresh, (grace || 750) + 300);
      else sent("Time's up! Waiting for the answer…");
    });
  }

  function pick(id, button) {
    if (answering) return;
    if (current.kind === "multi") {
      if (picked.has(id)) picked.delete(id); else picked.add(id);
      button.setAttribute("aria-pressed", picked.has(id) ? "true" : "false");
      return;
    }
    send(id);
  }

  G.$("q-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (current.kind === "multi") {
      if (!picked.size) { showError("Pick at least one answer."); return; }
      send([...picked]);
    } else {
      const value = G.$("q-input").value.trim();
      if (!value) return;
      send(value);
    }
  });

  document.addEventListener("keydown", (e) => {
    if (G.$("v-question").hidden || !current || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.target && e.target.tagName === "INPUT") return;
    const n = Number(e.key);
    const buttons = G.$("q-choices").querySelectorAll("button.choice");
    if (n >= 1 && n <= buttons.length) { e.preventDefault(); buttons[n - 1].click(); }
    else if (e.key === "Enter" && current.kind === "multi") { e.preventDefault(); G.$("q-form").requestSubmit(); }
  });

  async function send(answer) {
    answering = true;
    sentAnswer = answer;
    for (const b of G.$("q-choices").querySelectorAll("button")) b.disabled = true;
    const asked = current.id;
    const res = await G.api(`${API}/answers`, { player_token: me.player_token, question: asked, answer });
    // The reveal may overtake this response (the last answer triggers it): never step back.
    const movedOn = !SELF && (state.phase !== "question" || !state.question || state.question.id !== asked);
    if (movedOn) return;
    if (res.ok) {
      G.Sound.beep && G.Sound.beep();
      if (SELF) {
        state.my_answer = res.data.result;
        state.reveal = res.data.reveal;
        state.me = res.data.me;
        bar(state.me, state.phase);
        return result(state, res.data.result, res.data.reveal, true);
      }
      state.my_answer = { answered: true, answer };
      return sent("Answer locked in. Waiting for the others…", answer);
    }
    const err = res.data.error;
    sentAnswer = null; // not taken: nothing of this one to show
    if (err === "already_answered") return sent("You already answered. Waiting for the others…");
    if (err === "kicked") return kicked();
    if (res.status === 422) {  // a typo in a number: let them fix it
      answering = false;
      for (const b of G.$("q-choices").querySelectorAll("button")) b.disabled = false;
      showError(res.data.message);
      return;
    }
    if (SELF) { showError(res.data.message); return refresh(); }
    sent(res.data.message || "Your answer did not count.");
  }

  function sent(text, answer) {
    show("sent");
    const mine = answer !== undefined && answer !== null ? answer : sentAnswer;
    const box = G.$("sent-answer");
    const shown = G.answerView(current, mine);
    box.replaceChildren(shown);
    G.$("sent-mine").hidden = !shown.childNodes.length;
    G.$("sent-text").textContent = text;
    G.announce(shown.childNodes.length ? `You answered ${G.answerWords(shown)}. ${text}` : text);
  }

  // ---- after the reveal ----
  function result(s, mine, reveal, withNext) {
    show("result");
    const box = G.$("res-box");
    let title, cls;
    if (!mine.answered) { title = "No answer"; cls = "neutral"; }
    else if (mine.correct) { title = "✓ Correct!"; cls = "ok"; }
    else if (mine.fraction > 0) { title = "◐ Partly right"; cls = "neutral"; }
    else { title = "✗ Not this time"; cls = "bad"; }
    box.className = `result ${cls}`;
    G.$("res-title").textContent = title;
    const pts = mine.points || 0, bonus = mine.bonus || 0;
    G.$("res-points").textContent = `+${(pts + bonus).toLocaleString()} points${bonus ? ` (streak +${bonus})` : ""}`;
    const meInfo = s.me || {};
    const move = G.movement(meInfo);
    const total = s.player_count ? ` of ${s.player_count}` : "";
    G.$("res-rank").textContent = meInfo.rank ? `You are ${G.ordinal(meInfo.rank)}${total}${move.label ? ` (${move.label})` : ""}` : "";
    G.$("res-answer").replaceChildren(G.rich("span", {}, reveal.answer_text_html, reveal.answer_text));
    const given = mine.answer !== undefined ? mine.answer : sentAnswer;
    const yours = mine.answered && !mine.correct ? G.answerView(current || s.question, given) : null;
    G.$("res-mine").hidden = !(yours && yours.childNodes.length);
    G.$("res-mine-answer").replaceChildren(yours || "");
    G.setHtml(G.$("res-explain"), reveal.explanation_html);
    G.$("res-explain").hidden = !reveal.explanation_html;
    const next = G.$("b-next");
    next.hidden = !withNext;
    if (withNext) {
      const last = s.position + 1 >= s.question_count;
      next.textContent = last ? "Finish ➜" : "Next question ➜";
      if (!G.touchOnly()) next.focus({ preventScroll: true }); // Enter moves on; a phone taps
    }
    if (mine.correct) G.Sound.chime(); else G.Sound.buzz();
    G.announce(`${title.replace(/^\W+\s*/, "")}. ${G.$("res-points").textContent}. ${G.$("res-rank").textContent}. Answer: ${G.$("res-answer").textContent}.`);
  }

  function board(s) {
    show("standings");
    const info = s.me || {};
    G.$("st-me").textContent = info.rank ? `You are ${G.ordinal(info.rank)} with ${(info.score || 0).toLocaleString()} points` : "";
    G.standings(G.$("st-list"), s.top, me && me.player_id);
    G.announce(G.$("st-me").textContent);
  }

  function ended(s) {
    if (stopTimer) stopTimer();
    show("ended");
    const info = s.me || {};
    G.$("end-me").textContent = info.rank
      ? `You finished ${G.ordinal(info.rank)}${s.player_count ? ` of ${s.player_count}` : ""} with ${(info.score || 0).toLocaleString()} points`
      : "The game has ended.";
    G.podium(G.$("end-podium"), s.podium);
    G.announce(`Game over. ${G.$("end-me").textContent}`);
    if (source) source.close();
  }

  // ---- self-paced: move on at one's own speed ----
  async function advance() {
    const res = await G.api(`${API}/advance`, { player_token: me.player_token });
    if (!res.ok) { showError(res.data.message); return refresh(); }
    state = res.data;
    current = null;
    render(state);
  }

  async function refresh() {
    const res = await G.api(`${API}/state?token=${encodeURIComponent(me.player_token)}`);
    if (res.ok) { state = res.data; if (state.question && current && state.question.id !== current.id) current = null; render(state); }
  }

  G.$("b-begin").addEventListener("click", () => { G.Sound.ensure(); advance(); });
  G.$("b-next").addEventListener("click", () => advance());

  connect();
})();
