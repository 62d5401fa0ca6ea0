/* Planner view: saved what-if scenarios (save, open, compare) and the best k new sites.
   Plain script; waits for planner.js to publish window.MapsvcPlanner. */
(function () {
  "use strict";
  var cfg = window.MapsvcMap.readConfig("map-config");
  var api = cfg.api;
  var T = cfg.texts;
  var esc = window.MapsvcMap.esc;

  function $(id) { return document.getElementById(id); }

  document.addEventListener("mapsvc-planner-ready", function () {
    var P = window.MapsvcPlanner;
    var bestLayer = L.layerGroup().addTo(P.map);
    var lastBest = null;

    function post(path, body) {
      return fetch(api + path, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": P.csrf, Accept: "application/json" },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) throw new Error((data.field ? data.field + ": " : "") + (data.message || r.statusText));
          return data;
        });
      });
    }

    function say(text) { $("scenario-msg").textContent = text; }

    /* ---- scenarios ------------------------------------------------------------------ */
    function refreshList(selected) {
      return P.getJSON(api + "/scenarios").then(function (rows) {
        var options = rows.map(function (r) {
          return "<option value=\"" + r.id + "\">" + esc(r.name) + " (" + r.sites + ")</option>";
        }).join("");
        ["scenario-list", "scenario-a", "scenario-b"].forEach(function (id) { $(id).innerHTML = options; });
        if (selected) $("scenario-list").value = String(selected);
        if (rows.length > 1) $("scenario-b").value = String(rows[0].id), $("scenario-a").value = String(rows[1].id);
        $("scenario-list").dataset.count = String(rows.length);
      });
    }

    $("scenario-save-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var sites = P.sites();
      if (!sites.length) { say(T.noSites); return; }
      if (!P.query()) return;
      post("/scenarios", { name: $("scenario-name").value, analysis: P.query(), sites: sites })
        .then(function (row) { say(T.saved + ": " + row.name); return refreshList(row.id); })
        .catch(function (err) { say(T.error + ": " + err.message); });
    });

    function applyAnalysis(a) {
      var form = $("coverage-form");
      var spec = (a.capability || [])[0] || "";
      var parts = spec.split(":");
      form.capability.value = parts[0];
      if (parts[1]) form.level.value = parts[1];
      form.type.value = (a.type || [])[0] || "";
      var mode = a.minutes ? "minutes" : a.radius_km ? "radius_km" : "default";
      form.querySelector('input[name="mode"][value="' + mode + '"]').checked = true;
      if (a.minutes) form.minutes.value = a.minutes;
      if (a.radius_km) form.radius_km.value = a.radius_km;
      if (a.population) form.population.value = a.population;
    }

    $("scenario-open-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var id = $("scenario-list").value;
      if (!id) return;
      P.getJSON(api + "/scenarios/" + encodeURIComponent(id)).then(function (row) {
        applyAnalysis(row.analysis);
        P.setSites(row.sites_list);
        $("scenario-name").value = row.name;
        say(row.name);
        return P.run();
      }).catch(function (err) { say(T.error + ": " + err.message); });
    });

    $("scenario-compare-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var table = $("scenario-compare-table");
      table.dataset.state = "loading";
      var q = "?a=" + encodeURIComponent($("scenario-a").value) + "&b=" + encodeURIComponent($("scenario-b").value);
      P.getJSON(api + "/scenarios/compare" + q).then(function (data) {
        var rows = [
          [T.siteCount, "sites", P.num], [T.covered75, "75+_covered", P.num],
          [T.share75, "75+_share", P.pct], [T.gain75, "75+_gain", P.num]
        ];
        table.querySelector("thead").innerHTML = "<tr><th></th><th>A: " + esc(data.a.name) + "</th><th>B: " +
          esc(data.b.name) + "</th><th>B − A</th></tr>";
        table.querySelector("tbody").innerHTML = rows.map(function (r) {
          var d = r[1] === "sites" ? data.b.sites - data.a.sites : data.difference[r[1]];
          var diff = d === null || d === undefined ? "–" : (d > 0 ? "+" : "") + (r[2] === P.pct ? (d * 100).toFixed(1) + " pt" : P.num(d));
          return "<tr data-key=\"" + r[1] + "\"><th scope=\"row\">" + esc(r[0]) + "</th><td data-value=\"" + data.a[r[1]] + "\">" +
            r[2](data.a[r[1]]) + "</td><td data-value=\"" + data.b[r[1]] + "\">" + r[2](data.b[r[1]]) +
            "</td><td data-value=\"" + d + "\">" + diff + "</td></tr>";
        }).join("");
        table.hidden = false;
        table.dataset.state = "ready";
        say(data.same_analysis ? "" : T.otherAnalysis);
      }).catch(function (err) { table.dataset.state = "error"; say(T.error + ": " + err.message); });
    });

    /* ---- best k new sites ----------------------------------------------------------- */
    $("sites-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var form = e.target;
      var table = $("sites-table");
      var body = Object.assign({}, P.query() || {}, { k: form.k.value, km: form.km.value, grid_m: form.grid_m.value });
      $("sites-error").hidden = true;
      table.dataset.state = "loading";
      post("/sites", body).then(function (data) {
        lastBest = data;
        bestLayer.clearLayers();
        [["greedy", "#6c757d", 9], ["optimal", "#7b2cbf", 6]].forEach(function (g) {
          data[g[0]].sites.forEach(function (s) {
            L.circleMarker([s.lat, s.lon], { radius: g[2], color: g[1], weight: 3, fill: g[0] === "optimal", className: "best-site " + g[0] + "-site" })
              .bindTooltip(T[g[0]]).addTo(bestLayer);
          });
        });
        table.querySelector("tbody").innerHTML = ["optimal", "greedy"].map(function (g) {
          return "<tr data-kind=\"" + g + "\"><th scope=\"row\">" + esc(T[g]) + "</th><td data-value=\"" + data[g]["75+_gain"] + "\">" +
            P.num(data[g]["75+_gain"]) + "</td><td>" + data[g].sites.map(function (s) { return s.lat.toFixed(4) + ", " + s.lon.toFixed(4); }).join("<br>") + "</td></tr>";
        }).join("");
        var gap = data.gap === null ? "–" : (data.gap * 100).toFixed(2) + "%";
        $("sites-note").textContent = "k=" + data.k + ", " + data.km + " km, " + P.num(data.candidates) + " / gap " + gap + " / " +
          (data.status === "optimal" ? T.proven : T.unproven + " " + ((data.proven_gap || 0) * 100).toFixed(2) + "%") + " (" + data.seconds + " s)";
        table.hidden = false;
        table.dataset.state = "ready";
        $("sites-use").hidden = false;
      }).catch(function (err) {
        table.dataset.state = "error";
        $("sites-error").textContent = T.error + ": " + err.message;
        $("sites-error").hidden = false;
      });
    });

    $("sites-use").addEventListener("click", function () {
      if (!lastBest) return;
      P.setSites(lastBest.optimal.sites.map(function (s) { return { lon: s.lon, lat: s.lat, km: lastBest.km }; }));
      P.run();
    });

    refreshList();
  });
})();
