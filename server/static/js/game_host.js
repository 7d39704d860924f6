// The host's big screen: lobby with PIN and QR code, the question with its countdown and answer
// count, the reveal with the answer distribution, the leaderboard, self-paced progress, the podium.
(function () {
  "use strict";
  const G = window.Game;
  const root = G.$("host");
  if (!root) return;
  const API = root.dataset.api;
  const VIEWS = ["lobby", "question", "reveal", "standings", "running", "ended"];
  let state = { seq: -1, phase: "lobby" };
  let stopTimer = null;
  let stopWindow = null;
  let revealAsked = false;
  let spokenSeq = -1;

  const controls = {
    start: G.$("c-start"), reveal: G.$("c-reveal"), next: G.$("c-next"), skip: G.$("c-skip"),
    lock: G.$("c-lock"), late: G.$("c-late"), end: G.$("c-end"),
  };

  function show(name) {
    for (const v of VIEWS) G.$(`v-${v}`).hidden = v !== name;
  }

  function error(message) {
    const box = G.$("host-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function act(action, body) {
    error("");
    const res = await G.api(`${API}/${action}`, body || {});
    if (!res.ok) {
      if (res.data.error !== "moved_on") error(res.data.message || `Could not ${action} (${res.status}).`);
      return null;
    }
    apply(res.data, true);
    return res.data;
  }

  controls.start.addEventListener("click", () => { G.Sound.ensure(); act("start"); });
  controls.reveal.addEventListener("click", () => act("reveal"));
  controls.next.addEventListener("click", () => act("next"));
  controls.skip.addEventListener("click", () => act("skip"));
  controls.end.addEventListener("click", () => {
    if (window.confirm("End the game for everyone now?")) act("end");
  });
  controls.lock.addEventListener("click", () => act(state.options && state.options.locked ? "unlock" : "lock"));
  controls.late.addEventListener("click", () =>
    act("options", { allow_late_join: !(state.options && state.options.allow_late_join) }));

  G.toggle(G.$("t-sound"), "adventures.host.sound", (on) => { G.Sound.on = on; });
  G.toggle(G.$("t-music"), "adventures.host.music", (on) => {
    G.Sound.music = on;
    if (on && (state.phase === "lobby" || state.phase === "question")) G.Sound.startMusic();
    else G.Sound.stopMusic();
  });
  let voice = false;
  G.toggle(G.$("t-voice"), "adventures.host.voice", (on) => {
    voice = on;
    if (!on && "speechSynthesis" in window) window.speechSynthesis.cancel();
  });

  function options(opts) {
    if (!opts) return;
    state.options = opts;
    controls.lock.setAttribute("aria-pressed", opts.locked ? "true" : "false");
    controls.lock.textContent = opts.locked ? "Locked: unlock joining" : "Lock joining";
    controls.late.setAttribute("aria-pressed", opts.allow_late_join ? "true" : "false");
    controls.late.textContent = opts.allow_late_join ? "Late joins: on" : "Late joins: off";
  }

  function buttons(phase, last) {
    const host = root.dataset.mode === "host";
    controls.start.hidden = phase !== "lobby";
    controls.reveal.hidden = !(host && phase === "question");
    controls.skip.hidden = !(host && ["question", "reveal", "standings"].includes(phase));
    controls.next.hidden = !(host && ["reveal", "standings"].includes(phase));
    controls.next.textContent = phase === "reveal" ? "Leaderboard ➜" : last ? "Podium ➜" : "Next question ➜";
    controls.end.hidden = phase === "ended";
    controls.lock.hidden = controls.late.hidden = phase === "ended";
  }

  // ---- lobby ----
  function lobby(players, count) {
    const list = G.$("lobby-players");
    list.replaceChildren();
    for (const p of players || []) {
      const kick = G.el("button", { type: "button", "aria-label": `Remove ${p.nickname}`, title: "Remove", text: "✕" });
      kick.addEventListener("click", () => {
        if (window.confirm(`Remove ${p.nickname} from the game?`)) act("kick", { player_id: p.id });
      });
      list.append(G.el("li", {}, G.el("span", { text: p.nickname }), kick));
    }
    const n = count !== undefined ? count : (players || []).length;
    G.$("player-count").textContent = n;
    G.$("lobby-count").textContent = n ? `(${n})` : "";
    G.$("lobby-empty").hidden = n > 0;
  }

  // ---- question ----
  function question(s) {
    const q = s.question;
    G.$("q-num").textContent = `Question ${q.index + 1} of ${q.count}`;
    G.$("q-points").textContent = q.points === 2000 ? "Double points" : q.points === 0 ? "No points" : "";
    G.setHtml(G.$("q-text"), q.text_html);
    G.setHtml(G.$("q-code"), q.code_html);
    const list = G.$("q-choices");
    list.replaceChildren();
    (q.choices || []).forEach((c, i) => list.append(G.el("li", { class: `choice c${i % 6}` }, ...G.choiceContent(c, i, false))));
    const hints = { type: "Type your answer on your phone", numeric: "Type a number on your phone",
      multi: "Pick every right answer", single: "", truefalse: "" };
    G.$("q-kind-hint").textContent = hints[q.kind] || "";
    G.$("answered").textContent = s.answered || 0;
    G.$("answer-total").textContent = s.player_count || 0;
    if (stopTimer) stopTimer();
    revealAsked = false;
    const box = G.$("countdown");
    let lastSecond = null;
    stopTimer = G.countdown(s.remaining_ms, (left) => {
      const secs = Math.ceil(left / 1000);
      box.textContent = secs;
      box.classList.toggle("low", secs <= 5);
      if (secs !== lastSecond && secs <= 5 && secs > 0) G.Sound.beep(secs === 1 ? 880 : 660);
      lastSecond = secs;
    }, () => {
      G.Sound.buzz();
      // Time is up: close the question (after the network grace) if nobody else did.
      setTimeout(() => {
        if (state.phase === "question" && !revealAsked) { revealAsked = true; act("reveal"); }
      }, (s.grace_ms || 750) + 150);
    });
    if (voice && spokenSeq !== s.seq) {
      spokenSeq = s.seq;
      const choices = (q.choices || []).map((c, i) => `${G.SHAPES[i % 6][1]}: ${c.text_html ? G.plain(c.text_html) : c.text}`).join(". ");
      G.speak(`${G.plain(q.text_html)}. ${choices}`);
    }
  }

  // ---- reveal ----
  function reveal(s) {
    if (stopTimer) { stopTimer(); stopTimer = null; }
    G.Sound.stopMusic();
    G.Sound.chime();
    const q = s.question, r = s.reveal;
    G.$("r-num").textContent = `Question ${q.index + 1} of ${q.count}`;
    G.$("r-answered").textContent = `${s.answered || 0} of ${s.player_count || 0} answered`;
    G.setHtml(G.$("r-text"), q.text_html);
    G.$("r-answer").replaceChildren(G.rich("span", {}, r.answer_text_html, r.answer_text));
    const answerWords = G.$("r-answer").textContent;
    G.setHtml(G.$("r-explain"), r.explanation_html);
    G.$("r-explain").hidden = !r.explanation_html;
    const bars = G.$("r-bars");
    bars.replaceChildren();
    const dist = s.distribution || [];
    const most = Math.max(1, ...dist.map((d) => d.count));
    dist.forEach((d, i) => {
      const isChoice = q.kind === "single" || q.kind === "multi" || q.kind === "truefalse";
      const label = G.el("span", { class: "bar-label" },
        isChoice ? G.el("span", { "aria-hidden": "true", text: G.SHAPES[i % 6][0] }) : null,
        G.rich("span", { class: "text" }, d.text_html, d.text),
        d.correct ? G.el("span", { text: "✓", "aria-label": "correct" }) : null);
      const fill = G.el("div", { class: `bar-fill c${isChoice ? i % 6 : d.correct ? 3 : 0}` });
      fill.style.width = "0%";
      bars.append(G.el("div", { class: "bar-row" }, label,
        G.el("div", { class: "bar-track", "aria-hidden": "true" }, fill),
        G.el("span", { class: "bar-num", text: String(d.count) })));
      requestAnimationFrame(() => { fill.style.width = `${(100 * d.count) / most}%`; });
    });
    G.announce(`Answer: ${answerWords}`);
    if (voice) G.speak(`The answer is ${answerWords}`);
  }

  // ---- self-paced progress ----
  function progress(rows) {
    const body = G.$("p-rows");
    body.replaceChildren();
    const total = state.question_count || 1;
    for (const r of rows || []) {
      const done = r.finished ? total : Math.max(0, r.answered);
      const bar = G.el("div", { class: "mini", role: "progressbar", "aria-valuemin": "0",
        "aria-valuemax": String(total), "aria-valuenow": String(done), "aria-label": `${r.nickname}: ${done} of ${total}` },
      G.el("span"));
      bar.firstChild.style.width = `${(100 * done) / total}%`;
      body.append(G.el("tr", {},
        G.el("td", { text: String(r.rank) }),
        G.el("td", { text: r.nickname + (r.finished ? " ✓" : "") }),
        G.el("td", { class: "bar" }, bar, G.el("small", { text: `${done} / ${total}` })),
        G.el("td", { class: "num", text: String(r.correct_answers) }),
        G.el("td", { class: "num", text: r.score.toLocaleString() })));
    }
  }

  function render() {
    const s = state;
    show(s.phase);
    buttons(s.phase, s.last || (s.question && s.question.index + 1 >= s.question.count));
    options(s.options);
    if (s.player_count !== undefined) G.$("player-count").textContent = s.player_count;
    if (s.phase === "lobby") {
      lobby(s.players, s.player_count);
      G.Sound.startMusic();
    } else if (s.phase === "question") {
      question(s);
      G.Sound.startMusic();
    } else if (s.phase === "reveal") {
      reveal(s);
    } else if (s.phase === "standings") {
      G.Sound.stopMusic();
      G.standings(G.$("s-list"), s.top, null);
    } else if (s.phase === "running") {
      G.Sound.stopMusic();
      progress(s.progress);
      if (stopWindow) stopWindow();
      if (s.window_remaining_ms !== null && s.window_remaining_ms !== undefined) {
        stopWindow = G.countdown(s.window_remaining_ms, (left) => {
          const m = Math.floor(left / 60000), sec = Math.floor((left % 60000) / 1000);
          G.$("window-left").textContent = `· ${m}:${String(sec).padStart(2, "0")} left`;
        });
      }
    } else if (s.phase === "ended") {
      if (stopTimer) stopTimer();
      if (stopWindow) stopWindow();
      G.Sound.stopMusic();
      G.Sound.chime();
      G.podium(G.$("e-podium"), s.podium);
      G.standings(G.$("e-list"), s.scores || s.top, null);
      if (source) source.close();
    }
  }

  // A phase event replaces the phase; an older one (replayed) is ignored.
  function apply(data, fromAction) {
    if (data.seq === undefined || data.seq < state.seq) return;
    if (data.seq === state.seq && !fromAction) return;
    const keep = { options: state.options, players: state.players, question_count: state.question_count };
    state = Object.assign({}, fromAction ? {} : state, data);
    for (const [k, v] of Object.entries(keep)) if (state[k] === undefined) state[k] = v;
    render();
  }

  const source = G.stream(root.dataset.events, {
    state: (s) => { state = s; render(); },
    question: (d) => apply(d), reveal: (d) => apply(d), standings: (d) => apply(d),
    running: (d) => apply(d), ended: (d) => apply(d),
    lobby: (d) => { state.players = d.players; state.player_count = d.player_count; if (state.phase === "lobby") lobby(d.players, d.player_count); else G.$("player-count").textContent = d.player_count; },
    answers: (d) => {
      if (state.phase !== "question" || d.question_index !== state.question_index) return;
      G.$("answered").textContent = d.answered;
      G.$("answer-total").textContent = d.total;
    },
    progress: (d) => { state.progress = d.progress; if (state.phase === "running") progress(d.progress); },
    options: (d) => options(d.options),
    kicked: () => {},
  }, (up) => { G.$("conn").hidden = up; });
})();
