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
from mapsvc.planner.inputs import context_for, population_for, providers_for
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


def _inputs(
    services: Any, dataset: str | None, need_network: bool = False
) -> tuple[str, gpd.GeoDataFrame, gpd.GeoDataFrame, AreaContext]:
    """(dataset, population with ``group``, providers, context) read in one transaction."""
    with services.store.session() as session:
        dataset, pop = population_for(services, session, dataset)
        providers = providers_for(session)
        ctx = context_for(services, session, lons=pop.geometry.x, need_network=need_network)
    return dataset, pop, providers, ctx


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


def run_indicators(services: Any, dataset: str | None = None) -> tuple[str, pd.DataFrame]:
    """(dataset, indicators of every loaded area kind) with covered shares of 75+.

    The covered shares use each provider's default rule (explicit, travel time when a
    network is loaded, else radius) for the ``PLANNER_COVERAGE_CAPABILITIES``.
    """
    taxonomy = services.taxonomy
    dataset, pop, providers, ctx = _inputs(services, dataset)
    with services.store.session() as session:
        areas = {kind: areas_frame(session, kind) for kind in AREA_KINDS}
    covered = {}
    for key in services.config.get("PLANNER_COVERAGE_CAPABILITIES") or []:
        if key not in taxonomy.capabilities:
            raise InvalidInput(
                f"PLANNER_COVERAGE_CAPABILITIES names unknown capability {key!r}",
                field="PLANNER_COVERAGE_CAPABILITIES",
            )
        filters = [parse_capability(key, taxonomy)]
        result = compute_coverage(providers, pop, ctx, filters, taxonomy, group_column="group")
        covered[key] = result.covered
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
