/* The public map: layers from /api for the visible area, clustered; counts per cell when
   an area holds more than the configured limit; a keyboard-usable list beside the map.
   The map element's data-state is "loading" while requests run and "ready" after, and
   data-markers counts the providers drawn (tests wait on these, not on time). */
(function () {
  "use strict";
  var M = window.MapsvcMap;
  var cfg = M.readConfig();
  var t = cfg.texts;
  var mapEl = document.getElementById("map");
  // zoomSnap 0.1: the first view fits the municipality to the map at any screen size (whole
  // zoom levels would leave it at half the width on some); the buttons still step by 1
  var map = L.map(mapEl, { zoomControl: true, keyboard: true, zoomSnap: 0.1 });
  M.baseMap(map, cfg);
  M.areaLayers(map, cfg, {
    onLoad: function (doc, layers) {
      // nothing located yet and no provider to frame: frame the municipality instead
      var outline = layers.municipality || layers.secondary_medical_area || layers.daily_life_area;
      if (!(cfg.search && cfg.search.found) && !cfg.frame && !cfg.extent && outline) map.fitBounds(outline.getBounds(), { padding: [6, 6] });
    }
  });

  var groups = {};      // layer id -> markerClusterGroup (individual providers)
  var cellGroups = {};  // layer id -> layerGroup (counts per cell)
  var loaded = {};      // layer id -> {features, matched, cells}
  var colors = {};
  cfg.layers.forEach(function (layer) {
    colors[layer.id] = layer.color;
    groups[layer.id] = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40, iconCreateFunction: M.clusterIcon });
    cellGroups[layer.id] = L.layerGroup();
  });
  var searchMarker = null;
  var request = 0;

  if (cfg.search && cfg.search.found) {
    map.setView([cfg.search.lat, cfg.search.lon], 15);
    searchMarker = L.marker([cfg.search.lat, cfg.search.lon], {
      title: t.searched, alt: t.searched, keyboard: true, zIndexOffset: 1000
    }).addTo(map).bindPopup(M.esc(t.searched));
  } else if (cfg.frame) {  // the municipality outline, with a small margin
    map.fitBounds([[cfg.frame[1], cfg.frame[0]], [cfg.frame[3], cfg.frame[2]]], { padding: [6, 6] });
  } else if (cfg.extent) {
    map.fitBounds([[cfg.extent[1], cfg.extent[0]], [cfg.extent[3], cfg.extent[2]]], { padding: [20, 20] });
  } else {
    map.setView([35.0, 135.0], 5);
  }

  function chosenLayers() {
    return Array.prototype.slice.call(document.querySelectorAll("#layer-form input[name=layer]:checked"))
      .map(function (el) { return el.value; });
  }
  function chosenCaps() {
    return Array.prototype.slice.call(document.querySelectorAll("#layer-form input[name=cap]:checked"))
      .map(function (el) { return el.value; });
  }
  // The region asked for is the view snapped outwards to a coarse grid (GRID degrees,
  // about 5 km), never a box centred on a searched address: request URLs and access logs
  // then tell no more than "somewhere in this 5 km cell".
  var GRID = 0.05;
  function bboxParam() {
    var b = map.getBounds();
    var clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)); };
    var down = function (v) { return Math.floor(v / GRID - 1e-9) * GRID; };
    var up = function (v) { return Math.ceil(v / GRID + 1e-9) * GRID; };
    return [clamp(down(b.getWest()), -180, 180), clamp(down(b.getSouth()), -90, 90),
            clamp(up(b.getEast()), -180, 180), clamp(up(b.getNorth()), -90, 90)]
      .map(function (v) { return v.toFixed(2); }).join(",");
  }
  function query(extra) {
    var params = new URLSearchParams();
    params.set("bbox", bboxParam());
    chosenCaps().forEach(function (c) { params.append("cap", c); });
    params.set("lang", cfg.lang);
    Object.keys(extra).forEach(function (k) { params.set(k, extra[k]); });
    return params.toString();
  }

  function fetchJson(url) {
    return fetch(url, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }

  function loadLayer(id) {
    var base = cfg.urls.collections + "/" + encodeURIComponent(id);
    return fetchJson(base + "/items?" + query({ limit: String(cfg.limit) })).then(function (doc) {
      if (doc.numberMatched > doc.numberReturned) {
        return fetchJson(base + "/clusters?" + query({ zoom: String(Math.round(map.getZoom())) })).then(function (cells) {
          return { features: [], matched: doc.numberMatched, cells: cells.features };
        });
      }
      return { features: doc.features, matched: doc.numberMatched, cells: null };
    });
  }

  var byUid = {};  // layer id -> {uid: marker}; markers that stay in view are kept (an open popup stays open)

  function drawLayer(id, data) {
    var group = groups[id], cells = cellGroups[id];
    var mine = byUid[id] || (byUid[id] = {});
    cells.clearLayers();
    if (data.cells) {
      group.clearLayers();
      byUid[id] = {};
      data.cells.forEach(function (cell) {
        var ll = [cell.geometry.coordinates[1], cell.geometry.coordinates[0]];
        var m = L.marker(ll, { icon: M.countIcon(cell.properties.count), keyboard: true,
          title: cell.properties.count + " " + t.providers });
        m.on("click", function () { map.setView(ll, Math.min(map.getZoom() + 3, 18)); });
        cells.addLayer(m);
      });
      return 0;
    }
    var next = {};
    var added = [];
    data.features.forEach(function (f) {
      var m = mine[f.id];
      if (!m) {
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        m = L.marker(ll, { icon: M.pin(colors[id]), title: f.properties.name, alt: f.properties.name, keyboard: true });
        m.bindPopup(M.popupHtml(f.properties, cfg));
        added.push(m);
      }
      f._marker = m;
      next[f.id] = m;
    });
    var gone = Object.keys(mine).filter(function (uid) { return !next[uid]; }).map(function (uid) { return mine[uid]; });
    if (gone.length) group.removeLayers(gone);
    if (added.length) group.addLayers(added);
    byUid[id] = next;
    return data.features.length;
  }

  function showLayers(active) {
    cfg.layers.forEach(function (layer) {
      var on = active.indexOf(layer.id) >= 0;
      [groups[layer.id], cellGroups[layer.id]].forEach(function (g) {
        if (on && !map.hasLayer(g)) map.addLayer(g);
        if (!on && map.hasLayer(g)) map.removeLayer(g);
      });
    });
  }

  function renderList() {
    var body = document.querySelector("#provider-list tbody");
    var summary = document.getElementById("list-summary");
    var centre = map.getCenter();
    var rows = [];
    var clustered = [];
    chosenLayers().forEach(function (id) {
      var data = loaded[id];
      if (!data) return;
      if (data.cells) { clustered.push({ id: id, matched: data.matched }); return; }
      data.features.forEach(function (f) {
        rows.push({ f: f, d: M.distance(centre, L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0])) });
      });
    });
    rows.sort(function (a, b) { return a.d - b.d; });
    var shown = rows.slice(0, 200);
    body.innerHTML = "";
    shown.forEach(function (row) {
      var p = row.f.properties;
      var tr = document.createElement("tr");
      var caps = M.capabilityLabels(p, cfg.labels);
      tr.innerHTML =
        '<th scope="row"><button type="button" class="link show-on-map">' + M.esc(p.name) + "</button>" +
        '<br><span class="muted">' + M.esc(p.type_label) + "</span></th>" +
        '<td data-label="' + M.esc(t.colContact) + '">' + M.esc(p.address || "") + (p.phone ? '<br><a href="tel:' + M.esc(p.phone) + '">' + M.esc(p.phone) + "</a>" : "") + "</td>" +
        '<td data-label="' + M.esc(t.colOffers) + '">' + (caps.length ? caps.map(M.esc).join("、") : '<span class="muted">' + M.esc(t.noInfo) + "</span>") + "</td>" +
        '<td data-label="' + M.esc(t.lastConfirmed) + '">' + M.badge(p, t) + "</td>";
      tr.querySelector("button").addEventListener("click", function () {
        var m = row.f._marker;
        var id = Object.keys(groups).filter(function (k) { return groups[k].hasLayer(m); })[0];
        var open = function () { m.openPopup(); var el = m.getElement(); if (el) el.focus(); };
        if (id) groups[id].zoomToShowLayer(m, open); else open();
        mapEl.scrollIntoView({ block: "nearest" });
      });
      body.appendChild(tr);
    });
    var parts = [t.listCount.replace("{n}", rows.length.toLocaleString())];
    if (rows.length > shown.length) parts.push(t.listTruncated.replace("{n}", shown.length));
    clustered.forEach(function (c) {
      var title = cfg.layers.filter(function (l) { return l.id === c.id; })[0].title;
      parts.push(t.zoomIn.replace("{layer}", title).replace("{n}", c.matched.toLocaleString()));
    });
    summary.textContent = parts.join(" ");
  }

  function updateLinks() {
    var params = new URLSearchParams();
    params.set("sel", "1");
    chosenLayers().forEach(function (id) { params.append("layer", id); });
    chosenCaps().forEach(function (c) { params.append("cap", c); });
    var state = params.toString();
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + "?" + state + (cfg.lang === "en" ? "&lang=en" : ""));
    }
    // the language switch keeps the choice now in the address bar (only lang differs)
    var switcher = document.getElementById("lang-switch");
    if (switcher) {
      var other = new URLSearchParams(state);
      other.set("lang", switcher.getAttribute("data-lang"));
      switcher.href = window.location.pathname + "?" + other.toString();
    }
    params.set("bbox", bboxParam());
    var print = document.getElementById("print-link");
    if (print) print.href = cfg.urls.print + "?" + params.toString();
    var form = document.getElementById("address-form");
    if (form) {
      form.querySelectorAll(".carry-layer, .carry-cap").forEach(function (el) { el.remove(); });
      chosenLayers().forEach(function (id) { form.appendChild(hidden("layer", id, "carry-layer")); });
      chosenCaps().forEach(function (c) { form.appendChild(hidden("cap", c, "carry-cap")); });
    }
  }
  function hidden(name, value, cls) {
    var el = document.createElement("input");
    el.type = "hidden"; el.name = name; el.value = value; el.className = cls;
    return el;
  }

  // the tile note's word on the providers: only what is really drawn
  function sayProviders(key) {
    var el = document.getElementById("tile-note-providers");
    if (el) el.textContent = t[key];
  }

  function refresh() {
    var mine = ++request;
    var active = chosenLayers();
    mapEl.dataset.state = "loading";
    document.getElementById("map-status").textContent = t.loading;
    showLayers(active);
    Promise.all(active.map(function (id) {
      return loadLayer(id).then(function (data) { return [id, data]; });
    })).then(function (results) {
      if (mine !== request) return;  // a newer refresh is under way
      loaded = {};
      var count = 0, cellsShown = 0;
      results.forEach(function (pair) {
        loaded[pair[0]] = pair[1];
        count += drawLayer(pair[0], pair[1]);
        if (pair[1].cells) cellsShown += pair[1].matched;
      });
      cfg.layers.forEach(function (layer) {
        if (active.indexOf(layer.id) < 0) {
          groups[layer.id].clearLayers(); cellGroups[layer.id].clearLayers(); byUid[layer.id] = {};
        }
      });
      renderList();
      updateLinks();
      mapEl.dataset.markers = String(count);
      mapEl.dataset.cells = String(cellsShown);
      sayProviders(!active.length ? "providersNone" : count + cellsShown ? "providersDrawn" : "providersEmpty");
      document.getElementById("map-status").textContent =
        t.shown.replace("{n}", (count + cellsShown).toLocaleString());
      mapEl.dataset.state = "ready";
    }).catch(function () {
      if (mine !== request) return;
      document.getElementById("map-status").textContent = t.failed;
      sayProviders("providersFailed");
      mapEl.dataset.state = "error";
    });
  }

  var box = document.getElementById("filter-box");
  if (box && window.matchMedia && window.matchMedia("(max-width: 899px)").matches) box.open = false;

  var later = M.debounce(refresh, 200);
  map.on("moveend", later);
  document.querySelectorAll("#layer-form input").forEach(function (el) {
    el.addEventListener("change", refresh);
  });
  document.getElementById("layer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    refresh();
  });
  refresh();
})();
