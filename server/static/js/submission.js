// Live status of one submission over Server-Sent Events: queued -> running (cell k of n) -> graded.
// The status line is drawn here; the results (checks, hints, notes, notebook link) come from the
// server's own template (/submissions/<id>/results, templates/exercises/_results.html) once the
// grade arrives, so the live page and a reloaded one show the same thing.
(function () {
  const root = document.getElementById("submission");
  if (!root) return;
  const status = document.getElementById("status");
  const progress = document.getElementById("progress");
  const score = document.getElementById("score");

  // Python's '%g' for the scores we show: 1, 0.5, 2.25 (never 0.30000000000000004).
  function num(x) {
    return String(Number((x ?? 0).toPrecision(6)));
  }
  function finished(s) {
    return s === "graded" || s === "error";
  }
  async function drawResults(doc) {
    const shown = document.getElementById("results");
    if (shown && shown.dataset.status === doc.status) return; // the page was drawn graded
    try {
      const res = await fetch(root.dataset.results, { headers: { Accept: "text/html" } });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const page = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = page.getElementById("results");
      if (!fresh) throw new Error("no results in the answer");
      if (shown) shown.replaceWith(fresh); else root.append(fresh);
    } catch {
      window.location.reload(); // the reloaded page draws the same results
    }
  }
  // A finished status is shown once its results are drawn: "graded" never sits above pending rows.
  async function render(doc) {
    if (finished(doc.status)) {
      await drawResults(doc);
      score.textContent = doc.status === "graded" ? num(doc.score) + " / " + num(doc.max_score) : "";
    }
    if (doc.status) { status.textContent = doc.status; status.className = "badge status-" + doc.status; }
    const p = doc.progress;
    progress.textContent = p && p.cells ? "running cell " + p.cell + " of " + p.cells : "";
  }
  const source = new EventSource(root.dataset.events);
  for (const kind of ["queued", "running", "status", "graded", "error"]) {
    source.addEventListener(kind, (e) => {
      const doc = JSON.parse(e.data);
      render(doc);
      if (finished(doc.status)) source.close();
    });
  }
  source.addEventListener("progress", (e) => {
    const p = JSON.parse(e.data);
    progress.textContent = "running cell " + p.cell + " of " + p.cells;
  });
})();
