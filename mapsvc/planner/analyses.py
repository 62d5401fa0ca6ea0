"""The planner's analyses in one call each, for the CLI and the planner view.

Each function reads what it needs from the store through :mod:`mapsvc.planner.inputs`
and calls the domain modules (:mod:`mapsvc.planner.coverage`, :mod:`mapsvc.planner.what_if`,
:mod:`mapsvc.planner.indicators`, :mod:`mapsvc.planner.candidates`). No Flask here. Both the CLI's
``--json`` and the planner's JSON endpoints pass results through :func:`json_safe`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mapsvc.core.errors import InvalidInput
from mapsvc.geo.areas import areas_frame
from mapsvc.geo.population import population_frame
from mapsvc.geo.service_areas import AreaContext, check_limits
from mapsvc.planner.candidates import find_candidates
from mapsvc.planner.compare import Comparison
from mapsvc.planner.coverage import (
    CoverageResult,
    Filter,
    compute_coverage,
    parse_capability,
    parse_type,
)
from mapsvc.planner.indicators import AREA_KINDS, compute_indicators
from mapsvc.planner.inputs import context_for, default_dataset, population_for, providers_for
from mapsvc.planner.what_if import what_if


def json_safe(value: Any) -> Any:
    """JSON-ready copy: NaN (a rate over nobody) → None, numpy → Python, dates → ISO."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


def run_coverage(
    services: Any,
    specs: Sequence[str],
    *,
    minutes: float | None = None,
    radius_km: float | None = None,
    dataset: str | None = None,
    top: int = 20,
    types: Sequence[str] = (),
) -> tuple[str, CoverageResult]:
    """(dataset, coverage) of the capabilities ``specs`` (``key[:min_level]``, all required).

    Raises
    ------
    InvalidInput
        Unknown capability, no capability, a limit <= 0, both limits.
    DataUnavailable
        No population loaded, or a time limit without a road network.
    """
    filters = _filters(services, specs, types)
    check_limits(minutes, radius_km)
    dataset, pop, providers, ctx = _inputs(services, dataset, need_network=minutes is not None)
    result = compute_coverage(
        providers, pop, ctx, filters, services.taxonomy,
        minutes=minutes, radius_km=radius_km, group_column="group", top=top,
    )  # fmt: skip
    return dataset, result


def run_compare(
    services: Any,
    specs: Sequence[str],
    *,
    minutes: float | None,
    radius_km: float = 16.0,
    dataset: str | None = None,
    types: Sequence[str] = (),
) -> tuple[str, Comparison]:
    """(dataset, radius vs travel time) for the same filter, population and providers.

    Raises
    ------
    InvalidInput
        No time limit, a limit <= 0, an unknown capability.
    DataUnavailable
        No population or no road network.
    """
    filters = _filters(services, specs, types)
    if minutes is None:
        raise InvalidInput("a side-by-side comparison needs a time limit", field="minutes")
    check_limits(minutes, None)
    check_limits(None, radius_km)
    dataset, pop, providers, ctx = _inputs(services, dataset, need_network=True)
    results = [
        compute_coverage(
            providers,
            pop,
            ctx,
            filters,
            services.taxonomy,
            minutes=m,
            radius_km=r,
            group_column="group",
        )  # fmt: skip
        for m, r in ((None, radius_km), (minutes, None))
    ]
    names: list[dict[str, Any]] = [{"area": a} for a in sorted(set(pop["group"].astype(str)))]
    _name_areas(services, names)
    return dataset, Comparison(results[0], results[1], {r["area"]: r["name"] for r in names})


