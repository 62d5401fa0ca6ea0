"""Coverage for many municipalities at once on Dask (dask.distributed).

The union of the matching providers' areas (:class:`~mapsvc.geo.area_sets.AreaSet`) is
computed once and scattered to the workers; the population is partitioned by
municipality and each partition's points are tested on a worker. Results are per
municipality and per count column; covered + uncovered == total holds in each.

``scheduler`` is the ``DASK_SCHEDULER`` setting: empty = a local cluster started for the
call (threads when ``processes=False``), else the address of a running scheduler
(``tcp://host:8786``). An existing ``distributed.Client`` can be passed instead.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mapsvc.core.errors import InvalidInput
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.area_sets import AreaSet, build_area_set
from mapsvc.geo.service_areas import AreaContext, resolve_rules
from mapsvc.planner.coverage import COUNT_COLUMNS, Filter, check_population, matching_providers


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
) -> pd.DataFrame:
    """Coverage per municipality, computed on a Dask cluster.

    Parameters
    ----------
    providers, population, ctx, filters, taxonomy, minutes, radius_km
        As for :func:`mapsvc.planner.coverage.compute_coverage`.
    partition_column
        Population column holding the municipality code (one partition per value).
    scheduler
        ``DASK_SCHEDULER``: empty = a local cluster for this call.
    client
        An existing ``distributed.Client`` (wins over ``scheduler``).
    processes, n_workers
        Local cluster shape when one is started.

    Returns
    -------
    DataFrame
        One row per municipality (sorted): ``municipality``, ``units``,
        ``covered_units``, and for each count column ``<col>``, ``<col>_covered``,
        ``<col>_uncovered``, plus ``75+_share``.
    """
    check_population(population)
    if partition_column not in population.columns:
        raise InvalidInput(f"population has no column {partition_column!r}", field="partition")
    matched = matching_providers(providers, filters, taxonomy)
    rules, _ = resolve_rules(matched, ctx, minutes=minutes, radius_km=radius_km)
    area_set = build_area_set(rules, ctx)
    xy = ctx.xy(population.geometry.x.to_numpy(), population.geometry.y.to_numpy())
    counts = population[list(COUNT_COLUMNS)].to_numpy(dtype=np.int64)
    keys = population[partition_column].fillna("").astype(str).to_numpy()
    with ExitStack() as stack:
        if client is None:
            client = _client(stack, scheduler, processes, n_workers)
        shared = client.scatter(area_set, broadcast=True)
        futures = [
            client.submit(
                _partition_coverage, shared, key, xy[keys == key], counts[keys == key], pure=False
            )
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
        row["75+_share"] = round(row["75+_covered"] / row["75+"], 4) if row["75+"] else None
        rows.append(row)
    return pd.DataFrame(rows).sort_values("municipality", ignore_index=True)
