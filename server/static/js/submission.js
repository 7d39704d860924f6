// Live status of one submission over Server-Sent Events: queued -> running (cell k of n) -> graded.
// On the result it draws what the page shows after a reload (templates/exercises/submission.html
// and the notes macro in templates/_feedback.html): the checks, the summary and the notes.
(function () {
  const root = document.getElementById("submission");
  if (!root) return;
  const status = document.getElementById("status");
  const progress = document.getElementById("progress");
  const score = document.getElementById("score");
  const table = document.getElementById("checks");
  const body = document.querySelector("#checks tbody");
  const notes = document.getElementById("grade-notes");
  const waiting = document.getElementById("waiting");
  const link = document.getElementById("notebook-link");
  const device = document.getElementById("device");

  // Python's '%g' for the scores we show: 1, 0.5, 2.25 (never 0.30000000000000004).
  function num(x) {
    return String(Number((x ?? 0).toPrecision(6)));
  }
  const { el, ticks } = window.AdventuresDom;
  function drawNotes(output) {
    if (!notes) return;
    const lines = String(output || "").split("\n").map((l) => l.trim()).filter(Boolean);
    notes.replaceChildren();
    notes.hidden = !lines.length;
    if (!lines.length) return;
    notes.append(ticks(el("p", undefined, "grade-summary"), lines[0]));
    if (lines.length > 1) {
      const list = el("ul");
      for (const line of lines.slice(1)) list.append(ticks(el("li"), line));
      notes.append(list);
    }
  }
  function render(doc) {
    if (doc.status) { status.textContent = doc.status; status.className = "badge status-" + doc.status; }
    const p = doc.progress;
    progress.textContent = p && p.cells ? "running cell " + p.cell + " of " + p.cells : "";
    if (doc.status === "graded" || doc.status === "error") {
      if (waiting) waiting.hidden = true;
      score.textContent = doc.status === "graded" ? num(doc.score) + " / " + num(doc.max_score) : "";
      body.replaceChildren();
      for (const t of doc.tests || []) {
        const tr = el("tr", undefined, "t-" + t.status);
        const name = el("td", t.name);
        if (t.visibility === "hidden") name.append(" ", el("span", "hidden", "badge"));
        const res = el("td", t.status);
        if (t.output) res.append(el("pre", t.output, "feedback"));
        tr.append(name, res, el("td", num(t.score) + " / " + num(t.max_score)));
        body.append(tr);
      }
      table.hidden = !(doc.tests || []).length;
      drawNotes(doc.output);
      if (device) device.textContent = doc.device ? " · ran on " + doc.device : "";
      if (doc.has_executed_notebook && link) link.hidden = false;
    }
  }
  const source = new EventSource(root.dataset.events);
  for (const kind of ["queued", "running", "status", "graded", "error"]) {
    source.addEventListener(kind, (e) => {
      const doc = JSON.parse(e.data);
      render(doc);
      if (doc.status === "graded" || doc.status === "error") source.close();
    });
  }
  source.addEventListener("progress", (e) => {
    const p = JSON.parse(e.data);
    progress.textContent = "running cell " + p.cell + " of " + p.cells;
  });
})();
