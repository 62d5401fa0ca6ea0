/* Planner coverage: a note beside the results when providers are off the road network
   (the coverage JSON's off_network: how many fell back to their radius, how many a
   travel time set on the form left out). planner.js fires "planner:coverage" with the
   coverage data each time it shows one; the note is hidden when both counts are 0. */
(function () {
  "use strict";
  document.addEventListener("planner:coverage", function (e) {
    var note = document.getElementById("cov-offnet");
    var cfgEl = document.getElementById("map-config");
    if (!note || !cfgEl) return;
    var t = JSON.parse(cfgEl.textContent).texts;
    var off = (e.detail && e.detail.off_network) || {};
    var parts = [];
    if (off.fallback_radius) parts.push(t.offFallback.replace("{n}", off.fallback_radius.toLocaleString()));
    if (off.left_out) parts.push(t.offLeftOut.replace("{n}", off.left_out.toLocaleString()));
    note.textContent = parts.join(" ");
    note.hidden = !parts.length;
    note.dataset.fallbackRadius = String(off.fallback_radius || 0);
    note.dataset.leftOut = String(off.left_out || 0);
  });
})();
