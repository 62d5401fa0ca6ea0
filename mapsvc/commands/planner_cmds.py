"""Planner commands: coverage, service-areas, indicators, candidates (text or --json)."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import click

from mapsvc.core.errors import DataUnavailable, InvalidInput
from mapsvc.core.services import Services


def _limit_text(minutes: float | None, radius_km: float | None) -> str:
    """How far the coverage reaches, as the CLI says it."""
    if minutes is not None:
        return f"{minutes:g} min travel time"
    if radius_km is not None:
        return f"{radius_km:g} km radius"
    return "each provider's own service area"


def _echo_json(data: Any) -> None:
    from mapsvc.planner.analyses import json_safe

    click.echo(json.dumps(json_safe(data), ensure_ascii=False, allow_nan=False))


def _population_note(services: Services, dataset: str) -> dict[str, Any]:
    from mapsvc.planner.inputs import dataset_note

    with services.store.session() as session:
        return dataset_note(services, session, dataset)


def _note_text(summary: dict[str, Any]) -> str:
    note = summary["population_note"]
    when = f"survey {note['survey_date']}" if note["survey_date"] else "no survey date"
    why = "PLANNER_POPULATION" if note["why"] == "configured" else "newest loaded"
    return f"{note['dataset']} ({when}; {why})"


def _warn_problems(problems: list[dict[str, Any]], strict: bool) -> None:
    for p in problems:
        click.echo(f"warning: {p['message']}", err=True)
    if strict and problems:
        raise DataUnavailable(
            f"{len(problems)} provider(s) could not be given their service area "
            "(listed above); fix them or run without --strict",
            field="providers",
        )


@click.command("coverage")
@click.option(
    "--capability",
    "specs",
    multiple=True,
    metavar="KEY[:MIN_LEVEL]",
    help="Capability the providers must offer, e.g. home_visit_medical:accept (repeat = all required).",
)
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    help="Only providers of this type, e.g. hospital (repeat = any of them).",
)
@click.option("--minutes", type=float, help="Travel-time limit on the road network.")
@click.option("--radius-km", type=float, help="Straight-line radius instead of travel time.")
@click.option(
    "--compare-radius-km",
    type=float,
    help="Side by side with --minutes: inside/outside this radius x inside/outside the time "
    "limit (e.g. 16, the 訪問診療 distance rule).",
)
@click.option(
    "--population",
    "dataset",
    help="Population dataset (default: PLANNER_POPULATION, else the newest survey date).",
)
@click.option(
    "--top",
    type=click.IntRange(0, 1000),
    default=10,
    show_default=True,
    help="Uncovered places to list.",
)
@click.option(
    "--strict", is_flag=True, help="Fail when a provider is off the network or has a broken area."
)
@click.option(
    "--by",
    type=click.Choice(["municipality"]),
    help="One row per municipality, computed on dask.distributed (one task per municipality).",
)
@click.option(
    "--scheduler",
    metavar="ADDR",
    help="With --by: dask scheduler address (default: DASK_SCHEDULER, else a local cluster).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the table (bands, or --by rows) as CSV.")
@click.pass_obj
def coverage(
    services: Services,
    specs: tuple[str, ...],
    types: tuple[str, ...],
    minutes: float | None,
    radius_km: float | None,
    compare_radius_km: float | None,
    dataset: str | None,
    top: int,
    strict: bool,
    by: str | None,
    scheduler: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Population covered by the service areas of providers offering a capability.

    Without --minutes or --radius-km each provider's own area is used (explicit area,
    else travel time when a network is loaded, else the type's radius). Every band
    adds up: covered + uncovered = total.
    """
    from mapsvc.commands.coverage_by import echo_coverage_by, echo_csv

    if as_json and as_csv:
        raise InvalidInput("give --json or --csv, not both", field="csv")
    if by or scheduler:
        if compare_radius_km is not None or not by:
            raise InvalidInput(
                "--scheduler needs --by; --by not with --compare-radius-km", field="by"
            )
        echo_coverage_by(
            services, specs, types, by, minutes, radius_km, dataset, scheduler, strict,
            "json" if as_json else "csv" if as_csv else "text",
        )  # fmt: skip
        return
    from mapsvc.planner.analyses import run_coverage

    if compare_radius_km is not None:
        if as_csv:
            raise InvalidInput("--csv is not available with --compare-radius-km", field="csv")
        if radius_km is not None:
            raise InvalidInput(
                "give --compare-radius-km or --radius-km, not both", field="radius_km"
            )
        _compare(services, specs, types, minutes, compare_radius_km, dataset, strict, as_json)
        return
    dataset, result = run_coverage(
        services,
        list(specs),
        minutes=minutes,
        radius_km=radius_km,
        dataset=dataset,
        top=top,
        types=list(types),
    )
    _warn_problems(result.problems, strict)
    summary = result.to_dict(services.taxonomy)
    summary["population"] = dataset
    summary["population_note"] = _population_note(services, dataset)
    if as_json:
        _echo_json(summary)
        return
    if as_csv:
        echo_csv(summary["bands"], ["band", "total", "covered", "uncovered", "share"])
        return
    limit = _limit_text(minutes, radius_km)
    click.echo(f"{summary['description']} — {limit}; population {_note_text(summary)}")
    click.echo(f"{summary['providers']} matching providers, {summary['units']} population units")
    off = summary["off_network"]
    if off["fallback_radius"] or off["left_out"]:
        click.echo(
            f"off the road network: {off['fallback_radius']} use their type's radius, "
            f"{off['left_out']} left out by the time limit"
        )
    for gap in summary["missing"]:
        click.echo(f"{gap['label']}: {gap['message']} — the shares below are not a measured gap")
    click.echo(f"{'band':>7} {'total':>10} {'covered':>10} {'uncovered':>10} {'share':>7}")
    for row in summary["bands"]:
        share = "–" if row["share"] is None else f"{row['share'] * 100:.1f}%"
        click.echo(
            f"{row['band']:>7} {row['total']:>10,} {row['covered']:>10,} {row['uncovered']:>10,} {share:>7}"
        )
    if summary["uncovered_places"]:
        click.echo("uncovered places, most residents aged 75+ first:")
        for p in summary["uncovered_places"]:
            click.echo(f"  {p['name'] or p['key']}: 75+ {p['75+']:,} of {p['total']:,}")


