"""Providers' service-area polygons, with travel-time ones cached in the store.

Travel-time polygons are expensive (a Dijkstra and a buffered union per provider), so
they are kept in ``service_area_cache`` keyed by (provider, network signature, minutes)
with the provider's ``updated_at``. A cached polygon is used only while the provider is
unchanged and the network is the same file; anything else is recomputed (in chunks, many
sources per Dijkstra call) and the entry replaced. Entries of other networks are pruned.
Radius and explicit polygons are cheap and computed on the fly.

Polygons are simplified by at most :data:`SIMPLIFY_M` metres before they are stored or
served; coverage numbers use the exact rule (:mod:`mapsvc.geo.service_areas`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mapsvc.core.models import ServiceAreaCache, utcnow
from mapsvc.geo.area_sets import provider_area_geometries
from mapsvc.geo.service_areas import AreaContext, AreaRule, resolve_rules

SIMPLIFY_M = 5.0


def _wgs84(geom_m: Any, ctx: AreaContext) -> dict[str, Any]:
    simple = geom_m.simplify(SIMPLIFY_M) if not geom_m.is_empty else geom_m
    out = gpd.GeoSeries([simple], crs=ctx.crs).to_crs("EPSG:4326").iloc[0]
    return mapping(shapely.set_precision(out, 1e-6))  # type: ignore[no-any-return]


def _as_datetime(value: Any) -> datetime:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value  # type: ignore[no-any-return]


def provider_areas(
    store: Any,
    providers: gpd.GeoDataFrame,
    ctx: AreaContext,
    *,
    minutes: float | None = None,
    radius_km: float | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each provider's service area as GeoJSON (EPSG:4326), using and filling the cache.

    Three steps, so no write transaction is held while polygons are computed: read the
    cache (one short read), compute what is missing (no session open), write the new
    entries (one short transaction).

    Parameters
    ----------
    store
        :class:`mapsvc.core.db.Store` (anything with ``session()``).
    providers
        Provider frame (``load_providers_frame``), ``updated_at`` included.
    ctx, minutes, radius_km
        As for :func:`mapsvc.geo.service_areas.resolve_rules`.

    Returns
    -------
    areas, problems
        ``areas``: ``{"provider_id", "uid", "kind", "source", "minutes", "km",
        "geometry", "cached"}`` per provider with an area (off-network ones are only in
        ``problems``).
    """
    rules, problems = resolve_rules(providers, ctx, minutes=minutes, radius_km=radius_km)
    updated = dict(zip(providers["id"].astype(int), providers["updated_at"], strict=True))
    signature = ctx.road.signature if ctx.road is not None else ""
    travel = {r.provider_id: r for r in rules if r.kind == "travel_time" and r.node is not None}
    cached: dict[int, dict[str, Any]] = {}
    stale_networks = False
    if travel:
        with store.session() as session:
            stale_networks = (
                session.scalar(
                    select(ServiceAreaCache.provider_id)
                    .where(ServiceAreaCache.network_signature != signature)
                    .limit(1)
                )
                is not None
            )
            for row in session.execute(
                select(
                    ServiceAreaCache.provider_id,
                    ServiceAreaCache.minutes,
                    ServiceAreaCache.provider_updated_at,
                    ServiceAreaCache.geometry,
                ).where(
                    ServiceAreaCache.network_signature == signature,
                    ServiceAreaCache.provider_id.in_(list(travel)),
                )
            ):
                fresh = row.provider_updated_at == _as_datetime(updated[row.provider_id])
                if fresh and row.minutes == travel[row.provider_id].minutes:
                    cached[row.provider_id] = row.geometry
    todo = [r for r in rules if r.provider_id not in cached]
    computed = provider_area_geometries(todo, ctx)
    out: list[dict[str, Any]] = []
    to_store: list[tuple[AreaRule, datetime, dict[str, Any]]] = []
    as_geojson: dict[int, dict[str, Any]] = {}  # providers sharing one polygon share one dict
    for rule in rules:
        if rule.provider_id in cached:
            geometry, was_cached = cached[rule.provider_id], True
        elif rule.provider_id in computed:
            geom = computed[rule.provider_id]
            if id(geom) not in as_geojson:
                as_geojson[id(geom)] = _wgs84(geom, ctx)
            geometry, was_cached = as_geojson[id(geom)], False
            if rule.kind == "travel_time" and rule.provider_id > 0:
                to_store.append((rule, _as_datetime(updated[rule.provider_id]), geometry))
        else:
            continue
        out.append(_area_dict(rule, geometry, was_cached))
    if to_store or stale_networks:
        with store.session() as session:
            if stale_networks:
                session.execute(
                    delete(ServiceAreaCache).where(ServiceAreaCache.network_signature != signature)
                )
            _store(session, to_store, signature)
    return out, problems


def _store(
    session: Session,
    entries: list[tuple[AreaRule, datetime, dict[str, Any]]],
    signature: str,
) -> None:
    """Replace the cache entries of ``entries`` (one delete per limit, then the rows)."""
    by_minutes: dict[float, list[int]] = {}
    for rule, _, _ in entries:
        by_minutes.setdefault(float(rule.minutes or 0.0), []).append(rule.provider_id)
    for minutes, ids in by_minutes.items():
        session.execute(
            delete(ServiceAreaCache).where(
                ServiceAreaCache.provider_id.in_(ids),
                ServiceAreaCache.network_signature == signature,
                ServiceAreaCache.minutes == minutes,
            )
        )
    now = utcnow()
    session.add_all(
        ServiceAreaCache(
            provider_id=rule.provider_id,
            network_signature=signature,
            minutes=float(rule.minutes or 0.0),
            provider_updated_at=updated_at,
            geometry=geometry,
            computed_at=now,
        )
        for rule, updated_at, geometry in entries
    )


def _area_dict(rule: AreaRule, geometry: dict[str, Any], cached: bool) -> dict[str, Any]:
    return {
        "provider_id": rule.provider_id,
        "uid": rule.uid,
        "name": rule.name,
        "type": rule.type,
        "kind": rule.kind,
        "source": rule.source,
        "minutes": rule.minutes,
        "km": rule.km,
        "geometry": geometry,
        "cached": cached,
    }
