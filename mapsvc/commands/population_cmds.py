"""`mapsvc population ...`: load and list population by age band (mesh or town)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mapsvc.core.services import Services


@click.group("population")
def population() -> None:
    """Population by five-year age band (for coverage and per-capita indicators)."""


@population.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", help="Dataset name (default: the file name without suffix).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_obj
def population_import(services: Services, file: Path, dataset: str | None, as_json: bool) -> None:
    """Load FILE: 自治体標準 地域・年齢別人口, Takamatsu's schema, e-Stat mesh CSV, a mapsvc grid,
    a single-year-age table (地域名, 年齢, 男, 女, 計) or area totals (地域名/町名, 人口).

    The format is recognised from the header. Rows that cannot be loaded are listed with
    their line and reason; a file that cannot be read changes nothing.
    """
    from mapsvc.geo.population import import_population

    services.store.upgrade()
    report = import_population(services, file, dataset)
    if as_json:
        click.echo(json.dumps(report.summary(), ensure_ascii=False))
        return
    click.echo(
        f"{file}: format {report.format}, dataset {report.dataset}: {report.rows} rows, "
        f"{report.loaded} loaded ({report.inserted} new, {report.updated} changed, "
        f"{report.unchanged} unchanged, {report.removed} removed), {report.rejected} rejected; "
        f"total population {report.total:,}"
    )
    for line, reason in report.rejections[:20]:
        click.echo(f"  line {line}: {reason}")
    if report.rejected > 20:
        click.echo(f"  … and {report.rejected - 20} more")
    if report.outside_municipality:
        click.echo(
            f"note: {len(report.outside_municipality)} units lie outside their municipality's "
            "boundary (check their coordinates): " + ", ".join(report.outside_municipality[:5])
        )
    for line, what in report.subtotals[:20]:
        click.echo(f"  line {line}: subtotal row skipped ({what})")
    if report.located:
        placed = ", ".join(f"{n} {how}" for how, n in report.located.items() if n)
        click.echo(f"placed: {placed}")
    if report.area_only:
        click.echo(
            f"note: {len(report.area_only)} areas have no point (no coordinates, no loaded "
            "town area of that name, no gazetteer match): loaded as area-only units, counted "
            "per area and left out of distance analyses: " + ", ".join(report.area_only[:5])
        )
    if report.without_bands:
        click.echo(f"note: the file gives no age bands ({report.without_bands} units: totals only)")
    if report.bands_differ:
        click.echo(
            f"note: in {len(report.bands_differ)} units the age bands do not add up to the "
            "total (kept as the data says), e.g. " + ", ".join(report.bands_differ[:5])
        )


@population.command("list")
@click.pass_obj
def population_list(services: Services) -> None:
    """List loaded population datasets."""
    from mapsvc.geo.population import population_datasets

    services.store.upgrade()
    with services.store.session() as session:
        datasets = population_datasets(session)
    if not datasets:
        click.echo("no population loaded; use `mapsvc population import FILE`")
    for d in datasets:
        flag = "  (synthetic)" if d["synthetic"] else ""
        click.echo(
            f"{d['dataset']:40} {d['kind']:5} {d['units']:>7} units {d['total']:>10,} people "
            f"{d['survey_date'] or ''}{flag}"
        )


COMMANDS = [population]
