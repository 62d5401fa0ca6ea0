/* Planner charts: draw a chart spec computed by the server (mapsvc/planner/charts.py) with
   Chart.js, and fill the table beside it. No number is computed here: values, table cells,
   データなし and the reasons a chart is absent all come from the spec.
   window.MapsvcCharts.draw(card, spec) — card holds canvas, table and .chart-notes. */
(function () {
  "use strict";
  var charts = {};
  if (window.Chart) {
    window.Chart.defaults.font.family = "'Noto Sans CJK JP', 'Noto Sans JP', 'Hiragino Sans', 'Yu Gothic', sans-serif";
  }

  function cell(tag, text, attrs) {
    var el = document.createElement(tag);
    el.textContent = text === null || text === undefined ? "–" : String(text);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  function fillTable(table, spec) {
    table.innerHTML = "";
    table.hidden = !spec.rows.length;
    table.appendChild(cell("caption", spec.caption));
    var head = document.createElement("thead");
    var tr = document.createElement("tr");
    spec.columns.forEach(function (c) { tr.appendChild(cell("th", c, { scope: "col" })); });
    head.appendChild(tr);
    table.appendChild(head);
    var body = document.createElement("tbody");
    spec.rows.forEach(function (row) {
      var r = document.createElement("tr");
      row.forEach(function (v, i) { r.appendChild(cell(i === 0 ? "th" : "td", v, i === 0 ? { scope: "row" } : {})); });
      body.appendChild(r);
    });
    table.appendChild(body);
  }

  function fillNotes(box, spec) {
    box.innerHTML = "";
    [spec.missing, spec.no_denominator, spec.absent, spec.target_note].forEach(function (note) {
      if (note) box.appendChild(cell("p", note, { "class": "chart-note" }));
    });
  }

  function tick(unit) {
    return function (value) {
      var text = Number(value).toLocaleString("ja-JP", { maximumFractionDigits: 1 });
      return unit === "%" ? text + "%" : text;
    };
  }

  function line(ref, colour, n) {
    var values = [];
    for (var i = 0; i < n; i++) values.push(ref.value);
    return {
      type: "line", label: ref.label + " " + ref.text, data: values, borderColor: colour,
      borderDash: [6, 4], borderWidth: 2, pointRadius: 0, fill: false
    };
  }

  function config(spec) {
    var stacked = spec.kind === "stacked_bar";
    var type = spec.kind === "line" ? "line" : "bar";
    var datasets = spec.series.map(function (s) {
      return {
        label: s.label, data: s.values, backgroundColor: s.colour, borderColor: s.colour,
        spanGaps: false, pointRadius: 4, borderWidth: type === "line" ? 2 : 0
      };
    });
    if (spec.target) datasets.push(line(spec.target, "#d62828", spec.labels.length));
    if (spec.reference) datasets.push(line(spec.reference, "#b08900", spec.labels.length));
    return {
      type: type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { position: "top", labels: { boxWidth: 12 } }, title: { display: false } },
        scales: {
          x: { stacked: stacked, ticks: { autoSkip: true, maxRotation: 60 } },
          y: { stacked: stacked, beginAtZero: true, ticks: { callback: tick(spec.unit) },
               title: { display: !!spec.unit, text: spec.unit } }
        }
      }
    };
  }

  function draw(card, spec) {
    var canvas = card.querySelector("canvas");
    var title = card.querySelector("h3");
    if (title) title.textContent = spec.title;
    fillTable(card.querySelector("table"), spec);
    fillNotes(card.querySelector(".chart-notes"), spec);
    if (charts[canvas.id]) { charts[canvas.id].destroy(); delete charts[canvas.id]; }
    var drawable = spec.labels.length > 0 && spec.series.some(function (s) {
      return s.values.some(function (v) { return v !== null; });
    });
    canvas.parentNode.hidden = !drawable;
    canvas.setAttribute("aria-label", spec.title);
    card.dataset.missing = spec.missing ? "true" : "false";
    card.dataset.absent = spec.absent ? "true" : "false";
    if (drawable && window.Chart) charts[canvas.id] = new window.Chart(canvas, config(spec));
    card.dataset.state = "ready";
  }

  function fail(card, message) {
    card.dataset.state = "error";
    var box = card.querySelector(".chart-notes");
    box.innerHTML = "";
    box.appendChild(cell("p", message, { "class": "error" }));
  }

  function load(card, url) {
    card.dataset.state = "loading";
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.message || r.statusText);
          draw(card, body);
        });
      }).catch(function (err) { fail(card, err.message); });
  }

  /* the indicator charts of the indicators section: trend of one area, 二次医療圏 comparison */
  function indicatorCharts(api, kind, code, indicator) {
    var q = "indicator=" + encodeURIComponent(indicator);
    var jobs = [load(document.getElementById("sma-chart"), api + "/charts/medical-area?" + q)];
    if (code) {
      jobs.push(load(document.getElementById("trend-chart"), api + "/charts/trend?" + q +
        "&kind=" + encodeURIComponent(kind) + "&code=" + encodeURIComponent(code)));
    }
    return Promise.all(jobs);
  }

  window.MapsvcCharts = { draw: draw, fail: fail, indicatorCharts: indicatorCharts };
})();
