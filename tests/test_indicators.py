"""Indicators per 10万人 and per 1,000 aged 75+ on a hand-checkable fixture; snapshots; targets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from planner_support import lonlat, population_frame, providers_frame

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.planner.indicators import (
    compare_snapshots,
    compute_indicators,
    save_snapshot,
    set_target,
    snapshot_dates,
    with_targets,
)

TAX = load_taxonomy("layers")


def _square(x0: float, x1: float) -> shapely.Polygon:
    return shapely.Polygon([lonlat(x0, -500), lonlat(x1, -500), lonlat(x1, 500), lonlat(x0, 500)])


def fixture():
    """Two daily-life areas: west (x < 0) with 2,000 people (400 aged 75+), east with 500 (50)."""
    areas = gpd.GeoDataFrame(
        {"kind": ["daily_life_area"] * 2, "code": ["W", "E"], "name": ["西", "東"]},
        geometry=[_square(-1000, 0), _square(0, 1000)],
        crs="EPSG:4326",
    )
    pop = population_frame(
        [
            {"dx": -500, "dy": 0, "bands": {"40-44": 1600, "80-84": 400}},
            {"dx": 500, "dy": 0, "bands": {"40-44": 450, "85+": 50}},
        ]
    )
    prov = providers_frame(
        [
            {"dx": -300, "dy": 0, "capabilities": {"home_visit_medical": {"level": "accept"}}},
            {"dx": -200, "dy": 0, "capabilities": {"home_visit_medical": {"level": "no"}}},
            {
                "dx": -100,
                "dy": 0,
                "type": "pharmacy",
                "capabilities": {"narcotics_licence": {"level": "yes"}},
            },
            {"dx": 300, "dy": 0, "capabilities": {"home_visit_medical": {"level": "consult"}}},
            {
                "dx": 350,
                "dy": 0,
                "status": "closed",
                "capabilities": {"home_visit_medical": {"level": "active"}},
            },
        ]
    )
    return prov, pop, areas


def _value(frame, area, indicator):
    row = frame[(frame.area_code == area) & (frame.indicator == indicator)]
    assert len(row) == 1, (area, indicator)
    return row.iloc[0]


def test_rates_per_100k_and_per_1000_aged_75_plus() -> None:
    prov, pop, areas = fixture()
    covered = {"home_visit_medical": np.array([True, False])}
    frame = compute_indicators(prov, pop, {"daily_life_area": areas}, TAX, covered=covered)
    assert _value(frame, "W", "population:total").value == 2000
    assert _value(frame, "W", "count:type:clinic").value == 2
    w = _value(frame, "W", "per100k:cap:home_visit_medical")
    assert (w.value, w.numerator, w.denominator) == (50.0, 1, 2000)  # 1 / 2,000 × 100,000
    assert _value(frame, "W", "per1000_75:cap:home_visit_medical").value == 2.5  # 1 / 400 × 1,000
    assert _value(frame, "W", "per100k:cap:narcotics_licence").value == 50.0
    e = _value(frame, "E", "per1000_75:cap:home_visit_medical")
    assert (e.value, e.denominator) == (20.0, 50)  # 要相談 counts; the closed one does not
    assert _value(frame, "E", "count:type:clinic").value == 1
    assert _value(frame, "W", "covered75:home_visit_medical").value == 1.0
    assert _value(frame, "E", "covered75:home_visit_medical").value == 0.0


def test_secondary_medical_area_only_with_several_municipalities() -> None:
    prov, pop, areas = fixture()
    sma = areas.iloc[:1].assign(kind="secondary_medical_area", code="S1")
    sma.geometry = [_square(-1000, 1000)]
    one = compute_indicators(
        prov, pop, {"municipality": areas.iloc[:1], "secondary_medical_area": sma}, TAX
    )
    assert "secondary_medical_area" not in set(one.area_kind)
    two = compute_indicators(prov, pop, {"municipality": areas, "secondary_medical_area": sma}, TAX)
    assert _value(two, "S1", "count:type:clinic").value == 3
    assert _value(two, "S1", "population:75+").value == 450


def test_rate_with_no_population_is_not_a_number_not_zero() -> None:
    prov, _, areas = fixture()
    empty = population_frame([{"dx": 5000, "dy": 5000, "bands": {"0-4": 1}}])
    frame = compute_indicators(prov, empty, {"daily_life_area": areas}, TAX)
    assert np.isnan(_value(frame, "W", "per100k:type:clinic").value)


def test_snapshots_compare_two_dates_and_targets(sqlite_services) -> None:
    prov, pop, areas = fixture()
    first = compute_indicators(prov, pop, {"daily_life_area": areas}, TAX)
    second = compute_indicators(
        prov.iloc[:3], pop, {"daily_life_area": areas}, TAX
    )  # east clinic gone
    with sqlite_services.store.session() as s:
        assert save_snapshot(s, first, "2025-04-01", "R7") == len(first)
        save_snapshot(s, second, "2026-04-01")
        save_snapshot(s, second, "2026-04-01")  # same date again: replaced, not doubled
    with sqlite_services.store.session() as s:
        assert snapshot_dates(s) == ["2025-04-01", "2026-04-01"]
        cmp = compare_snapshots(s, "2025-04-01", "2026-04-01")
        row = cmp[(cmp.area_code == "E") & (cmp.indicator == "count:type:clinic")].iloc[0]
        assert (row.value_1, row.value_2, row.change) == (1, 0, -1)
        assert len(cmp) == len(first)
        with pytest.raises(NotFound, match="stored: 2025-04-01, 2026-04-01"):
            compare_snapshots(s, "2025-04-01", "2024-01-01")
        with pytest.raises(InvalidInput) as exc:
            compare_snapshots(s, "last year", "2026-04-01")
        assert exc.value.field == "date"
        set_target(s, "daily_life_area", "E", "per1000_75:type:clinic", 30, "planner")
        set_target(s, "daily_life_area", "E", "per1000_75:type:clinic", 40, "planner")  # replaced
        with pytest.raises(InvalidInput):
            set_target(s, "daily_life_area", "E", "per1000_75:type:clinic", "lots", "planner")
    with sqlite_services.store.session() as s:
        out = with_targets(s, second)
        row = out[(out.area_code == "E") & (out.indicator == "per1000_75:type:clinic")].iloc[0]
        assert (row.target, row.gap) == (40, 40)
