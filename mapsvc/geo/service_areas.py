"""Providers' service areas (DESIGN.md section 6), and the rule for "is this point inside".

A provider's service area is, in this order:

1. **explicit** — its stored ``service_area`` is ``{"kind": "polygon", "geometry": GeoJSON}``
   or ``{"kind": "codes", "codes": [...]}`` (area codes resolved to the stored area
   polygons; ``"town:37201001"`` names the area kind, a bare code takes the first kind that
   has it in the order town, daily_life_area, municipality, secondary_medical_area,
   custom);
2. **travel time** on the road network — the provider's own ``{"kind": "travel_time",
   "minutes": N}``, else the type's default minutes (``Taxonomy.service_area_defaults``
   with the ``SERVICE_AREA_OVERRIDES`` setting), when a network is loaded;
3. **radius** — the provider's own ``{"kind": "radius", "km": N}``, else the type's default
   radius (16 km for clinics and hospitals: the 訪問診療/往診 distance rule).

An analysis may force one mode for every provider without an explicit area
(``minutes=`` for travel time, ``radius_km=`` for radius); explicit areas always win.

The travel-time rule (used identically by the map polygons, coverage and the finder)
-----------------------------------------------------------------------------------
* A provider starts at its nearest network node. If that node is more than ``snap_m``
  metres away (setting ``SERVICE_AREA_SNAP_M``), the provider is **off the network**:
  :func:`resolve_rules` reports it (problem ``off_network``) and, under its own or its
  type's rule, falls back to its type's radius (``fallback="off_network"``, as the finder
  does); under an analysis's forced time limit (``minutes=``) it is left out of the
  travel-time areas, still reported.
* The *reached road* within ``L`` minutes is every road segment part that can be driven
  to within ``L`` minutes: a segment whose start is reached at ``t`` is reached for the
  share ``(L - t) / segment_time`` of its length (both ends on a two-way road).
* A point is **inside** the area if it lies within ``access_m`` metres (straight line,
  setting ``SERVICE_AREA_ACCESS_M``) of the reached road. The map polygon is exactly the
  reached road buffered by ``access_m``, so numbers and map agree (to the polygon's
  arc approximation, under a metre).

A radius area contains the points within ``km`` of the provider; an explicit area the
points inside its polygons (boundary included).

Public API (plain values; the finder and the planner both use it)
-----------------------------------------------------------------
* :func:`area_context` → :class:`AreaContext` (projection, road index, defaults, codes).
* :func:`check_limits` → refuses a bad ``minutes`` / ``radius_km`` before any work.
* :func:`resolve_rules` → one :class:`AreaRule` per provider, plus problems.
* :func:`on_network` → whether a travel-time rule reached the network.
* :mod:`mapsvc.geo.area_sets` turns rules into areas: :func:`~mapsvc.geo.area_sets.build_area_set`
  → :class:`~mapsvc.geo.area_sets.AreaSet` (the union; ``contains(xy)``, ``geometry()``) and
  :func:`~mapsvc.geo.area_sets.provider_area_geometries` (each provider's own polygon).
* :func:`mapsvc.geo.area_check.point_check` → for one point, which providers' areas hold it,
  with travel time.
* :mod:`mapsvc.geo.service_area_cache` stores provider polygons keyed by network signature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import shape

from mapsvc.core.errors import DataUnavailable, InvalidInput
from mapsvc.core.projection import to_metres, utm_crs_for_extent
from mapsvc.geo._road_index import RoadIndex
from mapsvc.geo.area_codes import (
    CODE_KINDS,
    UNRESOLVED_EN,
    UNRESOLVED_JA,
    lookup_code,
    name_key,
)

__all__ = ["CODE_KINDS", "explicit_area", "lookup_code", "resolve_rules"]


class OffNetwork(DataUnavailable):
    """A provider (or point) is too far from the road network for travel-time analysis."""

    code = "off_network"


@dataclass
class AreaContext:
    """Everything the rule needs, in one projected CRS (metres)."""

    crs: CRS
    road: RoadIndex | None
    defaults: dict[str, dict[str, float]]
    access_m: float = 300.0
    snap_m: float = 1000.0
    area_polygons: dict[tuple[str, str], Any] = field(default_factory=dict)  # metres
    area_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> code

    def xy(self, lons: Any, lats: Any) -> np.ndarray:
        x, y = to_metres(self.crs).transform(np.asarray(lons, float), np.asarray(lats, float))
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])


@dataclass
class AreaRule:
    """How one provider's area is formed (``kind``: polygon, travel_time or radius)."""

    provider_id: int
    uid: str
    name: str
    type: str
    x: float
    y: float
    kind: str
    source: str  # explicit | provider | type_default | analysis
    minutes: float | None = None
    km: float | None = None
    geometry: Any = None  # explicit polygon (metres)
    node: int | None = None
    snap_m: float | None = None
    fallback: str | None = None  # "off_network": a travel-time rule fell back to the radius


