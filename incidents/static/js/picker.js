// The colleague picker: turns each fieldset marked data-picker (see the colleague_picker macro)
// into a combobox after the ARIA Authoring Practices pattern (a text field with a list box
// popup, aria-activedescendant for the highlighted option). The chosen colleagues become
// chips: a hidden input with the id and a button to remove them.
//
// Without this script the fieldset works as it is: checkboxes for the chosen colleagues, a
// search field and a button that shows the matches. The texts come from the page (data-*
// attributes, translated by the server); the list comes from GET /incidents/colleagues?q=.
(function () {
  "use strict";
  var MIN_LENGTH = 2;
  var DELAY_MS = 150;
  var counter = 0;

  function fill(template, name, value) { return template.split("{" + name + "}").join(value); }

  function setUp(picker) {
    var input = picker.querySelector("[data-picker-input]");
    var button = picker.querySelector("[data-picker-button]");
    var chosen = picker.querySelector("[data-picker-chosen]");
    var status = picker.querySelector("[data-picker-status]");
    if (!input || !chosen || !status || !window.fetch) { return; }
    var name = picker.getAttribute("data-name");
    var source = picker.getAttribute("data-source");
    var text = function (key) { return picker.getAttribute("data-" + key) || ""; };
    var listId = input.id + "-listbox";
    var options = [];   // [{id, name, team}] shown in the list box
    var active = -1;    // index of the highlighted option
    var timer = null;
    var asked = 0;      // the number of the last request, so a late answer is ignored

    // The search button would submit the form (and is the default button for Enter).
    if (button) { button.parentNode.removeChild(button); }
    var results = picker.querySelector(".picker-results");
    if (results) { results.parentNode.removeChild(results); }

    var listbox = document.createElement("ul");
    listbox.id = listId;
    listbox.className = "picker-listbox";
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-labelledby", input.id + "-label");
    listbox.hidden = true;
    input.parentNode.appendChild(listbox);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.type = "text";

    function announce(message) {
      // A change of text is announced; the same text twice needs a reset first.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = message; }, 50);
    }

    function chosenIds() {
      var ids = {};
      var inputs = chosen.querySelectorAll("input[name='" + name + "']");
      for (var i = 0; i < inputs.length; i++) {
        if (inputs[i].type !== "checkbox" || inputs[i].checked) { ids[inputs[i].value] = true; }
      }
      return ids;
    }

    function addChip(id, label, team) {
      var item = document.createElement("li");
      item.className = "chip picker-chip";
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = id;
      var span = document.createElement("span");
      span.className = "picker-person";
      span.textContent = label;
      if (team) {
        var teamSpan = document.createElement("span");
        teamSpan.className = "picker-team";
        teamSpan.textContent = " (" + team + ")";
        span.appendChild(teamSpan);
      }
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "picker-remove";
      remove.setAttribute("aria-label", fill(text("remove"), "name", label));
      var cross = document.createElement("span");
      cross.setAttribute("aria-hidden", "true");
      cross.textContent = "\u00d7";
      remove.appendChild(cross);
      remove.addEventListener("click", function () {
        item.parentNode.removeChild(item);
        announce(fill(text("removed"), "name", label));
        input.focus();
      });
      item.appendChild(hidden);
      item.appendChild(span);
      item.appendChild(remove);
      chosen.appendChild(item);
    }

    // The colleagues the server drew as ticked checkboxes become chips.
    var drawn = chosen.querySelectorAll("li");
    for (var d = 0; d < drawn.length; d++) {
      var box = drawn[d].querySelector("input[type=checkbox]");
      var person = drawn[d].querySelector("[data-picker-person]");
      if (!box || !person) { continue; }
      var teamNode = person.querySelector(".picker-team");
      var team = teamNode ? teamNode.textContent.replace(/^\s*\(|\)\s*$/g, "") : "";
      var label = (teamNode ? person.firstChild.textContent : person.textContent).trim();
      var checked = box.checked;
      drawn[d].parentNode.removeChild(drawn[d]);
      if (checked) { addChip(box.value, label, team); }
    }

    function close() {
      listbox.hidden = true;
      listbox.textContent = "";
      options = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var items = listbox.children;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
        items[i].classList.toggle("picker-option--active", i === index);
      }
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", items[index].id);
        if (items[index].scrollIntoView) { items[index].scrollIntoView({ block: "nearest" }); }
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var colleague = options[index];
      if (!colleague) { return; }
      addChip(String(colleague.id), colleague.name, colleague.team);
      close();
      input.value = "";
      announce(fill(text("added"), "name", colleague.name));
      input.focus();
    }

    function show(colleagues) {
      var taken = chosenIds();
      options = colleagues.filter(function (c) { return !taken[String(c.id)]; });
      listbox.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (!options.length) {
        close();
        announce(text("none"));
        return;
      }
      options.forEach(function (c, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + (++counter);
        item.className = "picker-option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = c.name;
        if (c.team) {
          var teamSpan = document.createElement("span");
          teamSpan.className = "picker-team";
          teamSpan.textContent = " (" + c.team + ")";
          item.appendChild(teamSpan);
        }
        // mousedown, not click: the field keeps the focus.
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        listbox.appendChild(item);
      });
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
      // Both languages have one plural rule: singular for exactly 1 (the page gives both forms).
      announce(fill(text(options.length === 1 ? "found-one" : "found"), "count", String(options.length)));
    }

    function search() {
      var query = input.value.trim();
      if (query.length < MIN_LENGTH) { close(); return; }
      var number = ++asked;
      fetch(source + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      }).then(function (body) {
        if (number === asked) { show(body.colleagues || []); }
      }).catch(function () {
        if (number === asked) { close(); announce(text("failed")); }
      });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !listbox.hidden && options.length > 0;
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (!open) { search(); return; }
          highlight(active + 1 >= options.length ? 0 : active + 1);
          break;
        case "ArrowUp":
          event.preventDefault();
          if (open) { highlight(active <= 0 ? options.length - 1 : active - 1); }
          break;
        case "Enter":
          // Never submits the report from the search field.
          event.preventDefault();
          if (open && active >= 0) { choose(active); }
          else if (open && options.length === 1) { choose(0); }
          else { window.clearTimeout(timer); search(); }
          break;
        case "Escape":
          if (open) { event.preventDefault(); close(); }
          else if (input.value) { event.preventDefault(); input.value = ""; }
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });

    input.addEventListener("blur", function () { window.setTimeout(close, 150); });
  }

  function start() {
    var pickers = document.querySelectorAll("[data-picker]");
    for (var i = 0; i < pickers.length; i++) { setUp(pickers[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
