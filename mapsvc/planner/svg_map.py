"""The report's map as inline SVG: the area's outline from the store, the covered part,
providers and uncovered places, with a scale bar and north arrow (vector, no tiles, so it
prints the same offline and stays sharp in the PDF).

Drawn in the UTM zone of the area (metres), so the scale bar is true across the map.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from mapsvc.core.projection import utm_crs_for_extent
from mapsvc.planner.svg_charts import FONT


def scale_length(span_m: float) -> float:
    """A round bar length (1, 2 or 5 × 10^n metres) of at most a quarter of ``span_m``."""
    goal = max(span_m / 4, 1.0)
    power = 10 ** math.floor(math.log10(goal))
    return float(max(s * power for s in (1, 2, 5) if s * power <= goal))


def _path(geom: Any, sx: Any) -> str:
    parts = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            pts = [sx(x, y) for x, y in ring.coords]
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z")
    return " ".join(parts)


def outline_svg(
    area: Any,
    covered: Any,
    providers: list[tuple[float, float]],
    uncovered: list[tuple[float, float, float]],
    labels: dict[str, str],
    width: int = 360,
    height: int = 260,
) -> str:
    """``area`` and ``covered`` are shapely geometries in EPSG:4326; providers are
    (lon, lat), uncovered places (lon, lat, people aged 75+)."""
    crs = utm_crs_for_extent([area.representative_point().x])
    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform

    def transform(geom: Any) -> Any:
        return shapely.transform(geom, lambda xy: np.column_stack(to_m(xy[:, 0], xy[:, 1])))

    shape = transform(area)
    minx, miny, maxx, maxy = shape.bounds
    span = max(maxx - minx, maxy - miny, 1.0)
    pad = span * 0.04
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    map_h = height - 18
    k = min(width / (maxx - minx), map_h / (maxy - miny))
    ox = (width - k * (maxx - minx)) / 2
    oy = (map_h - k * (maxy - miny)) / 2

    def sx(x: float, y: float) -> tuple[float, float]:
        return ox + (x - minx) * k, oy + (maxy - y) * k

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-map" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{escape(labels["title"])}">'
        f"<title>{escape(labels['title'])}</title>"
        f'<path class="area-outline" d="{_path(shape, sx)}" fill="#f4f4f4" stroke="#333"'
        ' stroke-width="1.2" fill-rule="evenodd"/>'
    ]
    if covered is not None and not covered.is_empty:
        inside = transform(covered).intersection(shape)
        if not inside.is_empty:
            out.append(
                f'<path class="covered-area" d="{_path(inside, sx)}" fill="#2a9d8f"'
                ' fill-opacity="0.35" stroke="#1d6f65" stroke-width="0.6" fill-rule="evenodd"/>'
            )
    peak = max([w for _, _, w in uncovered] + [1.0])
    for lon, lat, weight in uncovered:
        x, y = sx(*to_m(lon, lat))
        r = 1.2 + 3.5 * math.sqrt(weight / peak)
        out.append(
            f'<circle class="uncovered" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="#d62828"'
            ' fill-opacity="0.6"/>'
        )
    for lon, lat in providers:
        x, y = sx(*to_m(lon, lat))
        if 0 <= x <= width and 0 <= y <= map_h:
            out.append(
                f'<path class="provider" d="M{x:.1f},{y - 4:.1f} L{x + 3.5:.1f},{y + 2.5:.1f}'
                f' L{x - 3.5:.1f},{y + 2.5:.1f} Z" fill="#1d3557"/>'
            )
    out += _scale_bar(width, height, k, maxx - minx, labels)
    out.append("</svg>")
    return "".join(out)


def _scale_bar(
    width: int, height: int, k: float, span_m: float, labels: dict[str, str]
) -> list[str]:
    length = scale_length(span_m)
    px = length * k
    x0, y0 = 8.0, height - 8.0
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    half = px / 2
    return [
        f'<g class="scale-bar" data-metres="{length:g}">'
        f'<rect x="{x0}" y="{y0 - 4}" width="{half:.1f}" height="4" fill="#333"/>'
        f'<rect x="{x0 + half:.1f}" y="{y0 - 4}" width="{half:.1f}" height="4" fill="#fff" stroke="#333"/>'
        f'<text x="{x0 + px + 4:.1f}" y="{y0}" font-size="8" font-family="{FONT}">{escape(text)}</text></g>',
        f'<g class="north"><path d="M{width - 12},{6} L{width - 7},{20} L{width - 12},{16} L{width - 17},{20} Z"'
        f' fill="#333"/><text x="{width - 12}" y="{30}" font-size="8" text-anchor="middle"'
        f' font-family="{FONT}">{escape(labels.get("north", "N"))}</text></g>',
    ]
