"""Best k new sites: the maximal covering location problem (MCLP), solved exactly.

Given the population already covered by the providers that offer a capability, choose
``k`` of the candidate points so that the residents aged 75+ newly covered by the new
sites' areas are as many as possible (Church & ReVelle's MCLP). Formulation, with
``a[i, j] = 1`` when candidate ``j``'s area holds unit ``i`` and ``w[i]`` its uncovered 75+:

    maximise   sum_i w[i] * y[i]
    subject to y[i] <= sum_j a[i, j] * x[j]     (a unit counts only if some site covers it)
               sum_j x[j] == k,  x binary,  0 <= y <= 1

Units with the same set of covering candidates are merged first (their weights added) and
dominated candidates dropped, neither changing the optimum. The exact search
(:mod:`mapsvc.planner.sites_exact`) then bounds by the LP relaxation (HiGHS,
:mod:`mapsvc.planner.sites_bound`), fixes out the candidates that cannot be in a better
answer than the best known, splits what is left into groups of candidates that share no
unit (the best answer is then the best split of k over the groups) and branches where a
group will not split. When time runs out before the answer is proven optimal, the answer
says so with its proven upper bound. The greedy answer (add the site with the largest
gain, k times; what AccessMod's scaling-up does) is computed beside it, with the gap
between the two.

A site's area is a radius (``km``) or a travel time (``minutes``) by the same inside-rule
as coverage (:mod:`mapsvc.geo.service_areas`); candidates are a regular grid over the
populated extent or points from a file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix
from scipy.spatial import cKDTree

from mapsvc.core.errors import InvalidInput
from mapsvc.planner.sites_bound import merge_units
from mapsvc.planner.sites_exact import Search

MAX_K = 50
MAX_CANDIDATES = 50_000


@dataclass
class SitesResult:
    k: int
    chosen: list[int]  # candidate indices, optimal
    greedy: list[int]
    optimal_gain: int
    greedy_gain: int
    bound: float  # proven upper bound (== optimal_gain when proven optimal; inf if none)
    status: str  # optimal | time_limit (then ``chosen`` is the best found, maybe greedy's)
    seconds: float
    candidates: int
    units: int
    columns: int  # merged unit groups in the MILP

    @property
    def gap(self) -> float | None:
        """(optimal - greedy) / optimal, the share greedy leaves on the table."""
        if self.optimal_gain <= 0:
            return None
        return round((self.optimal_gain - self.greedy_gain) / self.optimal_gain, 6)

    @property
    def proven_gap(self) -> float | None:
        """(bound - best found) / bound: 0 when proven optimal, at most this far otherwise."""
        if not np.isfinite(self.bound) or self.bound <= 0:
            return None
        return round(max(self.bound - self.optimal_gain, 0.0) / self.bound, 6)


def grid_candidates(xy: np.ndarray, weights: np.ndarray, spacing_m: float) -> np.ndarray:
    """Grid points (metres) every ``spacing_m`` over the extent of the weighted units,
    kept where a weighted unit lies within one spacing (no sites in empty sea or forest)."""
    if spacing_m <= 0 or not np.isfinite(spacing_m):
        raise InvalidInput("grid spacing must be > 0 m", field="grid_m")
    pts = xy[weights > 0]
    if len(pts) == 0:
        return np.empty((0, 2))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    nx_ = int(np.floor((hi[0] - lo[0]) / spacing_m)) + 1
    ny_ = int(np.floor((hi[1] - lo[1]) / spacing_m)) + 1
    if nx_ * ny_ > 4 * MAX_CANDIDATES:
        raise InvalidInput(
            f"a {spacing_m:g} m grid gives {nx_ * ny_:,} points; use a larger spacing",
            field="grid_m",
        )
    gx, gy = np.meshgrid(lo[0] + np.arange(nx_) * spacing_m, lo[1] + np.arange(ny_) * spacing_m)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    dist, _ = cKDTree(pts).query(grid, distance_upper_bound=spacing_m)
    inside: np.ndarray = grid[np.isfinite(dist)]
    return inside


def radius_cover(units_xy: np.ndarray, cand_xy: np.ndarray, radius_m: float) -> csr_matrix:
    """Sparse ``a[i, j]``: unit ``i`` within ``radius_m`` of candidate ``j``."""
    tree = cKDTree(units_xy)
    lists = tree.query_ball_point(cand_xy, r=radius_m)
    cols = np.repeat(np.arange(len(cand_xy)), [len(x) for x in lists])
    rows = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=len(cols))
    data = np.ones(len(rows), dtype=np.int8)
    return coo_matrix((data, (rows, cols)), shape=(len(units_xy), len(cand_xy))).tocsr()


def _merge_units(a: csr_matrix, w: np.ndarray) -> tuple[csr_matrix, np.ndarray]:
    """Drop weightless / uncoverable units and merge units covered by the same candidates."""
    merged, weights, _ = merge_units(a, w)
    return merged, weights


def greedy_sites(a: csr_matrix, w: np.ndarray, k: int) -> list[int]:
    """Greedy MCLP: k times the candidate with the largest uncovered weight (ties: lowest index)."""
    ac = csc_matrix(a)
    remaining = w.astype(float).copy()
    chosen: list[int] = []
    for _ in range(min(k, a.shape[1])):
        gains = ac.T @ remaining
        if chosen:
            gains[chosen] = -1.0
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(best)
        rows = ac.indices[ac.indptr[best] : ac.indptr[best + 1]]
        remaining[rows] = 0.0
    return chosen


def swap_improve(a: csr_matrix, w: np.ndarray, chosen: list[int], seconds: float) -> list[int]:
    """Local search from ``chosen``: swap one site for the best other candidate while that
    covers more (each try one sparse product), until no swap helps or time is up."""
    ac = csc_matrix(a)
    at = csr_matrix(a.T)
    chosen = list(chosen)
    count = np.asarray(ac[:, chosen].sum(axis=1)).ravel() if chosen else np.zeros(a.shape[0])
    current = float(w[count > 0].sum())
    deadline = time.perf_counter() + seconds
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for pos, site in enumerate(chosen):
            rows = ac.indices[ac.indptr[site] : ac.indptr[site + 1]]
            without = count.copy()
            without[rows] -= 1
            gains = at @ np.where(without > 0, 0.0, w)
            gains[chosen] = -1.0
            best = int(np.argmax(gains))
            value = float(w[without > 0].sum()) + float(gains[best])
            if value > current + 1e-9:
                new_rows = ac.indices[ac.indptr[best] : ac.indptr[best + 1]]
                without[new_rows] += 1
                count, current, chosen[pos], improved = without, value, best, True
    return chosen


def covered_weight(a: csr_matrix, w: np.ndarray, chosen: list[int]) -> float:
    if not chosen:
        return 0.0
    hit = np.asarray(csc_matrix(a)[:, chosen].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def _drop_dominated(a: csr_matrix, w: np.ndarray) -> np.ndarray:
    """Mask of candidates worth keeping: a candidate whose covered units are a subset of
    another's (by weight, so ties between identical columns keep the lower index) never
    beats that other one, so an optimum exists without it."""
    weighted = csr_matrix(a.multiply(w[:, None]))
    overlap = (weighted.T @ a).tocoo()  # overlap[j, l] = weight covered by both j and l
    total = np.asarray(weighted.sum(axis=0)).ravel()
    r, c = overlap.row, overlap.col
    subset = (r != c) & np.isclose(overlap.data, total[r])
    r, c = r[subset], c[subset]
    strictly = ~np.isclose(total[r], total[c]) | (c < r)
    keep = total > 0
    keep[r[strictly]] = False
    return keep


def best_sites(a: csr_matrix, w: np.ndarray, k: int, time_limit_s: float = 60.0) -> SitesResult:
    """Exact MCLP and greedy for ``k`` sites.

    Steps: drop weightless units and merge units covered by the same candidates; greedy
    and a swap local search from it (the first answer to beat); drop dominated candidates;
    the exact search of :mod:`mapsvc.planner.sites_exact` (LP bound, fixing, split into
    groups that share no unit, branching) until the best answer is proven optimal or
    ``time_limit_s`` is up. Then ``status`` is ``time_limit``, ``chosen`` the best answer
    found and ``bound`` the proven upper bound.

    Parameters
    ----------
    a
        Units x candidates coverage (sparse, nonzero = covered).
    w
        Weight of each unit (uncovered residents aged 75+; 0 for units already covered).
    k
        Sites to add (1..:data:`MAX_K`).
    """
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be 1..{MAX_K}", field="k")
    started = time.perf_counter()
    n_units, n_cand = a.shape
    a = csr_matrix(a, dtype=np.float64)
    a.data[:] = 1.0
    merged, weights = _merge_units(a, np.asarray(w, dtype=float))
    greedy = greedy_sites(merged, weights, k)
    greedy_gain = covered_weight(merged, weights, greedy)
    m = merged.shape[0]

    def result(chosen: list[int], gain: float, bound: float, status: str) -> SitesResult:
        return SitesResult(
            k, sorted(chosen), greedy, int(round(gain)), int(round(greedy_gain)), bound,
            status, time.perf_counter() - started, n_cand, n_units, m,
        )  # fmt: skip

    if m == 0 or k >= n_cand or len(greedy) < k:  # greedy covers everything coverable
        return result(greedy, greedy_gain, greedy_gain, "optimal")
    best = swap_improve(merged, weights, greedy, min(2.0, time_limit_s / 5))
    best_gain = covered_weight(merged, weights, best)
    alive = np.flatnonzero(_drop_dominated(merged, weights))
    sub, sub_w, _ = merge_units(csr_matrix(merged[:, alive]), weights)
    integral = bool(np.all(weights == np.round(weights)))
    search = Search(started + time_limit_s, integral)
    found = search.solve(sub, sub_w, k, best_gain)
    chosen = [int(alive[j]) for j in found.chosen]
    gain = covered_weight(merged, weights, chosen)
    if gain > best_gain:
        best, best_gain = chosen, gain
    bound = max(found.bound, best_gain)
    if not search.beats(bound, best_gain):
        return result(best, best_gain, best_gain, "optimal")
    return result(best, best_gain, bound, "time_limit")


def read_candidates(path: str) -> np.ndarray:
    """Candidate points (lon, lat) from a CSV file with ``lon`` and ``lat`` columns.

    Raises
    ------
    InvalidInput
        The message names the file, line and column of the first bad value.
    """
    import csv

    from mapsvc.core.codes import JAPAN_LAT, JAPAN_LON

    out: list[tuple[float, float]] = []
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})", field="candidates") from None
    with handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "lon" not in fields or "lat" not in fields:
            raise InvalidInput(
                f"{path}, line 1: expected columns lon and lat, got {', '.join(fields) or 'none'}",
                field="candidates",
            )
        cols = {f.strip().lower(): f for f in reader.fieldnames or []}
        for line, row in enumerate(reader, start=2):
            point = []
            for name, (low, high) in (("lon", JAPAN_LON), ("lat", JAPAN_LAT)):
                raw = (row.get(cols[name]) or "").strip()
                column = fields.index(name) + 1
                try:
                    value = float(raw)
                except ValueError:
                    value = float("nan")
                if not np.isfinite(value) or not low <= value <= high:
                    raise InvalidInput(
                        f"{path}, line {line}, column {column} ({name}): {raw!r} is not a "
                        f"{name} in Japan ({low}..{high})",
                        field="candidates",
                    )
                point.append(value)
            out.append((point[0], point[1]))
            if len(out) > MAX_CANDIDATES:
                raise InvalidInput(
                    f"{path}: more than {MAX_CANDIDATES:,} candidates", field="candidates"
                )
    if not out:
        raise InvalidInput(f"{path}: no candidate points", field="candidates")
    return np.array(out, dtype=float)
