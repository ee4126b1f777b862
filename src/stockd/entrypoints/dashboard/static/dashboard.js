// stockd dashboard: the live indicator and the trend charts (uPlot). No inline script: the page's CSP forbids it.
(function () {
  "use strict";
  var charts = (window.stockdCharts = {});

  document.addEventListener("htmx:sseOpen", function () { setLive(true); });
  document.addEventListener("htmx:sseError", function () { setLive(false); });

  function setLive(on) {
    var dot = document.getElementById("live");
    if (dot) { dot.className = on ? "live on" : "live off"; dot.title = on ? "live" : "reconnecting"; }
  }

  function opts(title, width, stepped, color) {
    var paths = stepped ? uPlot.paths.stepped({ align: 1 }) : uPlot.paths.bars({ size: [0.8, 40] });
    return {
      title: title, width: width, height: 240,
      scales: { x: { time: true } },
      series: [{}, { label: title, stroke: color, fill: color + "33", width: 2, paths: paths, points: { show: false } }],
      axes: [{}, { size: 60 }],
    };
  }

  function draw(data) {
    var box = document.getElementById("charts");
    var width = Math.max(320, box.clientWidth / 2 - 40);
    var specs = [["stock", "stock-chart", "On hand", true, "#2563eb"], ["sales", "sales-chart", "Sold", false, "#16a34a"]];
    specs.forEach(function (s) {
      var series = data[s[0]];
      if (charts[s[0]]) { charts[s[0]].setData(series); return; }
      charts[s[0]] = new uPlot(opts(s[2], width, s[3], s[4]), series, document.getElementById(s[1]));
    });
    box.dataset.points = String(data.stock[0].length);
  }

  function load() {
    var box = document.getElementById("charts");
    if (!box) { return; }
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(draw)
      .catch(function (e) { box.dataset.error = String(e); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    load();
    if (document.getElementById("charts")) { setInterval(load, 5000); }
    ["trend-sku", "trend-hours"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("change", function () { el.form.submit(); }); }
    });
  });
})();
