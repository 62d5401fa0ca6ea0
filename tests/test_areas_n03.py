"""N03 boundary files as published (issue 14 item 8): 所属未定地 features without a code are
skipped and reported, TopoJSON loads, any prefecture's N03 shape (one feature per island,
N03_001..N03_007, designated-city wards old and new style) loads."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import real_path, run_cli

from mapsvc.geo.areas import areas_frame, load_areas

N03 = ("takamatsu", "boundary", "N03-21_37_210101_s0010.geojson")
N03_TOPO = ("takamatsu", "boundary", "N03-21_37_210101_s0010.topojson.json")


def _square(x0: float, y0: float, size: float = 0.01) -> dict:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _n03(pref: str, county: str | None, city: str | None, code: str | None, geom: dict,
         ward: str | None = None, with_005: bool = True) -> dict:  # fmt: skip
    props = {"N03_001": pref, "N03_002": None, "N03_003": county, "N03_004": city}
    if with_005:
        props["N03_005"] = ward
    props["N03_007"] = code
    return {"type": "Feature", "properties": props, "geometry": geom}


def test_real_n03_with_an_unsettled_feature_loads_and_reports_it(sqlite_services, tmp_path):
    doc = json.loads(real_path(*N03).read_text(encoding="utf-8"))
    # as in MLIT's own N03 files: 所属未定地 (boundary not settled) carries no code
    doc["features"].append(_n03("香川県", None, "所属未定地", None, _square(134.3, 34.45)))
    path = tmp_path / "N03-21_37_210101.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = load_areas(sqlite_services, path, "municipality")
    assert result.loaded == 17
    assert result.skipped == [(18, "所属未定地: empty N03_007, not loaded")]


def test_real_topojson_loads_like_the_geojson(sqlite_services):
    topo = load_areas(sqlite_services, real_path(*N03_TOPO), "municipality")
    assert (topo.loaded, topo.skipped) == (17, [])
    with sqlite_services.store.session() as session:
        frame = areas_frame(session, "municipality").set_index("code")
    assert frame.loc["372013", "name"] == "高松市"
    geo = json.loads(real_path(*N03).read_text(encoding="utf-8"))
    from shapely.geometry import shape

    takamatsu = next(f for f in geo["features"] if f["properties"]["N03_007"] == "37201")
    same = shape(takamatsu["geometry"]).symmetric_difference(frame.loc["372013"].geometry)
    # TopoJSON is quantised: the shapes agree to 0.1 % of the area
    assert same.area < 1e-3 * shape(takamatsu["geometry"]).area


def test_any_prefecture_n03_shape_islands_and_wards(sqlite_services, tmp_path):
    features = [
        # old style (up to 2023): N03_003 札幌市, N03_004 中央区; no N03_005 column
        _n03("北海道", "札幌市", "中央区", "01101", _square(141.30, 43.05), with_005=False),
        _n03("北海道", "札幌市", "中央区", "01101", _square(141.32, 43.05), with_005=False),
        _n03("北海道", "石狩振興局", "当別町", "01303", _square(141.5, 43.2), with_005=False),
    ]
    features[2]["properties"].update({"N03_002": "石狩振興局", "N03_003": "石狩郡"})
    old = tmp_path / "old.geojson"
    old.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    result = load_areas(sqlite_services, old, "municipality")
    assert (result.loaded, result.skipped) == (2, [])
    new = [
        # new style (2024): N03_004 the designated city, N03_005 its ward
        _n03("大阪府", None, "大阪市", "27128", _square(135.50, 34.68), ward="中央区"),
        _n03("大阪府", None, "大阪市", "27128", _square(135.52, 34.68), ward="中央区"),
        _n03("大阪府", None, "所属未定地", None, _square(135.6, 34.5), ward=None),
        _n03("大阪府", "南河内郡", "太子町", "27381", _square(135.65, 34.52)),
    ]
    path = tmp_path / "N03-20240101_27.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": new}), "utf-8")
    result = load_areas(sqlite_services, path, "municipality")
    assert result.loaded == 2 and [n for n, _ in result.skipped] == [3]
    with sqlite_services.store.session() as session:
        frame = areas_frame(session, "municipality").set_index("code")
    assert frame.loc["011011", "name"] == "札幌市中央区"
    assert frame.loc["271284", "name"] == "大阪市中央区"
    assert frame.loc["271284"].geometry.geom_type == "MultiPolygon"  # two features, one area
    assert frame.loc["273813", "name"] == "太子町"


def test_cli_reports_skipped_features(runner, sqlite_services, tmp_path: Path):
    doc = json.loads(real_path(*N03).read_text(encoding="utf-8"))
    doc["features"].insert(0, _n03("香川県", None, "所属未定地", None, _square(134.3, 34.45)))
    path = tmp_path / "n03.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = run_cli(runner, sqlite_services, "areas", "import", str(path), "--kind", "municipality")
    assert out.exit_code == 0, out.output
    assert "17 municipality areas loaded" in out.output
    assert "feature 1 skipped: 所属未定地: empty N03_007" in out.output
