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
    with services.store.session() as session:
        names: dict[str, str] = {}
        for kind in ("municipality", "daily_life_area"):
            frame = areas_frame(session, kind)
            names.update(zip(frame["code"].astype(str), frame["name"], strict=True))
    for row in out["by_area"]:
        row["name"] = names.get(str(row["area"]), row["area"])
    return out


def run_indicators(services: Any, dataset: str | None = None) -> tuple[str, pd.DataFrame]:
    """(dataset, indicators of every loaded area kind) with covered shares of 75+.

    The covered shares use each provider's default rule (explicit, travel time when a
    network is loaded, else radius) for the ``PLANNER_COVERAGE_CAPABILITIES``.
    """
    taxonomy = services.taxonomy
    with services.store.session() as session:
        dataset = dataset or default_dataset(services, session)
        everything = population_frame(session, dataset, area_only=True)
        areas = {kind: areas_frame(session, kind) for kind in AREA_KINDS}
    # area-only units (no point) count per area, never in the covered shares (distances)
    area_only = everything[~everything["placeable"]]
    if len(area_only) == len(everything):
        with services.store.session() as session:
            providers = providers_for(session)
        return dataset, compute_indicators(providers, area_only, areas, taxonomy, covered={})
    dataset, pop, providers, ctx = _inputs(services, dataset)
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
