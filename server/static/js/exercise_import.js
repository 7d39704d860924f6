// Instructor Import page: the form posts to the API with XHR (upload progress; a refusal keeps
// every field as it was), and an import's page follows the worker over Server-Sent Events.
(function () {
  "use strict";

  const { el, size, ticks } = window.AdventuresDom;

  // ---- the form ------------------------------------------------------------------------------
  const form = document.getElementById("import-form");
  if (form) {
    const status = document.getElementById("import-status");
    const button = document.getElementById("import-submit");
    const bar = document.getElementById("import-bar");
    const limit = Number(form.dataset.limit);
    const token = document.querySelector('meta[name="csrf-token"]').content;

    const say = function (text, isError, doc) {
      status.replaceChildren(ticks(el("p"), text));
      status.firstChild.id = "import-message";
      status.className = isError ? "flash error" : "";
      if (!doc) return;
      const missing = (doc.datasets || []).filter((d) => !d.in_store);
      if (missing.length) {
        const list = el("ul");
        list.id = "import-missing";
        for (const d of missing) {
          const li = el("li");
          li.append(el("strong", d.name), ": ", el("code", d.command));
          list.append(li);
        }
        const link = el("a", "Open the Datasets page");
        link.href = doc.datasets_url;
        const p = el("p");
        p.append(link);
        status.append(list, p);
      }
      if ((doc.notes || []).length) {
        const notes = el("ul", undefined, "import-notes");
        for (const n of doc.notes) notes.append(ticks(el("li"), n));
        status.append(notes);
      }
    };

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const files = ["import-notebook", "import-solution"]
        .map((id) => document.getElementById(id).files[0])
        .filter(Boolean);
      for (const file of files) {
        if (file.size > limit) {
          say(file.name + " is " + size(file.size) + "; the limit is " + size(limit) + " per notebook.", true);
          return;
        }
      }
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.endpoint);
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Accept", "application/json");
      bar.hidden = false;
      bar.value = 0;
      button.disabled = true;
      say("Uploading…");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        bar.max = Math.max(1, e.total);
        bar.value = e.loaded;
        if (e.loaded >= e.total) say("Uploaded; reading the notebooks…");
      });
      xhr.addEventListener("load", () => {
        let doc = null;
        try { doc = JSON.parse(xhr.responseText); } catch (_) { doc = null; }
        if (xhr.status === 202 && doc) {
          say("Queued as import #" + doc.id + "; opening its page…");
          window.location.assign(doc.url);
          return;
        }
        button.disabled = false;
        bar.hidden = true;
        say((doc && doc.message) || "The import was refused (HTTP " + xhr.status + ").", true, doc);
      });
      xhr.addEventListener("error", () => {
        button.disabled = false;
        say("The connection failed during the upload; try again.", true);
      });
      xhr.send(new FormData(form));
    });
  }

  // ---- one import, live ----------------------------------------------------------------------
  const root = document.getElementById("import");
  if (!root || root.dataset.finished === "true") return;
  const badge = document.getElementById("import-badge");
  const phase = document.getElementById("import-phase");
  const elapsed = document.getElementById("import-elapsed");
  const badgeClass = { done: "graded", failed: "error" };
  let started = null;

  setInterval(() => {
    if (started) elapsed.textContent = Math.round((Date.now() - started) / 1000) + " s";
  }, 1000);

  const source = new EventSource(root.dataset.events);
  source.addEventListener("status", (e) => {
    const doc = JSON.parse(e.data);
    badge.textContent = doc.status;
    badge.className = "badge status-" + (badgeClass[doc.status] || doc.status);
    phase.textContent = doc.phase;
    started = doc.started_at && !doc.finished ? Date.parse(doc.started_at) : null;
    root.dataset.status = doc.status;
    if (doc.finished) {
      source.close();
      window.location.reload(); // the server renders the notes, checks and outcome
    }
  });
})();
