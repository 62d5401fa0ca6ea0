"""Benchmark: every provider's service area on the demo city (`mapsvc service-areas`).

Loads the demo into a fresh SQLite store (or uses ``--instance``), then in the same run:

* ``areas_s`` — :func:`mapsvc.geo.service_area_cache.provider_areas` for all providers
  (rules, Dijkstra, polygons from the pre-united quadtree, GeoJSON, cache written), cache
  emptied before each repeat; the AreaTree build is inside the first repeat and reported
  apart as ``tree_s``;
* ``baseline_per_area_s`` — the previous method (one buffered disc per reached road part,
  united per provider) on a sample of ``--sample`` travel-time providers, and
  ``baseline_all_s`` = that per-area time × the number of travel-time providers;
* the sample's polygons of both methods are asserted equal (symmetric difference < 0.1 %).

Wall time (``perf_counter``) and this process's CPU time (``process_time``) are both
reported: on a shared machine the CPU time is the fairer figure. The target is 798 areas
in <= 30 s. The LAST line printed is JSON.

    python scripts/bench_service_areas.py [--repeat 3] [--sample 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import delete

from mapsvc.core.models import ServiceAreaCache
from mapsvc.core.services import Services
from mapsvc.demo import load_demo
from mapsvc.geo import _area_tree
from mapsvc.geo._road_index import reached_parts
from mapsvc.geo.area_sets import provider_area_geometries
from mapsvc.geo.service_area_cache import provider_areas
from mapsvc.geo.service_areas import on_network, resolve_rules
from mapsvc.planner.inputs import context_for, providers_for


def _timed(fn: object) -> tuple[float, float, object]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - w, time.process_time() - c, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=6)
    parser.add_argument(
        "--instance", help="Use this instance (demo loaded) instead of a fresh one."
    )
    args = parser.parse_args()
    tmp = None
    if args.instance:
        instance = args.instance
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mapsvc-bench-areas-")
        instance = str(Path(tmp.name) / "instance")
    services = Services.from_config({"INSTANCE_PATH": instance, "SECRET_KEY": "bench"})
    if not args.instance:
        load_demo(services)
    with services.store.session() as session:
        providers = providers_for(session)
        ctx = context_for(services, session, lons=providers["lon"])
    assert ctx.road is not None, "the demo has a road network"
    walls, cpus, counts = [], [], []
    tree_s = 0.0
    for run in range(args.repeat):
        _area_tree._TREES.clear()
        if run == 0:
            tree_s, _, _ = _timed(lambda: _area_tree.cached_area_tree(ctx.road, ctx.access_m))
            _area_tree._TREES.clear()
        with services.store.session() as session:
            session.execute(delete(ServiceAreaCache))
        wall, cpu, out = _timed(lambda: provider_areas(services.store, providers, ctx))
        areas, problems = out  # type: ignore[misc]
        walls.append(wall)
        cpus.append(cpu)
        counts.append(len(areas))
        print(f"run {run + 1}: {len(areas)} areas in {wall:.1f} s wall, {cpu:.1f} s CPU")
    rules, _ = resolve_rules(providers, ctx)
    travel = [r for r in rules if r.kind == "travel_time" and on_network(r, ctx)]
    rng = np.random.default_rng(11)
    sample = [travel[i] for i in rng.choice(len(travel), args.sample, replace=False)]
    fast = provider_area_geometries(sample, ctx)
    base_walls = []
    for r in sample:
        assert r.minutes is not None and r.node is not None

        def old(rule=r) -> object:
            limit = float(rule.minutes or 0) * 60.0
            times = ctx.road.node_times_each(np.array([rule.node]), limit)[0]  # type: ignore[union-attr]
            parts = reached_parts(ctx.road, times, limit)  # type: ignore[arg-type]
            return shapely.union_all(shapely.buffer(parts, ctx.access_m, quad_segs=8))

        wall, _, geom = _timed(old)
        base_walls.append(wall)
        diff = geom.symmetric_difference(fast[r.provider_id]).area  # type: ignore[attr-defined]
        assert diff < 1e-3 * geom.area, (r.uid, diff)  # type: ignore[attr-defined]
    per_area = statistics.median(base_walls)
    result = {
        "areas": counts[0],
        "travel_time_areas": len(travel),
        "areas_s": round(statistics.median(walls), 2),
        "areas_cpu_s": round(statistics.median(cpus), 2),
        "tree_s": round(tree_s, 2),
        "baseline_per_area_s": round(per_area, 3),
        "baseline_all_s": round(per_area * len(travel), 1),
        "speedup": round(per_area * len(travel) / statistics.median(walls), 1),
        "target_s": 30,
    }
    print(json.dumps(result))
    services.close()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
