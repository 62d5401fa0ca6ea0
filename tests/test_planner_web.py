"""Planner view and its JSON API, downloads and report (Flask test client)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import login_as, make_app
from planner_support import build_planner_store


@pytest.fixture
def planner_app(sqlite_services, tmp_path):
    build_planner_store(sqlite_services, tmp_path)
    return make_app(sqlite_services), sqlite_services


@pytest.fixture
def planner_client(planner_app):
    app, services = planner_app
    client = app.test_client()
    login_as(client, services, "planner")
    return client


def _token(client) -> str:
    html = client.get("/planner/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_page_needs_the_planner_role(planner_app) -> None:
    app, services = planner_app
    client = app.test_client()
    assert client.get("/planner/").status_code == 302
    anon = client.get("/planner/api/coverage?capability=home_visit_medical")
    assert anon.status_code == 401 and anon.get_json()["error"] == "unauthorized"
    login_as(client, services, "professional")
    assert client.get("/planner/").status_code == 403
    assert client.get("/planner/api/candidates").status_code == 403


def test_page_renders_with_vendored_leaflet_only(planner_client) -> None:
    html = planner_client.get("/planner/").get_data(as_text=True)
    assert 'id="coverage-map"' in html and 'id="choropleth-map"' in html
    assert "vendor/leaflet-1.9.4/leaflet.js" in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_page_urls_keep_the_path_the_site_is_mounted_under(planner_client) -> None:
    import json

    html = planner_client.get("/planner/", base_url="http://localhost/map/").get_data(as_text=True)
    cfg = json.loads(re.search(r'id="map-config">(.*?)</script>', html, re.S).group(1))
    assert cfg["base"] == "/map/planner" and cfg["api"] == "/map/planner/api"
    assert "'/planner/" not in html and '"/planner/download' not in html


def test_coverage_api_bands_add_up_and_area_is_geojson(planner_client) -> None:
    body = planner_client.get(
        "/planner/api/coverage?capability=home_visit_medical:consult&minutes=1"
    ).get_json()
    assert body["providers"] == 2 and body["mode"] == "travel_time"
    for band in body["bands"]:
        assert band["covered"] + band["uncovered"] == band["total"]
    assert body["area"]["type"] in ("Polygon", "MultiPolygon")
    assert {p["uid"] for p in body["providers_points"]} and body["uncovered"][
        "type"
    ] == "FeatureCollection"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("capability=home_visit_medical&minutes=abc", "minutes"),
        ("capability=home_visit_medical&minutes=0", "minutes"),
        ("capability=home_visit_medical&radius_km=-2", "radius_km"),
        ("capability=nonsense", "capability"),
        ("type=spaceport", "type"),
        ("", "capability"),
    ],
)
def test_coverage_api_bad_input_is_400_naming_the_field(planner_client, query, field) -> None:
    response = planner_client.get(f"/planner/api/coverage?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_what_if_api_raises_the_covered_share(planner_client) -> None:
    token = _token(planner_client)
    before = planner_client.get(
        "/planner/api/coverage?capability=home_visit_medical&minutes=0.5"
    ).get_json()
    response = planner_client.post(
        "/planner/api/what-if",
        json={
            "capability": ["home_visit_medical"],
            "minutes": "0.5",
            "providers": [{"lon": 134.058, "lat": 34.306}],
        },
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    old = {b["band"]: b for b in data["before"]["bands"]}["75+"]
    new = {b["band"]: b for b in data["after"]["bands"]}["75+"]
    assert old["covered"] == {b["band"]: b for b in before["bands"]}["75+"]["covered"]
    assert new["share"] > old["share"]
    assert {a["area"] for a in data["by_area"]} == {"D1", "D2"}
    bad = planner_client.post(
        "/planner/api/what-if",
        json={"capability": ["home_visit_medical"], "providers": [{"lon": "east", "lat": 34.3}]},
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 400 and bad.get_json()["field"] == "providers[0].lon"
    no_csrf = planner_client.post(
        "/planner/api/what-if", json={"capability": ["home_visit_medical"], "providers": []}
    )
    assert no_csrf.status_code == 400


def test_indicator_choropleth_has_classes_legend_and_units(planner_client) -> None:
    data = planner_client.get(
        "/planner/api/indicators?kind=daily_life_area&indicator=count:type:clinic"
    ).get_json()
    props = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    assert props["D1"]["value"] == 2 and props["D2"]["value"] == 0
    assert props["D1"]["colour"] != props["D2"]["colour"]
    assert data["unit"] == "件" and data["legend"] and "count:type:clinic" in data["indicators"]
    bad = planner_client.get(
        "/planner/api/indicators?kind=daily_life_area&indicator=count:type:spaceport"
    )
    assert bad.status_code == 400 and bad.get_json()["field"] == "indicator"
    assert planner_client.get("/planner/api/indicators?kind=planet").get_json()["field"] == "kind"


def test_candidates_api(planner_client) -> None:
    rows = planner_client.get("/planner/api/candidates").get_json()
    assert rows[0]["branch"] == "clinic" and rows[0]["candidates"][0]["name"] == "支援診"


def test_downloads_geojson_geopackage_csv(planner_client, tmp_path) -> None:
    import pyogrio

    q = "capability=home_visit_medical&radius_km=0.3"
    geo = planner_client.get(f"/planner/download/coverage.geojson?{q}")
    assert geo.mimetype == "application/geo+json"
    features = json.loads(geo.get_data())["features"]
    assert len(features) == 400 and "covered" in features[0]["properties"]
    gpkg = planner_client.get(f"/planner/download/coverage.gpkg?{q}")
    path = tmp_path / "coverage.gpkg"
    path.write_bytes(gpkg.get_data())
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"population_units", "covered_area"}
    csv = planner_client.get(f"/planner/download/coverage.csv?{q}").get_data()
    assert csv.startswith(b"\xef\xbb\xbf") and b"covered" in csv.splitlines()[0]
    ind = (
        planner_client.get("/planner/download/indicators.csv?kind=daily_life_area")
        .get_data()
        .decode("utf-8-sig")
    )
    assert "per100k:type:clinic" in ind and "西圏域" in ind
    assert planner_client.get("/planner/download/coverage.shp?" + q).status_code == 400


def test_printable_area_report_embeds_the_map(planner_client) -> None:
    html = planner_client.get(
        "/planner/report/daily_life_area/D1?capability=home_visit_medical&radius_km=0.3"
    ).get_data(as_text=True)
    assert "西圏域" in html and 'class="report-map"' in html and 'class="scale-bar"' in html
    assert planner_client.get("/planner/report/daily_life_area/NOPE").status_code == 404


def test_compare_api_and_downloads_give_the_four_quadrants(planner_client) -> None:
    """Issue 11 item 1 on the page's API: 16 km by default, quadrants add up, maps, files."""
    q = "capability=home_visit_medical&minutes=0.5"
    body = planner_client.get(f"/planner/api/compare?{q}").get_json()
    assert body["radius_km"] == 16.0 and body["minutes"] == 0.5
    for row in body["bands"]:
        assert sum(row[k] for k in body["quadrants"]) == row["total"]
    assert set(body["areas"]) == {"both", "only_radius", "only_minutes"}
    assert body["areas"]["only_radius"]["type"] in ("Polygon", "MultiPolygon")
    assert all("name" in a for a in body["by_area"])
    small = planner_client.get(f"/planner/api/compare?{q}&radius_km=0.2").get_json()
    assert small["radius_km"] == 0.2
    csv = planner_client.get(f"/planner/download/compare.csv?{q}").get_data(as_text=True)
    assert "only_radius" in csv.splitlines()[0] and "only_minutes" in csv.splitlines()[0]
    geo = json.loads(planner_client.get(f"/planner/download/compare.geojson?{q}").data)
    assert {f["properties"]["quadrant"] for f in geo["features"]} <= {
        "both",
        "only_radius",
        "only_minutes",
        "neither",
    }
    gpkg = planner_client.get(f"/planner/download/compare.gpkg?{q}")
    assert gpkg.status_code == 200 and gpkg.data[:15] == b"SQLite format 3"
    bad = planner_client.get("/planner/api/compare?capability=home_visit_medical")
    assert bad.status_code == 400 and bad.get_json()["field"] == "minutes"


