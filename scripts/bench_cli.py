"""Start-up time of the ``mapsvc`` command line (issue 13, goal: ≤ 0.5 s).

Runs ``mapsvc --help`` and ``mapsvc formats`` ``--runs`` times each in fresh interpreters,
and, as the baseline in the same run, ``python -c pass`` (the interpreter alone). Prints
medians of wall time and of CPU time (user + system: on a shared machine the wall time
includes waiting for a core), then one JSON line.

    python scripts/bench_cli.py                      # this tree
    python scripts/bench_cli.py --root /tmp/before   # another checkout (e.g. git archive)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 0.5


def _once(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = str(args.root.resolve())
    cli = "import sys; from mapsvc.cli import main; sys.argv[0] = 'mapsvc'; main()"
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mapsvc --help": [sys.executable, "-c", cli, "--help"],
        "mapsvc formats": [sys.executable, "-c", cli, "formats"],
    }
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAPSVC_")}
        env["PYTHONPATH"] = root
        env["MAPSVC_INSTANCE_PATH"] = str(Path(tmp) / "instance")
        for name, argv in cases.items():
            _once(argv, env, tmp)  # warm the file cache
            runs = [_once(argv, env, tmp) for _ in range(args.runs)]
            walls = [w for w, _ in runs]
            cpus = [c for _, c in runs]
            results[name] = {
                "wall_s": round(statistics.median(walls), 3),
                "wall_min_s": round(min(walls), 3),
                "wall_max_s": round(max(walls), 3),
                "cpu_s": round(statistics.median(cpus), 3),
            }
            r = results[name]
            print(
                f"{name:16} wall median {r['wall_s']:.3f} s (min {r['wall_min_s']:.3f}, "
                f"max {r['wall_max_s']:.3f}), cpu median {r['cpu_s']:.3f} s"
            )
    base = results["python -c pass"]
    for name in ("mapsvc --help", "mapsvc formats"):
        r = results[name]
        verdict = "meets" if r["wall_s"] <= GOAL_S else "misses"
        print(
            f"{name}: {r['wall_s']:.3f} s wall ({verdict} the {GOAL_S} s goal), "
            f"{r['cpu_s'] - base['cpu_s']:.3f} s CPU above the bare interpreter"
        )
    print(json.dumps({"root": root, "runs": args.runs, "goal_s": GOAL_S, **results}))


if __name__ == "__main__":
    main()
