"""The road network in the form fast travel-time analysis needs (private to the planner).

:func:`build_road_index` turns an osmnx ``MultiDiGraph`` (EPSG:4326, edges with
``travel_time`` seconds, optional ``geometry``) into a :class:`RoadIndex`:

* node coordinates in projected metres (JGD2011 UTM zone of the network) and a KD-tree;
* a CSR matrix of travel seconds (the fastest of parallel edges), built once per network,
  for :func:`scipy.sparse.csgraph.dijkstra` with ``limit`` and many sources per call;
* the road *segments*: one geometry per road piece, with the travel time in each
  direction (a two-way road is one segment with both times, a one-way road has one).

The reversed matrix and an STRtree of the segments (for searches *towards* a place, see
:mod:`mapsvc.geo.area_check`) are built on first use and kept with the index, so once per
network signature (:func:`cached_road_index`).

:func:`reached_parts` cuts the segments to what a node-time field reaches within a
limit (pro rata along partly reached segments). These parts, buffered by the access
distance, are the travel-time service area (see :mod:`mapsvc.geo.service_areas`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.ops import substring

from mapsvc.core.projection import to_metres, utm_crs_for_extent

_MIN_SECONDS = 1e-6  # csgraph: keep every edge strictly positive


@dataclass(eq=False)
class RoadIndex:
    """A road network ready for vectorised travel-time work (all lengths in metres)."""

    signature: str
    crs: CRS
    node_ids: np.ndarray  # original graph node ids, position = node index
    xy: np.ndarray  # (n, 2) projected metres
    matrix: csr_matrix  # travel seconds, row = from, column = to
    kdtree: cKDTree
    seg_geom: np.ndarray  # LineStrings in metres
    seg_len: np.ndarray
    seg_a: np.ndarray  # start node index
    seg_b: np.ndarray  # end node index
    seg_fwd_s: np.ndarray  # seconds a -> b (nan: not drivable that way)
    seg_bwd_s: np.ndarray  # seconds b -> a (nan: not drivable that way)

    @property
    def n_nodes(self) -> int:
        return int(self.xy.shape[0])

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index and its distance (m) for each row of ``xy``."""
        dist, idx = self.kdtree.query(np.asarray(xy, dtype=float).reshape(-1, 2))
        return idx.astype(np.int64), dist

    def node_times(self, sources: np.ndarray, limit_s: float) -> np.ndarray:
        """Fastest travel seconds from any of ``sources`` to every node; inf beyond the limit."""
        sources = np.unique(np.asarray(sources, dtype=np.int64))
        if sources.size == 0:
            return np.full(self.n_nodes, np.inf)
        return np.asarray(
            dijkstra(self.matrix, directed=True, indices=sources, limit=limit_s, min_only=True)
        )

    def node_times_each(self, sources: np.ndarray, limit_s: float) -> np.ndarray:
        """Travel seconds from each source separately: shape (len(sources), n_nodes)."""
        sources = np.asarray(sources, dtype=np.int64)
        if sources.size == 0:
            return np.empty((0, self.n_nodes))
        return np.atleast_2d(dijkstra(self.matrix, directed=True, indices=sources, limit=limit_s))

    @cached_property
    def segment_tree(self) -> shapely.STRtree:
        """STRtree over :attr:`seg_geom` (built on first use)."""
        return shapely.STRtree(self.seg_geom)

    @cached_property
    def reversed_matrix(self) -> csr_matrix:
        """:attr:`matrix` transposed (row = to, column = from), built on first use."""
        return self.matrix.T.tocsr()

    def times_to(self, targets: np.ndarray, offsets: np.ndarray, limit_s: float) -> np.ndarray:
        """Fastest seconds from every node to any target plus that target's offset.

        One backward Dijkstra on :attr:`reversed_matrix` from an extra node joined to
        each target by its offset; the extra node's row is appended to the CSR arrays, so
        no matrix is rebuilt per call. Targets must be distinct; inf beyond ``limit_s``.
        """
        n = self.n_nodes
        targets = np.asarray(targets)
        if targets.size == 0:
            return np.full(n, np.inf)
        rev = self.reversed_matrix
        graph = csr_matrix(
            (
                np.concatenate([rev.data, np.maximum(np.asarray(offsets, dtype=float), 1e-9)]),
                np.concatenate([rev.indices, targets.astype(rev.indices.dtype)]),
                np.append(rev.indptr, rev.nnz + targets.size).astype(rev.indptr.dtype),
            ),
            shape=(n + 1, n + 1),
        )
        return np.asarray(dijkstra(graph, directed=True, indices=n, limit=limit_s)[:n])


