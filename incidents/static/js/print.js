// A "Print" button on pages about an incident: shown only when scripts run (without them
// the browser's own print command gives the same print layout).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
