"""Benchmark: import 100,000 generic-format rows into a fresh SQLite (and PostgreSQL) store.

Measures the whole `import_file` path (read, map, validate, plan, write with audit rows)
and, in the same run, two baselines on the same rows: parsing/mapping only (no store) and
a raw sqlite3 executemany of bare provider rows (the floor any importer pays). Repeats
each measurement and reports medians. The last line is JSON:
{"rows_per_s": ..., "rows": ..., "parse_rows_per_s": ..., "raw_insert_rows_per_s": ..., "ratio_to_raw": ...}

With ``--postgres URL`` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) the
import and the raw floor (psycopg executemany) are also measured on PostgreSQL, each run in
a schema of its own, dropped afterwards; the JSON line then also holds ``pg_rows_per_s``,
``pg_raw_insert_rows_per_s`` and ``pg_ratio_to_raw``. Goals (issue 13): ≥ 20,000 rows/s
into SQLite, ≥ 10,000 into PostgreSQL, ≤ 6x the raw insert.

With ``--phases`` one more SQLite import is run with the time of each step measured
(CPU seconds of this process, so other jobs on the machine count less): reading the file,
mapping rows to records, checking them, preparing the rows to write, the driver's insert
itself, and the rest (commit, rejects, report).

Usage: python scripts/bench_import.py [--rows 100000] [--repeat 3] [--postgres URL] [--phases]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A fresh schema in the PostgreSQL database at ``base``; its URL; dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_import(
    path: Path, rows: int, workdir: Path, run: int, database_url: str | None = None
) -> float:
    instance = workdir / f"instance-{run}"
    config = {"INSTANCE_PATH": str(instance), "SECRET_KEY": "bench"}
    if database_url:
        config["DATABASE_URL"] = database_url
    services = Services.from_config(config)
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


def bench_phases(path: Path, rows: int, workdir: Path) -> dict[str, float]:
    """CPU seconds per step of one SQLite import (functions wrapped for the run)."""
    from sqlalchemy.engine import Connection

    from mapsvc.core import registry
    from mapsvc.ingest import importer, upsert

    spent: dict[str, float] = {}
    patched: list[tuple[object, str, object]] = []

    def wrap(owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: object, **kwargs: object) -> object:
            start = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - start

        patched.append((owner, name, inner))
        setattr(owner, name, timed)

    wrap(upsert, "read_table", "read file")
    wrap(upsert, "row_to_record", "map rows")
    wrap(upsert, "record_problem", "check records")
    wrap(importer, "plan_import", "plan")
    wrap(importer, "insert_records", "write")
    wrap(registry, "bulk_insert", "bulk_insert")
    wrap(Connection, "exec_driver_sql", "driver insert")
    wrap(sys.modules[__name__], "import_file", "import")  # not the store's set-up
    try:
        bench_import(path, rows, workdir, 999)
    finally:
        for owner, name, inner in patched:
            setattr(owner, name, inner)
    total = spent.pop("import")
    plan, write = spent.pop("plan"), spent.pop("write")
    driver = spent.pop("driver insert", 0.0)
    bulk = spent.pop("bulk_insert")
    return {
        **spent,
        "plan, other (match ids, upserts)": plan - sum(spent.values()),
        "prepare rows: records to row dicts, JSON, uid": write - bulk,
        "prepare rows: bind values (bulk_insert)": bulk - driver,
        "driver insert (sqlite3 executemany)": driver,
        "rest (commit, rejects, report)": total - plan - write,
        "total": total,
    }


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


def bench_raw_pg(rows: int, database_url: str) -> float:
    """The PostgreSQL floor: psycopg executemany of bare rows into a plain table."""
    import psycopg

    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE p (id SERIAL PRIMARY KEY, uid TEXT UNIQUE, source TEXT, source_id TEXT,"
            " type TEXT, name TEXT, lon DOUBLE PRECISION, lat DOUBLE PRECISION,"
            " capabilities JSONB, UNIQUE(source, source_id))"
        )
        conn.commit()
        data = [
            (f"u{i}", "bench", f"b{i}", "clinic", f"n{i}", 134.0, 34.0, '{"night_response": {}}')
            for i in range(rows)
        ]
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO p (uid, source, source_id, type, name, lon, lat, capabilities) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                data,
            )
        conn.commit()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default="", help="also measure PostgreSQL at this URL")
    parser.add_argument("--phases", action="store_true", help="CPU time per step, SQLite")
    args = parser.parse_args()
    phases: dict[str, float] = {}
    pg_imports: list[float] = []
    pg_raws: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "bench.csv"
        write_rows(path, args.rows)
        imports = [bench_import(path, args.rows, workdir, i) for i in range(args.repeat)]
        parses = [bench_parse(path, workdir) for _ in range(args.repeat)]
        raws = [bench_raw(args.rows, workdir, i) for i in range(args.repeat)]
        if args.phases:
            phases = bench_phases(path, args.rows, workdir)
        for i in range(args.repeat if args.postgres else 0):
            with pg_schema(args.postgres) as url:
                pg_imports.append(bench_import(path, args.rows, workdir, 100 + i, url))
            with pg_schema(args.postgres) as url:
                pg_raws.append(bench_raw_pg(args.rows, url))
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
        f"SQLite: {rows_per_s:,.0f} rows/s (goal ≥ 20,000), {med_import / med_raw:.1f}x the raw "
        f"floor (goal ≤ 6x)"
    )
    result = {
        "rows_per_s": round(rows_per_s),
        "rows": args.rows,
        "parse_rows_per_s": round(args.rows / med_parse),
        "raw_insert_rows_per_s": round(args.rows / med_raw),
        "ratio_to_raw": round(med_import / med_raw, 2),
        "import_runs_s": [round(x, 2) for x in imports],
    }
    if pg_imports:
        pg_import, pg_raw = statistics.median(pg_imports), statistics.median(pg_raws)
        print(
            f"PostgreSQL: import median {pg_import:.2f} s runs {[round(x, 2) for x in pg_imports]}"
            f" = {args.rows / pg_import:,.0f} rows/s (goal ≥ 10,000); raw executemany median "
            f"{pg_raw:.2f} s; {pg_import / pg_raw:.1f}x the raw floor"
        )
        result.update(
            pg_rows_per_s=round(args.rows / pg_import),
            pg_raw_insert_rows_per_s=round(args.rows / pg_raw),
            pg_ratio_to_raw=round(pg_import / pg_raw, 2),
            pg_import_runs_s=[round(x, 2) for x in pg_imports],
        )
    if phases:
        print(f"CPU seconds per step of one more SQLite import ({args.rows} rows):")
        for label, seconds in phases.items():
            if not label.startswith("_"):
                print(f"  {label:50s} {seconds:6.2f}  ({args.rows / seconds:,.0f} rows/s)")
        result["phases_cpu_s"] = {k: round(v, 3) for k, v in phases.items() if k[0] != "_"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
