"""Is one place inside each provider's service area, and how far is it? (the finder's check)

:func:`point_check` applies the rule of :mod:`mapsvc.geo.service_areas` to a single point for
many providers at once. For travel-time areas it runs one Dijkstra *backwards* from the
point: the time each network node needs to get within ``access_m`` of the point (entering
a nearby road segment where it first comes within that distance), so every provider's
travel time is read off in one call. A provider's area holds the point exactly when the
map polygon of :func:`mapsvc.geo.area_sets.provider_area_geometries` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from mapsvc.core.errors import InvalidInput
from mapsvc.geo._road_index import RoadIndex
from mapsvc.geo.service_areas import AreaContext, AreaRule, on_network


def _entry_costs(
    road: RoadIndex, x: float, y: float, access_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, seconds): from each node, the time to the first road position within ``access_m``.

    A segment that passes within ``access_m`` is entered from its start (or, on a two-way
    road, its end) and driven up to where it first comes that close; a node's cost is the
    least over its segments. Vectorised over the segments near the point.
    """
    point = shapely.Point(x, y)
    seg = road.segment_tree.query(point, predicate="dwithin", distance=access_m)
    inside = shapely.intersection(road.seg_geom[seg], point.buffer(access_m, quad_segs=16))
    coords, which = shapely.get_coordinates(inside, return_index=True)
    positions = shapely.line_locate_point(road.seg_geom[seg[which]], shapely.points(coords))
    first = np.full(seg.size, np.inf)  # metres along the segment where it enters the disc
    last = np.full(seg.size, -np.inf)  # ... and where it leaves it
    np.minimum.at(first, which, positions)
    np.maximum.at(last, which, positions)
    length = np.where(road.seg_len[seg] > 0, road.seg_len[seg], 1.0)
    fwd, bwd = road.seg_fwd_s[seg], road.seg_bwd_s[seg]
    a = np.isfinite(first) & ~np.isnan(fwd)
    b = np.isfinite(last) & ~np.isnan(bwd)
    nodes = np.concatenate([road.seg_a[seg][a], road.seg_b[seg][b]])
    seconds = np.concatenate(
        [fwd[a] * first[a] / length[a], bwd[b] * (length[b] - last[b]) / length[b]]
    )
    unique, position = np.unique(nodes, return_inverse=True)
    best = np.full(unique.size, np.inf)
    np.minimum.at(best, position, seconds)
    return unique, best


def times_to_point(
    road: RoadIndex, x: float, y: float, access_m: float, limit_s: float
) -> np.ndarray:
    """Seconds from every node to within ``access_m`` of the point (inf beyond ``limit_s``)."""
    nodes, seconds = _entry_costs(road, x, y, access_m)
    return road.times_to(nodes, seconds, limit_s)


def point_check(
    rules: list[AreaRule], ctx: AreaContext, lon: float, lat: float
) -> list[dict[str, Any]]:
    """For one place, each provider's verdict under its own area rule.

    Parameters
    ----------
    rules
        From :func:`mapsvc.geo.service_areas.resolve_rules`.
    ctx
        The same :class:`~mapsvc.geo.service_areas.AreaContext`.
    lon, lat
        The place (EPSG:4326). Not stored or logged anywhere.

    Returns
    -------
    list of dict
        In the order of ``rules``: ``provider_id``, ``uid``, ``kind``, ``inside`` (bool),
        ``distance_m`` (straight line), ``travel_min`` (travel-time areas: minutes to get
        within the access distance of the place; None when unreachable or not
        travel-time), ``off_network`` (bool).

    Raises
    ------
    InvalidInput
        ``lon``/``lat`` are not finite numbers.
    """
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InvalidInput("lon/lat must be numbers", field="lon") from None
    if not (np.isfinite(lon_f) and np.isfinite(lat_f)):
        raise InvalidInput("lon/lat must be finite numbers", field="lon")
    x, y = ctx.xy([lon_f], [lat_f])[0]
    point = shapely.Point(x, y)
    travel = [r for r in rules if r.kind == "travel_time" and on_network(r, ctx)]
    times = None
    if travel and ctx.road is not None:
        limit = max((r.minutes or 0.0) for r in travel) * 60.0
        times = times_to_point(ctx.road, x, y, ctx.access_m, limit)
    out = []
    for r in rules:
        distance = float(np.hypot(r.x - x, r.y - y))
        item: dict[str, Any] = {
            "provider_id": r.provider_id,
            "uid": r.uid,
            "kind": r.kind,
            "distance_m": round(distance, 1),
            "travel_min": None,
            "off_network": not on_network(r, ctx),
        }
        if r.kind == "radius":
            item["inside"] = distance <= (r.km or 0.0) * 1000.0
        elif r.kind == "polygon":
            item["inside"] = bool(r.geometry is not None and r.geometry.intersects(point))
        elif times is not None and r.node is not None and not item["off_network"]:
            t = float(times[r.node])
            item["travel_min"] = round(t / 60.0, 2) if np.isfinite(t) else None
            item["inside"] = bool(np.isfinite(t) and t <= (r.minutes or 0.0) * 60.0)
        else:
            item["inside"] = False
        out.append(item)
    return out
