// Small DOM helpers the pages' scripts share (loaded before them, deferred, in order).
(function () {
  "use strict";

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  // `code` in backticks becomes <code> (as templates/_feedback.html's ticks macro does); an
  // unbalanced backtick stays as text.
  function ticks(node, text) {
    const parts = String(text).split("`");
    if (parts.length % 2 === 0) { node.textContent = text; return node; }
    parts.forEach((part, i) => node.append(i % 2 ? el("code", part) : part));
    return node;
  }

  function size(n) {
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

  window.AdventuresDom = { el, ticks, size };
})();
