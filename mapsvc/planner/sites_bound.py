"""Lagrangian upper bound for the best-k-sites MCLP (:mod:`mapsvc.planner.sites`).

Relaxing the cover rows ``y[i] <= sum_j a[i, j] x[j]`` with multipliers ``0 <= lam <= w``
gives ``bound(lam) = sum(w - lam) + top-k of a.T @ lam`` (its best value equals the LP
relaxation's), and per candidate the bound on any choice that includes it. A candidate
whose bound stays below the best known answer cannot be in a better one, so it is fixed
out; the units only it covered go, identical units merge again, and the multipliers carry
over (summed per merged unit), so each later round works on a smaller model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix


def merge_units(a: csr_matrix, w: np.ndarray) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """Drop weightless / uncoverable units and merge units covered by the same candidates.
    Also returns each input unit's merged row (-1 when dropped)."""
    keep = (w > 0) & (np.diff(a.indptr) > 0)
    kept = np.flatnonzero(keep)
    a, w = a[kept], w[kept]
    a.sort_indices()
    keys: dict[bytes, int] = {}
    group = np.empty(a.shape[0], dtype=np.int64)
    for i in range(a.shape[0]):
        key = a.indices[a.indptr[i] : a.indptr[i + 1]].tobytes()
        group[i] = keys.setdefault(key, len(keys))
    first = np.full(len(keys), -1)
    first[group[::-1]] = np.arange(a.shape[0])[::-1]
    weights = np.bincount(group, weights=w, minlength=len(keys))
    where = np.full(len(keep), -1, dtype=np.int64)
    where[kept] = group
    return csr_matrix(a[first]), weights, where


def subgradient(
    a: csr_matrix, w: np.ndarray, k: int, lower: float, seconds: float, lam: np.ndarray
) -> tuple[float, np.ndarray]:
    """Multipliers making ``bound(lam)`` small, from ``lam``: projected subgradient with a
    Polyak step towards a target between the best bound and ``lower`` and a deflected
    direction (less zig-zag). Returns the best bound seen and its multipliers."""
    at = csr_matrix(a.T)
    ac = csc_matrix(a)
    best, best_lam, mu, stall = np.inf, lam.copy(), 1.0, 0
    previous: np.ndarray | None = None
    deadline = time.perf_counter() + seconds
    kk = min(k, a.shape[1])
    total_w = float(w.sum())
    for _ in range(5000):
        gains = at @ lam
        top = np.argpartition(-gains, kk - 1)[:kk] if kk < len(gains) else np.arange(kk)
        bound = total_w - float(lam.sum()) + float(gains[top].sum())
        if bound < best - 1e-9:
            best, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= 25:
                mu, stall = mu / 2, 0
        count = np.zeros(a.shape[0])
        for j in top:
            count[ac.indices[ac.indptr[j] : ac.indptr[j + 1]]] += 1.0
        step = 1.0 - count  # lam < w always, so the y part of the gradient is 1
        if previous is not None:
            step = 0.7 * step + 0.3 * previous
        previous = step
        norm = float(step @ step)
        gap = best - lower
        if norm == 0 or gap <= 1e-6 * max(best, 1.0) or mu < 1e-4:
            break
        if time.perf_counter() > deadline:
            break
        lam = np.clip(lam + mu * 0.7 * gap / norm * step, 0.0, w * (1 - 1e-12))
    return best, best_lam


def bounds(a: csr_matrix, w: np.ndarray, k: int, lam: np.ndarray) -> tuple[float, np.ndarray]:
    """The Lagrangian bound and, per candidate, the bound on any choice that includes it."""
    gains = csr_matrix(a.T) @ lam
    base = float(np.maximum(w - lam, 0.0).sum())
    order = np.argsort(-gains, kind="stable")
    kk = min(k, len(gains))
    top = float(gains[order[:kk]].sum())
    in_top = np.zeros(len(gains), dtype=bool)
    in_top[order[:kk]] = True
    with_j = np.where(in_top, base + top, base + top - gains[order[kk - 1]] + gains)
    return base + top, with_j


Improve = Callable[[list[int]], tuple[list[int], float]]


def fix_by_bound(
    a: csr_matrix, w: np.ndarray, k: int, lower: float, seconds: float, improve: Improve
) -> tuple[np.ndarray, csr_matrix, np.ndarray, float, list[int] | None]:
    """Rounds of subgradient and fixing on ``a`` (merged units x candidates) until the bound
    meets ``lower`` (the best known cover), a round neither fixes nor improves, or time is up.

    After each round the k candidates with the largest multiplier gains go to ``improve``
    (a local search: columns of ``a`` in, columns and their cover out); a better answer
    raises ``lower``, which fixes more out. Returns the candidates left (indices into
    ``a``'s columns), their re-merged model, its weights, the upper bound on any choice
    (``<= lower`` means the best answer is optimal) and that better answer (or None)."""
    deadline = time.perf_counter() + seconds
    alive = np.arange(a.shape[1])
    sub, sub_w, lam = a, w, w * 0.5
    best = np.inf
    rounds = 0
    found: list[int] | None = None
    tried: set[tuple[int, ...]] = set()
    while True:
        left = deadline - time.perf_counter()
        rounds += 1
        _, lam = subgradient(sub, sub_w, k, lower, max(min(left, 0.1 * 1.7**rounds), 0.05), lam)
        gains = csr_matrix(sub.T) @ lam
        start = tuple(sorted(int(alive[j]) for j in np.argsort(-gains, kind="stable")[:k]))
        if start not in tried:
            tried.add(start)
            chosen, value = improve(list(start))
            if value > lower + 1e-9:
                found, lower = chosen, value
        bound, with_j = bounds(sub, sub_w, k, lam)
        stalled = best - max(bound, lower) < 0.01 * (best - lower) if np.isfinite(best) else False
        best = min(best, max(bound, lower))
        if bound - lower <= 1e-6 * max(bound, 1.0):
            return alive, sub, sub_w, lower, found
        keep = with_j >= lower - 1e-6
        if keep.sum() <= k or time.perf_counter() >= deadline - 0.05:
            alive = alive[keep]
            sub, sub_w, _ = merge_units(csr_matrix(sub[:, keep]), sub_w)
            return alive, sub, sub_w, best, found
        if keep.all():
            if stalled:  # neither fixing nor a better bound any more
                return alive, sub, sub_w, best, found
            continue
        alive = alive[keep]
        sub, sub_w, where = merge_units(csr_matrix(sub[:, keep]), sub_w)
        summed = np.bincount(where[where >= 0], weights=lam[where >= 0], minlength=len(sub_w))
        lam = np.minimum(summed.astype(float), sub_w * (1 - 1e-12))
