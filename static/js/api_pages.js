/* The small map of the layer API's HTML pages (/api/collections/{id} and its items).
   Plain script, no build step; reads its settings from the #api-map-config data block:
   {basemap: {url, attribution}, bbox: [w, s, e, n] | null,
    features: [{coordinates: [lon, lat], name, type_label}] | null}.
   The base map may fail (offline, blocked): the positions are drawn all the same. */
(function () {
  "use strict";
  var el = document.getElementById("api-map");
  var cfgEl = document.getElementById("api-map-config");
  if (!el || !cfgEl || typeof L === "undefined") return;
  var cfg = JSON.parse(cfgEl.textContent);
  var map = L.map(el, { scrollWheelZoom: false });
  if (cfg.basemap && cfg.basemap.url) {
    var failed = false;
    var tiles = L.tileLayer(cfg.basemap.url, { attribution: cfg.basemap.attribution, maxZoom: 18 });
    tiles.on("tileerror", function () {
      if (failed) return;
      failed = true;
      var note = document.getElementById("api-tile-note");
      if (note) note.hidden = false;
    });
    tiles.addTo(map);
  }
  var bounds = null;
  if (cfg.bbox) {
    var b = cfg.bbox;
    bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    L.rectangle(bounds, { color: "#0b5cad", weight: 2, fillOpacity: 0.08 }).addTo(map);
  }
  if (cfg.features && cfg.features.length) {
    var group = L.featureGroup();
    cfg.features.forEach(function (f) {
      var ll = [f.coordinates[1], f.coordinates[0]];
      var marker = L.circleMarker(ll, {
        radius: 6, color: "#ffffff", weight: 2, fillColor: "#0b5cad", fillOpacity: 0.9
      });
      var tip = document.createElement("span");
      tip.textContent = f.name + (f.type_label ? "（" + f.type_label + "）" : "");
      marker.bindTooltip(tip);
      group.addLayer(marker);
    });
    group.addTo(map);
    bounds = group.getBounds();
  }
  if (bounds && bounds.isValid()) {
    map.fitBounds(bounds.pad(0.1), { maxZoom: 15 });
  } else {
    map.setView([35.0, 135.0], 5);
  }
  el.setAttribute("data-state", "ready");
})();
