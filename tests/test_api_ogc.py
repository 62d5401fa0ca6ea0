"""OGC API - Features Part 1 Core details of the layer API: ``datetime`` on the last
confirmation, the temporal extent, six-number bboxes, 400s naming the parameter, RFC 7946
winding and 6 decimals on the GeoJSON outputs, and a conformance check with OWSLib
against the served app (and GDAL's OAPIF driver where ogrinfo is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from datetime import datetime

import numpy as np
import pytest
import shapely
from conftest import REQUIRE_BROWSER, make_app, serve_app
from search_support import BASE_LAT, BASE_LON, add_providers, east

# a drawn service area stored clockwise with 9 decimals (as a drawing tool may send it)
CLOCKWISE = [
    [BASE_LON - 0.01, BASE_LAT - 0.01],
    [BASE_LON - 0.01, BASE_LAT + 0.0100000004],
    [BASE_LON + 0.010000000123, BASE_LAT + 0.01],
    [BASE_LON + 0.01, BASE_LAT - 0.01],
    [BASE_LON - 0.01, BASE_LAT - 0.01],
]


@pytest.fixture
def api(sqlite_services):
    add_providers(
        sqlite_services,
        {
            "source_id": "old",
            "name": "昔確認クリニック",
            "confirmed_at": datetime(2023, 5, 1, 3, 0, 0),
        },
        {
            "source_id": "new",
            "name": "最近確認クリニック",
            "lon": east(1500),
            "confirmed_at": datetime(2025, 6, 15, 12, 30, 0),
            "service_area": {
                "kind": "polygon",
                "geometry": {"type": "Polygon", "coordinates": [CLOCKWISE]},
            },
        },
        {"source_id": "never", "name": "未確認クリニック", "lon": east(3000)},
    )
    return make_app(sqlite_services, INDEX_REFRESH_SECONDS=0)


def names(client, query: str) -> list[str]:
    r = client.get(f"/api/collections/medical/items?{query}")
    assert r.status_code == 200, (query, r.get_data(as_text=True))
    return sorted(f["properties"]["name"] for f in json.loads(r.data)["features"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-15T12:30:00Z", ["最近確認クリニック"]),  # an instant, to the second
        ("2025-06-15T21:30:00%2B09:00", ["最近確認クリニック"]),  # the same instant in JST
        ("2025-06-15T21:30:00+09:00", ["最近確認クリニック"]),  # "+" unescaped: a space
        ("2025-06-15", ["最近確認クリニック"]),  # a date: that whole UTC day
        ("2025-06-14", []),
        ("2024-01-01T00:00:00Z/..", ["最近確認クリニック"]),  # confirmed since
        ("2024-01-01T00:00:00Z/", ["最近確認クリニック"]),  # empty open end
        ("../2024-01-01T00:00:00Z", ["昔確認クリニック"]),
        ("/2024-01-01T00:00:00Z", ["昔確認クリニック"]),
        ("2023-05-01/2025-06-15", ["昔確認クリニック", "最近確認クリニック"]),  # ends included
        ("2023-05-02/2025-06-14", []),
    ],
)
def test_datetime_filters_on_the_last_confirmation(api, value, expected):
    # the never-confirmed provider matches no datetime, even the widest interval
    assert names(api.test_client(), f"datetime={value}") == sorted(expected)


@pytest.fixture
def japan_days(sqlite_services):
    """Two providers either side of midnight in Japan on 31 March / 1 April 2026."""
    add_providers(
        sqlite_services,
        {  # 2026-04-01 01:00 in Japan, still 31 March in UTC
            "source_id": "april",
            "name": "四月確認クリニック",
            "confirmed_at": datetime(2026, 3, 31, 16, 0, 0),
        },
        {  # 2026-03-31 23:59:59 in Japan
            "source_id": "march",
            "name": "三月確認クリニック",
            "lon": east(1500),
            "confirmed_at": datetime(2026, 3, 31, 14, 59, 59),
        },
    )
    return make_app(sqlite_services, INDEX_REFRESH_SECONDS=0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-04-01", ["四月確認クリニック"]),  # a date is the Japanese day
        ("2026-03-31", ["三月確認クリニック"]),
        ("2026-04-01/..", ["四月確認クリニック"]),  # confirmed since 1 April (Japan)
        ("2026-04-01/2026-04-30", ["四月確認クリニック"]),
        ("../2026-03-31", ["三月確認クリニック"]),  # up to the end of 31 March (Japan)
        ("2026-03-31/2026-03-31", ["三月確認クリニック"]),
        # instants with an offset stay as given
        ("2026-03-31T16:00:00Z", ["四月確認クリニック"]),
        ("2026-04-01T01:00:00%2B09:00", ["四月確認クリニック"]),
        ("2026-03-31T15:00:00Z/..", ["四月確認クリニック"]),
        ("2026-03-31T14:59:59Z/..", ["三月確認クリニック", "四月確認クリニック"]),
        ("../2026-03-31T23:59:59%2B09:00", ["三月確認クリニック"]),
        ("2026-03-31T00:00:00Z/2026-03-31T23:59:59Z", ["三月確認クリニック", "四月確認クリニック"]),
    ],
)
def test_a_date_in_datetime_is_the_day_in_japan(japan_days, value, expected):
    assert names(japan_days.test_client(), f"datetime={value}") == sorted(expected)


def test_the_day_in_japan_is_described_and_shown(japan_days):
    c = japan_days.test_client()
    spec = json.loads(c.get("/api/openapi.json").data)
    described = spec["components"]["parameters"]["datetime"]["description"]
    assert "Asia/Tokyo" in described and "UTC day" not in described
    # the extent stays exact instants; the page for people shows the Japanese dates
    doc = json.loads(c.get("/api/collections/medical").data)
    assert doc["extent"]["temporal"]["interval"] == [
        ["2026-03-31T14:59:59Z", "2026-03-31T16:00:00Z"]
    ]
    page = c.get("/api/collections/medical?f=html").get_data(as_text=True)
    assert "2026-03-31 – 2026-04-01" in page and "日本時間" in page


def test_no_datetime_keeps_every_provider_and_the_collection_has_a_temporal_extent(api):
    c = api.test_client()
    assert len(names(c, "")) == 3
    doc = json.loads(c.get("/api/collections/medical").data)
    assert doc["extent"]["temporal"] == {
        "interval": [["2023-05-01T03:00:00Z", "2025-06-15T12:30:00Z"]],
        "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
    }
    listed = json.loads(c.get("/api/collections").data)["collections"]
    medical = next(col for col in listed if col["id"] == "medical")
    assert medical["extent"]["temporal"] == doc["extent"]["temporal"]
    # a layer whose providers were never confirmed declares no temporal extent
    care = json.loads(c.get("/api/collections/care").data)
    assert "temporal" not in care.get("extent", {})


def test_six_number_bbox_ignores_heights(api):
    c = api.test_client()
    four = f"{BASE_LON - 0.001},{BASE_LAT - 0.001},{east(2000)},{BASE_LAT + 0.001}"
    six = f"{BASE_LON - 0.001},{BASE_LAT - 0.001},-100,{east(2000)},{BASE_LAT + 0.001},3776"
    assert names(c, f"bbox={four}") == ["昔確認クリニック", "最近確認クリニック"]
    assert names(c, f"bbox={six}") == names(c, f"bbox={four}")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("datetime=2025-06-15T12:30:00", "datetime"),  # RFC 3339 needs an offset
        ("datetime=yesterday", "datetime"),
        ("datetime=2025-02-30", "datetime"),
        ("datetime=../..", "datetime"),
        ("datetime=..", "datetime"),
        ("datetime=2025-01-01/2024-01-01", "datetime"),
        ("datetime=2024-01-01/2025-01-01/2026-01-01", "datetime"),
        ("datetime=2024-01-01&datetime=2025-01-01", "datetime"),
        ("bbox=1,2,3,4,5", "bbox"),
        ("bbox=134,34,0,135,35", "bbox"),
        ("bbox=134,34,10,135,35,0", "bbox"),  # min height above max
        ("bbox=134,34,x,135,35,0", "bbox"),
    ],
)
def test_bad_datetime_and_bbox_are_400_naming_the_parameter(api, query, field):
    r = api.test_client().get(f"/api/collections/medical/items?{query}")
    assert r.status_code == 400 and r.mimetype == "application/json"
    body = json.loads(r.data)
    assert body["field"] == field and body["message"].startswith(field)


def _rings(geometry):
    geom = shapely.geometry.shape(geometry)
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    return [(p.exterior, list(p.interiors)) for p in polys]


def _decimals(coords) -> int:
    if isinstance(coords, float | int):
        text = repr(float(coords))
        return len(text.split(".")[1].rstrip("0")) if "." in text else 0
    return max((_decimals(c) for c in coords), default=0)


def test_geojson_outputs_follow_rfc7946_winding_and_six_decimals(api):
    c = api.test_client()
    doc = json.loads(c.get("/api/collections/medical/items").data)
    area = next(
        f["properties"]["service_area"]
        for f in doc["features"]
        if f["properties"]["name"] == "最近確認クリニック"
    )
    assert area["kind"] == "polygon"
    for exterior, holes in _rings(area["geometry"]):
        assert exterior.is_ccw  # stored clockwise, served counter-clockwise
        assert not any(h.is_ccw for h in holes)
    assert _decimals(area["geometry"]["coordinates"]) <= 6
    for f in doc["features"]:
        assert _decimals(f["geometry"]["coordinates"]) <= 6
    uid = next(f["id"] for f in doc["features"] if f["properties"]["name"] == "最近確認クリニック")
    one = json.loads(c.get(f"/api/collections/medical/items/{uid}").data)
    assert _rings(one["properties"]["service_area"]["geometry"])[0][0].is_ccw
    cells = json.loads(c.get("/api/collections/medical/clusters?zoom=12").data)
    assert all(_decimals(f["geometry"]["coordinates"]) <= 6 for f in cells["features"])


def test_owslib_reads_landing_conformance_collections_and_items(api):
    with warnings.catch_warnings():
        # OWSLib's own imports may warn (deprecations in its dependencies); not ours
        warnings.simplefilter("ignore")
        from owslib.ogcapi.features import Features

        with serve_app(api) as url:
            oapi = Features(f"{url}/api")
            assert {link["rel"] for link in oapi.links} >= {"conformance", "data"}
            conf = oapi.conformance()["conformsTo"]
            assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
            ids = [col["id"] for col in oapi.collections()["collections"]]
            assert "medical" in ids
            medical = oapi.collection("medical")
            assert medical["extent"]["temporal"]["interval"][0][1] == "2025-06-15T12:30:00Z"
            items = oapi.collection_items("medical", limit=2)
            assert items["numberMatched"] == 3 and items["numberReturned"] == 2
            boxed = oapi.collection_items(
                "medical",
                bbox=[BASE_LON - 0.001, BASE_LAT - 0.001, east(2000), BASE_LAT + 0.001],
                datetime_="2024-01-01T00:00:00Z/..",
            )
            assert [f["properties"]["name"] for f in boxed["features"]] == ["最近確認クリニック"]
            oapi_api = oapi.api()  # the service-desc link leads to the OpenAPI document
            assert "/api/collections/{collectionId}/items" in oapi_api["paths"]


OGRINFO = shutil.which("ogrinfo")


def test_gdal_oapif_driver_reads_layers_features_bbox_and_temporal_extent(api):
    """GDAL's OAPIF driver (Debian gdal-bin), as QGIS uses it. Without ogrinfo the test
    skips saying so, unless MAPSVC_TEST_REQUIRE_BROWSER=1 (.ci/run installs gdal-bin)."""
    if OGRINFO is None:
        message = "the GDAL check needs ogrinfo (apt-get install -y gdal-bin)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)

    def ogrinfo(*args: str) -> str:
        done = subprocess.run(
            [OGRINFO, "-ro", *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    with serve_app(api) as url:
        source = f"OAPIF:{url}/api"
        listing = ogrinfo(source)
        assert re.search(r"^\d+: medical \(title: 病院・診療所\)", listing, re.M), listing
        assert "ventilator_nursing" not in listing  # professional layer hidden
        summary = ogrinfo("-al", "-so", source, "medical")
        assert "Feature Count: 3" in summary
        assert "TEMPORAL_INTERVAL_MIN=2023-05-01T03:00:00Z" in summary
        assert "TEMPORAL_INTERVAL_MAX=2025-06-15T12:30:00Z" in summary
        box = [BASE_LON - 0.001, BASE_LAT - 0.001, east(2000), BASE_LAT + 0.001]
        boxed = ogrinfo("-al", "-q", "-spat", *map(str, box), source, "medical")
        assert sorted(re.findall(r"^\s+name \(String\) = (.+)$", boxed, re.M)) == [
            "昔確認クリニック",
            "最近確認クリニック",
        ]


def test_mapped_index_keeps_the_confirmation_times_of_the_built_one(tmp_path, sqlite_services):
    from search_support import frame, provider_row

    from mapsvc.finder.index import build_index
    from mapsvc.finder.index_file import read_index, write_index
    from mapsvc.finder.temporal import confirmed_times, parse_datetime

    rows = frame(
        provider_row("a", confirmed_at=datetime(2024, 2, 29, 23, 59, 59)),
        provider_row("b"),
        provider_row("c", confirmed_at=datetime(2025, 1, 1)),
    )
    built = build_index(rows, sqlite_services.taxonomy)
    mapped = read_index(write_index(built, tmp_path / "ix"), sqlite_services.taxonomy)
    for index in (built, mapped):
        times = confirmed_times(index)
        assert times.dtype == "datetime64[s]" and bool(np.isnat(times[1]))
        # 2024-02-29T23:59:59Z is 08:59:59 on 1 March in Japan (a date is the Japanese day)
        assert parse_datetime("2024-03-01").mask(times).tolist() == [True, False, False]
        assert parse_datetime("2024-02-29T23:59:59Z").mask(times).tolist() == [True, False, False]
    assert confirmed_times(mapped).tolist() == confirmed_times(built).tolist()