def _compare(
    services: Services,
    specs: tuple[str, ...],
    types: tuple[str, ...],
    minutes: float | None,
    radius_km: float,
    dataset: str | None,
    strict: bool,
    as_json: bool,
) -> None:
    from mapsvc.planner.analyses import run_compare

    if minutes is None:
        raise InvalidInput("--compare-radius-km needs --minutes N", field="minutes")
    dataset, comparison = run_compare(
        services, list(specs), minutes=minutes, radius_km=radius_km, dataset=dataset,
        types=list(types),
    )  # fmt: skip
    summary = comparison.to_dict(services.taxonomy)
    _warn_problems(summary["problems"], strict)
    summary["population"] = dataset
    if as_json:
        _echo_json(summary)
        return
    click.echo(
        f"{summary['description']} — {radius_km:g} km radius vs {minutes:g} min travel time; "
        f"population {dataset}"
    )
    head = ["both", f"only {radius_km:g} km", f"only {minutes:g} min", "neither"]
    click.echo(f"{'band':>7} {'total':>10} " + " ".join(f"{h:>12}" for h in head))
    for row in summary["bands"]:
        cells = " ".join(f"{row[q]:>12,}" for q in summary["quadrants"])
        click.echo(f"{row['band']:>7} {row['total']:>10,} {cells}")


@click.command("service-areas")
@click.option(
    "--provider", "uid", help="Only this provider (its id); errors if it is off the network."
)
@click.option(
    "--minutes", type=float, help="Travel-time limit for every provider without an explicit area."
)
@click.option("--radius-km", type=float, help="Radius for every provider without an explicit area.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the areas as a GeoJSON FeatureCollection."
)
@click.pass_obj
def service_areas(
    services: Services,
    uid: str | None,
    minutes: float | None,
    radius_km: float | None,
    as_json: bool,
) -> None:
    """Compute (and cache) providers' service areas."""
    from mapsvc.core.models import Provider
    from mapsvc.geo.service_area_cache import provider_areas
    from mapsvc.geo.service_areas import check_limits
    from mapsvc.planner.inputs import context_for, providers_for

    check_limits(minutes, radius_km)
    with services.store.session() as session:  # a short read; no write is held below
        providers = providers_for(session)
        if uid:
            providers = providers[providers["uid"] == uid]
            if providers.empty:
                exists = session.query(Provider.id).filter(Provider.uid == uid).first()
                raise InvalidInput(
                    f"provider {uid} has no location" if exists else f"no provider with id {uid}",
                    field="provider",
                )
        ctx = context_for(
            services, session, lons=providers["lon"], need_network=minutes is not None
        )
    areas, problems = provider_areas(
        services.store, providers, ctx, minutes=minutes, radius_km=radius_km
    )
    if uid and any(p["problem"] == "off_network" and not p.get("fallback") for p in problems):
        from mapsvc.geo.service_areas import OffNetwork

        raise OffNetwork(problems[0]["message"], field="provider")
    _warn_problems(problems, strict=False)
    if as_json:
        features = [
            {"type": "Feature", "geometry": a.pop("geometry"), "properties": a} for a in areas
        ]
        _echo_json({"type": "FeatureCollection", "features": features})
        return
    kinds: dict[str, int] = {}
    for a in areas:
        kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
    cached = sum(a["cached"] for a in areas)
    click.echo(
        f"{len(areas)} service areas ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
        f"{cached} from the cache, {len(problems)} problem(s)"
    )


