"""Area boundaries: import (real N03 file and small fixtures), frames, point lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import real_path, run_cli
from sqlalchemy import func, select

from mapsvc.core.errors import ImportFailed, InvalidInput
from mapsvc.core.models import Area
from mapsvc.geo.areas import area_containing, areas_frame, import_areas

N03 = ("takamatsu", "boundary", "N03-21_37_210101_s0010.geojson")
TAKAMATSU_STATION = (134.0467, 34.3506)
SETO_INLAND_SEA = (134.30, 34.60)  # between Kagawa and Okayama, no municipality


def _square(x0: float, y0: float, size: float = 0.01) -> dict:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _write(tmp_path: Path, features: list[dict], name: str = "areas.geojson", **extra) -> Path:
    path = tmp_path / name
    doc = {"type": "FeatureCollection", "features": features, **extra}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _feature(geometry: dict, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _count(services) -> int:
    with services.store.session() as session:
        return session.scalar(select(func.count()).select_from(Area))


def test_real_n03_boundary_loads_with_check_digit_codes(services):
    assert import_areas(services, real_path(*N03), "municipality") == 17
    with services.store.session() as session:
        frame = areas_frame(session, "municipality")
        hit = area_containing(session, *TAKAMATSU_STATION, "municipality")
        miss = area_containing(session, *SETO_INLAND_SEA, "municipality")
    assert str(frame.crs) == "EPSG:4326"
    assert list(frame.columns[:6]) == [
        "kind",
        "code",
        "name",
        "parent_code",
        "municipality_code",
        "properties",
    ]
    takamatsu = frame.set_index("code").loc["372013"]
    assert takamatsu["name"] == "高松市" and takamatsu["municipality_code"] == "372013"
    assert takamatsu.geometry.geom_type == "MultiPolygon" and len(takamatsu.geometry.geoms) == 7
    assert takamatsu["properties"]["N03_007"] == "37201"
    assert hit is not None and (hit["code"], hit["name"]) == ("372013", "高松市")
    assert miss is None
    # a second import changes nothing and adds nothing
    assert import_areas(services, real_path(*N03), "municipality") == 17
    assert _count(services) == 17


def test_municipality_code_selects_one_municipality(sqlite_services):
    assert (
        import_areas(sqlite_services, real_path(*N03), "municipality", municipality_code="37201")
        == 1
    )
    with sqlite_services.store.session() as session:
        assert list(areas_frame(session, "municipality")["code"]) == ["372013"]
    with pytest.raises(ImportFailed, match="no feature with municipality code 131016"):
        import_areas(sqlite_services, real_path(*N03), "municipality", municipality_code="13101")


def test_daily_life_areas_lookup_parent_and_boundary_rule(sqlite_services, tmp_path):
    path = _write(
        tmp_path,
        [
            _feature(_square(134.00, 34.30), code="B", name="東部圏域", center="東部センター"),
            _feature(_square(133.99, 34.30), code="A", name="西部圏域", center="西部センター"),
        ],
        metadata={"synthetic": True},
    )
    assert import_areas(sqlite_services, path, "daily_life_area", municipality_code="372013") == 2
    with sqlite_services.store.session() as session:
        east = area_containing(session, 134.005, 34.305, "daily_life_area")
        on_border = area_containing(session, 134.00, 34.305, "daily_life_area")
        frame = areas_frame(session, "daily_life_area")
    assert east["code"] == "B" and east["properties"]["center"] == "東部センター"
    assert east["properties"]["synthetic"] is True
    assert east["parent_code"] == east["municipality_code"] == "372013"
    assert on_border["code"] == "A"  # shared edge: the smaller code, whatever the row order
    assert area_containing(frame, 134.005, 34.305, "daily_life_area")["code"] == "B"
    assert area_containing(frame, 135.5, 34.305, "daily_life_area") is None
    with pytest.raises(InvalidInput):
        area_containing(frame, float("nan"), 34.3, "daily_life_area")


def test_features_with_one_code_are_merged_and_updates_apply(sqlite_services, tmp_path):
    parts = [
        _feature(_square(134.0, 34.3), code="T1", name="島町"),
        _feature(_square(134.1, 34.3), code="T1", name="島町"),
    ]
    assert import_areas(sqlite_services, _write(tmp_path, parts), "town") == 1
    renamed = [_feature(_square(134.0, 34.3), code="T1", name="新島町")]
    import_areas(sqlite_services, _write(tmp_path, renamed, "v2.geojson"), "town")
    with sqlite_services.store.session() as session:
        frame = areas_frame(session, "town")
    assert list(frame["name"]) == ["新島町"] and frame.geometry.iloc[0].geom_type == "Polygon"


def test_changed_boundaries_tell_the_indexes_to_rebuild(sqlite_services, tmp_path):
    store = sqlite_services.store
    path = _write(tmp_path, [_feature(_square(134.0, 34.3), code="T9", name="港町")])
    g0 = store.generation()
    import_areas(sqlite_services, path, "town")
    g1 = store.generation()
    import_areas(sqlite_services, path, "town")  # the same boundaries again: nothing changed
    assert g1 > g0 and store.generation() == g1


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            [_feature({"type": "Point", "coordinates": [134.0, 34.3]}, code="1", name="x")],
            r"feature 1 \(1 x\): geometry is Point",
        ),
        ([_feature(_square(500000.0, 3800000.0, 1000.0), code="1", name="x")], "projected metres"),
        ([_feature(_square(34.3, 134.0), code="1", name="x")], "look swapped"),
        ([_feature(_square(134.0, 34.3), name="x")], r"feature 1: no property code"),
        ([_feature(_square(134.0, 34.3), code="", name="x")], "empty code"),
        (
            [
                _feature(_square(134.0, 34.3), code="1", name="ok"),
                _feature(
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [134, 34.3],
                                [134.01, 34.31],
                                [134.01, 34.3],
                                [134, 34.31],
                                [134, 34.3],
                            ]
                        ],
                    },
                    code="2",
                    name="bowtie",
                ),
            ],
            r"feature 2 \(2 bowtie\): invalid polygon \(Self-intersection",
        ),
    ],
)
def test_bad_geometries_are_refused_and_nothing_is_written(
    sqlite_services, tmp_path, features, message
):
    with pytest.raises(ImportFailed, match=message):
        import_areas(sqlite_services, _write(tmp_path, features), "town")
    assert _count(sqlite_services) == 0


def test_repair_fixes_a_self_intersecting_polygon(sqlite_services, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[134, 34.3], [134.01, 34.31], [134.01, 34.3], [134, 34.31], [134, 34.3]]],
    }
    path = _write(tmp_path, [_feature(bowtie, code="1", name="bowtie")])
    assert import_areas(sqlite_services, path, "town", repair=True) == 1
    with sqlite_services.store.session() as session:
        geom = areas_frame(session, "town").geometry.iloc[0]
    assert geom.is_valid and geom.geom_type in ("Polygon", "MultiPolygon") and geom.area > 0


def test_bad_codes_kinds_and_files(sqlite_services, tmp_path):
    bad_digit = _write(tmp_path, [_feature(_square(134.0, 34.3), code="372014", name="x")])
    with pytest.raises(ImportFailed, match="check digit should be 3"):
        import_areas(sqlite_services, bad_digit, "municipality")
    with pytest.raises(InvalidInput, match="area kind 'ward'"):
        import_areas(sqlite_services, bad_digit, "ward")
    with pytest.raises(ImportFailed, match="missing.geojson: file not found"):
        import_areas(sqlite_services, tmp_path / "missing.geojson", "town")
    text = tmp_path / "notjson.geojson"
    text.write_text("{", encoding="utf-8")
    with pytest.raises(ImportFailed, match="not a UTF-8 GeoJSON"):
        import_areas(sqlite_services, text, "town")
    projected = _write(
        tmp_path,
        [_feature(_square(134.0, 34.3), code="1", name="x")],
        "crs.geojson",
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6676"}},
    )
    with pytest.raises(ImportFailed, match="is not lon/lat"):
        import_areas(sqlite_services, projected, "town")


def test_cli_areas_import_and_list(runner, sqlite_services):
    result = run_cli(
        runner, sqlite_services, "areas", "import", str(real_path(*N03)), "--kind", "municipality"
    )
    assert result.exit_code == 0, result.output
    assert "17 municipality areas loaded" in result.output
    assert "municipality" in run_cli(runner, sqlite_services, "areas", "list").output
    result = run_cli(
        runner,
        sqlite_services,
        "areas",
        "import",
        str(real_path(*N03)),
        "--kind",
        "town",
        "--code-field",
        "nope",
    )
    assert result.exit_code == 1 and "no property nope" in result.output
