// Behaviour every page shares, kept out of the templates so the CSP needs no 'unsafe-inline'.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
// The phone layout folds the main menu behind a button (the header's "menu-open" class shows it).
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-menu-toggle]");
  if (!toggle) return;
  const open = toggle.closest("header").classList.toggle("menu-open");
  toggle.setAttribute("aria-expanded", String(open));
});
// A "select all" box ticks every box of the name it names (the household list's batch selection).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`).forEach((box) => {
    box.checked = all.checked;
  });
});
// A form sent back with errors: its summary at the top takes the focus (and the screen).
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
