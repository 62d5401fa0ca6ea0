"""What if we added a provider here? Coverage with hypothetical providers, registry untouched.

:func:`what_if` runs :func:`mapsvc.planner.coverage.compute_coverage` twice — as things are, and
with the hypothetical providers added in memory — and reports the gain per age band and
area by area. Nothing is written to the store.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import pandas as pd

from mapsvc.core.codes import JAPAN_LAT, JAPAN_LON
from mapsvc.core.errors import InvalidInput
from mapsvc.core.filters import CapabilityFilter
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.service_areas import AreaContext
from mapsvc.planner.coverage import (
    CoverageResult,
    Filter,
    TypeFilter,
    compute_coverage,
    matching_providers,
)
from mapsvc.planner.geojson import rfc7946

MAX_HYPOTHETICAL = 20


def hypothetical_frame(
    additions: list[dict[str, Any]], filters: list[Filter], taxonomy: Taxonomy
) -> gpd.GeoDataFrame:
    """Validate hypothetical providers and build their frame rows (negative ids).

    Each addition: ``lon``, ``lat`` (required), ``type`` (default: the first type filter, else clinic), ``name``,
    ``capabilities`` (``{key: value}`` parsed like an import; default: the filter's
    capabilities at their minimum level, i.e. "a provider that offers what we analyse"),
    ``minutes`` or ``km`` (its own travel-time or radius area).

    Raises
    ------
    InvalidInput
        With ``field`` like ``providers[0].lon`` naming the bad value.
    """
    if not isinstance(additions, list) or not additions:
        raise InvalidInput("add at least one hypothetical provider", field="providers")
    if len(additions) > MAX_HYPOTHETICAL:
        raise InvalidInput(
            f"at most {MAX_HYPOTHETICAL} hypothetical providers at once", field="providers"
        )
    rows = []
    for i, item in enumerate(additions):
        where = f"providers[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput("expected an object with lon and lat", field=where)
        lon, lat = (
            _coordinate(item, "lon", where, *JAPAN_LON),
            _coordinate(item, "lat", where, *JAPAN_LAT),
        )
        default_type = next((f.key for f in filters if isinstance(f, TypeFilter)), "clinic")
        ptype = str(item.get("type") or default_type)
        if ptype not in taxonomy.provider_types:
            raise InvalidInput(
                f"unknown provider type {ptype!r}; expected one of "
                f"{', '.join(taxonomy.provider_types)}",
                field=f"{where}.type",
            )
        caps = _capabilities(item.get("capabilities"), filters, taxonomy, where)
        for key in caps:
            applies = taxonomy.capabilities[key].applies_to
            if applies and ptype not in applies:
                raise InvalidInput(
                    f"a {taxonomy.provider_types[ptype].label.get('ja')} ({ptype}) cannot offer "
                    f"{taxonomy.capabilities[key].label.get('ja')} ({key}); it applies to "
                    f"{', '.join(applies)}",
                    field=f"{where}.type",
                )
        area = None
        if item.get("minutes") not in (None, ""):
            area = {"kind": "travel_time", "minutes": _positive(item, "minutes", where)}
        elif item.get("km") not in (None, ""):
            area = {"kind": "radius", "km": _positive(item, "km", where)}
        rows.append(
            {
                "id": -(i + 1),
                "uid": f"hypothetical-{i + 1}",
                "type": ptype,
                "name": str(item.get("name") or f"仮想 {i + 1} / hypothetical {i + 1}")[:100],
                "municipality_code": None,
                "lon": lon,
                "lat": lat,
                "service_area": area,
                "capabilities": caps,
                "status": "active",
            }
        )
    df = pd.DataFrame.from_records(rows)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")


def _coordinate(item: dict[str, Any], key: str, where: str, low: float, high: float) -> float:
    try:
        value = float(item[key])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(f"{key} must be a number", field=f"{where}.{key}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(
            f"{key} = {value} is outside Japan ({low}..{high})", field=f"{where}.{key}"
        )
    return value


def _positive(item: dict[str, Any], key: str, where: str) -> float:
    try:
        value = float(item[key])
    except (TypeError, ValueError):
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{key} must be a number > 0", field=f"{where}.{key}")
    return value


def _capabilities(
    raw: Any, filters: list[Filter], taxonomy: Taxonomy, where: str
) -> dict[str, Any]:
    if raw in (None, {}):
        out: dict[str, Any] = {}
        for f in filters:
            if not isinstance(f, CapabilityFilter):
                continue
            kind = taxonomy.capabilities[f.key].kind
            if kind == "level":
                out[f.key] = {"level": f.min_level or "accept"}
            elif kind == "flag":
                out[f.key] = {"level": "yes"}
            else:
                options = list(taxonomy.capabilities[f.key].options)
                out[f.key] = {"value": options[0] if kind == "choice" else options[:1]}
        return out
    if not isinstance(raw, dict):
        raise InvalidInput("expected {capability: value}", field=f"{where}.capabilities")
    out = {}
    for key, value in raw.items():
        if key not in taxonomy.capabilities:
            raise InvalidInput(f"unknown capability {key!r}", field=f"{where}.capabilities.{key}")
        try:
            parsed = taxonomy.parse_value(key, value)
        except ValueError as exc:
            raise InvalidInput(str(exc), field=f"{where}.capabilities.{key}") from None
        if parsed is not None:
            out[key] = parsed
    return out


def what_if(
    providers: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame,
    ctx: AreaContext,
    filters: list[Filter],
    taxonomy: Taxonomy,
    additions: list[dict[str, Any]],
    *,
    minutes: float | None = None,
    radius_km: float | None = None,
    group_column: str = "area_code",
) -> dict[str, Any]:
    """Coverage gain from hypothetical providers (see :func:`hypothetical_frame`).

    Returns
    -------
    dict
        ``before`` and ``after`` (:meth:`CoverageResult.to_dict` summaries), ``gain``
        per band (``covered`` people and ``share`` points), ``by_area`` (before/after
        covered 75+ and total per area) and ``hypothetical`` (each addition, and
        whether it matches the capability filter — one that does not adds nothing).
    """
    extra = hypothetical_frame(additions, filters, taxonomy)
    before = compute_coverage(
        providers, population, ctx, filters, taxonomy,
        minutes=minutes, radius_km=radius_km, group_column=group_column,
    )  # fmt: skip
    combined = pd.concat([providers, extra], ignore_index=True)
    combined = gpd.GeoDataFrame(combined, geometry="geometry", crs="EPSG:4326")
    after = compute_coverage(
        combined, population, ctx, filters, taxonomy,
        minutes=minutes, radius_km=radius_km, group_column=group_column,
    )  # fmt: skip
    matched = set(matching_providers(extra, filters, taxonomy)["uid"])
    off = {p["provider"] for p in after.problems if p["problem"] == "off_network"}
    return {
        "before": before.to_dict(taxonomy),
        "after": after.to_dict(taxonomy),
        "gain": _gain(before, after),
        "after_area": rfc7946(after.geometry_wgs84(simplify_m=5.0)),
        "by_area": _area_gain(before, after),
        "hypothetical": [
            {
                "uid": row.uid,
                "name": row.name,
                "type": row.type,
                "lon": row.lon,
                "lat": row.lat,
                "matches_filter": row.uid in matched,
                "off_network": row.uid in off,
            }
            for row in extra.itertuples(index=False)
        ],
    }


def _gain(before: CoverageResult, after: CoverageResult) -> list[dict[str, Any]]:
    out = []
    for b, a in zip(before.bands(), after.bands(), strict=True):
        share = None
        if b["share"] is not None and a["share"] is not None:
            share = round(a["share"] - b["share"], 4)
        out.append({"band": b["band"], "covered": a["covered"] - b["covered"], "share": share})
    return out


def _area_gain(before: CoverageResult, after: CoverageResult) -> list[dict[str, Any]]:
    rows = []
    after_by = {r["area"]: r for r in after.by_area()}
    for b in before.by_area():
        a = after_by[b["area"]]
        rows.append(
            {
                "area": b["area"],
                "total": b["total"],
                "75+": b["75+"],
                "75+_covered_before": b["75+_covered"],
                "75+_covered_after": a["75+_covered"],
                "total_covered_before": b["total_covered"],
                "total_covered_after": a["total_covered"],
                "75+_share_before": b["75+_share"],
                "75+_share_after": a["75+_share"],
            }
        )
    return rows
