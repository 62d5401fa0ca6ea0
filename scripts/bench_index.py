"""Benchmark: one provider index shared by every worker (issue 13, item 1).

Generates ``--n`` synthetic providers (``bench_search.synthetic_frame``), builds the index
once in this process and writes it as a folder of plain arrays
(:func:`mapsvc.finder.index_file.write_index`), then starts fresh worker processes:

* ``--workers`` "mapped" workers, at the same time: each maps the folder
  (:func:`~mapsvc.finder.index_file.read_index`: what a worker does on its first request
  after a change, once one process has written the new generation), derives the public
  view (``view_for("public")``, which every public request uses; counted in "ready")
  and answers the same queries (bbox selections and finder queries);
* one "in-memory" worker, the baseline measured in the same run: it builds its own index
  from the same frame, as every worker did before (without even reading the store, which
  took another 25-35 s at 300,000).

Each worker reports its RSS and PSS (``/proc/self/smaps_rollup``: shared pages split among
the processes mapping them) after answering. The answers of every worker are compared with
the index built here, and the bbox selections with a plain numpy scan of the coordinates.
Goals at 300,000: RSS per mapped worker ≤ 400 MB, mapping ≤ 2 s.

Then (``--change-runs``, default 3) the first request after a change, through a store: the
same providers are inserted into a fresh SQLite store and a worker builds the shared
folder (in full: no previous one). Then, ``--change-runs`` times each and alternating, a
fresh worker maps the current folder, changes one provider through the registry (as an
edit or a review does) and times its first request after the change: noticing the new
generation, building its folder (``file_index``, as ``shared_index`` does when it waits
for the build), and answering a bbox query and a look-up by id that show the new name.
"full" is the baseline: the whole store read again (``index_delta.MAX_SHARE = 0``, what
every change did before); "incremental" builds from the previous folder and the changed
row; "added" inserts a new provider instead (every position after it moves). Goal: ≤ 2 s at 300,000. Last line: JSON.

    python scripts/bench_index.py [--n 300000] [--workers 2] [--queries 200]
        [--change-runs 3] [--change-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
RSS_GOAL_MB, MAP_GOAL_S, CHANGE_GOAL_S = 400.0, 2.0, 2.0

WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1] + "/scripts")
args = json.loads(sys.argv[2])
import numpy as np
import mapsvc.web.api  # what a gunicorn worker has imported (Flask, the finder, geo)
from mapsvc.core.taxonomy import load_taxonomy
from bench_index import answers, memory

taxonomy = load_taxonomy(sys.argv[1] + "/layers")
started = time.perf_counter()
if args["mode"] == "mapped":
    from mapsvc.finder.index_file import read_index
    index = read_index(__import__("pathlib").Path(args["folder"]), taxonomy)
else:
    from bench_search import synthetic_frame
    from mapsvc.finder.index import build_index
    index = build_index(synthetic_frame(args["n"], args["seed"], taxonomy), taxonomy)
index.view_for("public")  # a worker's first request also derives the public view
ready_s = time.perf_counter() - started
digest, query_s = answers(index, taxonomy, args["queries"], args["seed"])
print(json.dumps({"mode": args["mode"], "ready_s": ready_s, "query_s": query_s,
                  "digest": digest, **memory()}))
"""


CHANGE_WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1] + "/scripts")
args = json.loads(sys.argv[2])
import mapsvc.web.api  # what a gunicorn worker has imported
from mapsvc.core.registry import Change, apply_changes, diff, existing_by_uid
from mapsvc.core.services import Services
from mapsvc.finder import index_delta
from mapsvc.finder.index_file import file_index
from bench_index import memory

services = Services.from_config(args["config"])
started = time.perf_counter()
file_index(services)  # the current generation (built in full when there is none yet)
ready_s = time.perf_counter() - started
if args["mode"] == "full":
    index_delta.MAX_SHARE = 0.0  # the baseline: every change reads the whole store again
uid, name = args["uid"], args["name"]
with services.store.session() as session:
    current = existing_by_uid(session, [uid])[uid]
    if args["mode"] == "added":  # a new provider next to it (every position after it moves)
        from mapsvc.core.registry import insert_records, provider_uid
        new = {k: current[k] for k in ("type", "lon", "lat", "capabilities", "service_area")}
        insert_records(session, "bench-added", [{**new, "source_id": name, "name": name,
                                                 "geocode_status": "source"}], actor="bench")
        uid = provider_uid("bench-added", name)
    else:
        before, after = diff(current, {"name": name})
        apply_changes(session, [Change(current["id"], uid, before, after, current)],
                      actor="bench", action="bench.edit")
