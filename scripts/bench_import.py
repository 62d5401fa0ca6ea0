"""Benchmark: import 100,000 generic-format rows into a fresh SQLite store.

Measures the whole `import_file` path (read, map, validate, plan, write with audit rows)
and, in the same run, two baselines on the same rows: parsing/mapping only (no store) and
a raw sqlite3 executemany of bare provider rows (the floor any importer pays). Repeats
each measurement and reports medians. The last line is JSON:
{"rows_per_s": ..., "rows": ..., "parse_rows_per_s": ..., "raw_insert_rows_per_s": ..., "ratio_to_raw": ...}

Usage: python scripts/bench_import.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from mapsvc.core.services import Services
from mapsvc.ingest.importer import import_file, plan_import

LEVELS = ["積極的受入", "受入", "要相談", "不可", "不明", ""]
CAPS = {
    "home_nursing": [
        "ventilator",
        "tracheostomy_suction",
        "home_oxygen",
        "tube_feeding",
        "night_response",
        "response_24h",
        "terminal_care",
        "home_death_care",
        "dementia",
        "children",
    ],
    "clinic": [
        "home_visit_medical",
        "on_call_visit",
        "night_response",
        "response_24h",
        "terminal_care",
        "home_death_care",
        "home_oxygen",
        "insulin",
        "dementia",
        "opinion_letter",
    ],
    "pharmacy": [
        "home_pharmacy_visit",
        "sterile_compounding",
        "night_response",
        "tablet_crushing",
        "unit_dose_packaging",
        "sanitary_materials",
        "opioid_management",
        "dementia",
        "children",
        "holiday_response",
    ],
}
ALL_CAPS = sorted({c for caps in CAPS.values() for c in caps})


def write_rows(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    header = [
        "source_id",
        "type",
        "name",
        "address",
        "municipality_code",
        "lat",
        "lon",
        "phone",
        "fax",
        "confirmed_at",
        *ALL_CAPS,
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(n):
            ptype = rng.choice(list(CAPS))
            row = {
                "source_id": f"b{i:07d}",
                "type": ptype,
                "name": f"ベンチ{ptype}{i}",
                "address": f"香川県高松市番町{i % 5 + 1}丁目{i % 40 + 1}-{i % 9 + 1}",
                "municipality_code": "372013",
                "lat": f"{rng.uniform(31.0, 43.0):.6f}",
                "lon": f"{rng.uniform(130.0, 145.0):.6f}",
                "phone": f"000-0000-{i % 10000:04d}",
                "fax": f"000-0001-{i % 10000:04d}",
                "confirmed_at": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            }
            for cap in CAPS[ptype]:
                row[cap] = rng.choice(LEVELS)
            w.writerow([row.get(h, "") for h in header])


def bench_import(path: Path, rows: int, workdir: Path, run: int) -> float:
    instance = workdir / f"instance-{run}"
    services = Services.from_config({"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench"})
    services.store.upgrade()
    start = time.perf_counter()
    report = import_file(
        services.store,
        path,
        services.taxonomy,
        rejects_path=workdir / "rejects.csv",
        instance_path=instance,
    )
    elapsed = time.perf_counter() - start
    assert report.inserted + report.rejected == rows, report
    services.close()
    return elapsed


def bench_parse(path: Path, workdir: Path) -> float:
    services = Services.from_config(
        {"INSTANCE_PATH": str(workdir / "instance-parse"), "SECRET_KEY": "bench"}
    )
    services.store.upgrade()
    start = time.perf_counter()
    with services.store.session() as session:
        plan_import(session, path, services.taxonomy)
    elapsed = time.perf_counter() - start
    services.close()
    return elapsed


def bench_raw(rows: int, workdir: Path, run: int) -> float:
    db = workdir / f"raw-{run}.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, uid TEXT UNIQUE, source TEXT, source_id TEXT, type TEXT, "
        "name TEXT, lon REAL, lat REAL, capabilities TEXT, UNIQUE(source, source_id))"
    )
    data = [
        (
            f"u{i}",
            "bench",
            f"b{i}",
            "clinic",
            f"n{i}",
            134.0,
            34.0,
            '{"night_response": {"level": "accept"}}',
        )
        for i in range(rows)
    ]
    start = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO p (uid, source, source_id, type, name, lon, lat, capabilities) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            data,
        )
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "bench.csv"
        write_rows(path, args.rows)
        imports = [bench_import(path, args.rows, workdir, i) for i in range(args.repeat)]
        parses = [bench_parse(path, workdir) for _ in range(args.repeat)]
        raws = [bench_raw(args.rows, workdir, i) for i in range(args.repeat)]
    med_import, med_parse, med_raw = (statistics.median(x) for x in (imports, parses, raws))
    rows_per_s = args.rows / med_import
    print(f"rows: {args.rows}, repeats: {args.repeat}")
    print(
        f"import (read+map+validate+write+audit): median {med_import:.2f} s  runs {[round(x, 2) for x in imports]}"
    )
    print(f"parse+map+validate only (baseline 1): median {med_parse:.2f} s")
    print(f"raw sqlite3 executemany of bare rows (baseline 2): median {med_raw:.2f} s")
    print(
        f"import is {med_import / med_parse:.2f}x parse-only and {med_import / med_raw:.1f}x the raw insert floor"
    )
    print(
        json.dumps(
            {
                "rows_per_s": round(rows_per_s),
                "rows": args.rows,
                "parse_rows_per_s": round(args.rows / med_parse),
                "raw_insert_rows_per_s": round(args.rows / med_raw),
                "ratio_to_raw": round(med_import / med_raw, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
