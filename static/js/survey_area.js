/* The survey form's service-area map: drawing fills the hidden service_area.geometry input,
   clicking areas fills the area-code input; the radio buttons say which one is sent. The
   form still works without this script (codes typed by hand). Needs provider_area.js. */
(function () {
  "use strict";
  var el = document.getElementById("survey-area-map");
  if (!el || !window.MapsvcAreaPicker) return;
  function data(name) { return el.getAttribute("data-" + name); }
  function parse(name) { try { return JSON.parse(data(name) || "null"); } catch (e) { return null; } }
  var currentKind = data("current-kind");
  var lon = parseFloat(data("lon")), lat = parseFloat(data("lat"));
  var cfg = {
    basemap: { url: data("basemap-url"), attribution: data("attribution") },
    lang: data("lang"),
    provider: isFinite(lon) && isFinite(lat) ? { name: data("name"), lon: lon, lat: lat } : null,
    current: currentKind === "codes" ? { kind: "codes", codes: parse("current-codes") || [] }
      : currentKind === "polygon" ? { kind: "polygon" } : null,
    current_shape: parse("current-shape"),
    pickable: parse("pickable")
  };
  var geometryInput = document.getElementById("f-service_area-geometry");
  var codesInput = document.getElementById("f-service_area-codes");
  function radio(value) { return document.querySelector('input[name="service_area.kind"][value="' + value + '"]'); }

  var picker = new window.MapsvcAreaPicker({
    el: el, cfg: cfg,
    onChange: function (value, p) {
      if (!value) return;
      if (value.kind === "polygon") {
        geometryInput.value = JSON.stringify(value.geometry);
        radio("polygon").checked = true;
      } else if (value.kind === "codes") {
        codesInput.value = value.codes.join("、");
        radio("codes").checked = true;
      }
    }
  });
  // a typed or earlier polygon answer (after a refused submit) is shown again
  if (geometryInput.value) {
    try { picker.setPolygon(JSON.parse(geometryInput.value)); } catch (e) { /* the server names the error */ }
  }
  function sync() {
    var chosen = document.querySelector('input[name="service_area.kind"]:checked');
    var kind = chosen ? chosen.value : null;
    picker.setMode(kind === "codes" || kind === "polygon" ? kind : null);
    if (kind === "polygon" && !picker.polygon) picker.draw();
  }
  document.querySelectorAll('input[name="service_area.kind"]').forEach(function (r) {
    r.addEventListener("change", sync);
  });
  var kindSelect = document.getElementById("survey-area-kind");
  kindSelect.addEventListener("change", function () { picker.showKind(kindSelect.value); });
  var editing = false;
  document.getElementById("survey-area-draw").addEventListener("click", function () {
    radio("polygon").checked = true;
    picker.draw();
  });
  document.getElementById("survey-area-edit").addEventListener("click", function () {
    if (!picker.polygon) return;
    radio("polygon").checked = true;
    picker.mode = "polygon";
    editing = !editing;
    picker.edit(editing);
    this.setAttribute("aria-pressed", editing ? "true" : "false");
  });
  // vertex edits reach the hidden input through onChange; make sure the last one is in
  el.closest("form").addEventListener("submit", function () {
    var chosen = document.querySelector('input[name="service_area.kind"]:checked');
    if (chosen && chosen.value === "polygon" && picker.polygon) {
      geometryInput.value = JSON.stringify(picker.polygon.toGeoJSON(7).geometry);
    }
  });
  var chosen = document.querySelector('input[name="service_area.kind"]:checked');
  picker.setMode(chosen && (chosen.value === "codes" || chosen.value === "polygon") ? chosen.value : null);
})();
