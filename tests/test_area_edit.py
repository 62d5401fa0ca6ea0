"""Drawn areas: geometry checks, the partition rule, fit, split, merge, save, undo."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import box, shape
from sqlalchemy import select

from mapsvc.core.errors import Conflict, InvalidInput
from mapsvc.core.models import Area, AuditEntry
from mapsvc.geo.area_edit import (
    AreaChange,
    EditBatch,
    check_batch,
    fit_edit,
    load_layout,
    merge_areas,
    parse_batch,
    split_area,
)
from mapsvc.geo.area_store import EditRefused, history, save_batch, undo
from mapsvc.geo.drawn import MAX_VERTICES, geojson, parse_drawn

MUNI = "372013"
X0, Y0 = 134.00, 34.30  # the municipality is a 0.04 x 0.02 degree box (about 3.7 x 2.2 km)


def _store(services) -> None:
    with services.store.session() as session:
        session.add(
            Area(
                kind="municipality",
                code=MUNI,
                name="テスト市",
                municipality_code=MUNI,
                geometry=geojson(box(X0, Y0, X0 + 0.04, Y0 + 0.02)),
                properties={},
            )
        )
        for code, x in (("A", X0), ("B", X0 + 0.02)):
            session.add(
                Area(
                    kind="daily_life_area",
                    code=code,
                    name=f"{code}圏域",
                    parent_code=MUNI,
                    municipality_code=MUNI,
                    geometry=geojson(box(x, Y0, x + 0.02, Y0 + 0.02)),
                    properties={"source_file": "f.geojson"},
                )
            )


def _same(a, b) -> bool:
    return a.symmetric_difference(b).area < 1e-12


def _geoms(services) -> dict[str, object]:
    with services.store.session() as session:
        rows = session.scalars(select(Area).where(Area.kind == "daily_life_area")).all()
        return {a.code: shape(a.geometry) for a in rows}


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"type": "Point", "coordinates": [134, 34]}, "expected Polygon"),
        (geojson(box(0, 0, 1, 1)), "outside Japan"),
        (geojson(box(34.3, 134.0, 34.4, 134.1)), "outside Japan"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[134, 34], [134.1, 34.1], [134.1, 34], [134, 34.1], [134, 34]]],
            },
            "invalid polygon",
        ),
        ({"type": "Polygon", "coordinates": [[[134, "x"], [134.1, 34]]]}, "numbers"),
        (
            {**geojson(box(134, 34, 134.1, 34.1)), "crs": {"properties": {"name": "EPSG:6677"}}},
            "not CRS84",
        ),
        ("{not json", "not JSON"),
    ],
)
def test_drawn_geometry_refused_with_the_field(value, needle) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_drawn(value, "areas[0].geometry")
    assert info.value.field == "areas[0].geometry"
    assert needle in info.value.message


def test_drawn_geometry_vertex_limit_and_crs84_accepted() -> None:
    ring = shapely.Point(134.0, 34.0).buffer(0.05, quad_segs=MAX_VERTICES // 4 + 1).exterior
    with pytest.raises(InvalidInput, match="at most 10000"):
        parse_drawn({"type": "Polygon", "coordinates": [[list(c) for c in ring.coords]]})
    crs84 = {"properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    geom = parse_drawn(
        {"type": "Feature", "crs": crs84, "geometry": geojson(box(134, 34, 134.1, 34.1))}
    )
    assert geom.area == pytest.approx(0.01)


def test_batch_field_names() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_batch(
            {"kind": "daily_life_area", "municipality_code": MUNI, "areas": [{"code": "A"}]}
        )
    assert info.value.field == "areas[0].name"
    with pytest.raises(InvalidInput) as info:
        parse_batch({"kind": "town", "municipality_code": MUNI, "areas": []})
    assert info.value.field == "kind"


def test_overlap_gap_and_outside_are_refused_and_nothing_written(services) -> None:
    _store(services)
    grown = box(X0, Y0, X0 + 0.025, Y0 + 0.02)  # A pushed 0.005 into B, B unchanged
    batch = EditBatch("daily_life_area", MUNI, [AreaChange("A", "A圏域", grown)])
    with services.store.session() as session, pytest.raises(EditRefused) as info:
        save_batch(session, batch, actor="planner1")
    kinds = {p["problem"] for p in info.value.details["problems"]}
    assert kinds == {"overlap"}
    overlap = info.value.details["problems"][0]
    assert overlap["codes"] == ["A", "B"]
    assert 950_000 < overlap["area_m2"] < 1_100_000  # 460 m x 2220 m at 34.3 N
    assert shape(overlap["geometry"]).area == pytest.approx(0.005 * 0.02)

    shrunk = box(X0, Y0, X0 + 0.01998, Y0 + 0.02)  # a 1.8 m wide gap: a sliver
    with services.store.session() as session:
        problems = check_batch(
            load_layout(session, "daily_life_area", MUNI),
            EditBatch("daily_life_area", MUNI, [AreaChange("A", "A圏域", shrunk)]),
        )
    assert [(p["problem"], p["sliver"]) for p in problems] == [("gap", True)]
    with services.store.session() as session:  # 1 cm: coordinate rounding, not a gap
        noise = box(X0, Y0, X0 + 0.0199999, Y0 + 0.02)
        assert (
            check_batch(
                load_layout(session, "daily_life_area", MUNI),
                EditBatch("daily_life_area", MUNI, [AreaChange("A", "A圏域", noise)]),
            )
            == []
        )

    outside = box(X0 - 0.01, Y0, X0 + 0.02, Y0 + 0.02)
    with services.store.session() as session:
        problems = check_batch(
            load_layout(session, "daily_life_area", MUNI),
            EditBatch("daily_life_area", MUNI, [AreaChange("A", "A圏域", outside)]),
        )
    assert [p["problem"] for p in problems] == ["outside"]
    assert _same(_geoms(services)["A"], box(X0, Y0, X0 + 0.02, Y0 + 0.02))


def test_moving_a_shared_boundary_saves_both_and_undo_restores(services) -> None:
    _store(services)
    generation = services.store.generation()
    a = box(X0, Y0, X0 + 0.03, Y0 + 0.02)
    b = box(X0 + 0.03, Y0, X0 + 0.04, Y0 + 0.02)
    batch = parse_batch(
        {
            "kind": "daily_life_area",
            "municipality_code": MUNI,
            "areas": [
                {"code": "A", "name": "A圏域", "geometry": geojson(a)},
                {"code": "B", "name": "B圏域（改）", "geometry": json.dumps(geojson(b))},
            ],
        }
    )
    with services.store.session() as session:
        result = save_batch(session, batch, actor="planner1")
    assert result["saved"] == ["A", "B"]
    assert services.store.generation() > generation
    geoms = _geoms(services)
    assert _same(geoms["A"], a) and _same(geoms["B"], b)
    with services.store.session() as session:
        row = session.get(AuditEntry, result["audit_id"])
        assert (row.action, row.entity, row.actor) == ("area.edit", "area", "planner1")
        assert _same(shape(row.before["areas"]["A"]["geometry"]), box(X0, Y0, X0 + 0.02, Y0 + 0.02))
        assert _same(shape(row.after["areas"]["A"]["geometry"]), a)
        assert [h["id"] for h in history(session, "daily_life_area", MUNI)] == [row.id]
        undone = undo(session, row.id, actor="planner1")
    geoms = _geoms(services)
    assert _same(geoms["A"], box(X0, Y0, X0 + 0.02, Y0 + 0.02))
    with services.store.session() as session:
        b_row = session.scalar(select(Area).where(Area.code == "B"))
        assert b_row.name == "B圏域" and b_row.properties == {"source_file": "f.geojson"}
        # the edit was undone: undoing it again finds the areas changed since
        with pytest.raises(Conflict):
            undo(session, row.id, actor="planner1")
        assert history(session, "daily_life_area", MUNI)[0]["undoes"] == row.id
        undo(session, undone["audit_id"], actor="planner1")  # redo
    assert _same(_geoms(services)["A"], a)


def test_fit_moves_the_neighbour_and_clips_to_the_municipality(services) -> None:
    _store(services)
    drawn = box(X0 - 0.01, Y0 - 0.01, X0 + 0.03, Y0 + 0.03)  # beyond the city, into B
    with services.store.session() as session:
        layout = load_layout(session, "daily_life_area", MUNI)
        batch = fit_edit(layout, "A", "A圏域", drawn)
        assert check_batch(layout, batch) == []
        save_batch(session, batch, actor="editor1")
    geoms = _geoms(services)
    assert _same(geoms["A"], box(X0, Y0, X0 + 0.03, Y0 + 0.02))
    assert _same(geoms["B"], box(X0 + 0.03, Y0, X0 + 0.04, Y0 + 0.02))
    # shrinking A gives the released strip to B, the only neighbour touching it
    with services.store.session() as session:
        layout = load_layout(session, "daily_life_area", MUNI)
        batch = fit_edit(layout, "A", "A圏域", box(X0, Y0, X0 + 0.01, Y0 + 0.02))
        save_batch(session, batch, actor="editor1")
    assert _geoms(services)["B"].area == pytest.approx(0.03 * 0.02)


def test_split_and_merge(services) -> None:
    _store(services)
    line = shapely.LineString([(X0 - 0.001, Y0 + 0.005), (X0 + 0.021, Y0 + 0.005)])
    with services.store.session() as session:
        layout = load_layout(session, "daily_life_area", MUNI)
        batch = split_area(layout, "A", line, "C", "C圏域")
        save_batch(session, batch, actor="planner1")
    geoms = _geoms(services)
    assert geoms["A"].area == pytest.approx(0.02 * 0.015)
    assert geoms["C"].area == pytest.approx(0.02 * 0.005)
    with services.store.session() as session:
        layout = load_layout(session, "daily_life_area", MUNI)
        with pytest.raises(InvalidInput) as info:
            split_area(
                layout,
                "A",
                shapely.LineString([(X0 + 0.001, Y0 + 0.01), (X0 + 0.002, Y0 + 0.01)]),
                "D",
                "D",
            )
        assert info.value.field == "line"
        save_batch(session, merge_areas(layout, "A", "C"), actor="planner1")
        assert session.scalar(select(Area).where(Area.code == "C")) is None
        layout = load_layout(session, "daily_life_area", MUNI)
        save_batch(session, merge_areas(layout, "A", "B"), actor="planner1")
    assert _same(_geoms(services)["A"], box(X0, Y0, X0 + 0.04, Y0 + 0.02))
