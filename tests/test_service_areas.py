"""Service areas on tiny hand-checkable road grids (no store needed)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from planner_support import grid_graph, lonlat, providers_frame

from mapsvc.core.errors import DataUnavailable, InvalidInput
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.geo._road_index import build_road_index, reached_parts
from mapsvc.geo.area_check import point_check
from mapsvc.geo.area_sets import build_area_set, provider_area_geometries
from mapsvc.geo.service_areas import area_context, resolve_rules

TAXONOMY = load_taxonomy("layers")
DEFAULTS = TAXONOMY.service_area_defaults()


def _ctx(G: nx.MultiDiGraph | None = None, **kw: float):
    road = build_road_index(G, "sig") if G is not None else None
    return area_context(None, road, DEFAULTS, **kw)


def _xy(ctx, dx: float, dy: float) -> np.ndarray:
    return ctx.xy(*zip(lonlat(dx, dy), strict=True))


def test_index_pairs_two_way_roads_and_keeps_one_way_roads_single() -> None:
    road = build_road_index(grid_graph(3, 3, one_way_rows=(0,)), "s")
    assert road.n_nodes == 9
    assert len(road.seg_geom) == 12  # 6 horizontal + 6 vertical streets
    one_way = np.isnan(road.seg_bwd_s)
    assert one_way.sum() == 2  # the two blocks of row 0
    assert road.matrix.nnz == 22


def test_parallel_edges_keep_the_fastest_time() -> None:
    G = grid_graph(2, 1)
    G.add_edge(0, 1, key=1, length=100.0, travel_time=4.0, highway="primary")
    road = build_road_index(G, "s")
    assert road.matrix[0, 1] == pytest.approx(4.0)


def test_travel_time_area_follows_the_roads_and_cuts_partial_blocks() -> None:
    # 10 s per 100 m block; 25 s from the corner reaches 2.5 blocks along each street
    ctx = _ctx(grid_graph(5, 5), access_m=20)
    rules, problems = resolve_rules(providers_frame([{"dx": 0, "dy": 0}]), ctx, minutes=25 / 60)
    assert problems == [] and rules[0].node == 0
    area = build_area_set(rules, ctx)
    inside = area.contains(
        np.vstack(
            [
                _xy(ctx, 240, 0),  # on the first street, within 2.5 blocks
                _xy(ctx, 275, 0),  # 25 m beyond the reach (access 20 m)
                _xy(ctx, 100, 140),  # on the street x=100 at 1 + 1.4 blocks
                _xy(ctx, 150, 150),  # middle of a block, 50 m from any road
                _xy(ctx, 100, 115),  # 15 m from a reached street
            ]
        )
    )
    assert inside.tolist() == [True, False, True, False, True]
    # not a convex hull: the centre of the first block is outside
    geom = area.geometry()
    assert not shapely.contains_xy(geom, *_xy(ctx, 50, 50)[0])
    assert shapely.contains_xy(geom, *_xy(ctx, 50, 10)[0])


def test_one_way_street_is_reached_only_downstream() -> None:
    ctx = _ctx(grid_graph(3, 2, one_way_rows=(0,)), access_m=10)
    rules, _ = resolve_rules(providers_frame([{"dx": 200, "dy": 0}]), ctx, minutes=5 / 60)
    area = build_area_set(rules, ctx)
    # row 0 runs eastwards only: from x=200 nothing westwards on that street within 5 s
    assert area.contains(_xy(ctx, 170, 0)).tolist() == [False]
    assert area.contains(_xy(ctx, 200, 40)).tolist() == [True]


def test_union_of_providers_equals_each_area_united() -> None:
    ctx = _ctx(grid_graph(6, 6), access_m=30)
    prov = providers_frame([{"dx": 0, "dy": 0}, {"dx": 500, "dy": 500}, {"dx": 200, "dy": 300}])
    rules, _ = resolve_rules(prov, ctx, minutes=0.4)
    union = build_area_set(rules, ctx).geometry()
    each = shapely.union_all(list(provider_area_geometries(rules, ctx).values()))
    assert union.symmetric_difference(each).area < 1.0  # m², arc approximation only


def test_point_check_agrees_with_the_polygons() -> None:
    ctx = _ctx(grid_graph(5, 5), access_m=30)
    prov = providers_frame(
        [
            {"dx": 0, "dy": 0},
            {"dx": 400, "dy": 400, "service_area": {"kind": "travel_time", "minutes": 0.4}},
            {"dx": 200, "dy": 0, "service_area": {"kind": "radius", "km": 0.1}},
        ]
    )
    rules, _ = resolve_rules(prov, ctx)
    rules[0].minutes = 0.5  # the type default (30 min) would cover the whole grid
    geoms = provider_area_geometries(rules, ctx)
    rng = np.random.default_rng(7)
    checked = 0
    for dx, dy in rng.uniform(-100, 500, size=(200, 2)):
        lon, lat = lonlat(dx, dy)
        x, y = ctx.xy([lon], [lat])[0]
        for rule, verdict in zip(rules, point_check(rules, ctx, lon, lat), strict=True):
            geom = geoms[rule.provider_id]
            if geom.boundary.distance(shapely.Point(x, y)) < 0.5:
                continue  # on the edge: polygon arcs are approximations
            assert verdict["inside"] == bool(shapely.contains_xy(geom, x, y)), (rule.kind, dx, dy)
            checked += 1
    assert checked > 500


def test_rule_order_explicit_then_own_then_type_default() -> None:
    square = shapely.Polygon([lonlat(-50, -50), lonlat(50, -50), lonlat(50, 50), lonlat(-50, 50)])
    prov = providers_frame(
        [
            {
                "service_area": {"kind": "polygon", "geometry": shapely.geometry.mapping(square)},
                "dx": 0,
                "dy": 0,
            },
            {"service_area": {"kind": "radius", "km": 2}, "dx": 0, "dy": 0},
            {"service_area": {"kind": "travel_time", "minutes": 12}, "dx": 0, "dy": 0},
            {"type": "home_help", "dx": 0, "dy": 0},
        ]
    )
    with_net, _ = resolve_rules(prov, _ctx(grid_graph(3, 3)))
    assert [(r.kind, r.source) for r in with_net] == [
        ("polygon", "explicit"),
        ("radius", "provider"),
        ("travel_time", "provider"),
        ("travel_time", "type_default"),
    ]
    assert with_net[3].minutes == DEFAULTS["home_help"]["travel_minutes"]
    without, _ = resolve_rules(prov, _ctx(None))
    assert [(r.kind, r.km) for r in without][1:] == [
        ("radius", 2.0),
        ("radius", DEFAULTS["clinic"]["radius_km"]),  # own travel time needs a network
        ("radius", DEFAULTS["home_help"]["radius_km"]),
    ]
    forced, _ = resolve_rules(prov, _ctx(None), radius_km=1.5)
    assert [r.kind for r in forced] == ["polygon", "radius", "radius", "radius"]
    assert {r.km for r in forced[1:]} == {1.5}


def test_codes_area_resolves_and_unknown_codes_are_reported() -> None:
    import geopandas as gpd

    square = shapely.Polygon([lonlat(-50, -50), lonlat(50, -50), lonlat(50, 50), lonlat(-50, 50)])
    areas = gpd.GeoDataFrame({"kind": ["town"], "code": ["T1"]}, geometry=[square], crs="EPSG:4326")
    ctx = area_context(None, None, DEFAULTS, areas=areas)
    prov = providers_frame(
        [
            {"service_area": {"kind": "codes", "codes": ["T1"]}, "dx": 500, "dy": 0},
            {"service_area": {"kind": "codes", "codes": ["NOPE"]}, "dx": 0, "dy": 0},
        ]
    )
    rules, problems = resolve_rules(prov, ctx)
    assert rules[0].kind == "polygon"
    area = build_area_set(rules[:1], ctx)
    assert area.contains(np.vstack([_xy(ctx, 0, 0), _xy(ctx, 200, 0)])).tolist() == [True, False]
    assert rules[1].kind == "radius"  # falls back to the default rule
    assert problems[0]["problem"] == "area" and "NOPE" in problems[0]["message"]


def test_radius_area_uses_straight_line_distance() -> None:
    ctx = _ctx(None)
    rules, _ = resolve_rules(providers_frame([{"dx": 0, "dy": 0}]), ctx, radius_km=1.0)
    area = build_area_set(rules, ctx)
    assert area.contains(np.vstack([_xy(ctx, 990, 0), _xy(ctx, 0, -1010)])).tolist() == [
        True,
        False,
    ]


def test_provider_off_the_network_is_reported_not_silently_dropped() -> None:
    ctx = _ctx(grid_graph(3, 3), snap_m=500)
    prov = providers_frame([{"dx": 0, "dy": 0}, {"dx": 5000, "dy": 5000, "name": "離島診療所"}])
    rules, problems = resolve_rules(prov, ctx, minutes=10)
    assert [p["problem"] for p in problems] == ["off_network"]
    assert "離島診療所" in problems[0]["message"] and problems[0]["distance_m"] > 6000
    assert set(provider_area_geometries(rules, ctx)) == {1}


def test_provider_off_the_network_falls_back_to_its_types_radius_under_its_own_rule() -> None:
    """Issue 11: in the default mode an off-network provider was dropped (高松市 = 0%)."""
    ctx = _ctx(grid_graph(3, 3), snap_m=500)
    prov = providers_frame([{"dx": 0, "dy": 0}, {"dx": 5000, "dy": 5000, "name": "離島診療所"}])
    rules, problems = resolve_rules(prov, ctx)
    far = rules[1]
    assert (far.kind, far.km, far.fallback, far.source) == (
        "radius",
        16.0,
        "off_network",
        "type_default",
    )
    assert [(p["problem"], p["fallback"], p["km"]) for p in problems] == [
        ("off_network", "radius", 16.0)
    ]
    assert "radius of 16 km is used instead" in problems[0]["message"]
    assert set(provider_area_geometries(rules, ctx)) == {1, 2}
    inside = build_area_set(rules, ctx).contains(np.vstack([_xy(ctx, 5000, -10_000)]))
    assert inside.tolist() == [True]  # 15 km from the island clinic, far from any road


def test_bad_limits_and_missing_network_are_clear_errors() -> None:
    prov = providers_frame([{"dx": 0, "dy": 0}])
    with pytest.raises(InvalidInput, match="> 0 minutes") as exc:
        resolve_rules(prov, _ctx(grid_graph(2, 2)), minutes=0)
    assert exc.value.field == "minutes"
    with pytest.raises(InvalidInput, match="> 0 km"):
        resolve_rules(prov, _ctx(None), radius_km=-1)
    with pytest.raises(DataUnavailable, match="network import"):
        resolve_rules(prov, _ctx(None), minutes=10)


def test_reached_parts_of_an_unreached_field_is_empty() -> None:
    road = build_road_index(grid_graph(2, 2), "s")
    assert len(reached_parts(road, np.full(road.n_nodes, np.inf), 60.0)) == 0


def test_explicit_area_refuses_non_polygons_and_names_missing_codes() -> None:
    """The explicit rule the planner and the finder's index both apply."""
    from shapely.geometry import box

    from mapsvc.core.projection import to_metres, utm_crs_for_lon
    from mapsvc.geo.service_areas import explicit_area, lookup_code

    transformer = to_metres(utm_crs_for_lon(134.0))
    point = {"kind": "polygon", "geometry": {"type": "Point", "coordinates": [134.0, 34.3]}}
    assert explicit_area(point, transformer, lambda c: None) == (
        None,
        [],
        "service_area polygon is empty or not a polygon",
    )
    table = {
        ("town", "T1"): (box(0, 0, 10, 10), "港町"),
        ("municipality", "T1"): (box(0, 0, 1, 1), "市"),
    }
    geom, names, problem = explicit_area(
        {"kind": "codes", "codes": ["T1", "municipality:T1", "X9"]},
        transformer,
        lambda c: lookup_code(c, table),
    )
    assert names == ["港町", "市"] and geom.area == 100
    # issue 14: the problem says 対応地域を特定できません (shown in the finder and dashboard)
    assert problem.startswith("対応地域を特定できません") and problem.endswith("not loaded: X9")


