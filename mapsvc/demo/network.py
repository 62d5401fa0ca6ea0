"""The demo city's drivable road network, as an osmnx-compatible MultiDiGraph.

A perturbed grid (about 240 m blocks) covers the city: two trunk roads cross at the
centre, primary and secondary arterials every few blocks, tertiary roads between them,
residential streets elsewhere (unclassified on the outskirts, living streets in the
core). Some outer streets are missing (fields, rivers), and core streets alternate as
one-way pairs. Only the largest strongly connected part is kept, so every node can reach
every other. Ids are negative, as OSM editors number objects that were never uploaded.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from mapsvc.demo.geography import CITY_LABEL, RADIUS_M, Geography

BLOCK_M = 240.0
_NAMES = {
    "trunk": ("国道架空1号", "国道架空2号"),
    "primary": ("県道デモ環状線",),
    "secondary": ("デモ中央通り", "デモ駅前通り", "けやき通り", "さくら通り", "市役所通り"),
}


def _line_class(k: int) -> str:
    if k == 0:
        return "trunk"
    if abs(k) == 12:
        return "primary"
    if k % 6 == 0:
        return "secondary"
    if k % 3 == 0:
        return "tertiary"
    return "residential"


_RANK = {"trunk": 5, "primary": 4, "secondary": 3, "tertiary": 2, "residential": 1}


def build_network(rng: np.random.Generator, geo: Geography) -> nx.MultiDiGraph:
    """Build the road graph (EPSG:4326 node x/y; edges with length, highway, oneway, …)."""
    from shapely.geometry import Point

    area = geo.boundary.buffer(200)
    minx, miny, maxx, maxy = area.bounds
    cx, cy = geo.centre.x, geo.centre.y
    ni = int(math.ceil((maxx - minx) / BLOCK_M)) + 1
    nj = int(math.ceil((maxy - miny) / BLOCK_M)) + 1
    ic = int(round((cx - minx) / BLOCK_M))
    jc = int(round((cy - miny) / BLOCK_M))
    noise = rng.normal(0.0, 28.0, size=(ni, nj, 2))
    pos: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(ni):
        for j in range(nj):
            x = minx + i * BLOCK_M + noise[i, j, 0]
            y = miny + j * BLOCK_M + noise[i, j, 1]
            if area.contains(Point(x, y)):
                pos[(i, j)] = (x, y)

    G = nx.MultiDiGraph(
        crs="epsg:4326",
        created_with="mapsvc demo generator",
        name=CITY_LABEL,
        synthetic="true",
        simplified="True",
    )
    node_id = {key: -(n + 1) for n, key in enumerate(sorted(pos))}
    for key, (x, y) in sorted(pos.items()):
        lon, lat = geo.lonlat(x, y)
        G.add_node(node_id[key], x=lon, y=lat)

    way = 0
    drop = rng.random((ni, nj, 2))
    for (i, j), (x, y) in sorted(pos.items()):
        for dim, (di, dj) in enumerate(((1, 0), (0, 1))):
            other = (i + di, j + dj)
            if other not in pos:
                continue
            # a horizontal segment lies on row j, a vertical one on column i
            cls = _line_class(j - jc) if dim == 0 else _line_class(i - ic)
            mx, my = (x + pos[other][0]) / 2, (y + pos[other][1]) / 2
            r = math.hypot(mx - cx, my - cy) / RADIUS_M
            if cls == "residential":
                if drop[i, j, dim] < 0.04 + 0.3 * max(0.0, r - 0.45):
                    continue  # fields, a river, a dead end
                if r > 0.75:
                    cls = "unclassified"
                elif r < 0.09 and drop[i, j, dim] > 0.6:
                    cls = "living_street"
            length = round(math.hypot(pos[other][0] - x, pos[other][1] - y), 3)
            attrs: dict[str, object] = {"highway": cls, "length": length}
            names = _NAMES.get(cls)
            if names:
                line = (j - jc) if dim == 0 else (i - ic)
                attrs["name"] = names[abs(line) % len(names)]
            if cls == "trunk":
                attrs["maxspeed"] = "50"
                attrs["lanes"] = "4"
            one_way = None
            if cls == "residential" and dim == 0 and r < 0.25 and (j - jc) % 2:
                one_way = 1 if ((j - jc) // 2) % 2 == 0 else -1
            way += 1
            u, v = node_id[(i, j)], node_id[other]
            if one_way == -1:
                u, v = v, u
            G.add_edge(u, v, osmid=-way, oneway=one_way is not None, reversed=False, **attrs)
            if one_way is None:
                G.add_edge(v, u, osmid=-way, oneway=False, reversed=True, **attrs)
    keep = max(nx.strongly_connected_components(G), key=len)
    G.remove_nodes_from([n for n in list(G.nodes) if n not in keep])
    undirected = G.to_undirected(as_view=True)
    for n in G.nodes:
        G.nodes[n]["street_count"] = len(set(undirected.neighbors(n)))
    return G
