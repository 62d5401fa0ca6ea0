"""The finder's pre-selection (mapsvc.finder.reach) never drops a provider whose service
area covers the point: far-reaching radii, polygons far from their provider, travel times
on a fast road, the very edge of a radius, and a random country-sized mix checked
against the rule applied to every provider."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer
from search_support import BASE_LAT, BASE_LON, east, frame, line_network, provider_row

from mapsvc.core.filters import FilterSet
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.finder.index import RULE_POLYGON, build_index
from mapsvc.finder.reach import ReachGrid
from mapsvc.finder.search import find_providers
from mapsvc.geo._road_index import build_road_index

TAX = load_taxonomy("layers")


def uids(result) -> set[str]:
    return {m.uid for m in result.matches}


def _crowd(n: int, km: float = 2.0) -> list[dict]:
    """``n`` providers with a small own radius, scattered within ~20 km of the base."""
    rng = np.random.default_rng(7)
    return [
        provider_row(
            f"c{i}",
            lon=BASE_LON + float(rng.uniform(-0.2, 0.2)),
            lat=BASE_LAT + float(rng.uniform(-0.2, 0.2)),
            service_area={"kind": "radius", "km": km},
        )
        for i in range(n)
    ]


def test_a_provider_with_a_huge_radius_far_away_is_still_found():
    # 2,000 providers serve 2 km; one, 150 km west, declares 200 km: beyond the grid's
    # reach (the top 0.1 % of radii are kept aside), still a candidate everywhere
    huge = provider_row("huge", lon=east(-150_000), service_area={"kind": "radius", "km": 200})
    idx = build_index(frame(*_crowd(2_000), huge), TAX)
    grid = ReachGrid.of(idx)
    assert grid.reach_m == 2_000.0 and idx.position("huge") in grid.far.tolist()
    assert "huge" in uids(find_providers(idx, east(40_000), BASE_LAT, FilterSet()))
    assert "huge" not in uids(find_providers(idx, east(60_000), BASE_LAT, FilterSet()))


def test_a_polygon_far_from_its_provider_is_found_inside_and_only_inside():
    far_square = shapely.geometry.mapping(
        shapely.box(east(80_000) - 0.01, BASE_LAT - 0.01, east(80_000) + 0.01, BASE_LAT + 0.01)
    )
    area = {"kind": "polygon", "geometry": far_square}
    idx = build_index(frame(*_crowd(200), provider_row("poly", service_area=area)), TAX)
    assert idx.rule[idx.position("poly")] == RULE_POLYGON
    assert uids(find_providers(idx, east(80_000), BASE_LAT, FilterSet())) == {"poly"}
    assert "poly" not in uids(find_providers(idx, BASE_LON, BASE_LAT, FilterSet()))


def test_a_travel_time_over_a_fast_road_reaches_beyond_every_radius():
    # nodes 10 km apart, one minute per edge: 40 km east is a 4-minute drive, far
    # beyond the 16 km radius of any provider
    road = build_road_index(line_network(5, spacing_m=10_000, seconds=60), "fast")
    rows = [
        provider_row("far", lon=east(40_000), service_area={"kind": "travel_time", "minutes": 10})
    ]
    idx = build_index(frame(*rows, *_crowd(50)), TAX)
    result = find_providers(idx, BASE_LON, BASE_LAT, FilterSet(), road=road)
    assert "far" in uids(result) and result.order == "travel_time"
    assert "far" not in uids(find_providers(idx, BASE_LON, BASE_LAT, FilterSet()))


def test_the_edge_of_a_radius_is_inside_and_a_centimetre_beyond_is_not():
    base = build_index(frame(provider_row("probe")), TAX)
    to_lonlat = Transformer.from_crs(base.crs, "EPSG:4326", always_xy=True)
    px, py = base.project(BASE_LON, BASE_LAT)
    rows = []
    # on each side of the point, along the axes and the diagonal (grid cell edges)
    for k, (dx, dy) in enumerate([(1, 0), (-1, 0), (0, 1), (0, -1), (0.6, 0.8), (-0.8, -0.6)]):
        for name, metres in (("in", 15_999.99), ("out", 16_000.01)):
            lon, lat = to_lonlat.transform(px + dx * metres, py + dy * metres)
            rows.append(provider_row(f"{name}{k}", lon=lon, lat=lat))
    idx = build_index(frame(*rows), TAX, crs=base.crs)
    result = find_providers(idx, BASE_LON, BASE_LAT, FilterSet())
    assert uids(result) == {f"in{k}" for k in range(6)}
    assert all(m.distance_m <= 16_000.0 for m in result.matches)


def test_a_random_country_matches_the_rule_applied_to_every_provider():
    rng = np.random.default_rng(11)
    rows = []
    for i in range(3_000):
        lon = BASE_LON + float(rng.normal(0, 0.4))
        lat = BASE_LAT + float(rng.normal(0, 0.3))
        kind = rng.random()
        area = None
        if kind < 0.05:
            half = float(rng.uniform(0.01, 0.3))
            box = shapely.box(lon - half, lat + 0.1, lon + half, lat + 0.1 + 2 * half)
            area = {"kind": "polygon", "geometry": shapely.geometry.mapping(box)}
        elif kind < 0.4:
            area = {"kind": "radius", "km": float(rng.choice([1, 3, 8, 25, 60]))}
        ptype = str(rng.choice(["clinic", "pharmacy", "home_nursing", "day_care"]))
        rows.append(provider_row(f"r{i}", lon=lon, lat=lat, type=ptype, service_area=area))
    idx = build_index(frame(*rows), TAX)
    for lon, lat in zip(rng.normal(BASE_LON, 0.5, 60), rng.normal(BASE_LAT, 0.4, 60), strict=True):
        px, py = idx.project(lon, lat)
        dist = np.hypot(idx.xy[:, 0] - px, idx.xy[:, 1] - py)
        poly = idx.rule == RULE_POLYGON
        expected = ~poly & (dist <= idx.radius_m)
        inside = [g.intersects(shapely.Point(px, py)) for g in idx.polygons]
        expected[idx.poly_pos[np.array(inside, dtype=bool)]] = True
        found = find_providers(idx, lon, lat, FilterSet())
        assert uids(found) == {str(u) for u in idx.uids[expected]}


def test_the_edge_of_a_radius_across_a_grid_line_is_inside():
    # the point placed so that the provider 1 cm inside its 16 km lies 5 mm across a
    # line of the pre-selection's grid from the rest of the 16 km circle
    base = build_index(frame(*_crowd(20, km=16)), TAX)
    cell = ReachGrid.of(base).cell_m
    to_lonlat = Transformer.from_crs(base.crs, "EPSG:4326", always_xy=True)
    px, py = base.project(BASE_LON, BASE_LAT)
    line = np.ceil(px / cell) * cell
    qx = line + 15_999.99 - 0.005
    west_lon, west_lat = to_lonlat.transform(line - 0.005, py)
    rows = [provider_row("west", lon=west_lon, lat=west_lat)]
    rows += _crowd(20, km=16)
    idx = build_index(frame(*rows), TAX, crs=base.crs)
    lon, lat = to_lonlat.transform(qx, py)
    assert "west" in uids(find_providers(idx, lon, lat, FilterSet()))
