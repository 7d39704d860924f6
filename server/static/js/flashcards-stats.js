// Stats charts: a calendar heatmap (chartjs-chart-matrix) and the 30-day due forecast (chart.js).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("stats-data").textContent);
  if (!window.Chart) return;
  const css = getComputedStyle(document.documentElement);
  const brand = css.getPropertyValue("--brand").trim() || "#4b3fd6";
  const DAY = 86400000;
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  // Heatmap: one column per week (Monday first), the last year up to today (UTC); half on phones.
  const canvas = document.getElementById("heatmap");
  const WEEKS = canvas.parentElement.clientWidth < 500 ? 26 : 53;
  canvas.setAttribute("aria-label", `Calendar heatmap of reviews per day over the last ${WEEKS} weeks`);
  const counts = new Map(data.per_day.map((d) => [d.day, d.count]));
  const today = new Date(data.today + "T00:00:00Z");
  const weekday = (today.getUTCDay() + 6) % 7;
  const start = new Date(+today - ((WEEKS - 1) * 7 + weekday) * DAY);
  const cells = [];
  let max = 1;
  for (let t = +start; t <= +today; t += DAY) {
    const day = new Date(t).toISOString().slice(0, 10);
    const v = counts.get(day) || 0;
    max = Math.max(max, v);
    cells.push({ x: Math.floor((t - start) / (7 * DAY)), y: (new Date(t).getUTCDay() + 6) % 7, v, day });
  }
  const shade = (v) => {
    if (!v) return "#eceef4";
    const a = 0.25 + 0.75 * Math.min(1, v / max);
    return `rgba(75, 63, 214, ${a.toFixed(2)})`;
  };
  new Chart(canvas, {
    type: "matrix",
    data: {
      datasets: [{
        data: cells,
        backgroundColor: (c) => shade(c.raw ? c.raw.v : 0),
        borderWidth: 0,
        width: ({ chart }) => Math.max(2, (chart.chartArea || {}).width / WEEKS - 2),
        height: ({ chart }) => Math.max(2, (chart.chartArea || {}).height / 7 - 2),
      }],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items) => items[0].raw.day,
            label: (item) => `${item.raw.v} review${item.raw.v === 1 ? "" : "s"}`,
          },
        },
      },
      scales: {
        x: { type: "linear", min: -0.5, max: WEEKS - 0.5, offset: false, display: false },
        y: {
          type: "linear", min: -0.5, max: 6.5, reverse: true, offset: false,
          grid: { display: false }, border: { display: false },
          afterBuildTicks: (scale) => { scale.ticks = [0, 2, 4, 6].map((value) => ({ value })); },
          ticks: { callback: (v) => WEEKDAYS[v] },
        },
      },
    },
  });

  new Chart(document.getElementById("forecast"), {
    type: "bar",
    data: {
      labels: data.forecast.map((d, i) => (i === 0 ? "today" : d.day.slice(5))),
      datasets: [
        { label: "Review", data: data.forecast.map((d) => d.review), backgroundColor: brand },
        { label: "Learning", data: data.forecast.map((d) => d.learning), backgroundColor: "#e08a1e" },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 8 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
})();
