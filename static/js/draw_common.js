/* Shared by the drawing pages (area editor, provider service area, survey form, review
   queue): Geoman's Japanese labels, JSON posts with the CSRF token, small map helpers.
   Plain script; exposes window.MapsvcDraw. Needs Leaflet (and Geoman for drawing). */
(function () {
  "use strict";

  // Geoman's own "ja" translation, worded for areas (区域) instead of GIS "layers"
  var JA = {
    tooltips: {
      firstVertex: "クリックして最初の頂点を置きます",
      continueLine: "クリックして次の頂点を置きます",
      finishLine: "最後の頂点をもう一度クリックすると線を確定します",
      finishPoly: "最初の頂点をクリックすると区域を閉じます",
      finishRect: "クリックして確定します"
    },
    actions: { finish: "確定", cancel: "やめる", removeLastVertex: "最後の頂点を消す" },
    buttonTitles: {
      drawPolyButton: "区域を描く",
      drawLineButton: "線を描く",
      editButton: "頂点を編集",
      dragButton: "区域を移動",
      cutButton: "区域を切り取る",
      deleteButton: "区域を削除",
      snappingButton: "頂点を境界や隣の区域に吸着させる"
    }
  };

  function setLanguage(map, lang) {
    if (!map.pm) return;
    if (lang === "en") map.pm.setLang("en");
    else map.pm.setLang("ja", JA, "ja");
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* POST JSON; resolves {ok, status, body} (body = parsed JSON or {}). */
  function postJson(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        return { ok: r.ok, status: r.status, body: body };
      });
    });
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) throw new Error(body.message || ("HTTP " + r.status));
          return body;
        });
      });
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  /* A Leaflet map with the configured base map; tile failures show the page's note. */
  function makeMap(el, cfg, noteId) {
    var map = L.map(el, { preferCanvas: false });
    if (cfg.basemap && cfg.basemap.url) {
      var failed = false;
      var tiles = L.tileLayer(cfg.basemap.url, { attribution: cfg.basemap.attribution, maxZoom: 18 });
      tiles.on("tileerror", function () {
        if (failed) return;
        failed = true;
        var note = noteId && document.getElementById(noteId);
        if (note) note.hidden = false;
      });
      tiles.addTo(map);
    }
    return map;
  }

  /* Mark a path's SVG element so pages and tests can find it. */
  function tag(layer, cls, attrs) {
    function apply(l) {
      var el = l.getElement && l.getElement();
      if (!el) return;
      if (cls) el.classList.add(cls);
      Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    }
    if (layer.eachLayer) layer.eachLayer(apply); else apply(layer);
  }

  /* A small read-only map: before (grey, dashed) and after (blue) GeoJSON, optional point. */
  function compareMap(el) {
    var before = JSON.parse(el.getAttribute("data-before") || "null");
    var after = JSON.parse(el.getAttribute("data-after") || "null");
    var map = L.map(el, { zoomControl: false, attributionControl: false, scrollWheelZoom: false });
    var layers = [];
    if (before) layers.push([L.geoJSON(before, { style: { color: "#666", weight: 2, dashArray: "6 4", fillOpacity: 0.05 } }), "area-before"]);
    if (after) layers.push([L.geoJSON(after, { style: { color: "#1565c0", weight: 3, fillOpacity: 0.15 } }), "area-after"]);
    var lon = parseFloat(el.getAttribute("data-lon")), lat = parseFloat(el.getAttribute("data-lat"));
    var bounds = L.latLngBounds([]);
    layers.forEach(function (pair) { bounds.extend(pair[0].getBounds()); });
    if (isFinite(lon) && isFinite(lat)) bounds.extend([lat, lon]);
    // the view first, then the layers (paths are drawn once the map has a view)
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.1)); else map.setView([35, 135], 5);
    layers.forEach(function (pair) { pair[0].addTo(map); tag(pair[0], pair[1]); });
    if (isFinite(lon) && isFinite(lat)) L.circleMarker([lat, lon], { radius: 5, color: "#b71c1c" }).addTo(map);
    el.setAttribute("data-state", "ready");
    return map;
  }

  window.MapsvcDraw = {
    setLanguage: setLanguage, postJson: postJson, getJson: getJson, readJson: readJson,
    makeMap: makeMap, tag: tag, compareMap: compareMap
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".area-compare-map").forEach(compareMap);
  });
})();
