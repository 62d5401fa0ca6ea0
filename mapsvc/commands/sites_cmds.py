"""Planner commands: best k new sites (`mapsvc sites`) and what-if (`mapsvc what-if`)."""

from __future__ import annotations

import re
from typing import Any

import click

from mapsvc.commands.planner_cmds import _echo_json
from mapsvc.core.errors import InvalidInput
from mapsvc.core.services import Services

_LIMIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(min|分|km)\s*$", re.IGNORECASE)


def parse_addition(text: str, index: int) -> dict[str, Any]:
    """``lon,lat,type[,Nmin|Nkm]`` → a what-if addition (message names the --add)."""
    where = f"--add #{index + 1} ({text!r})"
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise InvalidInput(f"{where}: expected lon,lat,type[,15min|3km]", field="add")
    out: dict[str, Any] = {"lon": parts[0], "lat": parts[1], "type": parts[2]}
    if len(parts) == 4:
        match = _LIMIT.match(parts[3])
        if not match:
            raise InvalidInput(
                f"{where}: the 4th value must be minutes or km, e.g. 15min or 3km", field="add"
            )
        value, unit = float(match.group(1)), match.group(2).lower()
        out["km" if unit == "km" else "minutes"] = value
    return out


@click.command("what-if")
@click.option("--capability", "specs", multiple=True, metavar="KEY[:MIN_LEVEL]")
@click.option("--type", "types", multiple=True, metavar="TYPE")
@click.option(
    "--add",
    "adds",
    multiple=True,
    required=True,
    metavar="LON,LAT,TYPE[,15min|3km]",
    help="A hypothetical provider (repeat for more); its own minutes or km optional.",
)
@click.option("--minutes", type=float, help="Travel-time limit for every provider.")
@click.option("--radius-km", type=float, help="Radius for every provider.")
@click.option("--population", "dataset", help="Population dataset.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def what_if_cmd(
    services: Services,
    specs: tuple[str, ...],
    types: tuple[str, ...],
    adds: tuple[str, ...],
    minutes: float | None,
    radius_km: float | None,
    dataset: str | None,
    as_json: bool,
) -> None:
    """Coverage gain if providers were added at these points (the registry is not changed).

    A hypothetical provider offers the analysed capabilities only if its type can
    (the taxonomy's applies_to): a pharmacy cannot be a what-if 訪問診療 site.
    """
    from mapsvc.planner.analyses import run_what_if

    additions = [parse_addition(a, i) for i, a in enumerate(adds)]
    try:
        out = run_what_if(
            services, list(specs), additions, minutes=minutes, radius_km=radius_km,
            dataset=dataset, types=list(types),
        )  # fmt: skip
    except InvalidInput as exc:
        m = re.match(r"providers\[(\d+)\]", exc.field or "")
        if m:
            raise InvalidInput(
                f"--add #{int(m.group(1)) + 1} ({adds[int(m.group(1))]}): {exc.message}",
                field="add",
            ) from None
        raise
    if as_json:
        _echo_json(out)
        return
    before = next(r for r in out["before"]["bands"] if r["band"] == "75+")
    after = next(r for r in out["after"]["bands"] if r["band"] == "75+")
    click.echo(f"{out['before']['description']}; population {out['dataset']}")

    def share(r: dict[str, Any]) -> str:
        return "–" if r["share"] is None else f"{r['share'] * 100:.1f}%"

    click.echo(
        f"75+ covered: {before['covered']:,} ({share(before)}) -> {after['covered']:,} "
        f"({share(after)}), +{after['covered'] - before['covered']:,}"
    )
    for h in out["hypothetical"]:
        note = "" if h["matches_filter"] else " (does not match the filter: adds nothing)"
        off = " (off the road network)" if h["off_network"] else ""
        click.echo(f"  {h['name']}: {h['type']} at {h['lon']:.6f},{h['lat']:.6f}{note}{off}")


@click.command("sites")
@click.option("--capability", "specs", multiple=True, metavar="KEY[:MIN_LEVEL]")
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Existing provider types.")
@click.option("--k", type=click.IntRange(1, 50), default=3, show_default=True)
@click.option(
    "--candidates",
    default="grid",
    show_default=True,
    metavar="FILE|grid",
    help="A CSV with lon,lat columns, or a regular grid over the populated area.",
)
@click.option("--grid-m", type=float, default=500.0, show_default=True, help="Grid spacing.")
@click.option("--km", type=float, help="Each new site's radius (default: the type's radius).")
@click.option("--site-type", help="Type of the new sites (default: clinic).")
@click.option("--population", "dataset", help="Population dataset.")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Solver seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def sites(
    services: Services,
    specs: tuple[str, ...],
    types: tuple[str, ...],
    k: int,
    candidates: str,
    grid_m: float,
    km: float | None,
    site_type: str | None,
    dataset: str | None,
    time_limit: float,
    as_json: bool,
) -> None:
    """Best k new sites: maximise the residents aged 75+ newly covered (exact MCLP: LP bound,
    fixing, split, branch), with the greedy answer and its gap beside it; an answer not proven within
    --time-limit says so with its upper bound."""
    from mapsvc.planner.analyses import run_sites

    out = run_sites(
        services, list(specs), k=k, km=km, site_type=site_type, candidates=candidates,
        grid_m=grid_m, dataset=dataset, types=list(types), time_limit_s=time_limit,
    )  # fmt: skip
    if as_json:
        _echo_json(out)
        return
    click.echo(
        f"{out['description']}: {out['k']} new {out['type']} site(s) of {out['km']:g} km among "
        f"{out['candidates']:,} candidates; 75+ covered now {out['75+_covered_now']:,} of "
        f"{out['75+_total']:,}"
    )
    gap = "–" if out["gap"] is None else f"{out['gap'] * 100:.2f}%"
    proof = (
        "proven optimal"
        if out["status"] == "optimal"
        else f"best found, not proven: upper bound {out['bound']}, at most "
        f"{(out['proven_gap'] or 0) * 100:.2f}% below the optimum"
    )
    click.echo(
        f"optimal ({proof}, {out['seconds']:.1f} s): +{out['optimal']['75+_gain']:,}; "
        f"greedy: +{out['greedy']['75+_gain']:,}; gap {gap}"
    )
    for label in ("optimal", "greedy"):
        for i, p in enumerate(out[label]["sites"], start=1):
            click.echo(f"  {label} {i}: {p['lon']:.6f},{p['lat']:.6f}")


COMMANDS = [what_if_cmd, sites]
