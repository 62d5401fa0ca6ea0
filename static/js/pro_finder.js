/* The professional finder's map: choose the patient's place (click, or arrow keys and
   Enter; sent by POST with the form, never put in a URL), the geography from the store
   (MapsvcMap.areaLayers), every provider before a search,
   the results numbered as in the list; a row and its pin highlight each other. */
(function () {
  "use strict";
  var M = window.MapsvcMap;
  var cfg = M.readConfig();
  var t = cfg.texts;
  var mapEl = document.getElementById("map");
  var map = L.map(mapEl, { keyboard: true });
  M.baseMap(map, cfg);
  M.areaLayers(map, cfg, {
    onLoad: function (doc, layers) {
      var outline = layers.municipality || layers.daily_life_area;
      if (!cfg.point && !cfg.results.length && !cfg.extent && outline) map.fitBounds(outline.getBounds());
    }
  });
  var point = null;

  function setPoint(latlng, chosen) {
    if (point) map.removeLayer(point);
    point = L.marker(latlng, { title: t.patient, alt: t.patient, keyboard: false, zIndexOffset: 1000 }).addTo(map);
    if (chosen) {
      document.getElementById("point-lon").value = latlng.lng.toFixed(6);
      document.getElementById("point-lat").value = latlng.lat.toFixed(6);
      document.getElementById("address").value = "";
      document.getElementById("point-status").textContent = t.pointChosen;
    }
  }

  var bounds = [];
  if (cfg.point) {
    setPoint(L.latLng(cfg.point[1], cfg.point[0]), false);
    bounds.push([cfg.point[1], cfg.point[0]]);
  }

  /* before a search: every provider as a small grey dot, so the map shows where they are */
  var dots = 0;
  if (cfg.start && cfg.start.points) {
    // their own pane, above the areas; the dots take no pointer (a canvas would hide the
    // towns' names from the mouse), clicks reach the map
    map.createPane("startDots").style.zIndex = 420;
    map.getPane("startDots").style.pointerEvents = "none";
    var renderer = L.canvas({ padding: 0.2, pane: "startDots" });
    var startLayer = L.layerGroup();
    cfg.start.points.forEach(function (p) {
      L.circleMarker([p[1], p[0]], {
        renderer: renderer, radius: 3, weight: 1, color: "#3d3d3d", fillColor: "#767676",
        fillOpacity: 0.8, interactive: false
      }).addTo(startLayer);
      dots += 1;
    });
    startLayer.addTo(map);
  }

  var pins = {};
  var group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 30, iconCreateFunction: M.clusterIcon });
  cfg.results.forEach(function (r) {
    var m = L.marker([r.lat, r.lon], { icon: M.pin("#0b5cad", r.rank), title: r.rank + ". " + r.name, keyboard: true });
    m.bindPopup("<strong>" + M.esc(r.rank + ". " + r.name) + "</strong><br>" + M.esc(r.type_label));
    m.on("mouseover focus", function () { highlight(r.rank, true); });
    m.on("mouseout blur", function () { highlight(r.rank, false); });
    m.on("click", function () { highlight(r.rank, true); });
    pins[r.rank] = m;
    group.addLayer(m);
    bounds.push([r.lat, r.lon]);
  });
  map.addLayer(group);
  if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
  else if (bounds.length === 1) map.setView(bounds[0], 14);
  else if (cfg.extent) map.fitBounds([[cfg.extent[1], cfg.extent[0]], [cfg.extent[3], cfg.extent[2]]], { padding: [20, 20] });
  else map.setView([35.0, 135.0], 5);

  /* a row and its pin: hovering or focusing one marks the other */
  function highlight(rank, on) {
    var row = document.getElementById("result-" + rank);
    if (row) row.classList.toggle("is-active", on);
    var m = pins[rank];
    /* the pin, or the cluster it is in at this zoom */
    var shown = m && (group.getVisibleParent(m) || m);
    var el = shown && shown.getElement && shown.getElement();
    document.querySelectorAll(".pin-active").forEach(function (x) { x.classList.remove("pin-active"); });
    if (el && on) el.classList.add("pin-active");
    if (m && on && m.setZIndexOffset) m.setZIndexOffset(900);
    if (m && !on && m.setZIndexOffset) m.setZIndexOffset(0);
    mapEl.dataset.active = on ? String(rank) : "";
  }
  document.querySelectorAll("#finder-results .result").forEach(function (row) {
    var rank = row.getAttribute("data-rank");
    row.addEventListener("mouseenter", function () { highlight(rank, true); });
    row.addEventListener("mouseleave", function () { highlight(rank, false); });
    row.addEventListener("focusin", function () { highlight(rank, true); });
    row.addEventListener("focusout", function () { highlight(rank, false); });
  });
  document.querySelectorAll("#finder-results .show-on-map").forEach(function (button) {
    button.addEventListener("click", function () {
      var m = pins[button.getAttribute("data-rank")];
      if (!m) return;
      showView("map");
      group.zoomToShowLayer(m, function () { m.openPopup(); });
    });
  });

  map.on("click", function (e) { setPoint(e.latlng, true); });
  /* keyboard: arrow keys move the map (Leaflet), Enter or Space sets the place at its centre */
  mapEl.addEventListener("keydown", function (e) {
    if (e.target !== mapEl) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      setPoint(map.getCenter(), true);
    }
  });
  document.getElementById("address").addEventListener("input", function () {
    if (this.value) {
      document.getElementById("point-lon").value = "";
      document.getElementById("point-lat").value = "";
    }
  });

  /* phones: the list or the map, one at a time */
  var page = document.getElementById("finder-page");
  var toggle = document.getElementById("view-toggle");
  function showView(view) {
    if (!toggle || toggle.hidden) return;
    page.setAttribute("data-view", view);
    toggle.querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-view") === view));
    });
    if (view === "map") map.invalidateSize();
  }
  if (toggle) {
    var narrow = window.matchMedia("(max-width: 899px)");
    var sync = function () {
      toggle.hidden = !narrow.matches;
      if (narrow.matches) showView(page.getAttribute("data-view") || "list");
      else page.removeAttribute("data-view");
    };
    toggle.querySelectorAll("button").forEach(function (b) {
      b.addEventListener("click", function () { showView(b.getAttribute("data-view")); });
    });
    if (narrow.addEventListener) narrow.addEventListener("change", sync);
    sync();
  }

  /* focus: the first field in error, else the results heading after a search */
  var invalid = document.querySelector("#finder-form [aria-invalid=true]");
  var heading = document.getElementById("results-title");
  if (invalid) {
    var box = invalid.closest("details");
    if (box) box.open = true;
    invalid.focus();
  } else if (document.getElementById("finder-error")) {
    document.getElementById("address").focus();
  } else if (heading) {
    heading.focus();
  }

  mapEl.dataset.markers = String(cfg.results.length);
  mapEl.dataset.dots = String(dots);
  mapEl.dataset.state = "ready";
})();