def test_area_tree_polygon_equals_one_disc_per_reached_part() -> None:
    """The pre-united quadtree gives the same polygon as buffering every reached part."""
    from mapsvc.geo._area_tree import AreaTree

    G = grid_graph(14, 14, one_way_rows=(3, 8))
    road = build_road_index(G, "sig")
    tree = AreaTree(road, 35.0)
    assert tree.root.children, "the grid is large enough to be split"
    rng = np.random.default_rng(3)
    for node, limit_s in [(0, 75.0), (97, 33.0), (150, 1e6), (13, 0.0)]:
        limit_s = limit_s + float(rng.uniform(0, 5)) if limit_s < 1e5 else limit_s
        times = road.node_times(np.array([node]), limit_s)
        parts = reached_parts(road, times, limit_s)
        direct = shapely.union_all(shapely.buffer(parts, 35.0, quad_segs=8))
        fast = tree.polygon(times, limit_s)
        assert direct.area > 0
        assert direct.symmetric_difference(fast).area < 1e-3 * direct.area, (node, limit_s)


def test_providers_reaching_the_same_road_share_one_polygon() -> None:
    ctx = _ctx(grid_graph(6, 6), access_m=30)
    prov = providers_frame([{"dx": 0, "dy": 0}, {"dx": 5, "dy": 5}, {"dx": 500, "dy": 500}])
    rules, _ = resolve_rules(prov, ctx, minutes=0.3)
    geoms = provider_area_geometries(rules, ctx)
    assert geoms[1] is geoms[2] and geoms[3] is not geoms[1]
    assert not geoms[1].equals(geoms[3])
