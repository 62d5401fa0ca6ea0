/* Shared by the public map and the professional finder: base map, markers, popups.
   Plain script (no build step); exposes window.MapsvcMap. Needs Leaflet and
   Leaflet.markercluster loaded before it. */
(function () {
  "use strict";

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function readConfig(id) {
    var el = document.getElementById(id || "map-config");
    return el ? JSON.parse(el.textContent) : {};
  }

  /* The base map; when tiles fail (offline, blocked) the data layers keep working and a
     note says the background is missing. */
  function baseMap(map, cfg, noteId) {
    var failed = false;
    var layer = L.tileLayer(cfg.basemap.url, {
      attribution: cfg.basemap.attribution, maxZoom: 18, crossOrigin: false
    });
    layer.on("tileerror", function () {
      if (failed) return;
      failed = true;
      var note = document.getElementById(noteId || "tile-note");
      if (note) note.hidden = false;
    });
    layer.addTo(map);
    return layer;
  }

  function pin(color, label) {
    return L.divIcon({
      className: "pin",
      html: '<span class="pin-dot" style="background:' + esc(color) + '">' + esc(label || "") + "</span>",
      iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]
    });
  }

  function countIcon(count) {
    var size = count < 100 ? 34 : count < 1000 ? 42 : 50;
    return L.divIcon({
      className: "cell-count",
      html: "<span>" + esc(count.toLocaleString()) + "</span>",
      iconSize: [size, size], iconAnchor: [size / 2, size / 2]
    });
  }

  /* A cluster: a dark grey rounded square with a white double edge and its count, so it
     differs from every layer colour (all saturated hues, round pins) by colour AND shape. */
  function clusterIcon(cluster) {
    var count = cluster.getChildCount();
    var size = count < 10 ? 30 : count < 100 ? 36 : 44;
    return L.divIcon({
      className: "cluster-icon",
      html: "<span>" + esc(count.toLocaleString()) + '<span class="visually-hidden">' +
        (document.documentElement.lang === "en" ? " providers here; zoom in" : "件（拡大して表示）") + "</span></span>",
      iconSize: [size, size], iconAnchor: [size / 2, size / 2]
    });
  }

  function badge(props, texts) {
    var c = props.confirmation || {};
    var date = c.date || texts.never;
    var out = texts.lastConfirmed + " " + esc(date);
    if (c.state === "unconfirmed") {
      out = '<span class="badge unconfirmed">' + esc(c.label) + "</span> " + out;
    }
    return '<span class="confirmation ' + esc(c.state || "") + '">' + out + "</span>";
  }

  function capabilityLabels(props, labels) {
    var caps = props.capabilities || [];
    if (!Array.isArray(caps)) caps = Object.keys(caps);
    return caps.filter(function (k) { return labels.capabilities[k]; })
      .map(function (k) { return labels.capabilities[k]; });
  }

  function popupHtml(props, cfg) {
    var t = cfg.texts;
    var caps = capabilityLabels(props, cfg.labels);
    var html = "<div class=\"popup\"><strong>" + esc(props.name) + "</strong><br>" +
      '<span class="muted">' + esc(props.type_label) + "</span>";
    if (props.address) html += "<br>" + esc(props.address);
    if (props.phone) html += '<br><a href="tel:' + esc(props.phone) + '">' + esc(props.phone) + "</a>";
    if (props.hours) html += "<br>" + esc(props.hours);
    if (props.url && /^https?:\/\//.test(props.url)) {
      html += '<br><a href="' + esc(props.url) + '" rel="noopener" target="_blank">' + esc(t.website) + "</a>";
    }
    if (caps.length) html += '<br><span class="caps">' + caps.map(esc).join("・") + "</span>";
    html += "<br>" + badge(props, t) + "</div>";
    return html;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function distance(a, b) {
    /* metres on a sphere: ordering the list only, never a shown figure */
    var rad = Math.PI / 180, dLat = (b.lat - a.lat) * rad, dLon = (b.lng - a.lng) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 12742000 * Math.asin(Math.sqrt(h));
  }

  window.MapsvcMap = {
    esc: esc, readConfig: readConfig, baseMap: baseMap, pin: pin, countIcon: countIcon, clusterIcon: clusterIcon,
    badge: badge, capabilityLabels: capabilityLabels, popupHtml: popupHtml,
    debounce: debounce, distance: distance
  };
})();