started = time.perf_counter()
index = file_index(services)  # the first request after the change: its generation's folder
lon, lat = float(current["lon"]), float(current["lat"])
box = (lon - 0.02, lat - 0.02, lon + 0.02, lat + 0.02)
public = index.view_for("public")
shown = [index.record(p)["name"] for p in public.in_bbox(box).tolist() if public.active[p]]
by_id = index.record(index.position(uid))["name"]
first_s = time.perf_counter() - started
print(json.dumps({"mode": args["mode"], "ready_s": ready_s, "first_s": first_s,
                  "ok": by_id == name and name in shown, **memory()}))
"""


def change_step(frame: Any, runs: int, seed: int) -> dict[str, Any]:
    """The first request after a change of one provider, full vs incremental builds."""
    from mapsvc.core.registry import insert_records
    from mapsvc.core.services import Services

    records = [
        {
            "source_id": str(row.source_id),
            "type": str(row.type),
            "name": str(row.name),
            "lon": float(row.lon),
            "lat": float(row.lat),
            "geocode_status": "source",
            "status": str(row.status),
            "capabilities": {k: {"level": str(v["level"])} for k, v in row.capabilities.items()},
            "service_area": row.service_area,
        }
        for row in frame.itertuples(index=False)
    ]
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="bench-index-store-") as tmp:
        config = {
            "INSTANCE_PATH": f"{tmp}/instance",
            "DATABASE_URL": f"sqlite:///{tmp}/store.sqlite",
            "LAYERS_DIR": str(ROOT / "layers"),
            "SECRET_KEY": "bench",
        }
        services = Services.from_config(config)
        services.store.upgrade()
        started = time.perf_counter()
        with services.store.session() as session:
            insert_records(session, "bench", records, actor="bench")
        print(
            f"store: {len(records):,} providers inserted in {time.perf_counter() - started:.1f} s"
        )
        from mapsvc.core.registry import provider_uid

        def worker(mode: str, run: int) -> dict[str, Any]:
            pick = records[int(rng.integers(0, len(records)))]
            spec = {
                "mode": mode,
                "config": config,
                "uid": provider_uid("bench", pick["source_id"]),
                "name": f"変更後{mode}{run}",
            }
            proc = subprocess.run(
                [sys.executable, "-c", CHANGE_WORKER, str(ROOT), json.dumps(spec)],
                stdout=subprocess.PIPE,
                text=True,
                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                timeout=1800,
                check=True,
            )
            found: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
            print(
                f"{mode:11} change {run}: first request after it {found['first_s']:.2f} s "
                f"(worker ready before it {found['ready_s']:.2f} s), RSS {found['rss_mb']:.0f} MB, "
                f"{'shows the change' if found['ok'] else 'DOES NOT SHOW THE CHANGE'}"
            )
            return found

        worker("first", 0)  # the first folder (a full build: no previous one)
        results: dict[str, list[dict[str, Any]]] = {"full": [], "incremental": [], "added": []}
        for run in range(1, runs + 1):
            for mode in results:
                results[mode].append(worker(mode, run))
        services.close()
    full = float(np.median([r["first_s"] for r in results["full"]]))
    inc = float(np.median([r["first_s"] for r in results["incremental"]]))
    added = float(np.median([r["first_s"] for r in results["added"]]))
    rss = max(r["rss_mb"] for m in ("incremental", "added") for r in results[m])
    ok = all(r["ok"] for rs in results.values() for r in rs)
    print(
        f"first request after a change: incremental {inc:.2f} s (median of {runs}; goal ≤ "
        f"{CHANGE_GOAL_S:.0f} s; a provider added: {added:.2f} s), full rebuild {full:.1f} s "
        f"(baseline), ratio {full / inc:.1f}x; "
        f"RSS of the worker that built it incrementally ≤ {rss:.0f} MB; "
        f"{'every answer shows the change' if ok else 'AN ANSWER MISSED THE CHANGE'}"
    )
    return {
        "change_full_s": round(full, 2),
        "change_incremental_s": round(inc, 3),
        "change_added_s": round(added, 3),
        "change_incremental_rss_mb": round(rss, 1),
        "change_runs": {m: [round(r["first_s"], 3) for r in rs] for m, rs in results.items()},
        "change_shown": ok,
    }


def memory() -> dict[str, float]:
    """This process's RSS and PSS in MB."""
    found: dict[str, float] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in ("Rss:", "Pss:"):
            found[parts[0][:-1].lower() + "_mb"] = int(parts[1]) / 1024
    return found


def boxes(index: Any, count: int, seed: int) -> list[tuple[float, float, float, float]]:
    """Dense 5 km boxes around random providers."""
    rng = np.random.default_rng(seed)
    out = []
    for pos in rng.integers(0, len(index), count):
        lon, lat = float(index.lon[pos]), float(index.lat[pos])
        dlat = 2.5 / 111.0
        dlon = dlat / max(np.cos(np.radians(lat)), 0.1)
        out.append((lon - dlon, lat - dlat, lon + dlon, lat + dlat))
    return out


