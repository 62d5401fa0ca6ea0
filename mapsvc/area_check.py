"""Is one place inside each provider's service area, and how far is it? (the finder's check)

:func:`point_check` applies the rule of :mod:`mapsvc.service_areas` to a single point for
many providers at once. For travel-time areas it runs one Dijkstra *backwards* from the
point: the time each network node needs to get within ``access_m`` of the point (entering
a nearby road segment where it first comes within that distance), so every provider's
travel time is read off in one call. A provider's area holds the point exactly when the
map polygon of :func:`mapsvc.service_areas.provider_area_geometries` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ._road_index import RoadIndex
from .errors import InvalidInput
from .service_areas import AreaContext, AreaRule, on_network


def _entry_costs(road: RoadIndex, x: float, y: float, access_m: float) -> dict[int, float]:
    """Per node: seconds from that node to the first road position within ``access_m``."""
    point = shapely.Point(x, y)
    tree = _segment_tree(road)
    candidates = tree.query(point, predicate="dwithin", distance=access_m)
    disc = point.buffer(access_m, quad_segs=16)
    costs: dict[int, float] = {}
    for i in candidates:
        line = road.seg_geom[i]
        inside = line.intersection(disc)
        if inside.is_empty:
            continue
        coords = shapely.get_coordinates(inside)
        positions = shapely.line_locate_point(line, shapely.points(coords))
        length = float(road.seg_len[i]) or 1.0
        if not np.isnan(road.seg_fwd_s[i]):
            cost = float(road.seg_fwd_s[i]) * float(positions.min()) / length
            a = int(road.seg_a[i])
            costs[a] = min(costs.get(a, np.inf), cost)
        if not np.isnan(road.seg_bwd_s[i]):
            cost = float(road.seg_bwd_s[i]) * (length - float(positions.max())) / length
            b = int(road.seg_b[i])
            costs[b] = min(costs.get(b, np.inf), cost)
    return costs


def _segment_tree(road: RoadIndex) -> shapely.STRtree:
    tree = getattr(road, "_segment_tree", None)
    if tree is None:
        tree = shapely.STRtree(road.seg_geom)
        road._segment_tree = tree  # type: ignore[attr-defined]
    return tree


def _transposed(road: RoadIndex) -> csr_matrix:
    transposed = getattr(road, "_transposed", None)
    if transposed is None:
        transposed = road.matrix.T.tocsr()
        road._transposed = transposed  # type: ignore[attr-defined]
    return transposed


def times_to_point(
    road: RoadIndex, x: float, y: float, access_m: float, limit_s: float
) -> np.ndarray:
    """Seconds from every node to within ``access_m`` of the point (inf beyond ``limit_s``)."""
    costs = _entry_costs(road, x, y, access_m)
    n = road.n_nodes
    if not costs:
        return np.full(n, np.inf)
    # one extra node (index n) joined to each entry node: a backwards multi-target search
    base = _transposed(road).tocoo()
    entries = np.array(list(costs), dtype=np.int64)
    weights = np.maximum(np.array([costs[e] for e in entries]), 1e-9)
    rows = np.concatenate([base.row, np.full(entries.size, n)])
    cols = np.concatenate([base.col, entries])
    data = np.concatenate([base.data, weights])
    graph = csr_matrix((data, (rows, cols)), shape=(n + 1, n + 1))
    times = dijkstra(graph, directed=True, indices=n, limit=limit_s)
    return np.asarray(times[:n])


def point_check(
    rules: list[AreaRule], ctx: AreaContext, lon: float, lat: float
) -> list[dict[str, Any]]:
    """For one place, each provider's verdict under its own area rule.

    Parameters
    ----------
    rules
        From :func:`mapsvc.service_areas.resolve_rules`.
    ctx
        The same :class:`~mapsvc.service_areas.AreaContext`.
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
