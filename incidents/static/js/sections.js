// The report form's optional sections (<details data-section>): their summary says how many
// of their fields are filled in, kept up to date here as the form is filled in. The count
// follows the rule of ReportForm.filled_in: a field counts once, whatever it holds; a radio
// group counts when another than its first choice (its default) is chosen; the colleague
// pickers' search fields do not count. Without JavaScript the server's count is shown.
(function () {
  "use strict";

  function filled(section) {
    var names = {};
    var firstRadio = {};
    var fields = section.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i];
      var name = el.name;
      if (!name || el.disabled || el.type === "search" || el.type === "submit" || el.type === "button" ||
          el.hasAttribute("data-picker-input")) {
        continue;
      }
      if (el.type === "radio") {
        if (!(name in firstRadio)) { firstRadio[name] = el; }
        if (el.checked && el !== firstRadio[name]) { names[name] = true; }
      } else if (el.type === "checkbox") {
        if (el.checked) { names[name] = true; }
      } else if ((el.value || "").trim() !== "") {
        names[name] = true;
      }
    }
    return Object.keys(names).length;
  }

  function update(section) {
    var count = section.querySelector("[data-section-count]");
    if (!count) { return; }
    var n = filled(section);
    // Singular for exactly 1 in both languages; the page gives both forms.
    var some = count.getAttribute(n === 1 ? "data-some-one" : "data-some") || count.getAttribute("data-some");
    var text = n ? some.replace("{count}", String(n)) : count.getAttribute("data-none");
    if (count.textContent !== text) { count.textContent = text; }  // no change, no new mutation
  }

  function init() {
    var sections = document.querySelectorAll("details[data-section]");
    for (var i = 0; i < sections.length; i++) {
      (function (section) {
        section.addEventListener("input", function () { update(section); });
        section.addEventListener("change", function () { update(section); });
        // The picker adds and removes chosen colleagues without an input event.
        new MutationObserver(function () { update(section); }).observe(section, { childList: true, subtree: true });
      })(sections[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
