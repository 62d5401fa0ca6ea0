"""Pictures and tables for the planner's downloads and printable report (no Flask).

:func:`area_map_png` renders one area with the coverage union, the providers and the
uncovered places to a PNG with matplotlib (Agg; no base map, so it prints the same
offline). :func:`write_geopackage` writes layers to a GeoPackage through pyogrio in a
temporary file and returns the bytes. :func:`csv_bytes` is UTF-8 with BOM for Excel.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import geopandas as gpd
import pandas as pd

from mapsvc.core import _csv
from mapsvc.core.projection import utm_crs_for_extent


def _japanese_font() -> str | None:
    """Family name of a font with Japanese glyphs: IPAexGothic from japanize-matplotlib.

    The font file is registered with matplotlib without importing that package (its
    import changes global settings). None when it is not installed.
    """
    import importlib.util
    from pathlib import Path

    from matplotlib import font_manager

    spec = importlib.util.find_spec("japanize_matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "fonts" / "ipaexg.ttf"
        if path.exists():
            font_manager.fontManager.addfont(str(path))
            return str(font_manager.FontProperties(fname=str(path)).get_name())
    return None


def area_map_png(
    area: gpd.GeoDataFrame,
    covered_area: Any,
    providers: gpd.GeoDataFrame,
    uncovered: gpd.GeoDataFrame,
    title: str,
    labels: dict[str, str],
) -> bytes:
    """PNG (about 1000 × 800 px) of the area, its coverage and providers, in metres."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    crs = utm_crs_for_extent(area.geometry.representative_point().x.to_numpy())
    shape = area.to_crs(crs)
    family = _japanese_font()
    if family is None:  # no Japanese glyphs: keep the picture, drop the non-ASCII text
        title = title.encode("ascii", "ignore").decode() or "area"
        labels = {k: v.encode("ascii", "ignore").decode() or k for k, v in labels.items()}
    rc: dict[Any, Any] = {"font.family": [family, "DejaVu Sans"]} if family else {}
    with matplotlib.rc_context(rc):
        return _render(plt, shape, crs, covered_area, providers, uncovered, title, labels)


def _render(
    plt: Any,
    shape: gpd.GeoDataFrame,
    crs: Any,
    covered_area: Any,
    providers: gpd.GeoDataFrame,
    uncovered: gpd.GeoDataFrame,
    title: str,
    labels: dict[str, str],
) -> bytes:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(10, 8), dpi=100)
    try:
        shape.plot(ax=ax, facecolor="#f4f4f4", edgecolor="#333333", linewidth=1.2)
        if covered_area is not None and not covered_area.is_empty:
            cov = gpd.GeoSeries([covered_area], crs="EPSG:4326").to_crs(crs)
            cov = cov.intersection(shape.geometry.union_all())
            cov.plot(ax=ax, facecolor="#2a9d8f", alpha=0.35, edgecolor="#1d6f65", linewidth=0.6)
        if len(uncovered):
            pts = uncovered.to_crs(crs)
            sizes = 8 + 60 * pts["75+"] / max(float(pts["75+"].max()), 1.0)
            pts.plot(ax=ax, color="#d62828", markersize=sizes, alpha=0.7)
        if len(providers):
            providers.to_crs(crs).plot(ax=ax, color="#1d3557", markersize=18, marker="^")
        minx, miny, maxx, maxy = shape.total_bounds
        pad = max(maxx - minx, maxy - miny) * 0.05
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_axis_off()
        ax.set_title(title, fontsize=12)
        ax.legend(
            handles=[
                Patch(facecolor="#2a9d8f", alpha=0.35, label=labels.get("covered", "covered")),
                Line2D(
                    [],
                    [],
                    marker="o",
                    color="#d62828",
                    linestyle="",
                    label=labels.get("uncovered", "uncovered"),
                ),
                Line2D(
                    [],
                    [],
                    marker="^",
                    color="#1d3557",
                    linestyle="",
                    label=labels.get("providers", "providers"),
                ),
            ],
            loc="lower left",
            fontsize=9,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()
    finally:
        plt.close(fig)


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
