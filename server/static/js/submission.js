// Live status of one submission over Server-Sent Events: queued -> running (cell k of n) -> graded.
(function () {
  const root = document.getElementById("submission");
  if (!root) return;
  const status = document.getElementById("status");
  const progress = document.getElementById("progress");
  const score = document.getElementById("score");
  const body = document.querySelector("#checks tbody");
  const link = document.getElementById("notebook-link");

  function cell(text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }
  function render(doc) {
    if (doc.status) { status.textContent = doc.status; status.className = "badge status-" + doc.status; }
    const p = doc.progress;
    progress.textContent = p && p.cells ? "running cell " + p.cell + " of " + p.cells : "";
    if (doc.status === "graded" || doc.status === "error") {
      score.textContent = (doc.score ?? 0) + " / " + doc.max_score;
      body.replaceChildren();
      for (const t of doc.tests || []) {
        const tr = document.createElement("tr");
        tr.className = "t-" + t.status;
        tr.append(cell(t.name + (t.visibility === "hidden" ? " (hidden)" : "")));
        const res = cell(t.status);
        if (t.output) { const pre = document.createElement("pre"); pre.className = "feedback"; pre.textContent = t.output; res.append(pre); }
        tr.append(res, cell(t.score + " / " + t.max_score));
        body.append(tr);
      }
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
