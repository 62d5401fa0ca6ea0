/* Shared by the public map and the professional finder: base map, geography, markers, popups.
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

  /* The base map; when tiles fail (offline, blocked) the data layers keep working, a
     note says the background is missing and the map fires "tilesfailed" (once). */
  function baseMap(map, cfg, noteId) {
    var failed = false;
    var layer = L.tileLayer(cfg.basemap.url, {
      attribution: cfg.basemap.attribution, maxZoom: 18, crossOrigin: false
    });
    layer.on("tileerror", function () {
      if (failed) return;
      failed = true;
      map.tilesFailed = true;
      var note = document.getElementById(noteId || "tile-note");
      if (note) note.hidden = false;
      map.fire("tilesfailed");
    });
    layer.addTo(map);
    return layer;
  }

  /* The geography from the store (municipality outline, 日常生活圏域, towns), drawn in its
     own pane under every marker and dot (the 日常生活圏域 names above them), with a control of its own (a <details> of
     checkboxes; Leaflet's layers control loses taps on phones). Towns show by default only
     when the tiles fail (then they are the map). The note beside the map names what is
     drawn instead of the tiles; the map element's data-areas counts the areas loaded
     ("error" if the request failed). Colours: dark, brown and grey lines, none of them a
     layer colour or the clusters' dark squares. */
  var AREA_STYLES = {
    municipality: { className: "area-municipality", color: "#1a1a1a", weight: 3, fill: false, interactive: false },
    daily_life_area: { className: "area-daily_life_area", color: "#7a5230", weight: 2, dashArray: "8 5", fillColor: "#7a5230", fillOpacity: 0.05, interactive: false },
    // 二次医療圏 parts: a colour ≥ 60 RGB units from every layer colour and the other lines, dash-dot
    secondary_medical_area: { className: "area-secondary_medical_area", color: "#880e4f", weight: 3, dashArray: "12 4 2 4", fill: false, interactive: false },
    town: { className: "area-town", color: "#6c757d", weight: 1, fill: true, fillOpacity: 0, interactive: true }
  };
  // kinds drawn only when ticked (or when nothing else is loaded); towns also come on when tiles fail
  var OFF_AT_FIRST = { town: true, secondary_medical_area: true };

  function areaLayers(map, cfg, opts) {
    opts = opts || {};
    var mapEl = map.getContainer();
    var t = cfg.texts;
    if (!cfg.urls || !cfg.urls.areas) return null;
    map.createPane("areas").style.zIndex = 350;        // under overlayPane (400): dots, pins
    // the 日常生活圏域 names above the dots, pins and cluster squares (600), so none is
    // hidden under them; they take no pointer (taps reach the markers), and tooltips (650)
    // and popups (700) still cover them
    map.createPane("areaLabels").style.zIndex = 620;
    map.getPane("areaLabels").style.pointerEvents = "none";
    var layers = {}, touched = {};
    var noteText = document.getElementById(opts.noteTextId || "tile-note-areas");

    function sayDrawn() {
      if (!noteText) return;
      var shown = (cfg.areaKinds || []).slice().reverse().filter(function (k) { return layers[k] && map.hasLayer(layers[k]); })
        .map(function (k) { return t.areaKinds[k]; });
      noteText.textContent = shown.length ? t.areasDrawn.replace("{kinds}", shown.join(t.listSep)) : "";
    }

    fetch(cfg.urls.areas, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (doc) {
        var paths = 0;
        cfg.areaKinds = doc.kinds || [];
        cfg.areaKinds.forEach(function (kind) {
          var style = AREA_STYLES[kind] || AREA_STYLES.town;
          var layer = L.geoJSON({ type: "FeatureCollection", features: doc.features.filter(function (f) {
            return f.properties.kind === kind;
          }) }, {
            pane: "areas", style: function () { return style; }, interactive: style.interactive,
            onEachFeature: function (f, l) {
              paths += 1;
              if (kind === "town") l.bindTooltip(esc(f.properties.name), { sticky: true, direction: "top" });
              if (kind === "daily_life_area") {
                l.bindTooltip(esc(f.properties.name), {
                  permanent: true, direction: "center", className: "area-label", pane: "areaLabels", interactive: false
                });
              }
            }
          });
          layers[kind] = layer;
          var only = cfg.areaKinds.length === 1;
          if (!OFF_AT_FIRST[kind] || only || (kind === "town" && map.tilesFailed)) layer.addTo(map);
        });
        // the control and the note list the broadest first (drawn last, on top)
        var boxes = {};
        if (cfg.areaKinds.length) {
          var control = L.control({ position: "topright" });
          control.onAdd = function () {
            var div = L.DomUtil.create("div", "leaflet-bar area-control");
            var narrow = mapEl.clientWidth < 640;  // folded where it would cover the map
            var html = "<details" + (narrow ? "" : " open") + "><summary>" + esc(t.areasControl) + "</summary>";
            cfg.areaKinds.slice().reverse().forEach(function (kind) {
              html += '<label><input type="checkbox" data-kind="' + esc(kind) + '"' +
                (map.hasLayer(layers[kind]) ? " checked" : "") + '><span class="area-key area-key-' + esc(kind) +
                '" aria-hidden="true"></span>' + esc(t.areaKinds[kind] || kind) + "</label>";
            });
            div.innerHTML = html + "</details>";
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            div.querySelectorAll("input").forEach(function (input) {
              var kind = input.getAttribute("data-kind");
              boxes[kind] = input;
              input.addEventListener("change", function () {
                touched[kind] = true;
                if (input.checked) layers[kind].addTo(map); else map.removeLayer(layers[kind]);
                sayDrawn();
              });
            });
            return div;
          };
          control.addTo(map);
        }
        map.on("tilesfailed", function () {
          if (layers.town && !touched.town && !map.hasLayer(layers.town)) {
            layers.town.addTo(map);
            if (boxes.town) boxes.town.checked = true;
          }
          sayDrawn();
        });
        sayDrawn();
        mapEl.dataset.areas = String(paths);
        if (opts.onLoad) opts.onLoad(doc, layers);
      })
      .catch(function () { mapEl.dataset.areas = "error"; });
    return layers;
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
    else if (t.noInfo) html += '<br><span class="muted">' + esc(t.colOffers) + "：" + esc(t.noInfo) + "</span>";
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
    esc: esc, readConfig: readConfig, baseMap: baseMap, areaLayers: areaLayers, pin: pin, countIcon: countIcon, clusterIcon: clusterIcon,
    badge: badge, capabilityLabels: capabilityLabels, popupHtml: popupHtml,
    debounce: debounce, distance: distance
  };
})();
