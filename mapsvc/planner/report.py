"""Files for the planner's downloads (no Flask); the printed report's map and charts are
SVG (:mod:`mapsvc.planner.svg_map`, :mod:`mapsvc.planner.svg_charts`).

:func:`write_geopackage` writes layers to a GeoPackage through pyogrio in a
temporary file and returns the bytes. :func:`csv_bytes` is UTF-8 with BOM for Excel.
"""

from __future__ import annotations

import os
import tempfile

import geopandas as gpd
import pandas as pd

from mapsvc.core import _csv


def write_geopackage(layers: dict[str, gpd.GeoDataFrame]) -> bytes:
    """A GeoPackage with one layer per frame (pyogrio), as bytes."""
    fd, name = tempfile.mkstemp(suffix=".gpkg", prefix="mapsvc-")
    os.close(fd)
    os.unlink(name)  # pyogrio creates the file
    try:
        for layer, frame in layers.items():
            frame.to_file(
                name, layer=layer, driver="GPKG", engine="pyogrio", append=os.path.exists(name)
            )
        with open(name, "rb") as fh:
            return fh.read()
    finally:
        if os.path.exists(name):
            os.unlink(name)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with BOM (Excel opens Japanese text correctly), through the one export
    rule of :mod:`mapsvc.core._csv` (no cell is ever read as a formula)."""
    cells = frame.astype(object).where(frame.notna(), None)
    return _csv.csv_bytes([list(frame.columns), *cells.itertuples(index=False, name=None)])


def flat(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns a GeoPackage/CSV can hold: dicts and lists as JSON text."""
    import json

    out = frame.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].map(lambda v: isinstance(v, dict | list)).any():
            out[col] = out[col].map(
                lambda v: json.dumps(v, ensure_ascii=False) if v is not None else None
            )
    return out
