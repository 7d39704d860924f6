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

  function size(n) {
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

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
    const row = document.createElement("tr");
    const cells = [
      d.name + (d.tfds ? " (TFDS)" : ""),
      String(d.version),
      d.kind + (d.kind === "dir" ? " (" + d.file_count + " files)" : ""),
      size(d.size),
      (d.urls || []).join(" ") || "–",
      (d.used_by || []).join(", ") || "–",
      (d.added_at || "").slice(0, 16).replace("T", " ") + " UTC",
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 0) {
        const strong = document.createElement("strong");
        strong.textContent = d.name;
        td.append(strong, d.tfds ? " TFDS" : "");
      } else {
        td.textContent = text;
      }
      if (i === 1 || i === 3) td.className = "num";
      if (i === 4 || i === 6) td.classList.add("hide-narrow");
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
        say((doc && doc.message) || "The upload failed (HTTP " + xhr.status + ").", true);
      }
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      say("The connection failed during the upload; try again.", true);
    });
    xhr.send(file);
  });
})();
