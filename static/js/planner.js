/* Planner view: the coverage map (covered area, uncovered places, providers), the 16 km
   versus travel-time comparison, and the start of the page. Plain script (no build step).
   Needs Leaflet and map_common.js (window.MapsvcMap), and, loaded before it,
   planner_whatif.js (hypothetical sites) and planner_indicators.js (choropleth, charts,
   candidates), which it calls with the helpers below. */
(function () {
  "use strict";
  var M = window.MapsvcMap;
  var cfg = M.readConfig("map-config");
  var api = cfg.api;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var esc = M.esc;  // HTML-escapes every server value put into innerHTML below

  function $(id) { return document.getElementById(id); }
  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }
  function num(v) { return v === null || v === undefined ? "–" : Number(v).toLocaleString(); }
  /* indicator values: separators and at most 3 decimals, never 1.499e+5 */
  function val(v) { return v === null || v === undefined ? "–" : Number(v).toLocaleString("ja-JP", { maximumFractionDigits: 3 }); }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.message || r.statusText);
          return body;
        });
      });
  }

  /* ---- coverage map ---------------------------------------------------------------- */
  var covMap = L.map("coverage-map", { preferCanvas: false }).setView([34.3, 134.05], 12);
  M.baseMap(covMap, cfg, "tile-note");
  var areaLayer = L.layerGroup().addTo(covMap);
  var uncoveredLayer = L.layerGroup().addTo(covMap);
  var providerLayer = L.layerGroup().addTo(covMap);
  var lastQuery = null;

  function analysis() {
    var form = $("coverage-form");
    var cap = form.capability.value;
    var opt = form.capability.selectedOptions[0];
    var body = { capability: [], type: [] };
    if (cap) {
      body.capability.push(opt && opt.dataset.kind === "level" ? cap + ":" + form.level.value : cap);
    }
    if (form.type.value) body.type.push(form.type.value);
    var mode = form.querySelector('input[name="mode"]:checked').value;
    if (mode === "minutes" || mode === "compare") body.minutes = form.minutes.value;
    if (mode === "radius_km" || mode === "compare") body.radius_km = form.radius_km.value;
    if (form.population.value) body.population = form.population.value;
    return body;
  }

  function toQuery(body) {
    var q = new URLSearchParams();
    Object.keys(body).forEach(function (k) {
      var v = body[k];
      if (Array.isArray(v)) v.forEach(function (x) { q.append(k, x); });
      else if (v !== undefined && v !== null && v !== "") q.append(k, v);
    });
    return q.toString();
  }

  function showError(id, message) {
    var el = $(id);
    el.textContent = message || "";
    el.hidden = !message;
  }

  function drawCoverage(data) {
    areaLayer.clearLayers();
    uncoveredLayer.clearLayers();
    providerLayer.clearLayers();
    var area = L.geoJSON(data.area, {
      className: "coverage-area",
      style: { color: "#1d6f65", weight: 1, fillColor: "#2a9d8f", fillOpacity: 0.3 }
    }).addTo(areaLayer);
    var maxOld = 1;
    data.uncovered.features.forEach(function (f) { maxOld = Math.max(maxOld, f.properties["75+"]); });
    L.geoJSON(data.uncovered, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {
          className: "uncovered-place", radius: 3 + 9 * f.properties["75+"] / maxOld,
          color: "#d62828", weight: 1, fillOpacity: 0.6,
          interactive: false  /* clicks go to the map (what-if); names are in the list */
        });
      }
    }).addTo(uncoveredLayer);
    data.providers_points.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], { className: "provider-point", radius: 4, color: "#1d3557", fillOpacity: 1 })
        .bindTooltip(esc(p.name)).addTo(providerLayer);
    });
    var b = area.getBounds();
    if (b.isValid()) covMap.fitBounds(b, { maxZoom: 14 });
    else if (data.uncovered.features.length) covMap.fitBounds(L.geoJSON(data.uncovered).getBounds());
  }

  function showBands(data) {
    var old = data.bands.filter(function (r) { return r.band === "75+"; })[0];
    var share = $("share-75");
    var missing = data.missing || [];
    share.textContent = missing.length ? missing[0].message : pct(old.share);
    share.dataset.value = missing.length || old.share === null ? "" : old.share;
    share.dataset.missing = missing.length ? "true" : "false";
    var note = data.population_note || {};
    var popText = (cfg.lang === "en" ? "population: " : "人口データ: ") + (note.dataset || data.population) +
      (note.survey_date ? (cfg.lang === "en" ? " (survey " : "（調査日 ") + note.survey_date + (cfg.lang === "en" ? ")" : "）") : "") +
      (note.why === "newest" ? (cfg.lang === "en" ? ", the newest loaded" : "・読み込み済みで最新") : "");
    $("cov-summary").textContent = data.description + " — " + data.providers + " / " + data.units + " · " + popText;
    $("cov-summary").dataset.population = note.dataset || "";
    document.dispatchEvent(new CustomEvent("planner:coverage", { detail: data }));  // planner_offnet.js
    window.MapsvcCharts.draw($("coverage-chart"), data.chart);
    $("uncovered-list").innerHTML = data.uncovered_places.map(function (p) {
      return "<li>" + esc(p.name || p.key) + " — 75+ " + num(p["75+"]) + " / " + num(p.total) + "</li>";
    }).join("");
  }

  var QUAD_COLOURS = { both: "#2a9d8f", only_radius: "#e9c46a", only_minutes: "#8ab17d", neither: "#d62828" };
  var compareLayer = L.layerGroup().addTo(covMap);

  function drawCompare(data) {
    compareLayer.clearLayers();
    ["both", "only_radius", "only_minutes"].forEach(function (q) {
      L.geoJSON(data.areas[q], {
        className: "quadrant-" + q,
        style: { color: QUAD_COLOURS[q], weight: 1, fillColor: QUAD_COLOURS[q], fillOpacity: 0.35 }
      }).addTo(compareLayer);
    });
    var qs = data.quadrants;
    $("compare-summary").textContent = data.description + " — " + num(data.radius_km) + " km / " + num(data.minutes) + " min";
    $("compare-table").querySelector("tbody").innerHTML = data.bands.map(function (r) {
      return "<tr><th scope=row>" + esc(r.band) + "</th><td>" + num(r.total) + "</td>" +
        qs.map(function (q) { return "<td>" + num(r[q]) + "</td>"; }).join("") + "</tr>";
    }).join("");
    $("compare-areas").querySelector("tbody").innerHTML = data.by_area.map(function (a) {
      return "<tr><th scope=row>" + esc(a.name || a.area) + "</th><td>" + num(a["75+"]) + "</td>" +
        qs.map(function (q) { return "<td>" + num(a["75+_" + q]) + "</td>"; }).join("") + "</tr>";
    }).join("");
    $("compare-box").hidden = false;
  }

  function runCompare(body) {
    var q = toQuery(body);
    ["geojson", "gpkg", "csv"].forEach(function (f) { $("dl-cmp-" + f).href = cfg.base + "/download/compare." + f + "?" + q; });
    return getJSON(api + "/compare?" + q).then(drawCompare);
  }

  function runCoverage() {
    var body = analysis();
    var comparing = $("coverage-form").querySelector('input[name="mode"]:checked').value === "compare";
    if (comparing) {
      $("coverage-map").dataset.state = "loading";
      showError("cov-error", "");
      areaLayer.clearLayers();
      return runCompare(body).then(function () {
        var cov = Object.assign({}, body);
        delete cov.radius_km;  /* the travel-time side drives bands, list and what-if */
        lastQuery = cov;
        return getJSON(api + "/coverage?" + toQuery(cov));
      }).then(function (data) {
        showBands(data);
        $("coverage-map").dataset.state = "ready";
      }).catch(function (err) {
        $("coverage-map").dataset.state = "error";
        showError("cov-error", cfg.texts.error + ": " + err.message);
      });
    }
    $("compare-box").hidden = true;
    compareLayer.clearLayers();
    lastQuery = body;
    var q = toQuery(body);
    ["geojson", "gpkg", "csv"].forEach(function (f) { $("dl-cov-" + f).href = cfg.base + "/download/coverage." + f + "?" + q; });
    $("coverage-map").dataset.state = "loading";
    showError("cov-error", "");
    return getJSON(api + "/coverage?" + q).then(function (data) {
      drawCoverage(data);
      showBands(data);
      $("coverage-map").dataset.state = "ready";
      if (whatIf.count()) return whatIf.run();
    }).catch(function (err) {
      $("coverage-map").dataset.state = "error";
      showError("cov-error", cfg.texts.error + ": " + err.message);
    });
  }

  $("coverage-form").addEventListener("submit", function (e) { e.preventDefault(); runCoverage(); });

  /* the parts: what-if sites (planner_whatif.js), indicators and candidates
     (planner_indicators.js), each given the helpers and the analysis on the map */
  var P = {
    map: covMap, cfg: cfg, api: api, csrf: csrf, $: $, esc: esc, num: num, pct: pct, val: val,
    getJSON: getJSON, toQuery: toQuery, showError: showError,
    query: function () { return lastQuery; }
  };
  var whatIf = window.MapsvcPlannerWhatIf(P);
  var indicators = window.MapsvcPlannerIndicators(P);

  getJSON(api + "/meta").then(function (meta) {
    var select = $("coverage-form").population;
    select.innerHTML = meta.datasets.map(function (d) {
      return "<option value=\"" + esc(d.dataset) + "\"" + (d.dataset === meta.default ? " selected" : "") + ">" +
        esc(d.dataset) + (d.survey_date ? " (" + esc(d.survey_date) + ")" : "") + "</option>";
    }).join("");
    if (!meta.networks.some(function (n) { return n.active; })) {
      var minutes = document.querySelector('input[name="mode"][value="minutes"]');
      minutes.disabled = true;
    }
  }).then(function () {
    window.MapsvcPlanner = {  /* for planner_scenarios.js: the analysis and the sites */
      map: covMap, getJSON: getJSON, csrf: csrf, num: num, pct: pct, run: runCoverage,
      query: P.query, sites: whatIf.sites, setSites: whatIf.setSites
    };
    document.dispatchEvent(new Event("mapsvc-planner-ready"));
    runCoverage();
    indicators.run();
    indicators.candidates();
  });
})();