@click.command("indicators")
@click.option(
    "--population",
    "dataset",
    help="Population dataset (default: PLANNER_POPULATION, else the newest survey date).",
)
@click.option(
    "--snapshot", is_flag=True, help="Store today's indicators (or --date's) as a snapshot."
)
@click.option(
    "--date",
    "snap_date",
    help="Date of the snapshot (YYYY-MM-DD; default today): providers as they were that day.",
)
@click.option("--label", help="Label stored with the snapshot.")
@click.option("--compare", nargs=2, metavar="DATE1 DATE2", help="Compare two stored snapshots.")
@click.option(
    "--indicator",
    "prefix",
    default="",
    help="Only indicators starting with this, e.g. per100k:cap:.",
)
@click.option(
    "--target",
    nargs=4,
    metavar="AREA_KIND AREA_CODE INDICATOR VALUE",
    help="Set a target for one indicator in one area.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows.")
@click.pass_obj
def indicators(
    services: Services,
    dataset: str | None,
    snapshot: bool,
    snap_date: str | None,
    label: str | None,
    compare: tuple[str, str] | None,
    prefix: str,
    target: tuple[str, str, str, str] | None,
    as_json: bool,
) -> None:
    """Indicators per area: counts, per 10万人, per 1,000 aged 75+, covered share of 75+."""
    from mapsvc.planner.indicators import compare_snapshots, save_snapshot, set_target, with_targets

    if target:
        kind, code, indicator, value = target
        with services.store.session() as session:
            set_target(session, kind, code, indicator, value, set_by="cli")  # type: ignore[arg-type]
        click.echo(f"target set: {kind} {code} {indicator} = {value}")
        return
    if compare:
        with services.store.session() as session:
            frame = compare_snapshots(session, *compare)
    else:
        from mapsvc.planner.analyses import run_indicators

        day = snap_date or date.today().isoformat()
        # a snapshot of a past date counts the registry of that date (the audit log's)
        _, frame = run_indicators(services, dataset, as_of=day if snapshot else None)
        if snapshot:
            with services.store.session() as session:
                count = save_snapshot(session, frame, day, label)
            click.echo(f"snapshot {day}: {count} values stored", err=as_json)
        with services.store.session() as session:
            frame = with_targets(session, frame)
    if prefix:
        frame = frame[frame["indicator"].str.startswith(prefix)]
    records = frame.to_dict("records")
    if as_json:
        _echo_json(records)
        return
    value_cols = ["value_1", "value_2", "change"] if compare else ["value", "target"]
    for r in records:
        values = " ".join(_fmt(r.get(c)) for c in value_cols)
        click.echo(f"{r['area_kind']:<16} {r['area_code']:<10} {r['indicator']:<44} {values}")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'–':>10}"
    return f"{value:>10.4g}"


@click.command("candidates")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def candidates(services: Services, as_json: bool) -> None:
    """在宅医療において積極的役割を担う医療機関: candidates per municipality, with reasons."""
    from mapsvc.planner.analyses import run_candidates

    result = run_candidates(services)
    if as_json:
        _echo_json(result)
        return
    for muni in result:
        click.echo(f"{muni['name']} ({muni['code']}): {muni['reason_ja']}")
        for c in muni["candidates"]:
            click.echo(f"  - {c['name']}: {c['reason_ja']}")


COMMANDS = [coverage, service_areas, indicators, candidates]