def _project_graph_coords(
    G: nx.MultiDiGraph,
) -> tuple[CRS, np.ndarray, np.ndarray, dict[Any, int]]:
    node_ids = np.array(list(G.nodes), dtype=object)
    lonlat = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in node_ids], dtype=float)
    if lonlat.size == 0:
        raise ValueError("the road network has no nodes")
    crs = utm_crs_for_extent(lonlat[:, 0])
    x, y = to_metres(crs).transform(lonlat[:, 0], lonlat[:, 1])
    position = {n: i for i, n in enumerate(node_ids)}
    return crs, node_ids, np.column_stack([x, y]), position


def build_road_index(G: nx.MultiDiGraph, signature: str) -> RoadIndex:
    """Build the :class:`RoadIndex` of a graph (nodes with x/y in degrees, edges with travel_time).

    Parameters
    ----------
    G
        osmnx-style graph in EPSG:4326; every edge needs ``travel_time`` (seconds); an
        edge without ``geometry`` is the straight line between its nodes.
    signature
        Identity of the network (``RoadNetwork.signature``), carried for cache keys.

    Raises
    ------
    ValueError
        The graph has no nodes, or an edge has no usable ``travel_time``.
    """
    crs, node_ids, xy, position = _project_graph_coords(G)
    transformer = to_metres(crs)
    rows: list[int] = []
    cols: list[int] = []
    secs: list[float] = []
    geoms: list[Any] = []
    pieces: dict[tuple[int, int, Any], int] = {}  # (a, b, key) of a forward piece -> segment
    seg_a: list[int] = []
    seg_b: list[int] = []
    fwd: list[float] = []
    bwd: list[float] = []
    lengths: list[float] = []  # the edge's own `length` attribute, to pair directions
    for u, v, k, data in G.edges(keys=True, data=True):
        t = data.get("travel_time")
        try:
            t = float(t)
        except (TypeError, ValueError):
            raise ValueError(f"edge {u}->{v} has no travel_time") from None
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"edge {u}->{v} has travel_time {t!r}")
        t = max(t, _MIN_SECONDS)
        iu, iv = position[u], position[v]
        rows.append(iu)
        cols.append(iv)
        secs.append(t)
        partner = pieces.get((iv, iu, k))
        if (
            partner is not None
            and np.isnan(bwd[partner])
            and abs(float(data.get("length", 0.0)) - lengths[partner]) < 1.0
        ):
            bwd[partner] = t  # the reverse direction of a two-way road: same segment
            continue
        geom = data.get("geometry")
        if geom is None:
            line = shapely.LineString([xy[iu], xy[iv]])
        else:
            coords = np.asarray(shapely.get_coordinates(geom))
            px, py = transformer.transform(coords[:, 0], coords[:, 1])
            line = shapely.LineString(np.column_stack([px, py]))
        pieces[(iu, iv, k)] = len(geoms)
        lengths.append(float(data.get("length", 0.0)))
        geoms.append(line)
        seg_a.append(iu)
        seg_b.append(iv)
        fwd.append(t)
        bwd.append(np.nan)
    n = len(node_ids)
    matrix = _min_csr(np.array(rows), np.array(cols), np.array(secs), n)
    seg_geom = np.array(geoms, dtype=object)
    return RoadIndex(
        signature=signature,
        crs=crs,
        node_ids=node_ids,
        xy=xy,
        matrix=matrix,
        kdtree=cKDTree(xy),
        seg_geom=seg_geom,
        seg_len=shapely.length(seg_geom) if len(geoms) else np.zeros(0),
        seg_a=np.array(seg_a, dtype=np.int64),
        seg_b=np.array(seg_b, dtype=np.int64),
        seg_fwd_s=np.array(fwd, dtype=float),
        seg_bwd_s=np.array(bwd, dtype=float),
    )


