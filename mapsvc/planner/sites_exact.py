"""Exact best-k-sites (MCLP) by bound, split and branch (:mod:`mapsvc.planner.sites`).

A general MILP solver stalls on this problem at a city's size (HiGHS spent a minute at the
root node of a 658-candidate remainder), but the problem has a shape a solver does not see:
sites only interact where their areas overlap. Once the LP bound's fixing
(:mod:`mapsvc.planner.sites_bound`) has removed the candidates that cannot be in a better
answer, what is left usually falls apart into groups that share no unit (one per town
centre, say). The best answer then is the best split of ``k`` over the groups, and each
group's best for ``j`` sites is a much smaller problem of the same kind, solved the same
way, only as far as the split needs it. Within one group that will not split, the search
branches on the most promising candidate (in / out) and each branch is fixed and split
again. Every step keeps a proven upper bound, so a stop at the time limit still says how far
the best answer found can be from the optimum.

All matrices here are merged models (units x candidates, no two identical rows, every row
coverable and of positive weight), as :func:`mapsvc.planner.sites_bound.merge_units` gives.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csgraph, csr_matrix

from mapsvc.planner.sites_bound import in_and_out, lp_relaxation, merge_units


@dataclass
class Answer:
    """Best ``value`` found (``chosen``: column indices) and a proven bound on the optimum."""

    value: float
    chosen: list[int]
    bound: float


class Search:
    """One exact search: the deadline and how bounds are rounded (integer weights: down)."""

    def __init__(self, deadline: float, integral: bool) -> None:
        self.deadline = deadline
        self.integral = integral
        self.nodes = 0

    def expired(self) -> bool:
        return time.perf_counter() >= self.deadline

    def floor(self, bound: float) -> float:
        """A bound on an integer optimum can be rounded down (with a little slack)."""
        return math.floor(bound + 1e-6) if self.integral and np.isfinite(bound) else bound

    def beats(self, bound: float, lower: float) -> bool:
        """Could a choice with this upper bound be better than ``lower``?"""
        return self.floor(bound) > lower + 1e-9 * max(abs(lower), 1.0)

    def solve(self, a: csr_matrix, w: np.ndarray, k: int, target: float) -> Answer:
        """Best cover of ``k`` columns, searched only for answers better than ``target``:
        the returned bound is the optimum, or ``<= max(target, value)`` when nothing better
        than that exists, or larger when time ran out."""
        from mapsvc.planner.sites import covered_weight, greedy_sites, swap_improve

        self.nodes += 1
        if k <= 0 or a.shape[0] == 0:
            return Answer(0.0, [], 0.0)
        if a.shape[1] <= k:
            return Answer(float(w.sum()), list(range(a.shape[1])), float(w.sum()))
        budget = 0.02 + 1e-7 * a.nnz
        chosen = swap_improve(a, w, greedy_sites(a, w, k), budget)
        best = Answer(covered_weight(a, w, chosen), chosen, math.inf)
        cols = np.arange(a.shape[1])  # columns left, as columns of the a given
        while True:
            lower = max(target, best.value)
            lp = lp_relaxation(a, w, k, self.deadline - time.perf_counter())
            if lp is None:  # out of time before any bound
                return best
            if not self.beats(lp.value, lower):
                best.bound = max(lower, best.value)
                return best
            if self.expired():
                best.bound = lp.value
                return best
            rounded = swap_improve(a, w, [int(j) for j in np.argsort(-lp.x)[:k]], budget)
            value = covered_weight(a, w, rounded)
            if value > best.value:
                best = Answer(value, [int(cols[j]) for j in rounded], math.inf)
                lower = max(target, value)
            with_j, without_j = in_and_out(a, w, k, lp.lam)
            forced = np.flatnonzero(~self.beats_each(without_j, lower))
            if len(forced):  # in every better choice: take them
                inner = self.take(a, w, k, lower, forced)
                break
            keep = self.beats_each(with_j, lower)  # the LP's top k always are
            if keep.sum() <= k:
                inner = self.take(a, w, k, lower, np.flatnonzero(keep))
                break
            if keep.mean() > 0.8:  # another LP would fix little more: go on with these
                x = lp.x[keep]
                if not keep.all():
                    cols = cols[keep]
                    a, w, _ = merge_units(csr_matrix(a[:, keep]), w)
                labels = csgraph.connected_components(a.T @ a, directed=False)[1]
                if labels.max() > 0:
                    inner = self.split(a, w, k, lower, labels)
                else:
                    inner = self.branch(a, w, k, lower, x)
                break
            cols = cols[keep]
            a, w, _ = merge_units(csr_matrix(a[:, keep]), w)
        if inner.value > best.value:
            best = Answer(inner.value, [int(cols[j]) for j in inner.chosen], math.inf)
        best.bound = max(min(self.floor(lp.value), inner.bound), lower, best.value)
        return best

    def beats_each(self, bounds: np.ndarray, lower: float) -> np.ndarray:
        if self.integral:
            bounds = np.floor(bounds + 1e-6)
        return np.asarray(bounds > lower + 1e-9 * max(abs(lower), 1.0))

    def take(self, a: csr_matrix, w: np.ndarray, k: int, lower: float, cols: np.ndarray) -> Answer:
        """Answer with ``cols`` in (at most k of them), the rest searched among the others."""
        cols = cols[:k]
        rows = np.zeros(a.shape[0], dtype=bool)
        rows[a[:, cols].nonzero()[0]] = True
        gain = float(w[rows].sum())
        others = np.setdiff1d(np.arange(a.shape[1]), cols)
        sub, sub_w, _ = merge_units(csr_matrix(a[~rows][:, others]), w[~rows])
        rest = self.solve(sub, sub_w, k - len(cols), lower - gain)
        chosen = [int(c) for c in cols] + [int(others[j]) for j in rest.chosen]
        return Answer(rest.value + gain, chosen, rest.bound + gain)

    def branch(self, a: csr_matrix, w: np.ndarray, k: int, lower: float, x: np.ndarray) -> Answer:
        """Two branches on the most fractional of the LP's likeliest sites: in, then out."""
        pick = int(np.argmax(np.where(x < 1 - 1e-9, x, -1.0)))
        inside = self.take(a, w, k, lower, np.array([pick]))
        best = Answer(inside.value, inside.chosen, math.inf)
        lower = max(lower, inside.value)
        if self.expired():
            return best
        others = np.flatnonzero(np.arange(a.shape[1]) != pick)
        sub, sub_w, _ = merge_units(csr_matrix(a[:, others]), w)
        outside = self.solve(sub, sub_w, k, lower)
        if outside.value > best.value:
            best = Answer(outside.value, [int(others[j]) for j in outside.chosen], 0)
        best.bound = max(inside.bound, outside.bound)
        return best

    def split(
        self, a: csr_matrix, w: np.ndarray, k: int, lower: float, labels: np.ndarray
    ) -> Answer:
        """Best split of ``k`` over groups of columns that share no row."""
        groups = [
            Group.of(a, w, np.flatnonzero(labels == g), k, self) for g in range(labels.max() + 1)
        ]
        while True:
            value, counts = best_split([g.lower for g in groups], k)
            ub, ub_counts = best_split([g.upper for g in groups], k)
            if value > lower:
                lower = value
            if not self.beats(ub, lower) or self.expired():
                break
            # the group (and site count) of the best bound's split with most left open
            open_ = [
                (g.upper[j] - g.lower[j], i)
                for i, (g, j) in enumerate(zip(groups, ub_counts, strict=True))
            ]
            gap, i = max(open_)
            if gap <= 1e-9:
                break
            j = ub_counts[i]
            loose = [(g, c) for g, c in zip(groups, ub_counts, strict=True) if not g.relaxed[c]]
            if loose:  # first the LP bounds this split stands on
                for g, c in loose:
                    g.relax(c, self)
                continue
            before = (groups[i].lower[j], groups[i].upper[j])
            groups[i].settle(j, lower - (ub - groups[i].upper[j]), self)
            if (groups[i].lower[j], groups[i].upper[j]) == before:  # no progress (time)
                break
        chosen = [int(c) for g, j in zip(groups, counts, strict=True) for c in g.answer(j)]
        return Answer(value, chosen, max(ub, value))


