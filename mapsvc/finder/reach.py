"""Which providers' service areas can reach a point at all: the finder's pre-selection.

:func:`mapsvc.finder.search.find_providers` judges each candidate's service-area rule
exactly; this module only narrows the candidates to a superset of those the rule can
cover, so the exact judgement runs over hundreds of providers instead of the country's:

* a straight-line radius (the provider's own, its type's default, and the fallback of a
  travel-time area): the provider lies within its radius of the point. Providers are kept
  sorted by cell of a square grid in the index's metres (cell = half the largest radius
  of the grid), so those within ``R`` of the point are a few contiguous slices, one per
  grid column; the few providers whose radius is far above the rest (the top 0.1 %) are
  always candidates, so one huge radius does not widen everyone's search;
* an explicit polygon: the polygon tree's hits at the point (the search's own test);
* a travel time on a loaded road network: every provider whose nearest node the drive
  reaches (the search adds those itself, from the times it computed).

Built once per index (:meth:`ReachGrid.of`), in memory: two int64 arrays of the providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mapsvc.finder.index import RULE_POLYGON

FAR_SHARE = 0.001  # providers with a radius above this quantile are always candidates
_SPAN = 1 << 31  # key = column * _SPAN + row (cells of a country: far below 2**31)


@dataclass(frozen=True)
class ReachGrid:
    cell_m: float
    reach_m: float  # every provider in the grid has a radius of at most this
    keys: np.ndarray  # int64 cell keys, ascending
    order: np.ndarray  # int64 positions in the order of ``keys``
    far: np.ndarray  # int64 positions of the non-polygon providers beyond ``reach_m``

    @staticmethod
    def of(index: Any) -> ReachGrid:
        """The grid of ``index`` (a :class:`~mapsvc.finder.index.ProviderIndex`), built once."""
        grid: ReachGrid = index.memo("reach-grid", lambda: ReachGrid.build(index))
        return grid

    @staticmethod
    def build(index: Any) -> ReachGrid:
        radius = np.asarray(index.radius_m, dtype=float)
        rule = np.asarray(index.rule)
        ranged = np.flatnonzero(rule != RULE_POLYGON)
        if ranged.size == 0:
            empty = np.empty(0, dtype=np.int64)
            return ReachGrid(1.0, 0.0, empty, empty, empty)
        reach = float(np.quantile(radius[ranged], 1.0 - FAR_SHARE, method="higher"))
        # a radius that is not a finite number is never in the grid: always a candidate
        inside = np.isfinite(radius[ranged]) & (radius[ranged] <= reach)
        near, far = ranged[inside], ranged[~inside]
        cell = max(reach / 2.0, 1.0)
        xy = np.asarray(index.xy, dtype=float)[near]
        keys = _keys(np.floor(xy[:, 0] / cell), np.floor(xy[:, 1] / cell))
        order = np.argsort(keys, kind="stable")
        return ReachGrid(cell, reach, keys[order], near[order].astype(np.int64), far)

    def near(self, x: float, y: float) -> np.ndarray:
        """Positions (any order) of the grid's providers within ``reach_m`` of (x, y) in
        both axes, and the far-reaching ones: every non-polygon provider whose radius
        can cover the point, and others."""
        if self.keys.size == 0:
            return self.far
        margin = self.reach_m + 1.0  # a metre more than any radius: rounding never cuts
        c0, c1 = np.floor((x - margin) / self.cell_m), np.floor((x + margin) / self.cell_m)
        r0, r1 = np.floor((y - margin) / self.cell_m), np.floor((y + margin) / self.cell_m)
        columns = np.arange(c0, c1 + 1)
        lo = np.searchsorted(self.keys, _keys(columns, np.full_like(columns, r0)), "left")
        hi = np.searchsorted(self.keys, _keys(columns, np.full_like(columns, r1)), "right")
        parts = [self.order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        return np.concatenate([*parts, self.far]) if parts else self.far


def _keys(column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Cell keys, ordered by column then row (rows offset so negative cells sort too)."""
    return column.astype(np.int64) * _SPAN + (row.astype(np.int64) + _SPAN // 2)
