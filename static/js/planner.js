/* Planner view: coverage map, what-if, indicator choropleth, candidates.
   Plain script (no build step). Needs Leaflet and map_common.js (window.MapsvcMap). */
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
  var hypoAreaLayer = L.layerGroup().addTo(covMap);
  var uncoveredLayer = L.layerGroup().addTo(covMap);
  var providerLayer = L.layerGroup().addTo(covMap);
  var hypoLayer = L.layerGroup().addTo(covMap);
  var hypothetical = [];
  var adding = false;
  var lastQuery = null;
  var lastBefore = null;

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
        lastBefore = data;
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
      lastBefore = data;
      drawCoverage(data);
      showBands(data);
      $("coverage-map").dataset.state = "ready";
      if (hypothetical.length) return runWhatIf();
    }).catch(function (err) {
      $("coverage-map").dataset.state = "error";
      showError("cov-error", cfg.texts.error + ": " + err.message);
    });
  }

  function runWhatIf() {
    if (!lastQuery || !hypothetical.length) return Promise.resolve();
    var body = Object.assign({}, lastQuery, { providers: hypothetical.map(sitePayload) });
    return fetch(api + "/what-if", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { if (!r.ok) throw new Error(data.message); return data; });
    }).then(function (data) {
      var after = data.after.bands.filter(function (r) { return r.band === "75+"; })[0];
      var gain = data.gain.filter(function (r) { return r.band === "75+"; })[0];
      var el = $("whatif-share");
      el.textContent = pct(after.share);
      el.dataset.value = after.share === null ? "" : after.share;
      $("whatif-gain").textContent = "+" + num(gain.covered) + " (75+), +" + ((gain.share || 0) * 100).toFixed(1) + " pt";
      $("whatif-areas").querySelector("tbody").innerHTML = data.by_area.map(function (a) {
        return "<tr><td>" + esc(a.name || a.area) + "</td><td>" + num(a["75+"]) + "</td><td>" + pct(a["75+_share_before"]) +
          "</td><td>" + pct(a["75+_share_after"]) + "</td></tr>";
      }).join("");
      hypoAreaLayer.clearLayers();
      if (data.after_area) {
        L.geoJSON(data.after_area, { className: "whatif-area", style: { color: "#e76f51", weight: 1, dashArray: "4", fillOpacity: 0.15 } }).addTo(hypoAreaLayer);
      }
      $("coverage-map").dataset.whatif = "ready";
    }).catch(function (err) { showError("cov-error", cfg.texts.error + ": " + err.message); });
  }

  /* each hypothetical site: a draggable marker and a row with its own minutes / km */
  function sitePayload(site) {
    var p = { lon: site.lon, lat: site.lat };
    if (site.type) p.type = site.type;
    if (site.unit === "minutes" && site.value) p.minutes = site.value;
    if (site.unit === "km" && site.value) p.km = site.value;
    return p;
  }

  function resetWhatIf() {
    hypoAreaLayer.clearLayers();
    $("whatif-share").textContent = "–";
    $("whatif-share").dataset.value = "";
    $("whatif-gain").textContent = "";
    $("whatif-areas").querySelector("tbody").innerHTML = "";
  }

  function changed() {
    renderSites();
    if (!hypothetical.length) { resetWhatIf(); return Promise.resolve(); }
    $("coverage-map").dataset.whatif = "loading";
    return runWhatIf();
  }

  function renderSites() {
    var list = $("whatif-list");
    list.innerHTML = "";
    hypothetical.forEach(function (site, i) {
      var li = document.createElement("li");
      li.className = "whatif-site";
      var label = document.createElement("span");
      label.textContent = cfg.texts.hypothetical + " " + (i + 1) + " (" + site.lat.toFixed(4) + ", " + site.lon.toFixed(4) + ")";
      var unit = document.createElement("select");
      unit.setAttribute("aria-label", cfg.texts.siteArea + " " + (i + 1));
      [["", cfg.texts.analysisArea], ["minutes", cfg.texts.minutes], ["km", "km"]].forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = o[0]; opt.textContent = o[1]; opt.selected = site.unit === o[0];
        unit.appendChild(opt);
      });
      var value = document.createElement("input");
      value.type = "number"; value.min = "0.1"; value.step = "0.1"; value.value = site.value || "";
      value.setAttribute("aria-label", cfg.texts.siteValue + " " + (i + 1));
      value.hidden = !site.unit;
      unit.addEventListener("change", function () { site.unit = unit.value; value.hidden = !site.unit; if (site.value) changed(); });
      value.addEventListener("change", function () { site.value = value.value; changed(); });
      var remove = document.createElement("button");
      remove.type = "button"; remove.className = "whatif-remove";
      remove.textContent = cfg.texts.remove;
      remove.setAttribute("aria-label", cfg.texts.remove + " " + (i + 1));
      remove.addEventListener("click", function () {
        hypoLayer.removeLayer(site.marker);
        hypothetical.splice(hypothetical.indexOf(site), 1);
        changed();
      });
      li.appendChild(label); li.appendChild(unit); li.appendChild(value); li.appendChild(remove);
      list.appendChild(li);
    });
  }

  function addSite(latlng, saved) {
    var form = $("coverage-form");
    var site = { lon: +latlng.lng.toFixed(6), lat: +latlng.lat.toFixed(6), type: form.type.value || "", unit: "", value: "" };
    if (saved) {
      site.type = saved.type || "";
      site.unit = saved.minutes ? "minutes" : saved.km ? "km" : "";
      site.value = String(saved.minutes || saved.km || "");
    }
    site.marker = L.marker(latlng, { title: cfg.texts.hypothetical, draggable: true }).addTo(hypoLayer);
    site.marker.on("dragend", function () {
      var ll = site.marker.getLatLng();
      site.lon = +ll.lng.toFixed(6); site.lat = +ll.lat.toFixed(6);
      changed();
    });
    hypothetical.push(site);
    return saved ? null : changed();
  }

  covMap.on("click", function (e) {
    if (!adding) return;
    addSite(e.latlng);
  });
  $("whatif-toggle").addEventListener("click", function () {
    adding = !adding;
    this.setAttribute("aria-pressed", String(adding));
    $("coverage-map").classList.toggle("adding", adding);
  });
  $("whatif-clear").addEventListener("click", function () {
    hypothetical = [];
    hypoLayer.clearLayers();
    changed();
  });
  $("coverage-form").addEventListener("submit", function (e) { e.preventDefault(); runCoverage(); });

  /* ---- choropleth ------------------------------------------------------------------- */
  var indMap = L.map("choropleth-map").setView([34.3, 134.05], 11);
  M.baseMap(indMap, cfg, "tile-note");
  var choroLayer = L.layerGroup().addTo(indMap);

  function runIndicators() {
    var form = $("indicator-form");
    var q = new URLSearchParams({ kind: form.kind.value, indicator: form.indicator.value });
    ["geojson", "gpkg", "csv"].forEach(function (f) { $("dl-ind-" + f).href = cfg.base + "/download/indicators." + f + "?kind=" + form.kind.value; });
    $("choropleth-map").dataset.state = "loading";
    showError("ind-error", "");
    return getJSON(api + "/indicators?" + q.toString()).then(function (data) {
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
      window.MapsvcCharts.indicatorCharts(api, data.kind, areaSelect.value, data.indicator);
      var cov = "&" + toQuery(Object.assign({ indicator: data.indicator }, lastQuery || {}));
      $("ind-table").querySelector("tbody").innerHTML = data.features.map(function (f) {
        var p = f.properties;
        return "<tr><td>" + esc(p.name) + "</td><td>" + (p.missing ? "データなし" : val(p.value)) + "</td><td>" +
          num(p.numerator) + "</td><td>" + num(p.denominator) + "</td><td><a target=_blank href=\"" + cfg.base + "/report/" +
          encodeURIComponent(data.kind) + "/" + encodeURIComponent(p.code) + "?" + cov.slice(1) + "\">PDF/印刷</a></td></tr>";
      }).join("");
      $("choropleth-map").dataset.state = "ready";
    }).catch(function (err) {
      $("choropleth-map").dataset.state = "error";
      showError("ind-error", cfg.texts.error + ": " + err.message);
    });
  }
  $("indicator-form").addEventListener("submit", function (e) { e.preventDefault(); runIndicators(); });
  $("trend-area").addEventListener("change", function () {
    window.MapsvcCharts.indicatorCharts(api, this.dataset.kind, this.value, $("indicator-form").indicator.value);
  });

  /* ---- candidates ------------------------------------------------------------------- */
  function runCandidates() {
    return getJSON(api + "/candidates").then(function (rows) {
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
      query: function () { return lastQuery; },
      sites: function () { return hypothetical.map(sitePayload); },
      setSites: function (list) {
        hypoLayer.clearLayers(); hypothetical = []; resetWhatIf();
        list.forEach(function (s) { addSite(L.latLng(s.lat, s.lon), s); });
        renderSites();
      }
    };
    document.dispatchEvent(new Event("mapsvc-planner-ready"));
    runCoverage();
    runIndicators();
    runCandidates();
  });
})();
