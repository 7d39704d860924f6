// Instructor dashboard: the score histogram (chart.js) and a regrade's live progress bar (SSE).
(function () {
  "use strict";

  const canvas = document.getElementById("histogram");
  if (canvas && window.Chart) {
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: JSON.parse(canvas.dataset.labels),
        datasets: [{ label: "Members", data: JSON.parse(canvas.dataset.counts), backgroundColor: "#4b3fd6" }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { title: { display: true, text: "Best score (points)" } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Members" } },
        },
      },
    });
  }

  const box = document.querySelector("[data-regrade-events]");
  if (box && window.EventSource) {
    const bar = document.getElementById("regrade-bar");
    const text = document.getElementById("regrade-text");
    const source = new EventSource(box.dataset.regradeEvents);
    source.addEventListener("progress", (e) => {
      const p = JSON.parse(e.data);
      if (!p) return;
      bar.max = Math.max(1, p.total);
      bar.value = p.done;
      bar.textContent = Math.round((100 * p.done) / Math.max(1, p.total)) + "%";
      if (p.finished) {
        source.close();
        text.textContent = "Done: " + p.done + " of " + p.total + " regraded; " + p.raised + " went up, " + p.lowered + " went down.";
        box.classList.add("finished");
        const reload = document.createElement("a");
        reload.href = window.location.pathname;
        reload.textContent = "Show the new results";
        text.append(" ", reload);
      } else {
        text.textContent = p.done + " of " + p.total + " regraded…";
      }
    });
    source.addEventListener("error", () => { text.textContent = "Connection lost; retrying…"; });
  }
})();
