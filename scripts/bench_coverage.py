"""Benchmark: travel-time service areas for 1,000 providers and coverage of 200,000 cells.

Builds a synthetic road graph (a jittered street grid of >= 100,000 nodes with random
speeds, some missing blocks and one-way streets, in EPSG:4326 around Takamatsu), then in
the same run:

* ``areas_s`` — mapsvc's method (:mod:`mapsvc.geo._road_index`: CSR matrix built once,
  ``scipy.sparse.csgraph.dijkstra`` with ``limit``, 32 sources per call) computing each
  provider's reachable road network (node times within the limit);
* ``baseline_areas_s`` — the same with ``networkx.single_source_dijkstra_path_length``
  (``cutoff``) per provider on the same graph;
* the reachable node sets of both are asserted equal for a sample of providers (and the
  times equal to 1e-6 s), so the speed-up compares equal work;
* ``polygons_s`` — building the road-following polygons of a sample of providers
  (reported, not part of the ratio: the polygon step is the same code for both);
* ``coverage_s`` — population coverage of >= 200,000 mesh-cell points by the union of
  all providers' areas at ``--coverage-minutes`` (default 2, so that coverage is partial):
  multi-source Dijkstra, reached road parts, nearest-part query.

Each timing is the median of ``--repeat`` runs (the baseline runs once: it is slow).
The LAST line printed is JSON with ``areas_s``, ``baseline_areas_s``, ``speedup``,
``coverage_s`` (and more). Usage: ``python scripts/bench_coverage.py [--side 320]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import networkx as nx
import numpy as np
from pyproj import Transformer

from mapsvc.geo._road_index import build_road_index, reached_parts
from mapsvc.geo.area_sets import AreaSet, build_area_set
from mapsvc.geo.service_areas import AreaRule, area_context

SPACING_M = 120.0


def synthetic_graph(side: int, seed: int) -> nx.MultiDiGraph:
    """A ``side`` x ``side`` street grid, jittered, 5% blocks missing, 10% one-way."""
    rng = np.random.default_rng(seed)
    to_deg = Transformer.from_crs("EPSG:6690", "EPSG:4326", always_xy=True)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = 400_000 + jj.ravel() * SPACING_M + rng.normal(0, 15, side * side)
    y = 3_780_000 + ii.ravel() * SPACING_M + rng.normal(0, 15, side * side)
    lon, lat = to_deg.transform(x, y)
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_nodes_from((int(n), {"x": float(lon[n]), "y": float(lat[n])}) for n in range(side * side))
    ids = np.arange(side * side).reshape(side, side)
    pairs = np.vstack(
        [
            np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()]),
            np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()]),
        ]
    )
    pairs = pairs[rng.random(len(pairs)) > 0.05]
    length = np.hypot(x[pairs[:, 0]] - x[pairs[:, 1]], y[pairs[:, 0]] - y[pairs[:, 1]])
    speed = rng.choice([20.0, 30.0, 40.0, 50.0], size=len(pairs), p=[0.5, 0.25, 0.15, 0.1])
    seconds = length / (speed / 3.6)
    one_way = rng.random(len(pairs)) < 0.10
    edges = []
    for (u, v), m, s, ow in zip(pairs.tolist(), length, seconds, one_way, strict=True):
        data = {"length": float(m), "travel_time": float(s), "highway": "residential"}
        edges.append((u, v, 0, data))
        if not ow:
            edges.append((v, u, 0, dict(data)))
    G.add_edges_from(edges)
    largest = max(nx.weakly_connected_components(G), key=len)
    return G.subgraph(largest).copy()


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--side", type=int, default=320, help="grid side (side² nodes; 320 → 102,400)"
    )
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--cells", type=int, default=200_000)
    parser.add_argument(
        "--coverage-minutes",
        type=float,
        default=2.0,
        help="limit of the coverage run (shorter than --minutes so that coverage is partial)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260401)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    start = time.perf_counter()
    G = synthetic_graph(args.side, args.seed)
    print(f"graph: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges "
          f"({time.perf_counter() - start:.1f} s to build)")  # fmt: skip
    if G.number_of_nodes() < 100_000 and args.side >= 320:
        print("graph smaller than 100,000 nodes", file=sys.stderr)
        return 1
    index_s, road = median_time(lambda: build_road_index(G, "bench"), 1)
    print(f"road index (CSR, segments, KD-tree) built once: {index_s:.2f} s")
    limit = args.minutes * 60.0
    sources = rng.choice(road.n_nodes, size=args.providers, replace=False)

    def project_areas() -> list[np.ndarray]:
        reach = []
        for start in range(0, len(sources), 32):
            times = road.node_times_each(sources[start : start + 32], limit)
            reach.extend(np.flatnonzero(row <= limit) for row in times)
        return reach

    areas_s, reach = median_time(project_areas, args.repeat)
    sizes = [len(r) for r in reach]
    print(f"mapsvc areas: {args.providers} providers, {args.minutes:g} min, "
          f"median reach {int(np.median(sizes)):,} nodes: {areas_s:.2f} s")  # fmt: skip

    node_ids = road.node_ids

    def baseline() -> list[dict]:
        return [
            nx.single_source_dijkstra_path_length(
                G, node_ids[s], cutoff=limit, weight="travel_time"
            )
            for s in sources
        ]

    baseline_s, base = median_time(baseline, 1)
    print(f"networkx baseline (per source, cutoff): {baseline_s:.2f} s")
    position = {n: i for i, n in enumerate(node_ids)}
    sample = rng.choice(len(sources), size=min(50, len(sources)), replace=False)
    for k in sample:
        ours = set(reach[k].tolist())
        theirs = {position[n] for n in base[k]}
        assert ours == theirs, f"reachable sets differ for provider {k}"
        times = road.node_times_each(sources[k : k + 1], limit)[0]
        assert all(abs(times[position[n]] - t) < 1e-6 for n, t in base[k].items())
    print(f"reachable sets equal for {len(sample)} sampled providers")

    ctx = area_context(road.crs, road, {}, access_m=300.0)
    poly_sample = sources[:20]

    def polygons() -> int:
        for s in poly_sample:
            times = road.node_times_each(np.array([s]), limit)[0]
            AreaSet(ctx.crs, ctx.access_m, reached_parts(road, times, limit),
                    np.empty((0, 2)), np.empty(0), np.empty(0, dtype=object)).geometry()  # fmt: skip
        return len(poly_sample)

    polygons_s, _ = median_time(polygons, 1)
    print(f"road-following polygons: {polygons_s / len(poly_sample) * 1000:.0f} ms per provider")

    lo, hi = road.xy.min(axis=0), road.xy.max(axis=0)
    cells = rng.uniform(lo, hi, size=(args.cells, 2))
    rules = [
        AreaRule(
            i,
            f"p{i}",
            "",
            "clinic",
            *road.xy[s],
            kind="travel_time",
            source="bench",
            minutes=args.coverage_minutes,
            node=int(s),
            snap_m=0.0,
        )  # fmt: skip
        for i, s in enumerate(sources)
    ]

    def coverage() -> int:
        return int(build_area_set(rules, ctx).contains(cells).sum())

    coverage_s, covered = median_time(coverage, args.repeat)
    print(f"coverage of {args.cells:,} cells by the union of {args.providers} "
          f"{args.coverage_minutes:g}-min areas: "
          f"{coverage_s:.2f} s ({covered:,} covered)")  # fmt: skip
    result = {
        "nodes": road.n_nodes,
        "providers": args.providers,
        "minutes": args.minutes,
        "cells": args.cells,
        "coverage_minutes": args.coverage_minutes,
        "covered_cells": covered,
        "areas_s": round(areas_s, 3),
        "baseline_areas_s": round(baseline_s, 3),
        "speedup": round(baseline_s / areas_s, 1),
        "polygon_ms_per_provider": round(polygons_s / len(poly_sample) * 1000, 1),
        "coverage_s": round(coverage_s, 3),
        "index_s": round(index_s, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
