"""Service areas as geometry: the union of many rules and each provider's own polygon.

The rules themselves (which area a provider has, snapping to the network, the inside-rule)
are in :mod:`mapsvc.geo.service_areas`; this module turns :class:`AreaRule` lists into

* :class:`AreaSet` — the union in the form the inside-rule needs (``contains(xy)``,
  ``geometry()``), built by :func:`build_area_set` with one multi-source Dijkstra per
  distinct time limit;
* :func:`provider_area_geometries` — each provider's own polygon (metres).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from mapsvc.core.errors import DataUnavailable
from mapsvc.geo._area_tree import cached_area_tree, reach_key
from mapsvc.geo._road_index import reached_parts
from mapsvc.geo.service_areas import AreaContext, AreaRule, on_network

_CHUNK = 32  # sources per Dijkstra call when each provider needs its own times


@dataclass
class AreaSet:
    """The union of several service areas, kept in the form the inside-rule needs."""

    crs: CRS
    access_m: float
    road_parts: np.ndarray  # reached road (metres)
    centres: np.ndarray  # (k, 2) radius areas
    radii_m: np.ndarray
    polygons: np.ndarray  # explicit polygons (metres)

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Boolean mask: which of the points (metres, shape (n, 2)) lie inside the union."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        inside = np.zeros(len(xy), dtype=bool)
        if len(xy) == 0:
            return inside
        points = None
        if len(self.road_parts):
            points = shapely.points(xy)
            tree = shapely.STRtree(self.road_parts)
            hit, _ = tree.query_nearest(points, max_distance=self.access_m, all_matches=False)
            inside[hit] = True
        for radius in np.unique(self.radii_m):
            centres = self.centres[self.radii_m == radius]
            dist, _ = cKDTree(centres).query(xy, distance_upper_bound=radius * (1 + 1e-12))
            inside |= dist <= radius
        if len(self.polygons):
            points = shapely.points(xy) if points is None else points
            hit, _ = shapely.STRtree(self.polygons).query(points, predicate="intersects")
            inside[hit] = True
        return inside

    def geometry(self, quad_segs: int = 8) -> Any:
        """The union as one (multi)polygon in metres (empty when nothing is covered)."""
        pieces: list[Any] = []
        if len(self.road_parts):
            # buffering each part and uniting the discs is ~50x faster in GEOS than
            # buffering one MultiLineString of the same parts
            pieces.extend(shapely.buffer(self.road_parts, self.access_m, quad_segs=quad_segs))
        if len(self.centres):
            pieces.extend(shapely.buffer(shapely.points(self.centres), self.radii_m, quad_segs=32))
        pieces.extend(self.polygons)
        return shapely.union_all(np.array(pieces, dtype=object)) if pieces else shapely.Polygon()


def build_area_set(rules: Iterable[AreaRule], ctx: AreaContext) -> AreaSet:
    """Union of the rules' areas (off-network travel-time providers are left out).

    Travel-time providers are grouped by limit; each group is one multi-source Dijkstra
    (``scipy.sparse.csgraph.dijkstra`` with ``limit`` and ``min_only``).
    """
    rules = [r for r in rules if on_network(r, ctx)]
    parts: list[np.ndarray] = []
    by_limit: dict[float, list[int]] = {}
    for r in rules:
        if r.kind == "travel_time" and r.node is not None and r.minutes is not None:
            by_limit.setdefault(r.minutes * 60.0, []).append(r.node)
    if by_limit and ctx.road is None:
        raise DataUnavailable("travel-time areas need a road network", field="minutes")
    for limit_s, nodes in by_limit.items():
        assert ctx.road is not None
        times = ctx.road.node_times(np.array(nodes), limit_s)
        parts.append(reached_parts(ctx.road, times, limit_s))
    radius = [r for r in rules if r.kind == "radius" and r.km]
    polys = [r.geometry for r in rules if r.kind == "polygon" and r.geometry is not None]
    return AreaSet(
        crs=ctx.crs,
        access_m=ctx.access_m,
        road_parts=np.concatenate(parts) if parts else np.empty(0, dtype=object),
        centres=np.array([(r.x, r.y) for r in radius], dtype=float).reshape(-1, 2),
        radii_m=np.array([float(r.km or 0) * 1000.0 for r in radius], dtype=float),
        polygons=np.array(polys, dtype=object),
    )


def provider_area_geometries(
    rules: list[AreaRule], ctx: AreaContext, quad_segs: int = 8
) -> dict[int, Any]:
    """Each provider's own area polygon (metres), by provider id; off-network ones omitted.

    Travel-time providers: one Dijkstra call per ``_CHUNK`` distinct (node, limit) pairs
    (``scipy.sparse.csgraph.dijkstra`` with many sources and the chunk's largest limit),
    each cut to its own limit; providers reaching exactly the same road share one polygon,
    and the polygon is built from the network's pre-united buffers
    (:class:`mapsvc.geo._area_tree.AreaTree`), so a provider that reaches the whole
    network costs no overlay at all.
    """
    out: dict[int, Any] = {}
    travel: dict[tuple[int, float], list[int]] = {}
    for r in rules:
        if not on_network(r, ctx):
            continue
        if r.kind == "travel_time" and r.node is not None:
            travel.setdefault((int(r.node), float(r.minutes or 0.0)), []).append(r.provider_id)
        else:
            out[r.provider_id] = build_area_set([r], ctx).geometry(quad_segs)
    if not travel:
        return out
    if ctx.road is None:
        raise DataUnavailable("travel-time areas need a road network", field="minutes")
    road = ctx.road
    tree = cached_area_tree(road, ctx.access_m, quad_segs)
    by_reach: dict[bytes, Any] = {}
    pairs = sorted(travel, key=lambda p: p[1])
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        limit = max(m for _, m in chunk) * 60.0
        times = road.node_times_each(np.array([n for n, _ in chunk]), limit)
        for (node, minutes), row in zip(chunk, times, strict=True):
            key = reach_key(road, row, minutes * 60.0)
            if key not in by_reach:
                by_reach[key] = tree.polygon(row, minutes * 60.0)
            for provider_id in travel[(node, minutes)]:
                out[provider_id] = by_reach[key]
    return out
