/* The professional finder's map: click to choose the patient's place (sent by POST with
   the form, never put in a URL), and the results numbered as in the table. */
(function () {
  "use strict";
  var M = window.MapsvcMap;
  var cfg = M.readConfig();
  var t = cfg.texts;
  var mapEl = document.getElementById("map");
  var map = L.map(mapEl, { keyboard: true });
  M.baseMap(map, cfg);
  var point = null;

  function setPoint(latlng, fromClick) {
    if (point) map.removeLayer(point);
    point = L.marker(latlng, { title: t.patient, alt: t.patient, keyboard: true, zIndexOffset: 1000 }).addTo(map);
    if (fromClick) {
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
  var group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 30 });
  cfg.results.forEach(function (r) {
    var m = L.marker([r.lat, r.lon], { icon: M.pin("#0b5cad", r.rank), title: r.rank + ". " + r.name, keyboard: true });
    m.bindPopup("<strong>" + M.esc(r.rank + ". " + r.name) + "</strong><br>" + M.esc(r.type_label));
    group.addLayer(m);
    bounds.push([r.lat, r.lon]);
  });
  map.addLayer(group);
  if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
  else if (bounds.length === 1) map.setView(bounds[0], 14);
  else if (cfg.extent) map.fitBounds([[cfg.extent[1], cfg.extent[0]], [cfg.extent[3], cfg.extent[2]]]);
  else map.setView([35.0, 135.0], 5);

  map.on("click", function (e) { setPoint(e.latlng, true); });
  document.getElementById("address").addEventListener("input", function () {
    if (this.value) {
      document.getElementById("point-lon").value = "";
      document.getElementById("point-lat").value = "";
    }
  });
  mapEl.dataset.markers = String(cfg.results.length);
  mapEl.dataset.state = "ready";
})();
