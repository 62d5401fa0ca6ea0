/* Planner what-if: hypothetical sites placed on the coverage map (click in add mode), each
   draggable, removable and with its own minutes / km, and the coverage with them beside
   the current one, area by area. Plain script, loaded before planner.js, which calls
   window.MapsvcPlannerWhatIf(P) with its shared helpers (P: map, cfg, api, csrf, $, esc,
   num, pct, showError, query) and gets back { run, reset, sites, setSites, count }. */
(function () {
  "use strict";

  window.MapsvcPlannerWhatIf = function (P) {
    var $ = P.$, cfg = P.cfg, esc = P.esc, num = P.num, pct = P.pct;
    var hypoAreaLayer = L.layerGroup().addTo(P.map);
    var hypoLayer = L.layerGroup().addTo(P.map);
    var hypothetical = [];
    var adding = false;

    function sitePayload(site) {
      var p = { lon: site.lon, lat: site.lat };
      if (site.type) p.type = site.type;
      if (site.unit === "minutes" && site.value) p.minutes = site.value;
      if (site.unit === "km" && site.value) p.km = site.value;
      return p;
    }

    function run() {
      var query = P.query();
      if (!query || !hypothetical.length) return Promise.resolve();
      var body = Object.assign({}, query, { providers: hypothetical.map(sitePayload) });
      return fetch(P.api + "/what-if", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": P.csrf, Accept: "application/json" },
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
      }).catch(function (err) { P.showError("cov-error", cfg.texts.error + ": " + err.message); });
    }

    function reset() {
      hypoAreaLayer.clearLayers();
      $("whatif-share").textContent = "–";
      $("whatif-share").dataset.value = "";
      $("whatif-gain").textContent = "";
      $("whatif-areas").querySelector("tbody").innerHTML = "";
    }

    function changed() {
      renderSites();
      if (!hypothetical.length) { reset(); return Promise.resolve(); }
      $("coverage-map").dataset.whatif = "loading";
      return run();
    }

    /* each hypothetical site: a row with its place, its own minutes / km and a remove button */
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

    P.map.on("click", function (e) {
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

    return {
      run: run,
      reset: reset,
      count: function () { return hypothetical.length; },
      sites: function () { return hypothetical.map(sitePayload); },
      setSites: function (list) {  /* a saved scenario's sites back on the map */
        hypoLayer.clearLayers(); hypothetical = []; reset();
        list.forEach(function (s) { addSite(L.latLng(s.lat, s.lon), s); });
        renderSites();
      }
    };
  };
})();
