"""The geography both maps draw without tiles (``/areas.geojson``, issue 10 item 6):
public fields only, RFC 7946 winding and precision, simplified, cached and revalidated."""

from __future__ import annotations

import json

import pytest
import shapely
from conftest import login_as, make_app
from shapely.geometry import Polygon, mapping, shape
from sqlalchemy import delete, select

from mapsvc.core.db import bump_generation
from mapsvc.core.models import Area

pytest_plugins = ["demo_support"]  # demo_services, demo_client
URL = "/areas.geojson"


def _rings(geometry: dict) -> list[tuple[list, bool]]:
    """(ring, is exterior) of a Polygon or MultiPolygon."""
    polygons = [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    return [(ring, i == 0) for poly in polygons for i, ring in enumerate(poly)]


def _clockwise_area(code: str, kind: str, municipality: str) -> Area:
    """A square with a hole, wound the wrong way round (exterior clockwise, hole CCW), and
    properties that must never reach the public."""
    outer = [(139.70, 35.70), (139.70, 35.71), (139.71, 35.71), (139.71, 35.70)]
    hole = [(139.703, 35.703), (139.707, 35.703), (139.707, 35.707), (139.703, 35.707)]
    poly = Polygon(outer, [hole])
    geo = mapping(poly)
    assert not shapely.LinearRing(geo["coordinates"][0]).is_ccw  # really clockwise
    # many needless vertices along one edge, at 7+ decimals
    exterior = [list(p) for p in geo["coordinates"][0]]
    exterior[1:1] = [[139.7, 35.7 + i * 0.00001234567] for i in range(1, 800)]
    geo = {"type": "Polygon", "coordinates": [exterior, [list(p) for p in geo["coordinates"][1]]]}
    return Area(
        kind=kind,
        code=code,
        name=f"テスト{code}",
        municipality_code=municipality,
        geometry=geo,
        properties={"center_name": "秘密の相談窓口", "note": "担当者の携帯 090-0000-0000"},
    )


def test_public_fields_ccw_winding_6_decimals_and_simplified(sqlite_services):
    with sqlite_services.store.session() as session:
        session.add(_clockwise_area("131016", "municipality", "131016"))
        session.add(_clockwise_area("A1", "daily_life_area", "131016"))
        session.add(
            Area(
                kind="custom",  # an editor's own area: not drawn on the maps
                code="C1",
                name="独自の区域",
                geometry=mapping(Polygon([(139, 35), (140, 35), (140, 36)])),
                properties={},
            )
        )
        bump_generation(session, "areas")
    client = make_app(sqlite_services).test_client()
    r = client.get(URL)
    assert r.status_code == 200
    assert r.mimetype == "application/geo+json"
    text = r.get_data(as_text=True)
    assert "秘密" not in text and "090-" not in text and "center_name" not in text
    doc = json.loads(text)
    assert doc["kinds"] == ["daily_life_area", "municipality"]  # drawing order: outline on top
    assert [f["properties"] for f in doc["features"]] == [
        {"code": "A1", "name": "テストA1", "kind": "daily_life_area"},
        {"code": "131016", "name": "テスト131016", "kind": "municipality"},
    ]
    for feature in doc["features"]:
        rings = _rings(feature["geometry"])
        assert len(rings) == 2  # the hole is kept
        for ring, exterior in rings:
            # RFC 7946 §3.1.6: exteriors counter-clockwise, holes clockwise
            assert shapely.LinearRing(ring).is_ccw is exterior
            for lon, lat in ring:
                assert round(lon, 6) == lon and round(lat, 6) == lat
        # the 800 points on one straight edge are simplified away, the shape is kept
        assert sum(len(ring) for ring, _ in rings) < 20
        with sqlite_services.store.session() as session:
            stored = session.scalar(
                select(Area.geometry).where(Area.code == feature["properties"]["code"])
            )
        assert shape(feature["geometry"]).hausdorff_distance(shape(stored)) < 0.0002


def test_cache_headers_etag_and_a_change_of_areas(demo_services):
    app = make_app(demo_services)
    client = app.test_client()
    r = client.get(URL)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "public, max-age=300"
    etag = r.headers["ETag"]
    doc = r.get_json(force=True)
    assert doc["kinds"] == ["town", "daily_life_area", "municipality"]
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert kinds == {"town", "daily_life_area", "municipality"}
    assert all(set(f["properties"]) == {"code", "name", "kind"} for f in doc["features"])
    with demo_services.store.session() as session:
        towns = session.scalars(select(Area).where(Area.kind == "town")).all()
        stored_vertices = sum(len(shape(a.geometry).exterior.coords) for a in towns)
        centre_names = {
            a.properties.get("center_name")
            for a in session.scalars(select(Area).where(Area.kind == "daily_life_area"))
        }
    assert len([f for f in doc["features"] if f["properties"]["kind"] == "town"]) == len(towns)
    text = r.get_data(as_text=True)
    assert centre_names and not any(name and name in text for name in centre_names)
    sent_vertices = sum(
        len(ring)
        for f in doc["features"]
        if f["properties"]["kind"] == "town"
        for ring, _ in _rings(f["geometry"])
    )
    assert sent_vertices <= stored_vertices

    # a reload revalidates: 304 without a body
    again = client.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""

    # a logged-in professional gets the same document, cacheable privately (not no-store)
    pro = app.test_client()
    login_as(pro, demo_services, "professional")
    r_pro = pro.get(URL)
    assert r_pro.headers["Cache-Control"] == "private, max-age=300"
    assert r_pro.get_data() == r.get_data()

    # an edited area is served at once (the cache follows the store's area generation)
    with demo_services.store.session() as session:
        area = session.scalars(select(Area).where(Area.kind == "daily_life_area")).first()
        area.name = "改名した圏域"
        bump_generation(session, "areas")
    changed = client.get(URL, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "改名した圏域" in changed.get_data(as_text=True)


def _sma(code: str, name: str, ring: list[tuple[float, float]]) -> Area:
    return Area(
        kind="secondary_medical_area",
        code=code,
        name=name,
        municipality_code="131016",
        geometry=mapping(Polygon(ring)),
        properties={"note": "圏域会議の担当者メモ"},
    )


WEST = [(139.70, 35.70), (139.705, 35.70), (139.705, 35.71), (139.70, 35.71)]
EAST = [(139.705, 35.70), (139.71, 35.70), (139.71, 35.71), (139.705, 35.71)]


def test_secondary_medical_area_parts_are_drawn_between_the_areas_and_the_outline(
    sqlite_services,
):
    with sqlite_services.store.session() as session:
        session.add(_clockwise_area("131016", "municipality", "131016"))
        session.add(_clockwise_area("A1", "daily_life_area", "131016"))
        session.add(_sma("3701", "東部", EAST))
        session.add(_sma("3702", "西部", WEST))
        bump_generation(session, "areas")
    text = make_app(sqlite_services).test_client().get(URL).get_data(as_text=True)
    assert "担当者メモ" not in text and "note" not in text
    doc = json.loads(text)
    # drawing order: a 二次医療圏 part holds 日常生活圏域, the outline stays on top
    assert doc["kinds"] == ["daily_life_area", "secondary_medical_area", "municipality"]
    smas = [f for f in doc["features"] if f["properties"]["kind"] == "secondary_medical_area"]
    assert [f["properties"] for f in smas] == [
        {"code": "3701", "name": "東部", "kind": "secondary_medical_area"},
        {"code": "3702", "name": "西部", "kind": "secondary_medical_area"},
    ]
    assert [f["id"] for f in smas] == ["secondary_medical_area:3701", "secondary_medical_area:3702"]
    # simplified as one coverage: the two parts keep their shared edge
    west, east = (
        shape(f["geometry"]) for f in sorted(smas, key=lambda f: f["properties"]["name"] != "西部")
    )
    assert west.intersection(east).length == pytest.approx(0.01, abs=1e-6)


def test_a_store_with_only_secondary_medical_areas_draws_them(sqlite_services):
    with sqlite_services.store.session() as session:
        session.add(_sma("3701", "東部", EAST))
        bump_generation(session, "areas")
    doc = make_app(sqlite_services).test_client().get(URL).get_json(force=True)
    assert doc["kinds"] == ["secondary_medical_area"] and len(doc["features"]) == 1


def test_the_public_map_opens_on_the_municipality_outline(demo_client, demo_services):
    """The map's first view (``frame``) is the outline's bounds, not the providers' extent;
    without an outline the broadest kind loaded, without areas none."""
    import re

    def config() -> dict:
        page = demo_client.get("/").get_data(as_text=True)
        return json.loads(re.search(r'id="map-config">(.*?)</script>', page, re.S).group(1))

    with demo_services.store.session() as session:
        outline = shape(session.scalar(select(Area.geometry).where(Area.kind == "municipality")))
    assert config()["frame"] == pytest.approx(list(outline.bounds), abs=2e-4)
    with demo_services.store.session() as session:
        session.execute(delete(Area).where(Area.kind == "municipality"))
        bump_generation(session, "areas")
        areas = [
            shape(g)
            for g in session.scalars(select(Area.geometry).where(Area.kind == "daily_life_area"))
        ]
    assert config()["frame"] == pytest.approx(list(shapely.total_bounds(areas)), abs=2e-4)
    with demo_services.store.session() as session:
        session.execute(delete(Area))
        bump_generation(session, "areas")
    assert config()["frame"] is None
