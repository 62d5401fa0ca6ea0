"""Benchmark: the professional finder's query on 300,000 providers (national scale).

Synthetic providers are generated straight into a frame (the shape of
``mapsvc.core.frames.load_providers_frame``): 60 city centres across Japan with providers
scattered around them, every provider type, ~25 capabilities each with levels drawn
at random (unknown included), and service areas of every kind (type default, own
radius, explicit polygon). With ``--write-store URL`` the same providers are also bulk
inserted into a store through ``mapsvc.core.registry.insert_records`` (for the load test).

The query is the finder's: point coverage + three capability filters
(home_visit_medical:accept, night_response, terminal_care) + ordering with fair ties.
It runs through the in-process index (``mapsvc.finder.search.find_providers``) and, in the same
run on the same data, through a straightforward geopandas scan (capabilities checked
per row with ``Taxonomy.offers``, ``GeoSeries.distance`` for the radius rule,
``contains`` for polygons, then sorting). Both must return the same providers.

Prints figures, then as its LAST line JSON with p50_ms, p95_ms, baseline_p50_ms, speedup.

    python scripts/bench_search.py [--n 300000] [--queries 300] [--baseline-queries 15]
        [--http [--http-only] [--mapped]]   # also POST /pro/api/finder through the Flask app
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mapsvc.core.filters import parse_filters
from mapsvc.core.frames import FRAME_COLUMNS
from mapsvc.core.projection import to_metres
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.finder.index import build_index
from mapsvc.finder.search import find_providers

ROOT = Path(__file__).resolve().parents[1]
QUERY = ["home_visit_medical:accept", "night_response", "terminal_care"]
TYPE_WEIGHTS = {
    "clinic": 0.28, "hospital": 0.03, "dental_clinic": 0.16, "pharmacy": 0.17,
    "home_nursing": 0.05, "care_management": 0.1, "home_help": 0.09, "day_care": 0.07,
    "residential": 0.03, "multi_function": 0.01, "community_support_center": 0.01,
}  # fmt: skip
LEVELS = np.array(["active", "accept", "consult", "no", "unknown"], dtype=object)
LEVEL_P = [0.1, 0.3, 0.2, 0.25, 0.15]


def synthetic_frame(n: int, seed: int, taxonomy: Any) -> pd.DataFrame:
    """``n`` providers in the shape of ``load_providers_frame`` (see module docstring)."""
    rng = np.random.default_rng(seed)
    centres = np.column_stack([rng.uniform(130.5, 141.5, 60), rng.uniform(31.5, 43.0, 60)])
    which = rng.integers(0, len(centres), n)
    scale = rng.choice([0.02, 0.05, 0.12], n, p=[0.5, 0.3, 0.2])
    lon = centres[which, 0] + rng.normal(0, 1, n) * scale
    lat = centres[which, 1] + rng.normal(0, 1, n) * scale * 0.8
    types = rng.choice(
        list(TYPE_WEIGHTS), n, p=np.array(list(TYPE_WEIGHTS.values())) / sum(TYPE_WEIGHTS.values())
    )
    level_caps = {
        t: [k for k, c in taxonomy.capabilities.items() if c.kind == "level" and t in c.applies_to]
        for t in TYPE_WEIGHTS
    }
    levels = rng.choice(LEVELS, (n, 40), p=LEVEL_P)
    caps: list[dict[str, Any]] = []
    for i in range(n):
        keys = level_caps[types[i]]
        caps.append({k: {"level": levels[i, j]} for j, k in enumerate(keys[:40])})
    areas: list[Any] = [None] * n
    kind = rng.random(n)
    for i in np.flatnonzero(kind < 0.02):
        half = float(rng.uniform(0.02, 0.08))
        box = shapely.box(lon[i] - half, lat[i] - half, lon[i] + half, lat[i] + half)
        areas[i] = {"kind": "polygon", "geometry": shapely.geometry.mapping(box)}
    for i in np.flatnonzero((kind >= 0.02) & (kind < 0.12)):
        areas[i] = {"kind": "radius", "km": float(rng.choice([2, 4, 8]))}
    frame = pd.DataFrame({c: None for c in FRAME_COLUMNS}, index=range(n))
    frame["id"] = np.arange(1, n + 1)
    frame["uid"] = [f"b{i:07d}" for i in range(n)]
    frame["source_id"] = frame["uid"]
    frame["source"] = "bench"
    frame["type"] = types
    frame["name"] = [f"合成事業所{i}" for i in range(n)]
    frame["lon"], frame["lat"] = lon, lat
    frame["status"] = np.where(rng.random(n) < 0.02, "closed", "active")
    frame["capabilities"] = caps
    frame["service_area"] = areas
    return frame


def baseline_query(
    gdf: gpd.GeoDataFrame,
    crs: Any,
    lon: float,
    lat: float,
    filters: Any,
    taxonomy: Any,
    defaults: dict[str, Any],
    seed: int,
) -> list[str]:
    """The straightforward way: scan every row with geopandas and Python."""
    x, y = to_metres(crs).transform(lon, lat)
    point = shapely.Point(x, y)
    ok = [
        status == "active"
        and all(f.matches((caps or {}).get(f.key), taxonomy) for f in filters.capabilities)
        for status, caps in zip(gdf["status"], gdf["capabilities"], strict=True)
    ]
    cand = gdf[np.array(ok, dtype=bool)]
    dist = cand.geometry.distance(point)
    radius = np.array(
        [
            (
                a["km"]
                if isinstance(a, dict) and a.get("kind") == "radius"
                else defaults[t]["radius_km"]
            )
            * 1000.0
            for a, t in zip(cand["service_area"], cand["type"], strict=True)
        ]
    )
    covered = (dist.to_numpy() <= radius) & cand["area_m"].isna().to_numpy()
    poly = cand["area_m"].notna().to_numpy()
    if poly.any():
        covered[poly] = (
            gpd.GeoSeries(cand.loc[poly, "area_m"], crs=crs).intersects(point).to_numpy()
        )
    hits = cand[covered].assign(dist=dist[covered])
    shown = np.round(hits["dist"].to_numpy() / 100.0)
    order = np.lexsort((np.random.default_rng(seed).permutation(len(hits)), shown, shown))
    return hits["uid"].to_numpy()[order].tolist()


def write_store(frame: pd.DataFrame, url: str) -> float:
    from mapsvc.core.registry import insert_records
    from mapsvc.core.services import Services

    services = Services.from_config(
        {"DATABASE_URL": url, "INSTANCE_PATH": str(Path(url.removeprefix("sqlite:///")).parent)}
    )
    services.store.upgrade()
    started = time.perf_counter()
    rows = frame.drop(columns=["id", "uid", "source"]).to_dict("records")
    for r in rows:
        r["geocode_status"] = "source"
        r["address"] = f"合成県合成市{r['source_id']}"
    with services.store.session() as session:
        insert_records(session, "bench", rows, actor="bench")
    services.close()
    return time.perf_counter() - started


def http_bench(index: Any, points: list[tuple[float, float]], workdir: Path) -> dict[str, float]:
    """The JSON finder (POST /pro/api/finder) through the whole Flask stack: bearer-token
    check in the store, JSON parsing, the search, result rows and JSON encoding. In-process
    WSGI calls (Flask's test client), so no socket time; the app's index is this one."""
    import mapsvc.web.mapdata as mapdata
    from mapsvc import create_app
    from mapsvc.core.api_tokens import issue_token
    from mapsvc.core.users import add_user

    mapdata.shared_index = lambda *_a, **_k: index  # type: ignore[assignment]
    url = f"sqlite:///{workdir / 'bench-http.db'}"
    app = create_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": "bench", "TESTING": True}
    )
    from mapsvc.web.context import services as app_services

    with app.app_context():
        app_services().store.upgrade()
        with app_services().store.session() as session:
            add_user(session, "bench", "bench-password-1", "professional", actor="bench")
            token = issue_token(session, "bench", actor="bench")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def call(lon: float, lat: float, seed: int) -> int:
        body = {"lon": lon, "lat": lat, "cap": QUERY, "seed": seed}
        response = client.post("/pro/api/finder", json=body, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return int(response.get_json()["numberReturned"])

    for lon, lat in points[:20]:
        call(lon, lat, 1)
    times, cpu, found = [], [], []
    for k, (lon, lat) in enumerate(points):
        t0, c0 = time.perf_counter(), time.process_time()
        found.append(call(lon, lat, k))
        times.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
    p50, p95 = statistics.median(times), percentile(times, 95)
    c50, c95 = statistics.median(cpu), percentile(cpu, 95)
    print(
        f"HTTP JSON finder (in-process WSGI, token auth): {len(times)} queries, p50 {p50:.2f} ms, "
        f"p95 {p95:.2f} ms, max {max(times):.2f} ms; median results {statistics.median(found):.0f}"
    )
    # CPU time of this process per request: on a shared machine, wall time also counts
    # waiting for a core; CPU time is what a quiet machine's wall time approaches
    print(f"  CPU time per request: p50 {c50:.2f} ms, p95 {c95:.2f} ms")
    return {
        "http_p50_ms": round(p50, 3),
        "http_p95_ms": round(p95, 3),
        "http_cpu_p50_ms": round(c50, 3),
        "http_cpu_p95_ms": round(c95, 3),
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--baseline-queries", type=int, default=15)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument(
        "--write-store",
        default="",
        help="also insert the providers into this store URL (sqlite:///...)",
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="also time POST /pro/api/finder through the Flask app (token auth, JSON)",
    )
    parser.add_argument(
        "--http-only", action="store_true", help="with --http: skip the geopandas baseline"
    )
    parser.add_argument(
        "--mapped",
        action="store_true",
        help="with --http: serve from the index written to a folder and mapped back, as "
        "workers do (mapsvc.finder.index_file), instead of the one built in memory",
    )
    args = parser.parse_args()
    taxonomy = load_taxonomy(ROOT / "layers")
    filters = parse_filters(QUERY, None, taxonomy)

    started = time.perf_counter()
    frame = synthetic_frame(args.n, args.seed, taxonomy)
    print(f"generated {len(frame):,} providers in {time.perf_counter() - started:.1f} s")
    if args.write_store:
        seconds = write_store(frame, args.write_store)
        print(
            f"inserted them into {args.write_store} with registry.insert_records in {seconds:.1f} s"
        )

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    index = build_index(frame, taxonomy)
    build_s = time.perf_counter() - started
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"index built in {build_s:.1f} s (peak RSS +{(rss1 - rss0) / 1024:.0f} MB), CRS {index.crs.to_epsg()}"
    )

    rng = np.random.default_rng(args.seed + 1)
    picks = rng.integers(0, len(frame), args.queries)
    points = [
        (float(frame["lon"][i] + rng.normal(0, 0.01)), float(frame["lat"][i] + rng.normal(0, 0.01)))
        for i in picks
    ]

    for lon, lat in points[:20]:  # warm-up
        find_providers(index, lon, lat, filters, seed=1)
    times, found = [], []
    for k, (lon, lat) in enumerate(points):
        t0 = time.perf_counter()
        result = find_providers(index, lon, lat, filters, seed=k)
        times.append((time.perf_counter() - t0) * 1000.0)
        found.append(len(result.matches))
    p50, p95 = statistics.median(times), percentile(times, 95)
    print(
        f"index finder: {len(times)} queries, p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {max(times):.2f} ms; median matches {statistics.median(found):.0f}"
    )

    http: dict[str, float] = {}
    if args.http:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            served = index
            if args.mapped:
                from mapsvc.finder.index_file import read_index, write_index

                folder = write_index(index, Path(tmp) / "providers-bench-1")
                served = read_index(folder, taxonomy)
                print("HTTP mode serves the mapped index (written and read back)")
            http = http_bench(served, points, Path(tmp))
        if args.http_only:
            print(
                json.dumps(
                    {"n": len(frame), "p50_ms": round(p50, 3), "p95_ms": round(p95, 3), **http}
                )
            )
            return

    # the straightforward geopandas scan, same data, same CRS, projected once beforehand
    gdf = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    ).to_crs(index.crs)
    polys = {i: g for i, g in zip(index.poly_pos.tolist(), index.polygons, strict=True)}
    gdf["area_m"] = pd.Series({i: polys[i] for i in polys}, dtype=object).reindex(range(len(gdf)))
    defaults = taxonomy.service_area_defaults()
    base_times = []
    for k, (lon, lat) in enumerate(points[: args.baseline_queries]):
        t0 = time.perf_counter()
        expected = baseline_query(gdf, index.crs, lon, lat, filters, taxonomy, defaults, k)
        base_times.append((time.perf_counter() - t0) * 1000.0)
        got = [m.uid for m in find_providers(index, lon, lat, filters, seed=k).matches]
        assert set(got) == set(expected), (
            f"query {k}: index and scan disagree ({len(got)} vs {len(expected)})"
        )
    base_p50 = statistics.median(base_times)
    print(
        f"geopandas scan: {len(base_times)} queries, p50 {base_p50:.1f} ms (same providers found: yes)"
    )

    # the map's items query for a city-sized bbox at this scale
    from mapsvc.finder.features import select

    lon, lat = points[0]
    half = 0.15
    bbox = (lon - half, lat - half * 0.8, lon + half, lat + half * 0.8)
    t_sel = []
    for _ in range(50):
        t0 = time.perf_counter()
        hits = select(index, parse_filters(None, ["clinic", "hospital"], taxonomy), bbox)
        t_sel.append((time.perf_counter() - t0) * 1000.0)
    print(
        f"bbox selection for a city-sized box ({len(hits):,} clinics and hospitals): p50 {statistics.median(t_sel):.2f} ms"
    )

    speedup = base_p50 / p50 if p50 > 0 else math.inf
    print(f"speedup {speedup:.0f}x (aim: p95 < 20 ms, speedup >= 20)")
    print(
        json.dumps(
            {
                "n": len(frame),
                "p50_ms": round(p50, 3),
                "p95_ms": round(p95, 3),
                "baseline_p50_ms": round(base_p50, 1),
                "speedup": round(speedup, 1),
                **http,
            }
        )
    )


if __name__ == "__main__":
    main()
