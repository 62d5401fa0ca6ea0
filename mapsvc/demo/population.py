"""The demo city's population on the 250 m grid (JIS X 0410 1/4 地域メッシュ, level 5).

Density falls off from the centre with two small secondary centres; farmland and forest
leave outer cells empty; the share of older people rises towards the periphery (centre
about a quarter 65+, outskirts about two fifths). Each cell's 18 bands are a multinomial
draw of its total, so bands always add up to the total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Point

from mapsvc.demo.geography import RADIUS_M, Geography
from mapsvc.geo.population import BANDS

LAT_STEP = 7.5 / 3600  # level-5 mesh height in degrees
LON_STEP = 11.25 / 3600  # level-5 mesh width in degrees
TARGET_TOTAL = 150_000

# Japan 2020 census age structure (per cent of the population, five-year bands)
_JAPAN_2020 = np.array(
    [3.6, 4.0, 4.2, 4.4, 4.9, 5.0, 5.3, 6.0, 6.7, 7.8, 7.2, 6.4, 6.0, 6.6, 7.6, 5.8, 4.7, 4.9]
)
_OLD = np.arange(len(BANDS)) >= BANDS.index("65-69")
_YOUNG_ADULT = np.isin(np.arange(len(BANDS)), [4, 5, 6, 7])
_CENTRE_MIX = _JAPAN_2020 * np.where(_OLD, 0.78, 1.1) * np.where(_YOUNG_ADULT, 1.15, 1.0)
_RURAL_MIX = _JAPAN_2020 * np.where(_OLD, 1.55, 0.85) * np.where(_YOUNG_ADULT, 0.7, 1.0)
_CENTRE_MIX /= _CENTRE_MIX.sum()
_RURAL_MIX /= _RURAL_MIX.sum()


@dataclass
class Cell:
    mesh_code: str
    lon: float
    lat: float
    total: int
    bands: dict[str, int]
    area_code: str


def build_population(rng: np.random.Generator, geo: Geography) -> list[Cell]:
    """Populated level-5 mesh cells whose centre lies in the city, ordered by mesh code."""
    import jismesh.utils as ju

    minx, miny, maxx, maxy = geo.to_lonlat(geo.boundary, digits=0).bounds
    i0, i1 = math.floor(miny / LAT_STEP), math.ceil(maxy / LAT_STEP)
    j0, j1 = math.floor((minx - 100) / LON_STEP), math.ceil((maxx - 100) / LON_STEP)
    lats = (np.arange(i0, i1) + 0.5) * LAT_STEP
    lons = 100 + (np.arange(j0, j1) + 0.5) * LON_STEP
    mesh_lon, mesh_lat = np.meshgrid(lons, lats)
    grid_lon, grid_lat = mesh_lon.ravel(), mesh_lat.ravel()
    xs, ys = geo.metres(grid_lon, grid_lat)
    inside = np.array([geo.boundary.contains(Point(x, y)) for x, y in zip(xs, ys, strict=True)])
    xs, ys, grid_lon, grid_lat = xs[inside], ys[inside], grid_lon[inside], grid_lat[inside]

    cx, cy = geo.centre.x, geo.centre.y
    d = np.hypot(xs - cx, ys - cy)
    a1, a2 = rng.uniform(0, 2 * math.pi, 2)
    sub1 = (cx + 3800 * math.cos(a1), cy + 3800 * math.sin(a1))
    sub2 = (cx + 4500 * math.cos(a2), cy + 4500 * math.sin(a2))
    density = (
        7000 * np.exp(-d / 2200)
        + 2200 * np.exp(-np.hypot(xs - sub1[0], ys - sub1[1]) / 900)
        + 1500 * np.exp(-np.hypot(xs - sub2[0], ys - sub2[1]) / 800)
        + 250
    )
    density *= rng.lognormal(0.0, 0.45, size=d.size)
    empty = rng.random(d.size) < 0.04 + 0.4 * np.clip(d / RADIUS_M, 0, 1) ** 2
    density[empty] = 0.0
    expected = density * (TARGET_TOTAL / density.sum())
    totals = rng.poisson(expected)

    ageing = np.clip(d / RADIUS_M, 0, 1) ** 0.8
    codes = ju.to_meshcode(grid_lat, grid_lon, 5)
    cells: list[Cell] = []
    for k in np.argsort(codes, kind="stable"):
        if totals[k] == 0:
            continue
        mix = (1 - ageing[k]) * _CENTRE_MIX + ageing[k] * _RURAL_MIX
        counts = rng.multinomial(int(totals[k]), mix / mix.sum())
        area = geo.area_of(Point(xs[k], ys[k]))
        cells.append(
            Cell(
                str(int(codes[k])),
                round(float(grid_lon[k]), 7),
                round(float(grid_lat[k]), 7),
                int(totals[k]),
                {b: int(c) for b, c in zip(BANDS, counts, strict=True)},
                area.code,
            )
        )
    return cells