def area_context(
    crs: CRS | None,
    road: RoadIndex | None,
    defaults: dict[str, dict[str, float]],
    *,
    access_m: float = 300.0,
    snap_m: float = 1000.0,
    areas: gpd.GeoDataFrame | None = None,
    lons: Iterable[float] = (),
) -> AreaContext:
    """Build an :class:`AreaContext`.

    Parameters
    ----------
    crs
        Projected CRS to work in; default: the road network's, else the UTM zone of ``lons``.
    road
        The active network's :class:`~mapsvc.geo._road_index.RoadIndex`, or None.
    defaults
        ``Taxonomy.service_area_defaults(overrides)``.
    access_m, snap_m
        See the module docstring; both must be > 0.
    areas
        Area polygons (EPSG:4326, columns ``kind``, ``code``, geometry) for ``codes`` areas.
    lons
        Longitudes to pick a CRS from when neither ``crs`` nor ``road`` gives one.
    """
    if access_m <= 0 or snap_m <= 0:
        raise InvalidInput("access and snap distances must be > 0 m", field="access_m")
    if crs is None:
        crs = road.crs if road is not None else utm_crs_for_extent(list(lons) or [134.0])
    polygons: dict[tuple[str, str], Any] = {}
    names: dict[tuple[str, str], str] = {}
    if areas is not None and len(areas):
        projected = areas[areas.geometry.notna()].to_crs(crs)
        labels = projected["name"] if "name" in projected.columns else [""] * len(projected)
        for kind, code, name, geom in zip(
            projected["kind"], projected["code"], labels, projected.geometry, strict=True
        ):
            polygons[(str(kind), str(code))] = geom
            if name:
                names.setdefault((str(kind), name_key(str(name))), str(code))
    return AreaContext(crs, road, defaults, float(access_m), float(snap_m), polygons, names)


def explicit_area(
    area: dict[str, Any],
    transformer: Transformer,
    lookup: Callable[[str], tuple[Any, str | None] | None],
) -> tuple[Any, list[str], str | None]:
    """The explicit part of the rule (DESIGN.md section 6), shared by the planner and the
    finder's index: (geometry in metres or None, names of the areas used, problem or None).

    ``area`` is a provider's stored ``service_area``; kind ``polygon`` (GeoJSON Polygon or
    MultiPolygon in EPSG:4326) or ``codes`` (area codes, ``kind:code`` or a bare code looked
    up in :data:`CODE_KINDS` order by ``lookup``, which returns (geometry, name)). Any other
    kind gives (None, [], None): the radius / travel-time rules decide.
    """
    kind = area.get("kind")
    if kind == "polygon":
        try:
            geom = shape(area["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return None, [], f"service_area polygon is not GeoJSON ({exc})"
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            return None, [], "service_area polygon is empty or not a polygon"
        projected = shapely.transform(
            geom, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1]))
        )
        return shapely.make_valid(projected), [], None
    if kind == "codes":
        found: list[Any] = []
        names: list[str] = []
        missing: list[str] = []
        for code in area.get("codes") or []:
            hit = lookup(str(code))
            if hit is None:
                missing.append(str(code))
                continue
            found.append(hit[0])
            if hit[1]:
                names.append(hit[1])
        problem = (
            f"{UNRESOLVED_JA} ({UNRESOLVED_EN}): area code(s) or name(s) not loaded: "
            f"{', '.join(missing)}"
            if missing
            else None
        )
        return (shapely.union_all(found) if found else None), names, problem
    return None, [], None


def check_limits(minutes: float | None, radius_km: float | None) -> None:
    """Refuse an analysis limit that is not a finite number > 0, or both limits at once.

    Raises
    ------
    InvalidInput
        ``field`` is ``minutes`` or ``radius_km``.
    """
    if minutes is not None and radius_km is not None:
        raise InvalidInput("give a time limit or a radius, not both", field="minutes")
    if minutes is not None and not (np.isfinite(minutes) and minutes > 0):
        raise InvalidInput(f"time limit must be > 0 minutes, got {minutes:g}", field="minutes")
    if radius_km is not None and not (np.isfinite(radius_km) and radius_km > 0):
        raise InvalidInput(f"radius must be > 0 km, got {radius_km:g}", field="radius_km")


