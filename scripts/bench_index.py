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
Goals at 300,000: RSS per mapped worker ≤ 400 MB, mapping ≤ 2 s. Last line: JSON.

    python scripts/bench_index.py [--n 300000] [--workers 2] [--queries 200]
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
RSS_GOAL_MB, MAP_GOAL_S = 400.0, 2.0

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
    args = parser.parse_args()

    from bench_search import synthetic_frame

    from mapsvc.core.taxonomy import load_taxonomy
    from mapsvc.finder.index import build_index
    from mapsvc.finder.index_file import write_index

    taxonomy = load_taxonomy(ROOT / "layers")
    frame = synthetic_frame(args.n, args.seed, taxonomy)
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
            }
        )
    )


if __name__ == "__main__":
    main()
