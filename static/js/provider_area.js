/* A provider's service area (/admin/providers/<uid>/service-area): draw or edit a polygon,
   or pick areas by clicking them; save as JSON. Shared with the survey form through
   MapsvcAreaPicker (the survey writes into form inputs instead of posting). */
(function () {
  "use strict";
  var D = window.MapsvcDraw;

  var DRAWN = { color: "#1565c0", weight: 3, fillColor: "#1565c0", fillOpacity: 0.2 };
  var AREA = { color: "#607d8b", weight: 1, fillColor: "#90a4ae", fillOpacity: 0.08 };
  var PICKED = { color: "#2e7d32", weight: 2, fillColor: "#43a047", fillOpacity: 0.45 };

  /* options: el, cfg (basemap, lang, provider, current, current_shape, pickable),
     onChange(value) with value = {kind: "polygon", geometry} | {kind: "codes", codes} */
  function AreaPicker(options) {
    var cfg = options.cfg;
    var map = D.makeMap(options.el, cfg, options.noteId);
    D.setLanguage(map, cfg.lang);
    if (map.pm) map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
    var self = this;
    this.map = map;
    this.mode = null;
    this.picked = {};
    this.names = {};
    this.layers = {};
    this.polygon = null;
    // a view first: vector layers need one before they are drawn
    if (cfg.provider && cfg.provider.lat !== null && isFinite(cfg.provider.lat)) map.setView([cfg.provider.lat, cfg.provider.lon], 13);
    else map.setView([35.0, 135.0], 6);
    var group = L.featureGroup().addTo(map);

    (cfg.pickable && cfg.pickable.features || []).forEach(function (f) {
      var code = f.properties.code;
      // areas to pick are neither editable nor snap targets (a click must place the vertex
      // where the provider clicked)
      var layer = L.geoJSON(f.geometry, { style: AREA, pmIgnore: true }).getLayers()[0];
      layer.areaKind = f.properties.kind;
      layer.addTo(group);
      layer.bindTooltip(f.properties.name, { sticky: true });
      D.tag(layer, "pick-area", { "data-code": code });
      self.layers[code] = layer;
      self.names[code] = f.properties.name;
      layer.on("click", function (ev) {
        if (self.mode !== "codes") return;
        L.DomEvent.stopPropagation(ev);
        self.toggle(code);
      });
    });
    var current = cfg.current || {};
    if (current.kind === "codes") {
      (current.codes || []).forEach(function (c) {
        var hit = self.layers[c] ? c : Object.keys(self.layers).filter(function (k) { return k.split(":")[1] === c; })[0];
        if (hit) self.picked[hit] = true;
      });
    }
    if (current.kind === "polygon" && cfg.current_shape) this.setPolygon(cfg.current_shape);
    if (cfg.provider && isFinite(cfg.provider.lat) && cfg.provider.lat !== null) {
      L.circleMarker([cfg.provider.lat, cfg.provider.lon], { radius: 7, color: "#b71c1c", fillOpacity: 0.9, pmIgnore: true, snapIgnore: true })
        .addTo(map).bindTooltip(cfg.provider.name || "");
    }
    var bounds = group.getBounds();
    if (this.polygon) bounds.extend(this.polygon.getBounds());
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
    map.on("pm:create", function (ev) {
      map.removeLayer(ev.layer);
      self.setPolygon(ev.layer.toGeoJSON(7).geometry);
      self.changed();
    });
    this.onChange = options.onChange || function () {};
    this.showKind(options.kind || "town");
    options.el.setAttribute("data-state", "ready");
  }

  /* Show the areas of one kind to pick from (towns, 日常生活圏域 or the municipality);
     picked areas of other kinds stay shown. */
  AreaPicker.prototype.showKind = function (kind) {
    var self = this;
    this.kind = kind;
    Object.keys(this.layers).forEach(function (code) {
      var layer = self.layers[code];
      var show = layer.areaKind === kind || self.picked[code];
      if (show && !self.map.hasLayer(layer)) layer.addTo(self.map);
      if (!show && self.map.hasLayer(layer)) self.map.removeLayer(layer);
    });
    this.restyle();
  };
  AreaPicker.prototype.setPolygon = function (geometry) {
    var self = this;
    if (this.polygon) this.map.removeLayer(this.polygon);
    this.polygon = L.geoJSON(geometry, { style: DRAWN }).getLayers()[0];
    this.polygon.addTo(this.map);
    D.tag(this.polygon, "drawn-area");
    this.polygon.on("pm:edit", function () { self.changed(); });
  };
  AreaPicker.prototype.toggle = function (code) {
    if (this.picked[code]) delete this.picked[code]; else this.picked[code] = true;
    this.restyle();
    this.changed();
  };
  AreaPicker.prototype.codes = function () { return Object.keys(this.picked).sort(); };
  AreaPicker.prototype.restyle = function () {
    var self = this;
    if (this.polygon) D.tag(this.polygon, "drawn-area");
    Object.keys(this.layers).forEach(function (code) {
      self.layers[code].setStyle(self.picked[code] ? PICKED : AREA);
      D.tag(self.layers[code], "pick-area", { "data-code": code });
      var el = self.layers[code].getElement();
      if (el) el.classList.toggle("picked", !!self.picked[code]);
    });
  };
  AreaPicker.prototype.value = function () {
    if (this.mode === "polygon") return this.polygon ? { kind: "polygon", geometry: this.polygon.toGeoJSON(7).geometry } : null;
    if (this.mode === "codes") return { kind: "codes", codes: this.codes() };
    return null;
  };
  AreaPicker.prototype.changed = function () { this.onChange(this.value(), this); };
  AreaPicker.prototype.setMode = function (mode) {
    this.mode = mode;
    this.edit(false);
    this.map.getContainer().setAttribute("data-mode", mode || "");
  };
  AreaPicker.prototype.draw = function () {
    this.setMode("polygon");
    this.map.pm.enableDraw("Polygon", { snappable: true, snapDistance: 15 });
  };
  AreaPicker.prototype.edit = function (on) {
    if (!this.polygon || !this.polygon.pm) return false;
    if (on) this.polygon.pm.enable({ snappable: true, allowSelfIntersection: false });
    else this.polygon.pm.disable();
    return true;
  };
  AreaPicker.prototype.pickedNames = function () {
    var self = this;
    return this.codes().map(function (c) { return self.names[c] || c; }).join("、");
  };
  window.MapsvcAreaPicker = AreaPicker;

  // ---- the editor's page --------------------------------------------------------------
  var el = document.getElementById("sa-map");
  if (!el) return;
  var cfg = D.readJson("draw-config");
  var T = D.readJson("draw-texts");
  var $ = function (id) { return document.getElementById(id); };
  function status(text, isError) {
    $("draw-status").textContent = text || "";
    $("draw-status").className = "status" + (isError ? " error" : "");
  }
  function showPicked(picker) {
    $("sa-picked").textContent = picker.mode === "codes" ? T.picked.replace("{names}", picker.pickedNames()) : "";
  }
  var picker = new AreaPicker({ el: el, cfg: cfg, noteId: "tile-note", onChange: function (v, p) { showPicked(p); } });
  var initial = (cfg.current && (cfg.current.kind === "polygon" || cfg.current.kind === "codes")) ? cfg.current.kind : "polygon";
  document.querySelectorAll('input[name="sa-mode"]').forEach(function (r) {
    r.checked = r.value === initial;
    r.addEventListener("change", function () { picker.setMode(r.value); showPicked(picker); });
  });
  picker.setMode(initial);
  showPicked(picker);
  var kindSelect = $("sa-pick-kind");
  kindSelect.addEventListener("change", function () { picker.showKind(kindSelect.value); });
  var editing = false;
  $("sa-draw").addEventListener("click", function () {
    document.querySelector('input[name="sa-mode"][value="polygon"]').checked = true;
    picker.draw();
  });
  $("sa-edit").addEventListener("click", function () {
    if (!picker.polygon) { status(T.noPolygon, true); return; }
    document.querySelector('input[name="sa-mode"][value="polygon"]').checked = true;
    picker.mode = "polygon";
    editing = !editing;
    picker.edit(editing);
    $("sa-edit").setAttribute("aria-pressed", editing ? "true" : "false");
  });
  $("sa-save").addEventListener("click", function () {
    var mode = document.querySelector('input[name="sa-mode"]:checked').value;
    picker.mode = mode === "default" ? null : mode;
    var value = picker.value();
    if (mode === "polygon" && !value) { status(T.noPolygon, true); return; }
    if (mode === "codes" && !value.codes.length) { status(T.nothing, true); return; }
    editing = false;
    picker.edit(false);
    el.setAttribute("data-state", "saving");
    D.postJson(cfg.save, { service_area: value }).then(function (res) {
      el.setAttribute("data-state", res.ok ? "saved" : "error");
      if (!res.ok) {
        status((res.body.message || T.error) + (res.body.field ? " [" + res.body.field + "]" : ""), true);
        return;
      }
      status(res.body.changed ? T.saved : T.unchanged, false);
    });
  });
})();
