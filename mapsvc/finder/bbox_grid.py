"""Providers binned in a fixed lon/lat grid, for small bbox queries (the map's and the
items endpoint's boxes of a few kilometres).

A mapped index (:mod:`mapsvc.finder.index_file`) answers a bbox from its positions sorted by
longitude: a 5 km box over a national index reads a 5 km strip from one end of the country
to the other (thousands of providers scattered over the arrays, a cache miss each). The grid
keeps every provider's position and coordinates in cell order (row by row, cells of
:data:`CELL` degrees), so the cells under a box are a few contiguous slices.

Built in the worker from the mapped coordinates (about 24 bytes a provider); a box taller
than :data:`MAX_ROWS` rows is left to the caller (``query`` returns None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CELL = 0.05  # degrees (≈ 5.5 km north-south, 4 km east-west at 40° N)
MAX_ROWS = 16  # a box over more rows of cells than this is answered otherwise


@dataclass(frozen=True)
class BoxGrid:
    """Positions and coordinates in cell order; ``keys`` (ascending) is each one's cell."""

    col0: int
    row0: int
    ncols: int
    nrows: int
    keys: np.ndarray  # int64: (row - row0) * ncols + (col - col0)
    pos: np.ndarray  # int64 positions in the index
    lon: np.ndarray
    lat: np.ndarray

    @classmethod
    def build(cls, lon: np.ndarray, lat: np.ndarray) -> BoxGrid:
        """The grid of the providers with finite coordinates (within a cell, positions stay
        ascending)."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        pos = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        col = np.floor(lon[pos] / CELL).astype(np.int64)
        row = np.floor(lat[pos] / CELL).astype(np.int64)
        if len(pos) == 0:
            empty = np.empty(0, dtype=np.int64)
            return cls(0, 0, 1, 1, empty, empty, np.empty(0), np.empty(0))
        col0, row0 = int(col.min()), int(row.min())
        ncols, nrows = int(col.max()) - col0 + 1, int(row.max()) - row0 + 1
        keys = (row - row0) * ncols + (col - col0)
        order = np.argsort(keys, kind="stable")
        pos = pos[order]
        return cls(col0, row0, ncols, nrows, keys[order], pos, lon[pos], lat[pos])

    def query(self, west: float, south: float, east: float, north: float) -> np.ndarray | None:
        """Positions (ascending) with ``west <= lon <= east`` and ``south <= lat <= north``
        (edges included; ``west <= east``, ``south <= north``), or None when the box spans
        more than :data:`MAX_ROWS` rows of cells."""
        if not all(math.isfinite(v) for v in (west, south, east, north)):
            return None
        # a point in the box is in a cell between the corners' cells: x / CELL and floor
        # both keep the order of their arguments
        c0 = max(math.floor(west / CELL) - self.col0, 0)
        c1 = min(math.floor(east / CELL) - self.col0, self.ncols - 1)
        r0 = max(math.floor(south / CELL) - self.row0, 0)
        r1 = min(math.floor(north / CELL) - self.row0, self.nrows - 1)
        if c0 > c1 or r0 > r1:
            return np.empty(0, dtype=np.int64)
        if r1 - r0 + 1 > MAX_ROWS:
            return None
        rows = np.arange(r0, r1 + 1, dtype=np.int64) * self.ncols
        starts = np.searchsorted(self.keys, rows + c0, side="left").tolist()
        ends = np.searchsorted(self.keys, rows + c1, side="right").tolist()
        spans = [(s, e) for s, e in zip(starts, ends, strict=True) if e > s]
        if not spans:
            return np.empty(0, dtype=np.int64)
        if len(spans) == 1:
            s, e = spans[0]
            lon, lat, pos = self.lon[s:e], self.lat[s:e], self.pos[s:e]
        else:
            lon = np.concatenate([self.lon[s:e] for s, e in spans])
            lat = np.concatenate([self.lat[s:e] for s, e in spans])
            pos = np.concatenate([self.pos[s:e] for s, e in spans])
        inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        return np.sort(pos[inside])
