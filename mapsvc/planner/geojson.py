"""GeoJSON geometry for the planner's outputs: the shared RFC 7946 helper of
:mod:`mapsvc.geo.geojson` (winding and 6 decimals), kept importable under this name."""

from __future__ import annotations

from mapsvc.geo.geojson import DECIMALS, oriented_frame, rfc7946

__all__ = ["DECIMALS", "oriented_frame", "rfc7946"]
