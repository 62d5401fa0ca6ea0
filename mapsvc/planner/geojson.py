"""GeoJSON geometry for the planner's outputs, as RFC 7946 asks.

§3.1.6: exterior rings counter-clockwise, holes clockwise (``shapely.orient_polygons``);
§11.2: coordinates to 6 decimal places (about 0.1 m) are plenty.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import mapping

DECIMALS = 6


def rfc7946(geom: Any) -> dict[str, Any] | None:
    """``geom`` (EPSG:4326) as a GeoJSON dict with RFC 7946 winding and 6 decimals."""
    if geom is None:
        return None
    rounded = shapely.set_precision(geom, 10**-DECIMALS) if not geom.is_empty else geom
    oriented = shapely.orient_polygons(rounded, exterior_cw=False)
    return mapping(oriented)  # type: ignore[no-any-return]


def oriented_frame(frame: Any) -> Any:
    """A GeoDataFrame copy whose polygons follow RFC 7946 winding, 6 decimals."""
    out = frame.copy()
    geoms = out.geometry.to_numpy()
    out[out.geometry.name] = shapely.orient_polygons(
        shapely.set_precision(geoms, 10**-DECIMALS), exterior_cw=False
    )
    return out
