"""Output of ``mapsvc coverage --by municipality`` (text table, ``--json`` or ``--csv``).

Kept apart from :mod:`mapsvc.commands.planner_cmds` so that module stays small; imports of
the planner and of dask happen when the command runs (the CLI starts light).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from mapsvc.core.services import Services

CSV_COLUMNS = (
    "municipality", "name", "units", "covered_units",
    "total", "total_covered", "total_uncovered",
    "65+", "65+_covered", "65+_uncovered",
    "75+", "75+_covered", "75+_uncovered", "75+_share",
)  # fmt: skip


def echo_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Rows as CSV on stdout (the export rule of :mod:`mapsvc.core._csv`; no BOM on a terminal)."""
    from mapsvc.core._csv import csv_text

    click.echo(csv_text([list(columns), *([r.get(c) for c in columns] for r in rows)]), nl=False)


def echo_coverage_by(
    services: Services,
    specs: Sequence[str],
    types: Sequence[str],
    by: str,
    minutes: float | None,
    radius_km: float | None,
    dataset: str | None,
    scheduler: str | None,
    strict: bool,
    output: str,
) -> None:
    """Run the batch coverage and print it as ``text``, ``json`` or ``csv``."""
    from mapsvc.commands.planner_cmds import (
        _echo_json,
        _limit_text,
        _population_note,
        _warn_problems,
    )
    from mapsvc.planner.coverage_batch import run_coverage_by

    dataset, result = run_coverage_by(
        services, list(specs), by=by, minutes=minutes, radius_km=radius_km, dataset=dataset,
        types=list(types), scheduler=scheduler,
    )  # fmt: skip
    _warn_problems(result.problems, strict)
    summary = result.to_dict(services.taxonomy)
    summary["by"] = by
    summary["population"] = dataset
    summary["population_note"] = _population_note(services, dataset)
    if output == "json":
        _echo_json(summary)
        return
    rows = summary["municipalities"]
    if output == "csv":
        echo_csv(rows, CSV_COLUMNS)
        return
    limit = _limit_text(minutes, radius_km)
    click.echo(f"coverage by {by} — {limit}; population {dataset}")
    off = summary["off_network"]
    click.echo(
        f"{summary['providers']} matching providers; off the road network: "
        f"{off['fallback_radius']} use their type's radius, {off['left_out']} left out"
    )
    for gap in summary["missing"]:
        click.echo(f"{gap['label']}: {gap['message']} — the shares below are not a measured gap")
    click.echo(
        f"{'code':<8} {'name':<12} {'units':>7} {'total':>10} {'75+':>9} "
        f"{'75+ covered':>11} {'share':>7}"
    )
    for r in rows:
        share = (
            "データなし" if summary["missing"]
            else "–" if r["75+_share"] is None
            else f"{r['75+_share'] * 100:.1f}%"
        )  # fmt: skip
        click.echo(
            f"{r['municipality'] or '-':<8} {r['name']:<12} {r['units']:>7,} {r['total']:>10,} "
            f"{r['75+']:>9,} {r['75+_covered']:>11,} {share:>7}"
        )
