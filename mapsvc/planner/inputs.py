"""What the planner's analyses read from the store, gathered in one place.

The CLI and the planner view call these, then hand plain frames and an
:class:`~mapsvc.geo.service_areas.AreaContext` to the domain functions in
:mod:`mapsvc.planner.coverage`, :mod:`mapsvc.planner.indicators` and :mod:`mapsvc.planner.candidates`.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from mapsvc.core.errors import DataUnavailable
from mapsvc.core.frames import load_providers_frame
from mapsvc.geo._road_index import RoadIndex, cached_road_index
from mapsvc.geo.areas import AREA_KINDS, areas_frame, codes_containing
from mapsvc.geo.network import load_active_network
from mapsvc.geo.population import population_datasets, population_frame
from mapsvc.geo.service_areas import AreaContext, area_context


def road_index(services: Any) -> RoadIndex | None:
    """The active network as a :class:`RoadIndex` (cached per signature), or None."""
    loaded = load_active_network(services)
    if loaded is None:
        return None
    graph, row = loaded
    return cached_road_index(graph, row.signature)


def all_areas(session: Session) -> gpd.GeoDataFrame:
    """Every loaded area of every kind (EPSG:4326)."""
    frames = [areas_frame(session, kind) for kind in AREA_KINDS]
    frames = [f for f in frames if len(f)]
    if not frames:
        return areas_frame(session, AREA_KINDS[0])
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def context_for(
    services: Any, session: Session, *, lons: Any = (), need_network: bool = False
) -> AreaContext:
    """An :class:`AreaContext` from the configuration, the active network and the areas.

    Raises
    ------
    DataUnavailable
        ``need_network`` and no road network is loaded.
    """
    road = road_index(services)
    if road is None and need_network:
        raise DataUnavailable(
            "no road network is loaded: import one with `mapsvc network import FILE` "
            "(or use a radius instead of a time limit)",
            field="minutes",
        )
    cfg = services.config
    return area_context(
        None,
        road,
        services.taxonomy.service_area_defaults(cfg.get("SERVICE_AREA_OVERRIDES") or {}),
        access_m=float(cfg.get("SERVICE_AREA_ACCESS_M", 300.0)),
        snap_m=float(cfg.get("SERVICE_AREA_SNAP_M", 1000.0)),
        areas=all_areas(session),
        lons=list(lons),
    )


def _survey_key(value: Any) -> tuple[int, ...]:
    """Sortable form of a survey date (``2020-10-01``, ``2020/10``, ``2020``); () if none."""
    digits = re.findall(r"\d+", str(value or ""))
    return tuple(int(d) for d in digits[:3])


def choose_dataset(datasets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The loaded dataset with the newest survey date (ties and undated: by name)."""
    if not datasets:
        return None
    ordered = sorted(datasets, key=lambda d: str(d["dataset"]))
    return max(ordered, key=lambda d: _survey_key(d.get("survey_date")))


def default_dataset(services: Any, session: Session) -> str:
    """The configured population dataset, else the loaded one with the newest survey date.

    Raises
    ------
    DataUnavailable
        No population is loaded.
    """
    chosen = services.config.get("PLANNER_POPULATION") or ""
    if chosen:
        return str(chosen)
    newest = choose_dataset(population_datasets(session))
    if newest is None:
        raise DataUnavailable(
            "no population is loaded: load one with `mapsvc population import FILE`",
            field="population",
        )
    return str(newest["dataset"])


def dataset_note(services: Any, session: Session, dataset: str) -> dict[str, Any]:
    """What the page and report say about the population used: name, survey date, why."""
    found = next((d for d in population_datasets(session) if d["dataset"] == dataset), None)
    configured = bool(services.config.get("PLANNER_POPULATION"))
    return {
        "dataset": dataset,
        "survey_date": (found or {}).get("survey_date"),
        "why": "configured" if configured else "newest",
    }


def population_for(
    services: Any, session: Session, dataset: str | None, group_kind: str | None = None
) -> tuple[str, gpd.GeoDataFrame]:
    """(dataset, population points) with a ``group`` column for the area-by-area breakdown.

    ``group`` is the code of the ``group_kind`` area holding each point (default: the
    daily-life area when loaded, else the municipality, else the unit's ``area_code``).
    """
    dataset = dataset or default_dataset(services, session)
    pop = population_frame(session, dataset)
    pop["group"] = pop["area_code"].fillna("").astype(str)
    kinds = [group_kind] if group_kind else ["daily_life_area", "municipality"]
    for kind in kinds:
        areas = areas_frame(session, kind)
        if len(areas):
            codes = pd.Series(codes_containing(pop, areas), index=pop.index)
            pop["group"] = codes.fillna(pop["group"])
            break
    return dataset, pop


def providers_for(session: Session) -> gpd.GeoDataFrame:
    """Located providers (EPSG:4326) for the analyses."""
    return load_providers_frame(session)
