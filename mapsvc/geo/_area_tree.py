"""Fast per-provider travel-time polygons: a quadtree of pre-united road buffers.

A travel-time area is the union of the reached road parts, each buffered by the access
distance (:mod:`mapsvc.geo.service_areas`). Uniting thousands of discs per provider is what
made ``mapsvc service-areas`` take minutes. The union does not depend on how the pieces
are grouped, so :class:`AreaTree` unites the buffers of the network's *whole* segments once
per network, cell by cell of a quadtree over the segment midpoints. A provider's polygon is
then the union of

* the pre-united polygon of every cell whose segments it reaches entirely (the largest such
  cell; for a provider that reaches the whole network that is the root alone), and
* in the remaining leaf cells, the buffers of its own whole segments and partly reached
  pieces.

Same buffers, same union: the polygon equals the one-disc-per-part union (to GEOS
rounding), only the order of the overlay changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from mapsvc.geo._road_index import RoadIndex, reach_fractions

LEAF_SEGMENTS = 48


@dataclass
class _Cell:
    segments: np.ndarray  # segment indices in this cell
    children: list[_Cell] = field(default_factory=list)
    polygon: Any = None  # union of the cell's segment buffers (metres)


class AreaTree:
    """Pre-united road buffers of one network for one access distance."""

    def __init__(self, road: RoadIndex, access_m: float, quad_segs: int = 8) -> None:
        self.road = road
        self.access_m = float(access_m)
        self.quad_segs = int(quad_segs)
        n = len(road.seg_geom)
        self.buffers = (
            shapely.buffer(road.seg_geom, self.access_m, quad_segs=self.quad_segs)
            if n
            else np.empty(0, dtype=object)
        )
        mid = (road.xy[road.seg_a] + road.xy[road.seg_b]) / 2.0 if n else np.empty((0, 2))
        self.root = self._build(np.arange(n), mid)

    def _build(self, idx: np.ndarray, mid: np.ndarray) -> _Cell:
        cell = _Cell(idx)
        if len(idx) > LEAF_SEGMENTS:
            pts = mid[idx]
            cx, cy = np.median(pts[:, 0]), np.median(pts[:, 1])
            quads = [
                idx[(pts[:, 0] < cx) & (pts[:, 1] < cy)],
                idx[(pts[:, 0] >= cx) & (pts[:, 1] < cy)],
                idx[(pts[:, 0] < cx) & (pts[:, 1] >= cy)],
                idx[(pts[:, 0] >= cx) & (pts[:, 1] >= cy)],
            ]
            if max(len(q) for q in quads) < len(idx):  # not all on one point
                cell.children = [self._build(q, mid) for q in quads if len(q)]
        if cell.children:
            cell.polygon = shapely.union_all([c.polygon for c in cell.children])
        elif len(idx):
            cell.polygon = shapely.union_all(self.buffers[idx])
        else:
            cell.polygon = shapely.Polygon()
        return cell

    def polygon(self, times: np.ndarray, limit_s: float) -> Any:
        """The travel-time polygon (metres) for node times ``times`` within ``limit_s``."""
        whole, pieces = reached_split(self.road, times, limit_s)
        partial = np.zeros(len(whole), dtype=bool)
        partial[list(pieces)] = True
        out: list[Any] = []
        self._collect(self.root, whole, partial, pieces, out)
        if not out:
            return shapely.Polygon()
        if len(out) == 1:
            return out[0]
        return shapely.union_all(np.array(out, dtype=object))

    def _collect(
        self,
        cell: _Cell,
        whole: np.ndarray,
        partial: np.ndarray,
        pieces: dict[int, list[Any]],
        out: list[Any],
    ) -> None:
        idx = cell.segments
        if len(idx) == 0:
            return
        hit = whole[idx]
        if hit.all():
            out.append(cell.polygon)
            return
        part = idx[partial[idx]]
        if not hit.any() and not len(part):
            return
        if cell.children:
            for child in cell.children:
                self._collect(child, whole, partial, pieces, out)
            return
        out.extend(self.buffers[idx[hit]])
        for i in part:
            out.extend(shapely.buffer(pieces[i], self.access_m, quad_segs=self.quad_segs))


_TREES: dict[tuple[str, int, float, int], AreaTree] = {}
_TREES_LOCK = threading.Lock()


def cached_area_tree(road: RoadIndex, access_m: float, quad_segs: int = 8) -> AreaTree:
    """:class:`AreaTree` of ``road``, kept per (network, access distance) in this process."""
    key = (road.signature, id(road), float(access_m), int(quad_segs))
    with _TREES_LOCK:
        found = _TREES.get(key)
    if found is not None:
        return found
    tree = AreaTree(road, access_m, quad_segs)
    with _TREES_LOCK:
        if len(_TREES) >= 4:
            _TREES.pop(next(iter(_TREES)))
        _TREES[key] = tree
    return tree


def reached_split(
    index: RoadIndex, times: np.ndarray, limit_s: float
) -> tuple[np.ndarray, dict[int, list[Any]]]:
    """(mask of wholly reached segments, {segment: its partly reached pieces})."""
    from mapsvc.geo._road_index import _piece

    fa, fb = reach_fractions(index, times, limit_s)
    whole = (fa >= 1.0) | (fb >= 1.0) | ((fa >= 0) & (fb >= 0) & (fa + fb >= 1.0))
    pieces: dict[int, list[Any]] = {}
    for i in np.flatnonzero(~whole & ((fa >= 0) | (fb >= 0))):
        line = index.seg_geom[i]
        length = index.seg_len[i]
        found = []
        if fa[i] >= 0:
            found.append(_piece(line, 0.0, fa[i] * length))
        if fb[i] >= 0:
            found.append(_piece(line, length - fb[i] * length, length))
        pieces[int(i)] = found
    return whole, pieces


def reach_key(index: RoadIndex, times: np.ndarray, limit_s: float) -> bytes:
    """A key equal for two node-time fields that reach exactly the same road."""
    fa, fb = reach_fractions(index, times, limit_s)
    whole = (fa >= 1.0) | (fb >= 1.0) | ((fa >= 0) & (fb >= 0) & (fa + fb >= 1.0))
    fa = np.where(whole, 2.0, fa)
    fb = np.where(whole, 2.0, fb)
    return fa.tobytes() + fb.tobytes()
