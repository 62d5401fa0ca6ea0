"""Coverage, what-if and the Dask batch on small synthetic inputs (hand-checkable)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from planner_support import grid_graph, population_frame, providers_frame, uniform_population

from mapsvc.core.errors import InvalidInput
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.geo._road_index import build_road_index
from mapsvc.geo.service_areas import area_context
from mapsvc.planner.coverage import (
    COUNT_COLUMNS,
    CapabilityFilter,
    compute_coverage,
    matching_providers,
    parse_capability,
)
from mapsvc.planner.coverage_batch import coverage_by_municipality
from mapsvc.planner.what_if import what_if

TAX = load_taxonomy("layers")
HOME_VISIT = [CapabilityFilter("home_visit_medical", "accept")]


def _ctx(road: bool = True, **kw: float):
    index = build_road_index(grid_graph(11, 11), "sig") if road else None
    return area_context(None, index, TAX.service_area_defaults(), **kw)


def _providers():
    return providers_frame(
        [
            {"dx": 0, "dy": 0, "capabilities": {"home_visit_medical": {"level": "active"}}},
            {"dx": 1000, "dy": 1000, "capabilities": {"home_visit_medical": {"level": "consult"}}},
            {
                "dx": 500,
                "dy": 500,
                "capabilities": {"home_visit_medical": {"level": "accept"}},
                "status": "closed",
            },
            {"dx": 1000, "dy": 0, "capabilities": {"night_response": {"level": "accept"}}},
        ]
    )


def test_parse_capability_accepts_keys_and_levels_and_names_bad_ones() -> None:
    assert parse_capability("ventilator:accept", TAX) == CapabilityFilter("ventilator", "accept")
    assert parse_capability("narcotics_licence", TAX).min_level is None
    with pytest.raises(InvalidInput, match="unknown capability 'ventilatr'") as exc:
        parse_capability("ventilatr", TAX)
    assert exc.value.field == "capability"
    with pytest.raises(InvalidInput, match="expected one of active, accept, consult"):
        parse_capability("ventilator:sometimes", TAX)
    with pytest.raises(InvalidInput, match="flag capability"):
        parse_capability("narcotics_licence:accept", TAX)


def test_matching_needs_every_capability_at_the_level_and_an_active_record() -> None:
    prov = _providers()
    assert matching_providers(prov, HOME_VISIT, TAX)["uid"].tolist() == ["p1"]
    loose = [CapabilityFilter("home_visit_medical", "consult")]
    assert matching_providers(prov, loose, TAX)["uid"].tolist() == ["p1", "p2"]
    both = [*loose, CapabilityFilter("night_response", "consult")]
    assert matching_providers(prov, both, TAX).empty


def test_radius_coverage_by_band_adds_up_and_ranks_uncovered_by_75_plus() -> None:
    pop = population_frame(
        [
            {"dx": 100, "dy": 0, "bands": {"0-4": 3, "80-84": 2}, "key": "near"},
            {"dx": 3000, "dy": 0, "bands": {"40-44": 7, "85+": 1}, "key": "far-a"},
            {"dx": 0, "dy": 3000, "bands": {"75-79": 4, "85+": 2}, "key": "far-b"},
        ]
    )
    result = compute_coverage(_providers(), pop, _ctx(False), HOME_VISIT, TAX, radius_km=1.0)
    bands = {r["band"]: r for r in result.bands()}
    assert bands["total"] == {
        "band": "total",
        "total": 19,
        "covered": 5,
        "uncovered": 14,
        "share": 0.2632,
    }
    assert bands["75+"]["covered"] == 2 and bands["75+"]["uncovered"] == 7
    assert bands["0-4"]["share"] == 1.0 and bands["40-44"]["share"] == 0.0
    assert bands["10-14"]["share"] is None  # nobody in that band
    for row in result.bands():
        assert row["covered"] + row["uncovered"] == row["total"]
    assert [p["key"] for p in result.uncovered_places()] == ["far-b", "far-a"]


def test_travel_time_coverage_matches_the_map_polygon() -> None:
    ctx = _ctx(access_m=40)
    pop = uniform_population(3000, 1100, seed=5)
    result = compute_coverage(_providers(), pop, ctx, HOME_VISIT, TAX, minutes=1.0)
    xy = ctx.xy(pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy())
    geom = result.area_set.geometry()
    in_polygon = shapely.contains_xy(geom, xy[:, 0], xy[:, 1])
    near_edge = shapely.distance(geom.boundary, shapely.points(xy)) < 0.5
    assert (result.covered[~near_edge] == in_polygon[~near_edge]).all()
    assert 0 < result.covered.sum() < len(pop)
    for row in result.bands():
        assert row["covered"] + row["uncovered"] == row["total"]


def test_no_matching_provider_covers_nobody_but_still_adds_up() -> None:
    pop = uniform_population(50, 500)
    filters = [CapabilityFilter("ventilator", "accept")]
    result = compute_coverage(_providers(), pop, _ctx(), filters, TAX, minutes=10)
    assert result.covered.sum() == 0
    assert result.bands()[0]["uncovered"] == int(pop["total"].sum())


def test_what_if_adds_a_provider_and_coverage_rises_where_it_stands() -> None:
    pop = population_frame(
        [
            {"dx": 50, "dy": 0, "bands": {"80-84": 5}, "area_code": "west"},
            {"dx": 2000, "dy": 2000, "bands": {"85+": 3, "50-54": 4}, "area_code": "east"},
        ]
    )
    lon, lat = pop.geometry.iloc[1].x, pop.geometry.iloc[1].y
    out = what_if(
        _providers(), pop, _ctx(False), HOME_VISIT, TAX, [{"lon": lon, "lat": lat}], radius_km=0.5
    )
    gain = {g["band"]: g for g in out["gain"]}
    assert gain["75+"]["covered"] == 3 and gain["total"]["covered"] == 7
    assert out["before"]["bands"][0]["covered"] == 5 and out["after"]["bands"][0]["covered"] == 12
    by_area = {a["area"]: a for a in out["by_area"]}
    assert by_area["east"]["75+_covered_before"] == 0 and by_area["east"]["75+_covered_after"] == 3
    assert by_area["west"]["75+_covered_after"] == by_area["west"]["75+_covered_before"] == 5
    assert out["hypothetical"][0]["matches_filter"] is True
    # a hypothetical provider that does not offer the capability adds nothing, and says so
    none = what_if(
        _providers(), pop, _ctx(False), HOME_VISIT, TAX,
        [{"lon": lon, "lat": lat, "type": "pharmacy", "capabilities": {"narcotics_licence": "あり"}}],
        radius_km=0.5,
    )  # fmt: skip
    assert none["hypothetical"][0]["matches_filter"] is False
    assert {g["covered"] for g in none["gain"]} == {0}


@pytest.mark.parametrize(
    ("addition", "field"),
    [
        ({"lat": 34.3}, "providers[0].lon"),
        ({"lon": 0, "lat": 34.3}, "providers[0].lon"),
        ({"lon": 134.0, "lat": 34.3, "type": "spaceport"}, "providers[0].type"),
        ({"lon": 134.0, "lat": 34.3, "minutes": 0}, "providers[0].minutes"),
        (
            {"lon": 134.0, "lat": 34.3, "capabilities": {"warp": "yes"}},
            "providers[0].capabilities.warp",
        ),
    ],
)
def test_what_if_rejects_bad_hypothetical_providers_naming_the_field(addition, field) -> None:
    pop = uniform_population(5, 100)
    with pytest.raises(InvalidInput) as exc:
        what_if(_providers(), pop, _ctx(False), HOME_VISIT, TAX, [addition], radius_km=1)
    assert exc.value.field == field


def test_dask_batch_per_municipality_equals_the_single_run() -> None:
    from distributed import Client, LocalCluster

    pop = uniform_population(600, 1500, seed=9)
    pop["municipality"] = np.where(pop.geometry.x < pop.geometry.x.median(), "372013", "372021")
    ctx = _ctx(access_m=60)
    single = compute_coverage(_providers(), pop, ctx, HOME_VISIT, TAX, minutes=1.0)
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        batch = coverage_by_municipality(
            _providers(), pop, ctx, HOME_VISIT, TAX, minutes=1.0, client=client
        ).table
    assert batch["municipality"].tolist() == ["372013", "372021"]
    for col in COUNT_COLUMNS:
        assert (batch[col] == batch[f"{col}_covered"] + batch[f"{col}_uncovered"]).all()
        assert batch[f"{col}_covered"].sum() == next(
            r["covered"] for r in single.bands() if r["band"] == col
        )
    assert batch["units"].sum() == len(pop)
