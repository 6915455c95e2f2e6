// Draws a chart above every table marked data-chart, from the table itself: the table stays
// the source (for screen readers and for copying); the chart only enhances it.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var colour = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() || "#1d4f73";

  function number(cell) {
    var text = (cell && cell.textContent || "").trim().replace(",", ".");
    if (text === "" || text.charAt(0) === "<" || text === "–") { return null; }
    var value = parseFloat(text);
    return isNaN(value) ? null : value;
  }

  document.querySelectorAll("table[data-chart]").forEach(function (table) {
    var column = parseInt(table.getAttribute("data-chart-column") || "-1", 10);
    var labels = [], values = [];
    table.querySelectorAll("tbody tr").forEach(function (row) {
      if (row.hasAttribute("data-total")) { return; }
      var cells = row.querySelectorAll("td");
      var head = row.querySelector("th");
      labels.push(head ? head.textContent.trim() : "");
      values.push(number(cells[column < 0 ? cells.length + column : column]));
    });
    var figure = document.createElement("div");
    figure.className = "chart";
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", (table.querySelector("caption") || {}).textContent || "");
    figure.appendChild(canvas);
    var holder = table.closest(".table-wrap") || table;
    holder.parentNode.insertBefore(figure, holder);
    new Chart(canvas, {
      type: table.getAttribute("data-chart") === "line" ? "line" : "bar",
      data: { labels: labels, datasets: [{ data: values, backgroundColor: colour, borderColor: colour }] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true } }
      }
    });
  });
})();