def run_sites(
    services: Any,
    specs: Sequence[str],
    *,
    k: int,
    km: float | None = None,
    site_type: str | None = None,
    candidates: str = "grid",
    grid_m: float = 500.0,
    dataset: str | None = None,
    types: Sequence[str] = (),
    time_limit_s: float = 60.0,
    max_candidates: int | None = None,
    minutes: float | None = None,
    radius_km: float | None = None,
) -> dict[str, Any]:
    """Best ``k`` new sites for the 75+ not yet covered (:mod:`mapsvc.planner.sites`).

    Existing providers keep their own areas (or the analysis's ``minutes`` / ``radius_km``
    when given, as on the planner page); each new site covers ``km`` around it (default:
    the site type's default radius, 16 km for clinics).
    """
    from mapsvc.core.projection import to_degrees
    from mapsvc.planner.sites import best_sites, grid_candidates, radius_cover, read_candidates

    filters = _filters(services, specs, types)
    ptype = site_type or next((t for t in types), None) or "clinic"
    if ptype not in services.taxonomy.provider_types:
        raise InvalidInput(f"unknown provider type {ptype!r}", field="type")
    for f in filters:
        applies = (
            services.taxonomy.capabilities[f.key].applies_to
            if f.key in services.taxonomy.capabilities
            else ()
        )
        if applies and ptype not in applies:
            raise InvalidInput(
                f"a {ptype} cannot offer {f.key} (applies to {', '.join(applies)})", field="type"
            )
    if km is None:
        defaults = services.taxonomy.service_area_defaults(
            services.config.get("SERVICE_AREA_OVERRIDES") or {}
        )
        km = float(defaults.get(ptype, {}).get("radius_km", 16.0))
    check_limits(None, km)
    check_limits(minutes, radius_km)
    dataset, pop, providers, ctx = _inputs(services, dataset, need_network=minutes is not None)
    now = compute_coverage(
        providers, pop, ctx, filters, services.taxonomy,
        minutes=minutes, radius_km=radius_km, group_column="group",
    )  # fmt: skip
    xy = ctx.xy(pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy())
    old = pop["75+"].to_numpy(dtype=float)
    weights = np.where(now.covered, 0.0, old)
    if candidates == "grid":
        cand_xy = grid_candidates(xy, pop["total"].to_numpy(dtype=float), grid_m)
    else:
        lonlat = read_candidates(candidates)
        cand_xy = ctx.xy(lonlat[:, 0], lonlat[:, 1])
    if len(cand_xy) == 0:
        raise InvalidInput("no candidate points", field="candidates")
    if max_candidates is not None and len(cand_xy) > max_candidates:
        raise InvalidInput(
            f"a {grid_m:g} m grid gives {len(cand_xy):,} candidate points; at most "
            f"{max_candidates:,} here (use a larger spacing, or the mapsvc sites command)",
            field="grid_m",
        )
    result = best_sites(radius_cover(xy, cand_xy, km * 1000.0), weights, k, time_limit_s)
    lons, lats = to_degrees(ctx.crs).transform(cand_xy[:, 0], cand_xy[:, 1])

    def points(idx: list[int]) -> list[dict[str, Any]]:
        return [{"lon": round(float(lons[j]), 6), "lat": round(float(lats[j]), 6)} for j in idx]

    total_old = int(old.sum())
    covered_now = int(old[now.covered].sum())
    return {
        "dataset": dataset,
        "description": now.to_dict(services.taxonomy)["description"],
        "k": k,
        "km": km,
        "type": ptype,
        "candidates": result.candidates,
        "units": result.units,
        "75+_total": total_old,
        "75+_covered_now": covered_now,
        "optimal": {"sites": points(result.chosen), "75+_gain": result.optimal_gain},
        "greedy": {"sites": points(result.greedy), "75+_gain": result.greedy_gain},
        "gap": result.gap,
        "bound": round(result.bound, 1) if np.isfinite(result.bound) else None,
        "status": result.status,
        "proven_gap": result.proven_gap,
        "seconds": round(result.seconds, 2),
    }


def _inputs(
    services: Any, dataset: str | None, need_network: bool = False, as_of: str | None = None
) -> tuple[str, gpd.GeoDataFrame, gpd.GeoDataFrame, AreaContext]:
    """(dataset, population with ``group``, providers, context) read in one transaction;
    ``as_of``: the registry as it was on that date (:mod:`mapsvc.core.registry_history`)."""
    with services.store.session() as session:
        dataset, pop = population_for(services, session, dataset)
        providers = _providers(session, as_of)
        ctx = context_for(services, session, lons=pop.geometry.x, need_network=need_network)
    return dataset, pop, providers, ctx


def _providers(session: Any, as_of: str | None) -> gpd.GeoDataFrame:
    if as_of is None:
        return providers_for(session)
    from mapsvc.core.registry_history import providers_as_of

    return providers_as_of(session, as_of)


def _filters(services: Any, specs: Sequence[str], types: Sequence[str]) -> list[Filter]:
    if not specs and not types:
        raise InvalidInput("give at least one capability or provider type", field="capability")
    out: list[Filter] = [parse_type(t, services.taxonomy) for t in types]
    out += [parse_capability(s, services.taxonomy) for s in specs]
    return out