def resolve_rules(
    providers: gpd.GeoDataFrame,
    ctx: AreaContext,
    *,
    minutes: float | None = None,
    radius_km: float | None = None,
) -> tuple[list[AreaRule], list[dict[str, Any]]]:
    """Decide each provider's area (module docstring) and snap travel-time ones to the network.

    Parameters
    ----------
    providers
        Frame from :func:`mapsvc.core.frames.load_providers_frame` (EPSG:4326 points).
    ctx
        The :class:`AreaContext`.
    minutes, radius_km
        Force travel time / radius for every provider without an explicit area.

    Returns
    -------
    rules, problems
        Problems are dicts ``{"provider": uid, "name", "problem", "message"}``: providers
        off the network (``off_network``, with ``distance_m`` and ``fallback``: ``"radius"``
        with its ``km``, or None when a forced time limit left it out) and explicit areas
        that could not be resolved (``area``; those fall back to the default rule).

    Raises
    ------
    InvalidInput
        ``minutes`` or ``radius_km`` given and not > 0, or both given (:func:`check_limits`).
    DataUnavailable
        ``minutes`` given but no road network is loaded.
    """
    check_limits(minutes, radius_km)
    if minutes is not None and ctx.road is None:
        raise DataUnavailable(
            "a travel-time analysis needs a road network: import one with "
            "`mapsvc network import FILE`, or use --radius-km",
            field="minutes",
        )
    rules: list[AreaRule] = []
    problems: list[dict[str, Any]] = []
    if len(providers) == 0:
        return rules, problems
    xy = ctx.xy(providers.geometry.x.to_numpy(), providers.geometry.y.to_numpy())
    transformer = to_metres(ctx.crs)

    def lookup(code: str) -> tuple[Any, None] | None:
        geom = lookup_code(code, ctx.area_polygons, ctx.area_names)
        return None if geom is None else (geom, None)

    for i, row in enumerate(providers.itertuples(index=False)):
        stored = row.service_area if isinstance(row.service_area, dict) else {}
        base = AreaRule(
            int(row.id), str(row.uid), str(row.name), str(row.type), xy[i, 0], xy[i, 1], "", ""
        )
        geom, _names, problem = explicit_area(stored, transformer, lookup)
        if problem:
            problems.append(_problem(base, "area", problem))
        if geom is not None and not geom.is_empty:
            base.kind, base.source, base.geometry = "polygon", "explicit", geom
            rules.append(base)
            continue
        defaults = ctx.defaults.get(base.type, {"radius_km": 16.0, "travel_minutes": 30.0})
        if radius_km is not None:
            base.kind, base.source, base.km = "radius", "analysis", float(radius_km)
        elif minutes is not None:
            base.kind, base.source, base.minutes = "travel_time", "analysis", float(minutes)
        elif stored.get("kind") == "radius" and _positive(stored.get("km")):
            base.kind, base.source, base.km = "radius", "provider", float(stored["km"])
        elif ctx.road is not None and stored.get("kind") == "travel_time":
            if _positive(stored.get("minutes")):
                base.kind, base.source = "travel_time", "provider"
                base.minutes = float(stored["minutes"])
        if not base.kind and ctx.road is not None:
            base.kind, base.source = "travel_time", "type_default"
            base.minutes = float(defaults["travel_minutes"])
        if not base.kind:
            base.kind, base.source, base.km = "radius", "type_default", float(defaults["radius_km"])
        rules.append(base)
    _snap(rules, ctx, problems)
    return rules, problems


def _positive(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(number) and number > 0)


def _problem(rule: AreaRule, problem: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider": rule.uid,
        "name": rule.name,
        "problem": problem,
        "message": message,
        **extra,
    }


def _snap(rules: list[AreaRule], ctx: AreaContext, problems: list[dict[str, Any]]) -> None:
    travel = [r for r in rules if r.kind == "travel_time"]
    if not travel or ctx.road is None:
        return
    nodes, dist = ctx.road.snap(np.array([(r.x, r.y) for r in travel]))
    for rule, node, d in zip(travel, nodes, dist, strict=True):
        rule.node, rule.snap_m = int(node), float(d)
        if d <= ctx.snap_m:
            continue
        where = (
            f"{rule.name} is {d:,.0f} m from the nearest road of the network "
            f"(limit {ctx.snap_m:,.0f} m)"
        )
        if rule.source == "analysis":
            problems.append(
                _problem(
                    rule,
                    "off_network",
                    f"{where}; left out of travel-time areas",
                    distance_m=round(float(d), 1),
                    fallback=None,
                )
            )
            continue
        km = float(ctx.defaults.get(rule.type, {}).get("radius_km", 16.0))
        rule.kind, rule.minutes, rule.km, rule.node = "radius", None, km, None
        rule.source, rule.fallback = "type_default", "off_network"
        problems.append(
            _problem(
                rule,
                "off_network",
                f"{where}; its type's radius of {km:g} km is used instead",
                distance_m=round(float(d), 1),
                fallback="radius",
                km=km,
            )
        )


def on_network(rule: AreaRule, ctx: AreaContext) -> bool:
    return rule.kind != "travel_time" or (rule.snap_m is not None and rule.snap_m <= ctx.snap_m)
