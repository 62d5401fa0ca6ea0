"""Benchmark: the editor dashboard (`mapsvc.upkeep.dashboard.build_dashboard`) on a large registry.

Builds a synthetic registry in a fresh SQLite store: N providers over three sources, a
tenth of them duplicated in a second source (same name, a few metres away, another phone)
so the conflict search has real work, a fifth never confirmed, some without location.
Measures, in the same run, the dashboard and a baseline: reading the same provider rows
with a plain SELECT (the floor any dashboard pays). Reports medians of --repeat runs.
The last line is JSON:
{"providers": ..., "dashboard_s": ..., "select_s": ..., "ratio_to_select": ..., "conflicts": ...}

Usage: python scripts/bench_dashboard.py [--providers 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mapsvc.core.models import Provider, utcnow
from mapsvc.core.registry import insert_records
from mapsvc.core.services import Services
from mapsvc.upkeep.dashboard import build_dashboard

TYPES = ["clinic", "pharmacy", "home_nursing", "care_management", "home_help", "day_care"]


def populate(services: Services, n: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    now = utcnow()
    by_source: dict[str, list[dict[str, object]]] = {
        "open_data": [],
        "kouseikyoku": [],
        "survey": [],
    }
    for i in range(n):
        lon, lat = 133.9 + rng.random() * 0.3, 34.2 + rng.random() * 0.2
        located = rng.random() > 0.05
        rec = {
            "source_id": f"P{i}",
            "type": rng.choice(TYPES),
            "name": f"事業所{i}",
            "address": f"香川県高松市番町{i // 2000 + 1}丁目{i % 2000 + 1}番1号",
            "municipality_code": "372013",
            "lon": lon if located else None,
            "lat": lat if located else None,
            "geocode_status": "source" if located else "pending",
            "phone": f"087-{i % 1000:03d}-{i % 10000:04d}",
            "capabilities": {"dementia": {"level": rng.choice(["accept", "no", "consult"])}},
            "confirmed_at": None
            if rng.random() < 0.2
            else now - timedelta(days=rng.randint(0, 1000)),
        }
        by_source[rng.choice(["open_data", "survey"])].append(rec)
        if i % 10 == 0:
            dup = dict(rec, source_id=f"K{i}", phone="087-999-9999")
            if located:
                dup.update(lon=lon + 0.0002, lat=lat + 0.0001)
            by_source["kouseikyoku"].append(dup)
    with services.store.session() as session:
        for source, records in by_source.items():
            insert_records(session, source, records, actor="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        services = Services.from_config(
            {
                "INSTANCE_PATH": str(Path(tmp) / "instance"),
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
            }
        )
        services.store.upgrade()
        populate(services, args.providers)
        dash_times, select_times = [], []
        conflicts = total = 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            with services.store.session() as session:
                rows = session.execute(select(Provider)).scalars().all()
            select_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            with services.store.session() as session:
                dash = build_dashboard(
                    session, services.taxonomy, now=utcnow(), config=services.config, limit=500
                )
            dash_times.append(time.perf_counter() - start)
            conflicts, total = dash.conflict_count, dash.total
            assert total == len(rows)
        services.close()
    dash_s, select_s = statistics.median(dash_times), statistics.median(select_times)
    print(f"providers: {total}")
    print(
        f"dashboard: median {dash_s:.3f} s over {args.repeat} runs (all: {', '.join(f'{t:.3f}' for t in dash_times)})"
    )
    print(f"baseline SELECT of the same providers: median {select_s:.3f} s")
    print(f"ratio dashboard / select: {dash_s / select_s:.1f}; conflicts found: {conflicts}")
    print(
        json.dumps(
            {
                "providers": total,
                "dashboard_s": round(dash_s, 4),
                "select_s": round(select_s, 4),
                "ratio_to_select": round(dash_s / select_s, 2),
                "conflicts": conflicts,
            }
        )
    )


if __name__ == "__main__":
    main()
