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
