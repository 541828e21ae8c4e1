// Behaviour every page shares, kept out of the templates so the CSP needs no 'unsafe-inline'.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
// A part loaded after the page (data-loading) that could not be loaded says so instead of spinning on.
function loadingFailed(event) {
  const target = event.detail && event.detail.elt;
  if (target && target.matches("[data-loading]")) {
    target.classList.add("failed");
    target.removeAttribute("aria-busy");
    target.textContent = target.dataset.failed || "加载失败，请刷新页面重试";
  }
}
document.addEventListener("htmx:responseError", loadingFailed);
document.addEventListener("htmx:sendError", loadingFailed);
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
// Place pickers (data-picker): a type-ahead lists townships and villages by name (htmx); picking one
// puts its code in the list's region box and searches, or (the household form) loads the village list
// of its county with it selected.
function pickPlace(option) {
  const picker = option.closest("[data-picker]");
  if (!picker) return;  // a list replaced while it was being clicked
  const box = picker.querySelector("[data-picker-input]");
  const results = picker.querySelector("[data-picker-results]");
  if (picker.dataset.picker === "filter") {
    box.value = option.dataset.pick;
    results.replaceChildren();
    box.form.requestSubmit();
    return;
  }
  const county = box.form.querySelector("select[name=county]");
  if (county) county.value = option.dataset.pickCounty;
  box.value = option.dataset.pickLabel;
  results.replaceChildren();
  htmx.ajax("GET", option.dataset.pickUrl, {target: "#village-box", swap: "innerHTML"});
}
document.addEventListener("click", (event) => {
  const option = event.target.closest("[data-picker] [data-pick]");
  if (option) pickPlace(option);
});
// Enter in the household form's place box picks the first match instead of sending the form.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !event.target.matches("[data-picker=form] [data-picker-input]")) return;
  event.preventDefault();
  const first = event.target.closest("[data-picker]").querySelector("[data-pick]");
  if (first) pickPlace(first);
});