def _min_csr(rows: np.ndarray, cols: np.ndarray, secs: np.ndarray, n: int) -> csr_matrix:
    """CSR of the fastest edge per (row, col): parallel edges must not be summed."""
    if rows.size == 0:
        return csr_matrix((n, n))
    order = np.lexsort((secs, cols, rows))
    rows, cols, secs = rows[order], cols[order], secs[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return csr_matrix((secs[first], (rows[first], cols[first])), shape=(n, n))


def reach_fractions(
    index: RoadIndex, times: np.ndarray, limit_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Share of each segment reached from its start and from its end (-1 = not at all)."""
    ta = times[index.seg_a]
    tb = times[index.seg_b]
    with np.errstate(invalid="ignore", divide="ignore"):
        fa = np.where(
            (ta <= limit_s) & ~np.isnan(index.seg_fwd_s),
            np.clip((limit_s - ta) / index.seg_fwd_s, 0.0, 1.0),
            -1.0,
        )
        fb = np.where(
            (tb <= limit_s) & ~np.isnan(index.seg_bwd_s),
            np.clip((limit_s - tb) / index.seg_bwd_s, 0.0, 1.0),
            -1.0,
        )
    return fa, fb


def reached_parts(index: RoadIndex, times: np.ndarray, limit_s: float) -> np.ndarray:
    """Geometries (metres) of the road parts reached within ``limit_s``.

    A segment reached from its start node at time ``t`` is reached up to the share
    ``(limit - t) / segment_time`` of its length (likewise from its end on two-way
    roads); a node reached exactly at the limit contributes a point. Node times must
    already be the fastest over all sources (``RoadIndex.node_times``).
    """
    fa, fb = reach_fractions(index, times, limit_s)
    whole = (fa >= 1.0) | (fb >= 1.0) | ((fa >= 0) & (fb >= 0) & (fa + fb >= 1.0))
    parts: list[Any] = list(index.seg_geom[whole])
    for i in np.flatnonzero(~whole & ((fa >= 0) | (fb >= 0))):
        line = index.seg_geom[i]
        length = index.seg_len[i]
        if fa[i] >= 0:
            parts.append(_piece(line, 0.0, fa[i] * length))
        if fb[i] >= 0:
            parts.append(_piece(line, length - fb[i] * length, length))
    return np.array(parts, dtype=object)


def _piece(line: Any, start: float, end: float) -> Any:
    if end - start <= 1e-9:
        return shapely.line_interpolate_point(line, start)
    return substring(line, start, end)


_INDEX_CACHE: dict[str, RoadIndex] = {}
_INDEX_LOCK = threading.Lock()


def cached_road_index(G: nx.MultiDiGraph, signature: str) -> RoadIndex:
    """:func:`build_road_index`, kept per signature in this process (a few networks)."""
    with _INDEX_LOCK:
        found = _INDEX_CACHE.get(signature)
    if found is not None:
        return found
    index = build_road_index(G, signature)
    with _INDEX_LOCK:
        if len(_INDEX_CACHE) >= 4:
            _INDEX_CACHE.pop(next(iter(_INDEX_CACHE)))
        _INDEX_CACHE[signature] = index
    return index
