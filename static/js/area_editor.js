/* The area editor (/planner/areas/): select, draw, edit vertices, fit, split, merge,
   save and undo areas of one kind in one municipality. Settings come from the
   #draw-config JSON block; texts from #draw-texts. Needs Leaflet, Geoman, draw_common.js. */
(function () {
  "use strict";
  var D = window.MapsvcDraw;
  var cfg = D.readJson("draw-config");
  var T = D.readJson("draw-texts");
  var $ = function (id) { return document.getElementById(id); };
  var mapEl = $("area-map");
  var map = D.makeMap(mapEl, cfg, "tile-note");
  D.setLanguage(map, cfg.lang);
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 18, allowSelfIntersection: false });

  var STYLE = { color: "#1565c0", weight: 2, fillColor: "#64b5f6", fillOpacity: 0.25 };
  var SELECTED = { color: "#e65100", weight: 4, fillColor: "#ffb74d", fillOpacity: 0.35 };
  var CHANGED = { color: "#6a1b9a", weight: 3, fillColor: "#ce93d8", fillOpacity: 0.35, dashArray: "6 4" };

  var state = { layers: {}, names: {}, pending: {}, selected: null, editing: false, mode: null };
  var areaGroup = L.featureGroup().addTo(map);
  var problemGroup = L.featureGroup().addTo(map);
  var boundaryLayer = null;

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function kind() { return $("area-kind").value; }
  function muni() { return $("area-muni").value; }
  function status(text, isError) {
    var el = $("draw-status");
    el.textContent = text || "";
    el.className = "status" + (isError ? " error" : "");
  }

  function styleFor(code) {
    if (code === state.selected) return SELECTED;
    return state.pending[code] ? CHANGED : STYLE;
  }
  function restyle() {
    Object.keys(state.layers).forEach(function (code) {
      var layer = state.layers[code];
      layer.setStyle(styleFor(code));
      D.tag(layer, "edit-area", { "data-code": code });  // paths exist once the map has a view
      var el = layer.getElement && layer.getElement();
      if (el) {
        el.classList.toggle("selected", code === state.selected);
        el.classList.toggle("changed", !!state.pending[code]);
      }
    });
    var codes = Object.keys(state.pending);
    $("pending").textContent = codes.length ? fmt(T.pending, { codes: codes.join(", ") }) : T.none;
    mapEl.setAttribute("data-pending", String(codes.length));
    var other = $("merge-other");
    var keep = other.value;
    other.innerHTML = "";
    Object.keys(state.layers).sort().forEach(function (code) {
      if (code === state.selected) return;
      var opt = document.createElement("option");
      opt.value = code;
      opt.textContent = code + " " + (state.names[code] || "");
      other.appendChild(opt);
    });
    if (keep) other.value = keep;
  }

  function markPending(code, layer) {
    var geometry = layer.toGeoJSON(7).geometry;
    var name = code === state.selected && $("area-name").value.trim() ? $("area-name").value.trim() : state.names[code];
    state.pending[code] = { code: code, name: name || code, geometry: geometry };
    restyle();
  }

  function select(code) {
    if (state.editing) toggleEdit(false);
    state.selected = code;
    $("area-code").value = code || "";
    $("area-name").value = code ? (state.names[code] || "") : "";
    restyle();
  }

  function addArea(code, name, geometry) {
    var layer = L.geoJSON(geometry).getLayers()[0];
    layer.setStyle(styleFor(code));
    layer.addTo(areaGroup);
    D.tag(layer, "edit-area", { "data-code": code });
    layer.bindTooltip(code + " " + name, { sticky: true });
    layer.on("click", function (ev) {
      if (state.mode) return;  // drawing: the click places a vertex
      L.DomEvent.stopPropagation(ev);
      select(code);
    });
    layer.on("pm:edit", function () { markPending(code, layer); });
    state.layers[code] = layer;
    state.names[code] = name;
    return layer;
  }

  function clearProblems() {
    problemGroup.clearLayers();
    var box = $("draw-problems");
    box.hidden = true;
    box.innerHTML = "";
  }

  function showProblems(message, problems) {
    clearProblems();
    var box = $("draw-problems");
    var p = document.createElement("p");
    p.textContent = message;
    box.appendChild(p);
    var ul = document.createElement("ul");
    (problems || []).forEach(function (pr) {
      var li = document.createElement("li");
      li.textContent = pr.message;
      ul.appendChild(li);
      var layer = L.geoJSON(pr.geometry, {
        pmIgnore: true, snapIgnore: true, interactive: false,
        style: { color: "#c62828", weight: 3, fillColor: "#ef5350", fillOpacity: 0.6 }
      }).addTo(problemGroup);
      D.tag(layer, "area-problem", { "data-problem": pr.problem });
    });
    box.appendChild(ul);
    box.hidden = false;
    if (problemGroup.getLayers().length) problemGroup.bringToFront();
  }

  function showError(res) {
    var body = res.body || {};
    showProblems((body.message || T.error) + (body.field ? " [" + body.field + "]" : ""), body.problems);
    status("", false);
    mapEl.setAttribute("data-state", "ready");
  }

  function renderHistory(rows) {
    var tbody = document.querySelector("#area-history tbody");
    tbody.innerHTML = "";
    (rows || []).forEach(function (row) {
      var tr = document.createElement("tr");
      [String(row.id), row.at.replace("T", " "), row.actor, (T.actions[row.action] || row.action) + (row.undoes ? " #" + row.undoes : ""), row.codes.join(", ")]
        .forEach(function (text) {
          var td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        });
      var td = document.createElement("td");
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "undo";
      btn.setAttribute("data-audit", String(row.id));
      btn.textContent = T.undo;
      btn.addEventListener("click", function () { undo(row.id); });
      td.appendChild(btn);
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
  }

  function cell(tr, value) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "–" : Number(value).toLocaleString();
    tr.appendChild(td);
  }

  function loadIndicators() {
    var table = $("area-indicators");
    table.setAttribute("data-state", "loading");
    var url = cfg.api + "/indicators?kind=" + encodeURIComponent(kind()) + "&municipality=" + encodeURIComponent(muni());
    return D.getJson(url).then(function (data) {
      var tbody = table.querySelector("tbody");
      tbody.innerHTML = "";
      data.rows.forEach(function (row) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-code", row.code);
        var th = document.createElement("th");
        th.scope = "row";
        th.textContent = row.code + " " + row.name;
        tr.appendChild(th);
        cfg.indicators.forEach(function (key) {
          cell(tr, row[key]);
          tr.lastChild.setAttribute("data-indicator", key);
          tr.lastChild.setAttribute("data-value", row[key] === null ? "" : String(row[key]));
        });
        tbody.appendChild(tr);
      });
      $("ind-note").textContent = data.note || "";
      table.setAttribute("data-state", "ready");
    }).catch(function (err) {
      $("ind-note").textContent = String(err.message || err);
      table.setAttribute("data-state", "error");
    });
  }

  function load(keepView) {
    mapEl.setAttribute("data-state", "loading");
    if (state.editing) toggleEdit(false);
    var url = cfg.api + "/areas?kind=" + encodeURIComponent(kind()) + "&municipality=" + encodeURIComponent(muni());
    return D.getJson(url).then(function (data) {
      areaGroup.clearLayers();
      clearProblems();
      if (boundaryLayer) map.removeLayer(boundaryLayer);
      state.layers = {}; state.names = {}; state.pending = {}; state.selected = null;
      $("area-code").value = ""; $("area-name").value = "";
      if (data.boundary) {
        // the boundary as lines, so vertices snap to it; not editable itself
        boundaryLayer = L.geoJSON(data.boundary, {
          style: { color: "#212121", weight: 2, dashArray: "2 6", fill: false }, interactive: false
        });
        // not editable (pmIgnore) but vertices snap to it (snapIgnore false)
        boundaryLayer.eachLayer(function (l) { l.options.pmIgnore = true; l.options.snapIgnore = false; });
        boundaryLayer.addTo(map);
      }
      data.features.forEach(function (f) { addArea(f.properties.code, f.properties.name, f.geometry); });
      var bounds = boundaryLayer ? boundaryLayer.getBounds() : areaGroup.getBounds();
      if (!keepView && bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
      if (boundaryLayer) D.tag(boundaryLayer, "municipality-boundary");
      renderHistory(data.history);
      restyle();
      mapEl.setAttribute("data-state", "ready");
      return loadIndicators();
    }).catch(function (err) {
      status(String(err.message || err), true);
      mapEl.setAttribute("data-state", "error");
    });
  }

  function toggleEdit(on) {
    var code = state.selected;
    var layer = code && state.layers[code];
    if (on && !layer) { status(T.select, true); return; }
    state.editing = !!on;
    $("btn-edit").setAttribute("aria-pressed", on ? "true" : "false");
    Object.keys(state.layers).forEach(function (c) {
      if (state.layers[c].pm) state.layers[c].pm.disable();
    });
    if (on) layer.pm.enable({ snappable: true, snapDistance: 18, allowSelfIntersection: false });
  }

  function requireCodeName() {
    var code = $("area-code").value.trim(), name = $("area-name").value.trim();
    if (!code || !name) { status(T.needCode, true); $(code ? "area-name" : "area-code").focus(); return null; }
    return { code: code, name: name };
  }

  function startDraw(shape, hint) {
    if (state.editing) toggleEdit(false);
    state.mode = shape;
    mapEl.setAttribute("data-mode", shape);
    status(hint, false);
    map.pm.enableDraw(shape, { snappable: true, snapDistance: 18, finishOn: null });
  }

  map.on("pm:create", function (ev) {
    var mode = state.mode;
    state.mode = null;
    mapEl.removeAttribute("data-mode");
    map.removeLayer(ev.layer);
    if (mode === "Line") { split(ev.layer.toGeoJSON(7).geometry); return; }
    var cn = requireCodeName();
    if (!cn) { return; }
    var geometry = ev.layer.toGeoJSON(7).geometry;
    if (state.layers[cn.code]) {
      areaGroup.removeLayer(state.layers[cn.code]);
    }
    var layer = addArea(cn.code, cn.name, geometry);
    state.selected = cn.code;
    markPending(cn.code, layer);
    status("", false);
  });

  function applyBatch(batch) {
    batch.areas.forEach(function (a) {
      var old = state.layers[a.code];
      if (old) areaGroup.removeLayer(old);
      if (a["delete"]) {
        delete state.layers[a.code];
        state.pending[a.code] = { code: a.code, "delete": true };
        return;
      }
      addArea(a.code, a.name, a.geometry);
      state.pending[a.code] = { code: a.code, name: a.name, geometry: a.geometry };
    });
    restyle();
  }

  function fit() {
    var code = state.selected;
    if (!code || !state.layers[code]) { status(T.select, true); return; }
    if (state.editing) toggleEdit(false);
    var name = $("area-name").value.trim() || state.names[code];
    mapEl.setAttribute("data-state", "loading");
    D.postJson(cfg.api + "/fit", {
      kind: kind(), municipality_code: muni(), code: code, name: name,
      geometry: state.layers[code].toGeoJSON(7).geometry
    }).then(function (res) {
      if (!res.ok) { showError(res); return; }
      clearProblems();
      applyBatch(res.body);
      if (res.body.problems && res.body.problems.length) showProblems(T.error, res.body.problems);
      status(T.fitted, false);
      mapEl.setAttribute("data-state", "ready");
    });
  }

  function afterSave(res, template) {
    if (!res.ok) { showError(res); return; }
    status(fmt(template, { id: res.body.audit_id }), false);
    load(true).then(function () { status(fmt(template, { id: res.body.audit_id }), false); });
  }

  function save() {
    if (state.editing) toggleEdit(false);
    var areas = Object.keys(state.pending).map(function (c) { return state.pending[c]; });
    if (!areas.length) { status(T.none, false); return; }
    mapEl.setAttribute("data-state", "loading");
    D.postJson(cfg.api + "/save", { kind: kind(), municipality_code: muni(), areas: areas })
      .then(function (res) { afterSave(res, T.saved); });
  }

  function split(line) {
    var code = state.selected;
    var cn = { code: $("area-code").value.trim(), name: $("area-name").value.trim() };
    if (!code) { status(T.select, true); return; }
    if (!cn.code || cn.code === code || !cn.name) { status(T.needCode, true); $("area-code").focus(); return; }
    mapEl.setAttribute("data-state", "loading");
    D.postJson(cfg.api + "/split", {
      kind: kind(), municipality_code: muni(), code: code, line: line, new_code: cn.code, new_name: cn.name
    }).then(function (res) { afterSave(res, T.saved); });
  }

  function merge() {
    var code = state.selected, other = $("merge-other").value;
    if (!code || !other) { status(T.select, true); return; }
    mapEl.setAttribute("data-state", "loading");
    D.postJson(cfg.api + "/merge", { kind: kind(), municipality_code: muni(), code: code, other: other })
      .then(function (res) { afterSave(res, T.saved); });
  }

  function undo(id) {
    mapEl.setAttribute("data-state", "loading");
    D.postJson(cfg.api + "/undo", { audit_id: id }).then(function (res) { afterSave(res, T.undone); });
  }

  $("btn-draw").addEventListener("click", function () {
    if (!requireCodeName()) return;
    startDraw("Polygon", T.drawHint);
  });
  $("btn-edit").addEventListener("click", function () { toggleEdit(!state.editing); });
  $("btn-fit").addEventListener("click", fit);
  $("btn-split").addEventListener("click", function () {
    if (!state.selected) { status(T.select, true); return; }
    $("area-code").value = ""; $("area-name").value = "";
    $("area-code").focus();
    startDraw("Line", T.splitHint);
  });
  $("btn-merge").addEventListener("click", merge);
  $("btn-save").addEventListener("click", save);
  $("btn-discard").addEventListener("click", function () { load(true); });
  $("area-name").addEventListener("change", function () {
    var code = state.selected;
    if (code && state.layers[code] && $("area-code").value.trim() === code) {
      state.names[code] = $("area-name").value.trim();
      markPending(code, state.layers[code]);
    }
  });
  $("area-kind").addEventListener("change", function () { load(false); });
  $("area-muni").addEventListener("change", function () { load(false); });
  $("area-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
  load(false);
})();
