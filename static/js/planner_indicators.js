/* Planner indicators: the choropleth of one indicator by area kind (legend with units and
   データなし in grey), its table with a report link per area, the trend / 二次医療圏 charts
   (planner_charts.js) and the 積極的役割 candidates table. Plain script, loaded before
   planner.js, which calls window.MapsvcPlannerIndicators(P) with its shared helpers
   (P: cfg, api, $, esc, num, val, getJSON, toQuery, showError, query) and gets back
   { run, candidates }. */
(function () {
  "use strict";

  window.MapsvcPlannerIndicators = function (P) {
    var $ = P.$, cfg = P.cfg, esc = P.esc, num = P.num, val = P.val;
    var indMap = L.map("choropleth-map").setView([34.3, 134.05], 11);
    window.MapsvcMap.baseMap(indMap, cfg, "tile-note");
    var choroLayer = L.layerGroup().addTo(indMap);

    function drawChoropleth(data) {
      choroLayer.clearLayers();
      var layer = L.geoJSON(data, {
        className: "choropleth-area",
        style: function (f) { return { color: "#555", weight: 1, fillColor: f.properties.colour, fillOpacity: 0.75 }; },
        onEachFeature: function (f, l) {
          l.bindTooltip(esc(f.properties.name) + ": " + (f.properties.missing ? "データなし" : f.properties.value === null ? "–" : val(f.properties.value) + " " + esc(data.unit)));
        }
      }).addTo(choroLayer);
      if (layer.getBounds().isValid()) indMap.fitBounds(layer.getBounds());
      $("choropleth-legend").innerHTML = "<strong>" + esc(data.label) + "</strong><ul>" + data.legend.map(function (c) {
        return "<li><span class=swatch style=\"background:" + c.colour + "\"></span>" + (c.missing ? esc(c.label) :
          val(c.from) + " – " + val(c.to) + " " + esc(data.unit)) + "</li>";
      }).join("") + "</ul>";
    }

    function fillChoices(form, data) {
      var select = form.indicator, names = data.indicator_labels || {};
      if (select.options.length < data.indicators.length) {
        var current = select.value;
        select.innerHTML = data.indicators.map(function (i) {
          return "<option value=\"" + esc(i) + "\"" + (i === current ? " selected" : "") + ">" + esc(names[i] || i) + "</option>";
        }).join("");
      }
      var areaSelect = $("trend-area"), chosen = areaSelect.value;
      areaSelect.innerHTML = data.features.map(function (f) {
        var c = f.properties.code;
        return "<option value=\"" + esc(c) + "\"" + (c === chosen ? " selected" : "") + ">" + esc(f.properties.name) + "</option>";
      }).join("");
      areaSelect.dataset.kind = data.kind;
      return areaSelect.value;
    }

    function fillTable(data) {
      var cov = "&" + P.toQuery(Object.assign({ indicator: data.indicator }, P.query() || {}));
      $("ind-table").querySelector("tbody").innerHTML = data.features.map(function (f) {
        var p = f.properties;
        return "<tr><td>" + esc(p.name) + "</td><td>" + (p.missing ? "データなし" : val(p.value)) + "</td><td>" +
          num(p.numerator) + "</td><td>" + num(p.denominator) + "</td><td><a target=_blank href=\"" + cfg.base + "/report/" +
          encodeURIComponent(data.kind) + "/" + encodeURIComponent(p.code) + "?" + cov.slice(1) + "\">PDF/印刷</a></td></tr>";
      }).join("");
    }

    function run() {
      var form = $("indicator-form");
      var q = new URLSearchParams({ kind: form.kind.value, indicator: form.indicator.value });
      ["geojson", "gpkg", "csv"].forEach(function (f) { $("dl-ind-" + f).href = cfg.base + "/download/indicators." + f + "?kind=" + form.kind.value; });
      $("choropleth-map").dataset.state = "loading";
      P.showError("ind-error", "");
      return P.getJSON(P.api + "/indicators?" + q.toString()).then(function (data) {
        drawChoropleth(data);
        var area = fillChoices(form, data);
        window.MapsvcCharts.indicatorCharts(P.api, data.kind, area, data.indicator);
        fillTable(data);
        $("choropleth-map").dataset.state = "ready";
      }).catch(function (err) {
        $("choropleth-map").dataset.state = "error";
        P.showError("ind-error", cfg.texts.error + ": " + err.message);
      });
    }

    function candidates() {
      return P.getJSON(P.api + "/candidates").then(function (rows) {
        var ja = cfg.lang !== "en";
        $("candidates-table").querySelector("tbody").innerHTML = rows.map(function (m) {
          var list = m.candidates.length ? m.candidates : [{ name: "–", reason_ja: "", reason_en: "" }];
          return list.map(function (c, i) {
            return "<tr>" + (i === 0 ? "<th scope=row rowspan=" + list.length + ">" + esc(m.name) + "<br><small>" +
              esc(ja ? m.reason_ja : m.reason_en) + "</small></th>" : "") + "<td>" + esc(c.name) + "</td><td>" +
              esc(ja ? c.reason_ja : c.reason_en) + "</td></tr>";
          }).join("");
        }).join("");
      }).catch(function (err) {
        $("candidates-table").querySelector("tbody").innerHTML = "<tr><td colspan=3>" + esc(err.message) + "</td></tr>";
      });
    }

    $("indicator-form").addEventListener("submit", function (e) { e.preventDefault(); run(); });
    $("trend-area").addEventListener("change", function () {
      window.MapsvcCharts.indicatorCharts(P.api, this.dataset.kind, this.value, $("indicator-form").indicator.value);
    });

    return { run: run, candidates: candidates };
  };
})();
