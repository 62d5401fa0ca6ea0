"""Checks for every geometry drawn in a browser (areas, provider service areas).

A drawn geometry arrives as GeoJSON (RFC 7946: CRS84 lon/lat). :func:`parse_drawn` refuses
anything the store should not hold, each with :class:`InvalidInput` naming the field:

* not a GeoJSON ``Polygon`` / ``MultiPolygon`` (a ``Feature`` is unwrapped), or with a
  ``crs`` member naming anything but CRS84 / EPSG:4326;
* coordinates that are not finite numbers, or outside Japan's lon/lat extent;
* more than :data:`MAX_VERTICES` vertices;
* an invalid polygon (self-intersection, ring with < 4 points …) — the message says where.

The result is a shapely geometry in lon/lat, coordinates rounded to :data:`DIGITS` decimals
(about 1 cm), so what is stored is what was checked.
"""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from mapsvc.core.codes import JAPAN_LAT, JAPAN_LON
from mapsvc.core.errors import InvalidInput

MAX_VERTICES = 10_000
DIGITS = 7
_CRS84 = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "urn:ogc:def:crs:epsg::4326",
    "epsg:4326",
    "crs84",
}


def _coords_ok(coords: Any, depth: int, field: str) -> int:
    """Count the positions of a nested coordinate array, refusing non-numbers."""
    if not isinstance(coords, list):
        raise InvalidInput(f"{field}: coordinates must be arrays", field=field)
    if depth == 0:
        if len(coords) < 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in coords[:2]
        ):
            raise InvalidInput(
                f"{field}: a position must be [lon, lat] numbers, got {json.dumps(coords)[:40]}",
                field=field,
            )
        return 1
    return sum(_coords_ok(c, depth - 1, field) for c in coords)


def parse_drawn(value: Any, field: str = "geometry") -> BaseGeometry:
    """A drawn GeoJSON polygon checked and as shapely (lon/lat); see the module docstring.

    Raises
    ------
    InvalidInput
        ``field`` is the name given; the message says what is wrong.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InvalidInput(f"{field}: not JSON", field=field) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{field}: expected a GeoJSON Polygon or MultiPolygon", field=field)
    crs = value.get("crs")
    if value.get("type") == "Feature":
        crs = crs or value.get("crs")
        value = value.get("geometry")
        if not isinstance(value, dict):
            raise InvalidInput(f"{field}: the feature has no geometry", field=field)
    if crs is not None:
        name = (
            ((crs or {}).get("properties") or {}).get("name", "") if isinstance(crs, dict) else ""
        )
        if str(name).lower() not in _CRS84:
            raise InvalidInput(
                f"{field}: CRS {name or crs!r} is not CRS84; send lon/lat (RFC 7946 GeoJSON)",
                field=field,
            )
    kind = value.get("type")
    depth = {"Polygon": 2, "MultiPolygon": 3}.get(str(kind))
    if depth is None:
        raise InvalidInput(
            f"{field}: geometry is {kind!r}; expected Polygon or MultiPolygon", field=field
        )
    count = _coords_ok(value.get("coordinates"), depth, field)
    if count > MAX_VERTICES:
        raise InvalidInput(
            f"{field}: {count} vertices; at most {MAX_VERTICES} (simplify the shape)",
            field=field,
        )
    try:
        geom = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InvalidInput(f"{field}: not a GeoJSON polygon ({exc})", field=field) from None
    if geom.is_empty:
        raise InvalidInput(f"{field}: empty geometry", field=field)
    minx, miny, maxx, maxy = geom.bounds
    if not (
        JAPAN_LON[0] <= minx <= maxx <= JAPAN_LON[1]
        and JAPAN_LAT[0] <= miny <= maxy <= JAPAN_LAT[1]
    ):
        raise InvalidInput(
            f"{field}: bounds ({minx:.4f}, {miny:.4f}, {maxx:.4f}, {maxy:.4f}) are outside "
            "Japan (lon 122–154.5, lat 20–46); coordinates must be [lon, lat]",
            field=field,
        )
    if not geom.is_valid:
        raise InvalidInput(f"{field}: invalid polygon ({explain_validity(geom)})", field=field)
    geom = shapely.set_precision(geom, 10**-DIGITS, mode="valid_output")
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(f"{field}: the polygon has no area", field=field)
    return geom


def geojson(geom: BaseGeometry) -> dict[str, Any]:
    """Shapely geometry as a GeoJSON dict."""
    return json.loads(shapely.to_geojson(geom))  # type: ignore[no-any-return]


def checked_geojson(value: Any, field: str = "geometry") -> dict[str, Any]:
    """:func:`parse_drawn`, back as a GeoJSON dict (what the store keeps)."""
    return geojson(parse_drawn(value, field))
