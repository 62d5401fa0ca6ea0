"""16 km versus travel time, side by side: the four quadrants per band and per area.

Each population unit is inside or outside the straight-line radius (default 16 km, the
訪問診療 distance rule) and inside or outside the travel-time limit, so it falls in exactly
one of four quadrants: ``both``, ``only_radius``, ``only_minutes``, ``neither``. Every
count column is split four ways, so ``both + only_radius + only_minutes + neither ==
total`` for every band and every area, always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mapsvc.core.taxonomy import Taxonomy
from mapsvc.planner.coverage import COUNT_COLUMNS, CoverageResult

QUADRANTS: tuple[str, ...] = ("both", "only_radius", "only_minutes", "neither")
QUADRANT_LABELS = {
    "both": ("両方の範囲内", "inside both"),
    "only_radius": ("半径のみ", "radius only"),
    "only_minutes": ("移動時間のみ", "travel time only"),
    "neither": ("どちらも範囲外", "inside neither"),
}


@dataclass
class Comparison:
    """Two coverages of the same filter and population: radius and travel time."""

    radius: CoverageResult
    minutes: CoverageResult
    area_names: dict[str, str] | None = None

    @property
    def quadrant(self) -> np.ndarray:
        """Quadrant name of every population unit (same order as the population)."""
        a, b = self.radius.covered, self.minutes.covered
        return np.select([a & b, a & ~b, ~a & b], list(QUADRANTS[:3]), default="neither")

    def bands(self) -> list[dict[str, Any]]:
        """``[{band, total, both, only_radius, only_minutes, neither}]`` per count column."""
        pop = self.radius.population
        quad = self.quadrant
        rows = []
        for col in COUNT_COLUMNS:
            values = pop[col].to_numpy(dtype=np.int64) if len(pop) else np.zeros(0, np.int64)
            row: dict[str, Any] = {"band": col, "total": int(values.sum())}
            for q in QUADRANTS:
                row[q] = int(values[quad == q].sum())
            rows.append(row)
        return rows

    def by_area(self) -> list[dict[str, Any]]:
        """Per group of the population: the four quadrants of total, 65+ and 75+."""
        pop = self.radius.population
        if len(pop) == 0:
            return []
        group = pop[self.radius.group_column].fillna("").astype(str).to_numpy()
        quad = self.quadrant
        frame = pd.DataFrame({"area": group})
        cols = []
        for col in ("total", "65+", "75+"):
            values = pop[col].to_numpy(dtype=np.int64)
            frame[col] = values
            cols.append(col)
            for q in QUADRANTS:
                frame[f"{col}_{q}"] = np.where(quad == q, values, 0)
                cols.append(f"{col}_{q}")
        grouped = frame.groupby("area", sort=True)[cols].sum()
        names = self.area_names or {}
        return [
            {
                "area": area,
                "name": names.get(str(area), area),
                **{c: int(v) for c, v in row.items()},
            }
            for area, row in grouped.iterrows()
        ]

    def units(self) -> gpd.GeoDataFrame:
        """Population units (EPSG:4326) with their quadrant, for maps and downloads."""
        pop = self.radius.population
        keep = ["key", "name", self.radius.group_column, *COUNT_COLUMNS]
        out = gpd.GeoDataFrame(pop[keep].copy(), geometry=pop.geometry, crs=pop.crs)
        out["quadrant"] = self.quadrant
        return out.to_crs("EPSG:4326")

    def to_dict(self, taxonomy: Taxonomy, lang: str = "ja") -> dict[str, Any]:
        index = 0 if lang != "en" else 1
        return {
            "radius_km": self.radius.radius_km,
            "minutes": self.minutes.minutes,
            "description": self.radius.to_dict(taxonomy, lang)["description"],
            "quadrants": list(QUADRANTS),
            "labels": {q: QUADRANT_LABELS[q][index] for q in QUADRANTS},
            "bands": self.bands(),
            "by_area": self.by_area(),
            "problems": self.radius.problems + self.minutes.problems,
            "units": len(self.radius.population),
        }


def quadrant_geometries(comparison: Comparison) -> dict[str, Any]:
    """Map polygons (EPSG:4326) of the quadrants that have an extent: both, only_radius,
    only_minutes (``neither`` is everything else; its units are drawn as points)."""
    a = comparison.radius.area_set.geometry()
    b = comparison.minutes.area_set.geometry()
    crs = comparison.radius.area_set.crs
    shapes = {
        "both": a.intersection(b),
        "only_radius": a.difference(b),
        "only_minutes": b.difference(a),
    }
    series = gpd.GeoSeries(list(shapes.values()), crs=crs).simplify(5.0).to_crs("EPSG:4326")
    return dict(zip(shapes, series, strict=True))