@dataclass
class Group:
    """One group of columns: its model and, per site count j, bounds and a best answer."""

    cols: np.ndarray
    a: csr_matrix
    w: np.ndarray
    lower: list[float]
    upper: list[float]
    chosen: list[list[int]]
    relaxed: list[bool]  # upper[j] is at least as tight as the LP relaxation's

    @classmethod
    def of(cls, a: csr_matrix, w: np.ndarray, cols: np.ndarray, k: int, search: Search) -> Group:
        from mapsvc.planner.sites import covered_weight, greedy_sites

        sub, sub_w, _ = merge_units(csr_matrix(a[:, cols]), w)
        top = min(k, len(cols))
        order = greedy_sites(sub, sub_w, top)
        chosen = [order[:j] for j in range(top + 1)]
        lower = [covered_weight(sub, sub_w, c) for c in chosen]
        # until the LP is asked (lazily, when a split needs it): no more than all of
        # the group, nor than the j largest single-site gains added up
        gains = np.sort(np.asarray(sub.T @ sub_w).ravel())[::-1]
        upper = [min(float(sub_w.sum()), float(gains[:j].sum())) for j in range(top + 1)]
        exact = [lower[j] >= upper[j] - 1e-9 for j in range(top + 1)]
        return cls(cols, sub, sub_w, lower, upper, chosen, exact)

    def relax(self, j: int, search: Search) -> None:
        """Tighten ``upper[j]`` to the LP relaxation's value."""
        lp = lp_relaxation(self.a, self.w, j, search.deadline - time.perf_counter())
        if lp is None:  # out of time: the bounds stay as they are (and valid)
            self.relaxed[j] = True
            return
        for i in range(1, len(self.upper)):  # one LP bounds every count (see Relaxation)
            bound = search.floor(lp.value + lp.slope * (i - j) if i != j else lp.value)
            self.upper[i] = max(min(self.upper[i], bound), self.lower[i])
        self.relaxed[j] = True

    def settle(self, j: int, target: float, search: Search) -> None:
        """Solve this group for ``j`` sites, as far as beating ``target`` matters."""
        found = search.solve(self.a, self.w, j, max(target, self.lower[j]))
        if found.value > self.lower[j]:
            self.lower[j], self.chosen[j] = found.value, found.chosen
        self.upper[j] = max(min(self.upper[j], found.bound), self.lower[j])
        self.relaxed[j] = True
        for i in range(j + 1, len(self.lower)):  # more sites never cover less
            if self.lower[i] < self.lower[j]:
                self.lower[i], self.chosen[i] = self.lower[j], self.chosen[j]
        for i in range(j):
            self.upper[i] = min(self.upper[i], self.upper[j])

    def answer(self, j: int) -> list[int]:
        return [int(self.cols[c]) for c in self.chosen[j]]


def best_split(values: list[list[float]], k: int) -> tuple[float, list[int]]:
    """max sum_g values[g][j_g] over sum j_g <= k (a knapsack over groups) and its counts."""
    best = np.zeros(k + 1)
    picks: list[np.ndarray] = []
    for row in values:
        new = np.full(k + 1, -np.inf)
        pick = np.zeros(k + 1, dtype=np.int64)
        for j, v in enumerate(row):
            if j > k:
                break
            cand = np.full(k + 1, -np.inf)
            cand[j:] = best[: k + 1 - j] + v
            better = cand > new
            new[better], pick[better] = cand[better], j
        best = new
        picks.append(pick)
    t = int(np.argmax(best))
    total = float(best[t])
    counts = []
    for pick in reversed(picks):
        counts.append(int(pick[t]))
        t -= int(pick[t])
    return total, counts[::-1]
