"""The areas the public map and the finder draw without tiles, as one small GeoJSON document.

The municipality outline, the parts of 二次医療圏 (``secondary_medical_area``), the
日常生活圏域 and the towns (町丁・字) from the store
(:class:`~mapsvc.core.models.Area`), public-safe: each feature's properties are only
``code``, ``name`` and ``kind`` (an area's own ``properties`` — centre names, notes,
anything an editor added — never leave the store this way). The geometry is simplified
(each kind of one municipality as a coverage, so neighbours keep a shared edge), rounded to
6 decimals (RFC 7946 §11.2) and wound as RFC 7946 §3.1.6 asks: exterior rings
counter-clockwise, holes clockwise (``shapely.orient_polygons``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.models import Area

# drawn under the providers, in this order (the outline last, on top of the areas; a
# 二次医療圏 part holds 日常生活圏域 and lies within the municipality)
PUBLIC_KINDS = ("town", "daily_life_area", "secondary_medical_area", "municipality")
DECIMALS = 6
# about 10 m: invisible at the zooms a whole town or area fills the screen
TOLERANCE_DEG = 0.0001
PROPERTIES = ("code", "name", "kind")


def _simplified(geoms: list[BaseGeometry]) -> list[BaseGeometry]:
    """The polygons of one kind and municipality, simplified together (shared edges stay
    shared); each polygon on its own if they do not form a coverage."""
    try:
        out = list(shapely.coverage_simplify(geoms, TOLERANCE_DEG))
    except shapely.errors.GEOSException:
        out = []
    if len(out) != len(geoms) or not all(g.is_valid and not g.is_empty for g in out):
        out = [shapely.simplify(g, TOLERANCE_DEG, preserve_topology=True) for g in geoms]
    return out


def _rfc7946(geom: BaseGeometry) -> dict[str, Any]:
    rounded = shapely.set_precision(geom, 10**-DECIMALS)
    oriented = shapely.orient_polygons(rounded, exterior_cw=False)
    return mapping(oriented)  # type: ignore[no-any-return]


def public_areas(session: Session, kinds: tuple[str, ...] = PUBLIC_KINDS) -> dict[str, Any]:
    """Every stored area of ``kinds`` as a GeoJSON FeatureCollection (see the module
    docstring); ``kinds`` lists the kinds present, in drawing order."""
    rows = session.execute(
        select(Area.kind, Area.code, Area.name, Area.municipality_code, Area.geometry)
        .where(Area.kind.in_(kinds))
        .order_by(Area.kind, Area.code)
    ).all()
    groups: dict[tuple[str, str], list[tuple[str, str, BaseGeometry]]] = defaultdict(list)
    for kind, code, name, muni, geometry in rows:
        if not geometry:
            continue
        geom = shape(geometry)
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        groups[(kind, muni or "")].append((code, name, geom))
    features: list[dict[str, Any]] = []
    for kind in kinds:
        for (k, _muni), members in sorted(groups.items()):
            if k != kind:
                continue
            simple = _simplified([g for _, _, g in members])
            for (code, name, _), geom in zip(members, simple, strict=True):
                if geom.is_empty:
                    continue
                features.append(
                    {
                        "type": "Feature",
                        "id": f"{kind}:{code}",
                        "geometry": _rfc7946(geom),
                        "properties": {"code": code, "name": name, "kind": kind},
                    }
                )
    present = [k for k in kinds if any(f["properties"]["kind"] == k for f in features)]
    return {"type": "FeatureCollection", "kinds": present, "features": features}


def as_bytes(doc: dict[str, Any]) -> bytes:
    """A :func:`public_areas` document as compact UTF-8 JSON (what the endpoint sends)."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def public_areas_bytes(session: Session) -> bytes:
    """:func:`public_areas` as compact UTF-8 JSON (what the endpoint sends and caches)."""
    return as_bytes(public_areas(session))


def frame(doc: dict[str, Any]) -> list[float] | None:
    """``[minlon, minlat, maxlon, maxlat]`` of the broadest kind a :func:`public_areas`
    document holds (the municipality outline when loaded), for a map's first view; None
    without areas."""
    kinds = doc.get("kinds") or []
    if not kinds:
        return None
    broadest = kinds[-1]
    geoms = [shape(f["geometry"]) for f in doc["features"] if f["properties"]["kind"] == broadest]
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [float(minx), float(miny), float(maxx), float(maxy)]
