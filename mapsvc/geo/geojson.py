"""GeoJSON geometry as RFC 7946 asks, shared by every GeoJSON output (planner, layer API).

§3.1.6: exterior rings counter-clockwise, holes clockwise (``shapely.orient_polygons``);
§11.2: coordinates to 6 decimal places (about 0.1 m) are plenty.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import mapping, shape

DECIMALS = 6


def rfc7946(geom: Any) -> dict[str, Any] | None:
    """``geom`` (EPSG:4326) as a GeoJSON dict with RFC 7946 winding and 6 decimals."""
    if geom is None:
        return None
    rounded = shapely.set_precision(geom, 10**-DECIMALS) if not geom.is_empty else geom
    oriented = shapely.orient_polygons(rounded, exterior_cw=False)
    return mapping(oriented)  # type: ignore[no-any-return]


def rfc7946_dict(value: Any) -> Any:
    """A GeoJSON geometry dict (e.g. a stored drawn area) re-wound and rounded; a value that
    is no GeoJSON geometry is returned as it is (it is not this function's to judge)."""
    if not isinstance(value, dict) or "type" not in value:
        return value
    try:
        geom = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return value
    return rfc7946(geom)


def oriented_frame(frame: Any) -> Any:
    """A GeoDataFrame copy whose polygons follow RFC 7946 winding, 6 decimals."""
    out = frame.copy()
    geoms = out.geometry.to_numpy()
    out[out.geometry.name] = shapely.orient_polygons(
        shapely.set_precision(geoms, 10**-DECIMALS), exterior_cw=False
    )
    return out
