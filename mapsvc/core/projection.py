"""Projected metres for spatial work: the JGD2011 UTM zone of the data's extent.

Store and serve EPSG:4326; measure, buffer and compute coverage in the UTM zone
(EPSG:6688-6692, zones 51N-55N) that holds the data's centre. Never compute in degrees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pyproj import CRS, Transformer

WGS84 = CRS.from_epsg(4326)
_ZONE_EPSG = {51: 6688, 52: 6689, 53: 6690, 54: 6691, 55: 6692}


def utm_crs_for_lon(lon: float) -> CRS:
    """JGD2011 UTM zone for a longitude in Japan (zones 51-55)."""
    zone = int((lon + 180) // 6) + 1
    zone = min(max(zone, 51), 55)
    return CRS.from_epsg(_ZONE_EPSG[zone])


def utm_crs_for_extent(lons: Sequence[float] | np.ndarray) -> CRS:
    """The zone of the median longitude (robust to a few far-away points)."""
    arr = np.asarray(lons, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise ValueError("no coordinates to choose a projection from")
    return utm_crs_for_lon(float(np.median(arr)))


def to_metres(crs: CRS) -> Transformer:
    return Transformer.from_crs(WGS84, crs, always_xy=True)


def to_degrees(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, WGS84, always_xy=True)
