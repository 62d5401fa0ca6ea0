"""Travel times *to* one point on the road network: the finder's question.

"Which providers can reach this patient within their time limit?" is one Dijkstra run
from the patient's nearest network node on the **reversed** graph, bounded by the
largest limit any candidate needs; each provider's travel time is then a look-up at its
own nearest node. That is one graph search per request, however many providers there are.

The rule (also usable by the planner for point checks):

* a place (patient or provider) starts or ends at its nearest network node; a place
  farther than ``snap_m`` metres from every node is *off the network* and gets no travel
  time (the finder then falls back to the straight-line rule and says so);
* the travel time from provider P to point Q is the fastest drive (edge ``travel_time``
  seconds, the fastest of parallel edges, one-way streets honoured) from P's node to Q's.

:class:`RoadGraph` holds the network in the form this needs (node coordinates in
projected metres with a KD-tree, the reversed CSR matrix); :func:`cached_road_graph`
keeps one per network signature in the process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from pyproj import CRS
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from .projection import to_metres, utm_crs_for_extent

_MIN_SECONDS = 1e-6  # csgraph treats 0 as "no edge": keep every edge strictly positive


@dataclass(eq=False)
class RoadGraph:
    """A road network ready for point travel-time queries (lengths in metres)."""

    signature: str
    crs: CRS
    xy: np.ndarray  # (n, 2) node coordinates, projected metres
    kdtree: cKDTree
    reverse: csr_matrix  # travel seconds, row = to, column = from
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.xy.shape[0])

    def snap_lonlat(self, lons: Any, lats: Any) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index and its straight-line distance (m) for lon/lat points."""
        transformer = getattr(self._local, "to_metres", None)
        if transformer is None:  # building one takes milliseconds: one per thread
            transformer = self._local.to_metres = to_metres(self.crs)
        x, y = transformer.transform(np.asarray(lons, float), np.asarray(lats, float))
        return self.snap(np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]))

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index and its distance (m) for points in this graph's CRS."""
        dist, idx = self.kdtree.query(np.asarray(xy, dtype=float).reshape(-1, 2))
        return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)

    def times_to(self, node: int, limit_s: float) -> np.ndarray:
        """Seconds from every node to ``node``; ``inf`` beyond ``limit_s`` or unreachable.

        Parameters
        ----------
        node
            Target node index (from :meth:`snap`).
        limit_s
            Stop the search at this many seconds (the largest limit a caller needs).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_nodes,)``.
        """
        if limit_s <= 0:
            out = np.full(self.n_nodes, np.inf)
            out[node] = 0.0
            return out
        return np.asarray(
            dijkstra(self.reverse, directed=True, indices=int(node), limit=float(limit_s))
        )


def build_road_graph(G: nx.MultiDiGraph, signature: str) -> RoadGraph:
    """Build a :class:`RoadGraph` from an osmnx-style graph.

    Parameters
    ----------
    G
        Nodes with ``x``/``y`` in degrees (EPSG:4326); every edge with ``travel_time``
        in seconds (as :func:`mapsvc.network.load_active_network` gives).
    signature
        The network's identity (``RoadNetwork.signature``), for cache keys.

    Raises
    ------
    ValueError
        The graph has no nodes, or an edge has no usable ``travel_time``.
    """
    node_ids = list(G.nodes)
    if not node_ids:
        raise ValueError("the road network has no nodes")
    position = {n: i for i, n in enumerate(node_ids)}
    lonlat = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in node_ids], dtype=float)
    crs = utm_crs_for_extent(lonlat[:, 0])
    x, y = to_metres(crs).transform(lonlat[:, 0], lonlat[:, 1])
    xy = np.column_stack([x, y])
    rows, cols, secs = [], [], []
    for u, v, data in G.edges(data=True):
        try:
            t = float(data.get("travel_time"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"edge {u}->{v} has no travel_time") from None
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"edge {u}->{v} has travel_time {t!r}")
        if u == v:
            continue
        rows.append(position[v])  # reversed: row = to, column = from
        cols.append(position[u])
        secs.append(max(t, _MIN_SECONDS))
    n = len(node_ids)
    reverse = _min_csr(
        np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(secs), n
    )
    return RoadGraph(signature, crs, xy, cKDTree(xy), reverse)


def _min_csr(rows: np.ndarray, cols: np.ndarray, secs: np.ndarray, n: int) -> csr_matrix:
    """CSR matrix keeping the fastest of parallel edges (coo would add them up)."""
    if rows.size == 0:
        return csr_matrix((n, n))
    order = np.lexsort((secs, cols, rows))
    rows, cols, secs = rows[order], cols[order], secs[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return coo_matrix((secs[first], (rows[first], cols[first])), shape=(n, n)).tocsr()


_CACHE: dict[str, RoadGraph] = {}
_LOCK = threading.Lock()


def cached_road_graph(G: nx.MultiDiGraph, signature: str) -> RoadGraph:
    """One :class:`RoadGraph` per network signature in this process (at most 4 kept)."""
    with _LOCK:
        hit = _CACHE.get(signature)
    if hit is not None:
        return hit
    graph = build_road_graph(G, signature)
    with _LOCK:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[signature] = graph
    return graph
