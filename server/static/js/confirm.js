// Forms with data-confirm="question?" ask before they submit (no inline handlers: the CSP
// allows only script files).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