def answers(index: Any, taxonomy: Any, count: int, seed: int) -> tuple[str, float]:
    """A digest of the index's answers to ``count`` bbox and ``count // 10`` finder
    queries (same ones for the same seed), and the seconds they took."""
    from mapsvc.core.filters import parse_filters
    from mapsvc.finder.search import find_providers

    digest = hashlib.sha256()
    filters = parse_filters(["home_visit_medical:accept"], None, taxonomy)
    started = time.perf_counter()
    for box in boxes(index, count, seed):
        positions = index.in_bbox(box)
        digest.update(" ".join(index.uids[positions].tolist()).encode())
        if len(positions):  # what the items endpoint reads for each feature
            digest.update(json.dumps(index.record(int(positions[0])), default=str).encode())
    for box in boxes(index, max(count // 10, 1), seed + 1):
        lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        result = find_providers(index, lon, lat, filters, seed=seed)
        digest.update(repr([(m.uid, m.distance_km, m.reasons) for m in result.matches]).encode())
    return digest.hexdigest(), time.perf_counter() - started


def scan_matches(index: Any, count: int, seed: int) -> bool:
    """The index's bbox selections equal a plain scan of the coordinates."""
    lon, lat = np.asarray(index.lon), np.asarray(index.lat)
    for box in boxes(index, count, seed):
        inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
        if index.in_bbox(box).tolist() != np.flatnonzero(inside).tolist():
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--change-runs", type=int, default=3)
    parser.add_argument("--change-only", action="store_true", help="only the change step")
    args = parser.parse_args()

    from bench_search import synthetic_frame

    from mapsvc.core.taxonomy import load_taxonomy
    from mapsvc.finder.index import build_index
    from mapsvc.finder.index_file import write_index

    taxonomy = load_taxonomy(ROOT / "layers")
    frame = synthetic_frame(args.n, args.seed, taxonomy)
    changes = change_step(frame, args.change_runs, args.seed) if args.change_runs else {}
    if args.change_only:
        print(json.dumps({"n": args.n, **changes}))
        return
    started = time.perf_counter()
    index = build_index(frame, taxonomy)
    build_s = time.perf_counter() - started
    del frame
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        started = time.perf_counter()
        folder = write_index(index, Path(tmp) / "providers-bench-1")
        write_s = time.perf_counter() - started
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(
            f"{len(index):,} providers: index built in {build_s:.1f} s, written in "
            f"{write_s:.1f} s ({size_mb:.0f} MB on disk)"
        )
        expected, _ = answers(index, taxonomy, args.queries, args.seed)
        scan_ok = scan_matches(index, args.queries, args.seed)
        del index

        def start(mode: str) -> subprocess.Popen[str]:
            spec = {"mode": mode, "folder": str(folder), "n": args.n, "seed": args.seed}
            spec["queries"] = args.queries
            return subprocess.Popen(
                [sys.executable, "-c", WORKER, str(ROOT), json.dumps(spec)],
                stdout=subprocess.PIPE,
                text=True,
                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            )

        mapped = [start("mapped") for _ in range(args.workers)]
        results = [json.loads(p.communicate(timeout=600)[0].splitlines()[-1]) for p in mapped]
        baseline = start("memory")
        results.append(json.loads(baseline.communicate(timeout=900)[0].splitlines()[-1]))
    for r in results:
        print(
            f"{r['mode']:9} worker: ready in {r['ready_s']:.2f} s, queries {r['query_s']:.2f} s, "
            f"RSS {r['rss_mb']:.0f} MB, PSS {r['pss_mb']:.0f} MB, "
            f"answers {'same' if r['digest'] == expected else 'DIFFERENT'}"
        )
    maps = [r for r in results if r["mode"] == "mapped"]
    base = results[-1]
    worst_rss = max(r["rss_mb"] for r in maps)
    worst_ready = max(r["ready_s"] for r in maps)
    same = all(r["digest"] == expected for r in results) and scan_ok
    print(
        f"mapped worker RSS {worst_rss:.0f} MB (goal ≤ {RSS_GOAL_MB:.0f}; in-memory baseline "
        f"{base['rss_mb']:.0f} MB, ratio {base['rss_mb'] / worst_rss:.1f}x), ready in "
        f"{worst_ready:.2f} s (goal ≤ {MAP_GOAL_S:.0f} s; baseline {base['ready_s']:.1f} s), "
        f"answers {'same as the built index and the scan' if same else 'DIFFER'}"
    )
    print(
        json.dumps(
            {
                "n": args.n,
                "build_s": round(build_s, 2),
                "write_s": round(write_s, 2),
                "size_mb": round(size_mb, 1),
                "mapped_rss_mb": round(worst_rss, 1),
                "mapped_pss_mb": round(max(r["pss_mb"] for r in maps), 1),
                "mapped_ready_s": round(worst_ready, 3),
                "baseline_rss_mb": round(base["rss_mb"], 1),
                "baseline_ready_s": round(base["ready_s"], 2),
                "same_answers": same,
                **changes,
            }
        )
    )


if __name__ == "__main__":
    main()
