"""Coverage for many municipalities at once on Dask (dask.distributed): ``mapsvc coverage --by``.

The matching providers' areas are decided by the same rule as a single coverage run
(:func:`mapsvc.geo.service_areas.resolve_rules`: a provider off the road network falls back
to its type's radius and is counted, never silently dropped) and united once
(:class:`~mapsvc.geo.area_sets.AreaSet`); the union is scattered to the workers, the
population is partitioned by municipality and each partition's points are tested in one
task on a worker. Results are per municipality and per count column; covered + uncovered ==
total holds in each, and the sums equal :func:`mapsvc.planner.coverage.compute_coverage`.

``scheduler`` is the ``--scheduler`` option or the ``DASK_SCHEDULER`` setting: empty = a
local cluster started for the call (one worker of two threads by default: the point tests
are vectorised GEOS / KD-tree calls that release the GIL), else the address of a running
scheduler (``tcp://host:8786``). An existing ``distributed.Client`` can be passed instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mapsvc.core.errors import InvalidInput
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.area_sets import AreaSet, build_area_set
from mapsvc.geo.service_areas import AreaContext, check_limits, resolve_rules
from mapsvc.planner.coverage import (
    COUNT_COLUMNS,
    MISSING_EN,
    MISSING_JA,
    Filter,
    check_population,
    matching_providers,
    off_network_counts,
    unanswered,
)

BY_KINDS = ("municipality",)


@dataclass
class BatchCoverage:
    """Coverage per municipality and what the reader must know beside the numbers."""

    table: pd.DataFrame  # one row per municipality, see coverage_by_municipality
    providers: int
    problems: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # capabilities nobody has answered

    @property
    def off_network(self) -> dict[str, int]:
        return off_network_counts(self.problems)

    def rows(self) -> list[dict[str, Any]]:
        return [{k: _plain(v) for k, v in r.items()} for r in self.table.to_dict("records")]

    def to_dict(self, taxonomy: Taxonomy, lang: str = "ja") -> dict[str, Any]:
        return {
            "providers": self.providers,
            "off_network": self.off_network,
            "missing": [
                {
                    "capability": key,
                    "label": taxonomy.capabilities[key].label.get(lang),
                    "message": MISSING_JA if lang != "en" else MISSING_EN,
                }
                for key in self.missing
            ],
            "municipalities": self.rows(),
            "problems": self.problems,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _partition_coverage(
    area_set: AreaSet, key: str, xy: np.ndarray, counts: np.ndarray
) -> dict[str, Any]:
    """One municipality: covered and total per count column (runs on a worker)."""
    covered = area_set.contains(xy)
    return {
        "municipality": key,
        "units": int(len(xy)),
        "covered_units": int(covered.sum()),
        "total": counts.sum(axis=0).tolist(),
        "covered": counts[covered].sum(axis=0).tolist(),
    }


def _client(stack: ExitStack, scheduler: str, processes: bool, n_workers: int | None) -> Any:
    from distributed import Client, LocalCluster

    if scheduler:
        return stack.enter_context(Client(scheduler))
    cluster = stack.enter_context(
        LocalCluster(
            n_workers=n_workers or 1,
            threads_per_worker=1 if processes else 2,
            processes=processes,
            dashboard_address=None,
        )
    )
    return stack.enter_context(Client(cluster))


def coverage_by_municipality(
    providers: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame,
    ctx: AreaContext,
    filters: list[Filter],
    taxonomy: Taxonomy,
    *,
    partition_column: str = "municipality",
    minutes: float | None = None,
    radius_km: float | None = None,
    scheduler: str = "",
    client: Any = None,
    processes: bool = False,
    n_workers: int | None = None,
) -> BatchCoverage:
    """Coverage per municipality, one Dask task per municipality.

    Parameters
    ----------
    providers, population, ctx, filters, taxonomy, minutes, radius_km
        As for :func:`mapsvc.planner.coverage.compute_coverage`.
    partition_column
        Population column holding the municipality code (one task per value; units
        without one form the partition ``""``).
    scheduler
        Scheduler address; empty = a local cluster for this call.
    client
        An existing ``distributed.Client`` (wins over ``scheduler``).
    processes, n_workers
        Local cluster shape when one is started.

    Returns
    -------
    BatchCoverage
        ``table``: one row per municipality (sorted by code): ``municipality``, ``units``,
        ``covered_units``, for each count column ``<col>``, ``<col>_covered``,
        ``<col>_uncovered``, and ``75+_share`` (None when nobody aged 75+ lives there or
        when a capability has no answers at all: see ``missing``).
    """
    if not filters:
        raise InvalidInput("give at least one capability or provider type", field="capability")
    check_population(population)
    if partition_column not in population.columns:
        raise InvalidInput(f"population has no column {partition_column!r}", field="by")
    matched = matching_providers(providers, filters, taxonomy)
    rules, problems = resolve_rules(matched, ctx, minutes=minutes, radius_km=radius_km)
    area_set = build_area_set(rules, ctx)
    xy = ctx.xy(population.geometry.x.to_numpy(), population.geometry.y.to_numpy())
    counts = (
        population[list(COUNT_COLUMNS)].to_numpy(dtype=np.int64).reshape(-1, len(COUNT_COLUMNS))
    )
    keys = population[partition_column].fillna("").astype(str).to_numpy()
    missing = unanswered(providers, filters, taxonomy)
    parts: list[dict[str, Any]] = []
    if len(population):
        with ExitStack() as stack:
            if client is None:
                client = _client(stack, scheduler, processes, n_workers)
            shared = client.scatter(area_set, broadcast=True)
            futures = [
                client.submit(
                    _partition_coverage,
                    shared,
                    key,
                    xy[keys == key],
                    counts[keys == key],
                    pure=False,
                )  # fmt: skip
                for key in sorted(set(keys))
            ]
            parts = client.gather(futures)
    rows = []
    for part in parts:
        row: dict[str, Any] = {k: part[k] for k in ("municipality", "units", "covered_units")}
        for i, col in enumerate(COUNT_COLUMNS):
            row[col] = int(part["total"][i])
            row[f"{col}_covered"] = int(part["covered"][i])
            row[f"{col}_uncovered"] = row[col] - row[f"{col}_covered"]
        known = row["75+"] and not missing
        row["75+_share"] = round(row["75+_covered"] / row["75+"], 4) if known else None
        rows.append(row)
    columns = ["municipality", "units", "covered_units"]
    columns += [f"{c}{s}" for c in COUNT_COLUMNS for s in ("", "_covered", "_uncovered")]
    table = pd.DataFrame(rows, columns=[*columns, "75+_share"])
    return BatchCoverage(
        table=table.sort_values("municipality", ignore_index=True),
        providers=len([r for r in rules if r.provider_id > 0]),
        problems=problems,
        missing=missing,
    )


def run_coverage_by(
    services: Any,
    specs: Sequence[str],
    *,
    by: str = "municipality",
    minutes: float | None = None,
    radius_km: float | None = None,
    dataset: str | None = None,
    types: Sequence[str] = (),
    scheduler: str | None = None,
    client: Any = None,
) -> tuple[str, BatchCoverage]:
    """(dataset, coverage per municipality) read from the store; rows carry ``name``.

    A unit's municipality is the loaded municipality boundary holding its point, else the
    municipality code it was imported with, else ``""`` (shown as 不明).

    Raises
    ------
    InvalidInput
        ``by`` not a known partition, an unknown capability or type, a bad limit.
    DataUnavailable
        No population loaded, or a time limit without a road network.
    """
    from mapsvc.geo.areas import areas_frame, codes_containing
    from mapsvc.geo.population import population_frame
    from mapsvc.planner.coverage import parse_capability, parse_type
    from mapsvc.planner.inputs import context_for, default_dataset, providers_for

    if by not in BY_KINDS:
        raise InvalidInput(f"--by must be one of {', '.join(BY_KINDS)}", field="by")
    if not specs and not types:
        raise InvalidInput("give at least one capability or provider type", field="capability")
    filters: list[Filter] = [parse_type(t, services.taxonomy) for t in types]
    filters += [parse_capability(s, services.taxonomy) for s in specs]
    check_limits(minutes, radius_km)
    with services.store.session() as session:
        dataset = dataset or default_dataset(services, session)
        pop = population_frame(session, dataset)
        munis = areas_frame(session, by)
        providers = providers_for(session)
        ctx = context_for(services, session, lons=pop.geometry.x, need_network=minutes is not None)
    inside = codes_containing(pop, munis)
    own = pop["municipality_code"].tolist() if "municipality_code" in pop.columns else []
    pop[by] = [str(code or (own[i] if own else "") or "") for i, code in enumerate(inside)]
    if scheduler is None:
        scheduler = str(services.config.get("DASK_SCHEDULER") or "")
    result = coverage_by_municipality(
        providers, pop, ctx, filters, services.taxonomy, partition_column=by,
        minutes=minutes, radius_km=radius_km, scheduler=scheduler, client=client,
    )  # fmt: skip
    names = dict(zip(munis["code"].astype(str), munis["name"], strict=True)) if len(munis) else {}
    result.table.insert(
        1, "name", [names.get(c, c or "不明") for c in result.table["municipality"]]
    )
    return dataset, result