def run_what_if(
    services: Any,
    specs: Sequence[str],
    additions: list[dict[str, Any]],
    *,
    minutes: float | None = None,
    radius_km: float | None = None,
    dataset: str | None = None,
    types: Sequence[str] = (),
) -> dict[str, Any]:
    """Coverage gain of hypothetical providers (see :func:`mapsvc.planner.what_if.what_if`)."""
    filters = _filters(services, specs, types)
    check_limits(minutes, radius_km)
    dataset, pop, providers, ctx = _inputs(services, dataset, need_network=minutes is not None)
    out = what_if(
        providers, pop, ctx, filters, services.taxonomy, additions,
        minutes=minutes, radius_km=radius_km, group_column="group",
    )  # fmt: skip
    out["dataset"] = dataset
    _name_areas(services, out["by_area"])
    return out


def _name_areas(services: Any, rows: list[dict[str, Any]]) -> None:
    """Add each row's area ``name`` (municipality or daily-life area; else its code)."""
    with services.store.session() as session:
        names: dict[str, str] = {}
        for kind in ("municipality", "daily_life_area"):
            frame = areas_frame(session, kind)
            names.update(zip(frame["code"].astype(str), frame["name"], strict=True))
    for row in rows:
        row["name"] = names.get(str(row["area"]), row["area"])


def run_indicators(
    services: Any, dataset: str | None = None, as_of: str | None = None
) -> tuple[str, pd.DataFrame]:
    """(dataset, indicators of every loaded area kind) with covered shares of 75+.

    The covered shares use each provider's default rule (explicit, travel time when a
    network is loaded, else radius) for the ``PLANNER_COVERAGE_CAPABILITIES``. ``as_of``
    (YYYY-MM-DD): the registry as it was on that day, rebuilt from the audit log, so a
    snapshot of a past date counts the providers of that date.
    """
    if as_of is not None:
        try:
            as_of = date.fromisoformat(str(as_of)).isoformat()
        except ValueError:
            raise InvalidInput(f"{as_of!r} is not a date (YYYY-MM-DD)", field="date") from None
    taxonomy = services.taxonomy
    with services.store.session() as session:
        dataset = dataset or default_dataset(services, session)
        everything = population_frame(session, dataset, area_only=True)
        areas = {kind: areas_frame(session, kind) for kind in AREA_KINDS}
    # area-only units (no point) count per area, never in the covered shares (distances)
    area_only = everything[~everything["placeable"]]
    if len(area_only) == len(everything):
        with services.store.session() as session:
            providers = _providers(session, as_of)
        return dataset, compute_indicators(providers, area_only, areas, taxonomy, covered={})
    dataset, pop, providers, ctx = _inputs(services, dataset, as_of=as_of)
    covered = {}
    for key in services.config.get("PLANNER_COVERAGE_CAPABILITIES") or []:
        if key not in taxonomy.capabilities:
            raise InvalidInput(
                f"PLANNER_COVERAGE_CAPABILITIES names unknown capability {key!r}",
                field="PLANNER_COVERAGE_CAPABILITIES",
            )
        filters: list[Filter] = [parse_capability(key, taxonomy)]
        result = compute_coverage(providers, pop, ctx, filters, taxonomy, group_column="group")
        covered[key] = result.covered
    if len(area_only):
        pad = np.zeros(len(area_only), dtype=bool)
        covered = {k: np.concatenate([np.asarray(v, dtype=bool), pad]) for k, v in covered.items()}
        pop = pd.concat([pop, area_only.assign(group=None)], ignore_index=True)
    return dataset, compute_indicators(providers, pop, areas, taxonomy, covered=covered)


def run_candidates(services: Any) -> list[dict[str, Any]]:
    """Candidates per loaded municipality (:func:`mapsvc.planner.candidates.find_candidates`)."""
    with services.store.session() as session:
        munis = areas_frame(session, "municipality")
        smas = areas_frame(session, "secondary_medical_area")
        providers = providers_for(session)
    if len(munis) == 0:
        from mapsvc.core.errors import DataUnavailable

        raise DataUnavailable(
            "no municipality boundary is loaded: load one with `mapsvc areas import FILE`",
            field="areas",
        )
    return find_candidates(providers, munis, smas, services.taxonomy)
