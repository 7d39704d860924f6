// Instructor Datasets page: upload one file as the raw request body with XHR, so the browser
// reports upload progress; the server hashes it while writing it into the store.
(function () {
  "use strict";

  const form = document.getElementById("dataset-upload");
  if (!form) return;
  const fileInput = document.getElementById("dataset-file");
  const nameInput = document.getElementById("dataset-name");
  const urlInput = document.getElementById("dataset-urls");
  const unpack = document.getElementById("dataset-unpack");
  const tfds = document.getElementById("dataset-tfds");
  const button = document.getElementById("dataset-submit");
  const bar = document.getElementById("dataset-bar");
  const status = document.getElementById("dataset-status");
  const limit = Number(form.dataset.limit);
  const token = document.querySelector('meta[name="csrf-token"]').content;

  const { el, size } = window.AdventuresDom;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function showRow(d) {
    const body = document.querySelector("#dataset-table tbody");
    for (const row of body.querySelectorAll("tr")) {
      const cell = row.querySelector("td strong");
      if (!cell || cell.textContent === d.name || row.querySelector("td[colspan]")) row.remove();
    }
    // The same cells as the page's own rows (templates/instructor/datasets.html).
    const row = document.createElement("tr");
    const files = d.file_count === 1 ? " file" : " files";
    const cells = [
      d.name,
      String(d.version),
      d.kind + (d.kind === "dir" ? " (" + d.file_count + files + ")" : ""),
      size(d.size),
      "", // URLs and used-by: built below
      "",
      (d.added_at || "").slice(0, 16).replace("T", " ") + " UTC",
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 0) {
        const strong = el("strong", d.name);
        td.append(strong);
        if (d.tfds) td.append(" ", el("span", "TFDS", "badge"));
      } else if (i === 4) {
        (d.urls || []).forEach((url, k) => {
          if (k) td.append(document.createElement("br"));
          // Break a long URL after its slashes (<wbr>), as the page's own rows do.
          const code = document.createElement("code");
          url.split("/").forEach((part, j) => {
            if (j) code.append("/", document.createElement("wbr"));
            code.append(part);
          });
          td.append(code);
        });
        if (!(d.urls || []).length) td.append(el("span", "–", "muted"));
      } else if (i === 5) {
        (d.used_by || []).forEach((slug, k) => td.append(k ? ", " : "", el("span", slug, "nowrap-wide")));
        if (!(d.used_by || []).length) td.textContent = "–";
      } else if (i === 6) {
        td.append(el("small", text, "nowrap-wide"));
      } else {
        td.textContent = text;
      }
      if (i === 1 || i === 3) td.className = "num";
      if (i === 2 || i === 4 || i === 6) td.classList.add("hide-narrow");
      row.append(td);
    });
    body.prepend(row);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) { say("Choose a file first.", true); return; }
    if (file.size > limit) {
      say(file.name + " is " + size(file.size) + "; the limit is " + size(limit) + ".", true);
      return;
    }
    const params = new URLSearchParams({ filename: file.name });
    if (nameInput.value.trim()) params.set("name", nameInput.value.trim());
    for (const url of urlInput.value.split(/\s+/).filter(Boolean)) params.append("url", url);
    if (unpack.checked) params.set("unpack", "1");
    if (tfds.checked) params.set("tfds", "1");

    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.endpoint + "?" + params.toString());
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    bar.hidden = false;
    bar.max = Math.max(1, file.size);
    bar.value = 0;
    button.disabled = true;
    say("Uploading " + file.name + "…");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.max = Math.max(1, e.total);
      bar.value = e.loaded;
      bar.textContent = Math.round((100 * e.loaded) / Math.max(1, e.total)) + "%";
      say("Uploading " + file.name + ": " + size(e.loaded) + " of " + size(e.total) + "…");
      if (e.loaded >= e.total) say("Uploaded; storing " + file.name + "…");
    });
    xhr.addEventListener("load", () => {
      button.disabled = false;
      let doc = null;
      try { doc = JSON.parse(xhr.responseText); } catch (_) { doc = null; }
      if (xhr.status === 200 || xhr.status === 201) {
        bar.value = bar.max;
        say(doc.message.charAt(0).toUpperCase() + doc.message.slice(1) + ".");
        showRow(doc.dataset);
        form.reset();
      } else {
        bar.hidden = true; // a full bar beside a refusal reads as success
        const message = (doc && doc.message) || "The upload failed (HTTP " + xhr.status + ")";
        say(message.charAt(0).toUpperCase() + message.slice(1) + (/[.)]$/.test(message) ? "" : "."), true);
      }
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      bar.hidden = true;
      say("The connection failed during the upload; try again.", true);
    });
    xhr.send(file);
  });
})();