def test_meta_and_report_name_the_default_population(planner_app) -> None:
    from planner_support import add_population, uniform_population

    app, services = planner_app
    add_population(services, "aaa_old", uniform_population(4, 450, seed=1), survey_date="2010")
    add_population(services, "zzz_new", uniform_population(9, 450, seed=2), survey_date="2025-01")
    client = app.test_client()
    login_as(client, services, "planner")
    meta = client.get("/planner/api/meta").get_json()
    assert meta["default"] == "zzz_new"
    cov = client.get("/planner/api/coverage?capability=home_visit_medical&radius_km=0.3").get_json()
    assert cov["population_note"]["dataset"] == "zzz_new"
    assert cov["population_note"]["survey_date"] == "2025-01"
    html = client.get(
        "/planner/report/daily_life_area/D1?capability=home_visit_medical&radius_km=0.3"
    ).get_data(as_text=True)
    assert "zzz_new（調査日 2025-01）・読み込み済みで最新" in html


def _rings(geometry):
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    for poly in polys:
        yield True, poly[0]
        for hole in poly[1:]:
            yield False, hole


def test_planner_geojson_is_rfc7946_counter_clockwise_with_6_decimals(planner_client) -> None:
    """Issue 11 item 11: exterior rings counter-clockwise, holes clockwise, <= 6 decimals."""
    import shapely

    q = "capability=home_visit_medical&minutes=0.5"
    geoms = [planner_client.get(f"/planner/api/coverage?{q}").get_json()["area"]]
    geoms += list(planner_client.get(f"/planner/api/compare?{q}").get_json()["areas"].values())
    choro = planner_client.get("/planner/api/indicators?kind=daily_life_area").get_json()
    geoms += [f["geometry"] for f in choro["features"] if f["geometry"]]
    checked = 0
    for g in geoms:
        if not g or not g["coordinates"]:
            continue
        for exterior, ring in _rings(g):
            ccw = shapely.LinearRing(ring).is_ccw
            assert ccw == exterior
            assert all(len(str(c).split(".")[-1]) <= 6 for pt in ring for c in pt)
            checked += 1
    assert checked >= 3
