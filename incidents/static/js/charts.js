// Draws a chart above every table marked data-chart, from the table itself: the table stays
// the source (for screen readers and for copying); the chart only enhances it.
//
// Disclosure control: a suppressed count (<td data-suppressed>, true value 0 to k-1) is never
// drawn as a number. The value dataset has a gap there, and a second dataset draws a hatched
// floating bar over the band [0, k-1], "somewhere in here". Withheld cells (<td data-withheld>)
// and cells without data ("–") are gaps and nothing else; the table explains them.
// No inline styles (the CSP has style-src 'self'): sizes come from classes in app.css.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var root = document.documentElement;
  var colour = getComputedStyle(root).getPropertyValue("--brand").trim() || "#1d4f73";
  var lang = (root.getAttribute("lang") || "en").toLowerCase();
  // The server formats with the pattern #,##0.# in the page's language.
  var dutch = lang === "nl" || lang.indexOf("nl-") === 0;
  var groupSeparator = dutch ? "." : ",";
  var decimalSeparator = dutch ? "," : ".";

  // A number as the server wrote it ("1.234,5" in Dutch, "1,234.5" in English), or null when
  // the text is not one in that form: better a gap than a misread value.
  var literal = function (c) { return c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); };
  var numberForm = new RegExp("^-?(\\d{1,3}(" + literal(groupSeparator) + "\\d{3})+|\\d+)(" +
    literal(decimalSeparator) + "\\d+)?$");
  function parseNumber(text) {
    var clean = text.replace(/[\s\u00a0\u202f]/g, "").replace(/\u2212/g, "-");
    if (!numberForm.test(clean)) { return null; }
    clean = clean.split(groupSeparator).join("").replace(decimalSeparator, ".");
    return parseFloat(clean);
  }

  // One cell: {value: number|null, suppressed: bool, k: number|null (from the text, "< 5")}.
  function reading(cell) {
    var text = (cell && cell.textContent || "").trim();
    var marked = !!cell && cell.hasAttribute("data-suppressed");
    if (marked || /^[<\u2264]/.test(text)) {
      return { value: null, suppressed: true, k: parseNumber(text.replace(/^[<\u2264]/, "")) };
    }
    if (!cell || cell.hasAttribute("data-withheld")) { return { value: null, suppressed: false, k: null }; }
    return { value: parseNumber(text), suppressed: false, k: null };
  }

  // Diagonal stripes in the brand colour on white, drawn once on an offscreen canvas.
  var hatch = null;
  function hatchPattern() {
    if (hatch) { return hatch; }
    var size = 8;
    var tile = document.createElement("canvas");
    tile.width = size;
    tile.height = size;
    var ctx = tile.getContext("2d");
    if (!ctx) { return "#ffffff"; }
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.lineCap = "square";
    ctx.beginPath();
    // Three strokes so the stripes continue across the tile's edges.
    [-size, 0, size].forEach(function (shift) {
      ctx.moveTo(shift, size);
      ctx.lineTo(shift + size, 0);
    });
    ctx.stroke();
    hatch = ctx.createPattern(tile, "repeat") || "#ffffff";
    return hatch;
  }

  document.querySelectorAll("table[data-chart]").forEach(function (table) {
    var line = table.getAttribute("data-chart") === "line";
    var column = parseInt(table.getAttribute("data-chart-column") || "-1", 10);
    var k = parseInt(table.getAttribute("data-k") || "", 10);
    var labels = [], readings = [];
    table.querySelectorAll("tbody tr").forEach(function (row) {
      if (row.hasAttribute("data-total")) { return; }
      var cells = row.querySelectorAll("td");
      var head = row.querySelector("th");
      labels.push(head ? head.textContent.trim() : "");
      readings.push(reading(cells[column < 0 ? cells.length + column : column]));
    });
    if (!(k > 0)) {
      // Without data-k, fall back on the bound in the cell's own text ("< 5").
      readings.forEach(function (r) { if (r.suppressed && r.k > 0 && !(k > 0)) { k = r.k; } });
    }
    var banded = k > 0 && readings.some(function (r) { return r.suppressed; });
    var valueLabel = table.getAttribute("data-label-value") || "";
    var bandLabel = table.getAttribute("data-label-band") || (k > 0 ? "< " + k : "");

    var valueSet = {
      type: line ? "line" : "bar",
      label: valueLabel,
      data: readings.map(function (r) { return r.value; }),
      backgroundColor: colour,
      borderColor: colour,
      order: 0
    };
    if (line) { valueSet.spanGaps = false; } else { valueSet.grouped = false; }
    var datasets = [valueSet];
    if (banded) {
      datasets.push({
        type: "bar",
        label: bandLabel,
        band: true,
        data: readings.map(function (r) { return r.suppressed ? [0, k - 1] : null; }),
        backgroundColor: hatchPattern(),
        borderColor: colour,
        borderWidth: 1.5,
        borderSkipped: false,
        grouped: false,
        order: 1 // drawn behind the values
      });
    }

    var figure = document.createElement("div");
    figure.className = banded ? "chart chart-banded" : "chart";
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", (table.querySelector("caption") || {}).textContent || "");
    figure.appendChild(canvas);
    var holder = table.closest(".table-wrap") || table;
    holder.parentNode.insertBefore(figure, holder);
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        locale: lang,
        plugins: {
          legend: { display: banded },
          tooltip: {
            callbacks: {
              label: function (item) {
                if (item.dataset.band) { return bandLabel; }
                return (item.dataset.label ? item.dataset.label + ": " : "") + item.formattedValue;
              }
            }
          }
        },
        scales: { y: { beginAtZero: true } }
      }
    });
  });
})();
