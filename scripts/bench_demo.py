"""Benchmark: generate and load the demo municipality into a fresh SQLite store.

Prints per-run timings and, as the last line, JSON with the medians:
``{"load_s": ..., "reload_s": ..., "steps": {...}}`` — ``load_s`` is a fresh
``load_demo`` (generation included, Python start-up and imports excluded), ``reload_s``
a second call on the same store (nothing to do). The target is the whole
``mapsvc demo --no-serve`` under 60 s on a 2-core machine.

    python scripts/bench_demo.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from mapsvc.core.services import Services
from mapsvc.demo import load_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    loads, reloads, steps = [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="mapsvc-bench-demo-") as tmp:
            services = Services.from_config(
                {"INSTANCE_PATH": str(Path(tmp) / "instance"), "SECRET_KEY": "bench"}
            )
            t0 = time.perf_counter()
            report = load_demo(services)
            loads.append(time.perf_counter() - t0)
            steps.append(report.steps)
            t0 = time.perf_counter()
            load_demo(services)
            reloads.append(time.perf_counter() - t0)
            services.close()
        print(
            f"run {run + 1}: load {loads[-1]:.2f} s, reload {reloads[-1]:.2f} s, steps {steps[-1]}"
        )
    medians = {k: round(statistics.median(s[k] for s in steps), 3) for k in steps[0]}
    print(
        json.dumps(
            {
                "load_s": round(statistics.median(loads), 3),
                "reload_s": round(statistics.median(reloads), 3),
                "steps": medians,
            }
        )
    )


if __name__ == "__main__":
    main()
