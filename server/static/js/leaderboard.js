// Live leaderboard: redraws the rows on every 'standings' event, with arrows for rank movement.
(function () {
  "use strict";
  const pick = document.querySelector("[data-board-select]");
  if (pick) {
    pick.addEventListener("change", () => { if (pick.value) window.location.href = pick.value; });
  }
  const table = document.getElementById("board");
  if (!table || !window.EventSource) return;
  const body = table.querySelector("tbody");
  const columns = JSON.parse(table.dataset.columns || "[]");
  const limit = Number(table.dataset.limit || 0);
  const live = document.getElementById("live");
  const moves = document.getElementById("moves");
  let first = true;
  // Ranks as this screen last drew them: movement survives a reconnect's fresh snapshot.
  let previous = new Map([...body.querySelectorAll("tr[data-key]")].map((tr) => [tr.dataset.key, Number(tr.dataset.rank)]));

  const fmt = (v) => (v === null || v === undefined ? "" : String(Math.round(Number(v) * 10000) / 10000));

  function arrow(movement) {
    const span = document.createElement("span");
    if (first) return null;
    if (movement === null || movement === undefined) {
      span.className = "move new";
      span.textContent = "new";
      span.setAttribute("aria-label", "new on the board");
    } else if (movement > 0) {
      span.className = "move up";
      span.textContent = "▲" + movement;
      span.setAttribute("aria-label", "up " + movement);
    } else if (movement < 0) {
      span.className = "move down";
      span.textContent = "▼" + -movement;
      span.setAttribute("aria-label", "down " + -movement);
    } else {
      return null;
    }
    return span;
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function draw(rows) {
    const shown = limit ? rows.slice(0, limit) : rows;
    const said = [];
    const next = new Map();
    body.replaceChildren();
    if (!shown.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("Nobody has scored yet. Be the first!");
      td.colSpan = 3 + columns.length;
      tr.append(td);
      body.append(tr);
    }
    for (const r of shown) {
      const tr = document.createElement("tr");
      tr.dataset.key = r.player_id || r.user_id;
      tr.dataset.rank = r.rank;
      const key = String(r.player_id || r.user_id);
      const movement = previous.has(key) ? previous.get(key) - r.rank : null;
      next.set(key, r.rank);
      const rank = cell(String(r.rank), "rank");
      const mark = arrow(movement);
      if (mark) {
        rank.append(" ", mark);
        tr.className = "moved";
        if (movement) said.push(r.name + (movement > 0 ? " up " : " down ") + Math.abs(movement) + " to " + r.rank);
      }
      tr.append(rank, cell(r.name));
      for (const field of columns) tr.append(cell(fmt(r[field]), "num col-" + field));
      tr.append(cell(fmt(r.score), "num score"));
      body.append(tr);
    }
    for (const r of rows.slice(shown.length)) next.set(String(r.player_id || r.user_id), r.rank);
    if (moves && said.length) moves.textContent = said.slice(0, 3).join(". ");
    previous = next;
    first = false;
  }

  const source = new EventSource(table.dataset.events);
  source.addEventListener("open", () => { if (live) { live.textContent = "● live"; live.classList.add("on"); } });
  source.addEventListener("error", () => { if (live) { live.textContent = "reconnecting…"; live.classList.remove("on"); } });
  source.addEventListener("standings", (e) => draw(JSON.parse(e.data)));
})();
