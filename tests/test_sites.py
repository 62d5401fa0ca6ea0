"""Best k new sites (exact MCLP vs greedy) and the what-if / sites commands (issue 11)."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest
from conftest import run_cli
from planner_support import one_clinic_on_a_grid
from scipy.sparse import csr_matrix

from mapsvc.core.errors import InvalidInput
from mapsvc.planner.sites import (
    best_sites,
    greedy_sites,
    grid_candidates,
    radius_cover,
    swap_improve,
)
from mapsvc.planner.sites_bound import in_and_out, lp_relaxation, merge_units
from mapsvc.planner.sites_exact import Search, best_split


def _brute(a: np.ndarray, w: np.ndarray, k: int) -> float:
    best = 0.0
    for combo in itertools.combinations(range(a.shape[1]), k):
        best = max(best, float(w[a[:, list(combo)].any(axis=1)].sum()))
    return best


def test_milp_is_optimal_where_greedy_is_not() -> None:
    # the classic trap: one big middle set, two disjoint halves that together beat it
    a = np.array(
        [
            [1, 1, 0],
            [1, 1, 0],
            [1, 0, 1],
            [1, 0, 1],
            [0, 1, 0],
            [0, 0, 1],
        ],
        dtype=bool,
    )
    w = np.array([3, 3, 3, 3, 2, 2], dtype=float)
    result = best_sites(csr_matrix(a), w, 2)
    assert result.greedy == [0, 1] and result.greedy_gain == 14
    assert result.chosen == [1, 2] and result.optimal_gain == 16 == _brute(a, w, 2)
    assert result.status == "optimal" and result.gap == pytest.approx(2 / 16)


def test_milp_matches_brute_force_on_random_problems() -> None:
    rng = np.random.default_rng(4)
    for _ in range(6):
        a = rng.random((40, 9)) < 0.2
        w = rng.integers(0, 20, 40).astype(float)
        for k in (1, 2, 3):
            result = best_sites(csr_matrix(a), w, k)
            assert result.optimal_gain == _brute(a, w, k)
            assert result.greedy_gain <= result.optimal_gain
            assert greedy_sites(csr_matrix(a.astype(float)), w, k) == result.greedy


def test_reductions_keep_the_optimum_on_clustered_problems() -> None:
    # spatial problems with duplicate and nested columns (merging, dominance and the
    # Lagrangian fixing all act), each answer checked against brute force
    rng = np.random.default_rng(11)
    for trial in range(5):
        units = rng.uniform(0, 3000, size=(120, 2))
        cands = np.vstack([rng.uniform(0, 3000, size=(10, 2)), units[:4]])
        a = radius_cover(units, cands, 700 + 100 * trial).toarray().astype(bool)
        w = rng.integers(0, 9, 120).astype(float)
        for k in (1, 2, 3, 4):
            result = best_sites(csr_matrix(a), w, k)
            best = _brute(a, w, k)
            assert result.status == "optimal" and result.proven_gap == 0
            assert result.optimal_gain == best >= result.greedy_gain
            assert w[a[:, result.chosen].any(axis=1)].sum() == best and len(result.chosen) <= k


def test_unproven_answer_reports_its_bound() -> None:
    # with no time to search, the first answer comes with the LP's proven upper bound;
    # given time, the same instance is proven optimal (weights with halves, so the bound
    # is not rounded down to the integer optimum)
    rng = np.random.default_rng(1)
    for _ in range(50):
        a = rng.random((12, 6)) < 0.35
        w = rng.integers(1, 9, 12) + 0.5
        best = _brute(a, w, 2)
        if lp_relaxation(*merge_units(csr_matrix(a, dtype=float), w)[:2], 2).value > best + 0.1:
            break
    else:
        raise AssertionError("no instance with an LP gap")
    rushed = best_sites(csr_matrix(a), w, 2, time_limit_s=0.0)
    assert rushed.status == "time_limit" and rushed.optimal_gain <= best
    assert rushed.bound >= best and 0 < rushed.proven_gap < 0.2
    settled = best_sites(csr_matrix(a), w, 2)
    assert settled.status == "optimal" and settled.optimal_gain == round(best)


def test_swap_search_beats_greedy_on_the_trap() -> None:
    a = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=float)
    w = np.array([3, 3, 3, 3, 2, 2], dtype=float)
    assert sorted(swap_improve(csr_matrix(a), w, [0, 1], 1.0)) == [1, 2]


def test_radius_cover_and_grid() -> None:
    units = np.array([[0, 0], [900, 0], [3000, 0]], dtype=float)
    cands = np.array([[0, 0], [1000, 0]], dtype=float)
    a = radius_cover(units, cands, 950).toarray().astype(bool)
    assert a.tolist() == [[True, False], [True, True], [False, False]]
    grid = grid_candidates(units, np.array([1, 1, 0.0]), 500)
    assert len(grid) >= 2 and grid[:, 0].max() <= 1000
    with pytest.raises(InvalidInput):
        best_sites(csr_matrix(a), np.ones(3), 0)


@pytest.fixture
def store(services, tmp_path):
    one_clinic_on_a_grid(services, tmp_path)
    return services


def test_sites_command_gives_optimal_and_greedy(store, runner, tmp_path) -> None:
    out = run_cli(
        runner, store, "sites", "--capability", "home_visit_medical", "--k", "2",
        "--km", "0.25", "--grid-m", "100", "--json",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert len(body["optimal"]["sites"]) == 2 and body["status"] == "optimal"
    assert body["optimal"]["75+_gain"] >= body["greedy"]["75+_gain"] > 0
    assert body["75+_covered_now"] + body["optimal"]["75+_gain"] <= body["75+_total"]
    csv = tmp_path / "cands.csv"
    csv.write_text("lon,lat\n134.05,34.30\n134.06,abc\n", encoding="utf-8")
    bad = run_cli(
        runner, store, "sites", "--capability", "home_visit_medical", "--candidates", str(csv)
    )
    assert bad.exit_code == 1 and "line 3, column 2 (lat)" in bad.output
    pharmacy = run_cli(
        runner, store, "sites", "--capability", "home_visit_medical", "--site-type", "pharmacy"
    )
    assert pharmacy.exit_code == 1 and "cannot offer home_visit_medical" in pharmacy.output


def test_what_if_command_checks_applies_to(store, runner) -> None:
    from planner_support import lonlat

    lon, lat = lonlat(400, 400)
    ok = run_cli(
        runner, store, "what-if", "--capability", "home_visit_medical",
        "--add", f"{lon},{lat},clinic,0.3km", "--json",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    body = json.loads(ok.output)
    gain = next(r for r in body["gain"] if r["band"] == "75+")
    assert gain["covered"] > 0 and body["hypothetical"][0]["matches_filter"]
    text = run_cli(
        runner, store, "what-if", "--capability", "home_visit_medical",
        "--add", f"{lon},{lat},clinic,0.3km",
    )  # fmt: skip
    assert "75+ covered:" in text.output and "->" in text.output
    bad = run_cli(
        runner, store, "what-if", "--capability", "home_visit_medical",
        "--add", f"{lon},{lat},pharmacy",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "--add #1" in bad.output and "cannot offer 訪問診療" in bad.output
    unit = run_cli(
        runner, store, "what-if", "--capability", "home_visit_medical",
        "--add", f"{lon},{lat},clinic,15",
    )  # fmt: skip
    assert unit.exit_code == 1 and "15min or 3km" in unit.output


def _best_with(dense: np.ndarray, w: np.ndarray, k: int, j: int, inside: bool) -> float:
    cols = [c for c in range(dense.shape[1]) if c != j]
    best = 0.0
    for combo in itertools.combinations(cols, k - 1 if inside else k):
        pick = [*combo, j] if inside else list(combo)
        best = max(best, float(w[dense[:, pick].any(axis=1)].sum()))
    return best


def test_lp_bounds_hold_for_every_candidate_in_and_out() -> None:
    # the LP's value bounds the optimum; from its multipliers, each candidate's "with"
    # bound holds for every choice that has it and its "without" bound for every choice
    # that does not (what fixing out and in relies on); the LP's sites add up to k
    rng = np.random.default_rng(7)
    for trial in range(4):
        units = rng.uniform(0, 4000, size=(150, 2))
        a = radius_cover(units, rng.uniform(0, 4000, size=(11, 2)), 800 + 150 * trial)
        w = rng.integers(0, 9, 150).astype(float)
        merged, mw, where = merge_units(csr_matrix(a, dtype=float), w)
        assert mw.sum() == w[np.diff(a.indptr) > 0].sum() and where.max() == len(mw) - 1
        dense = merged.toarray() > 0
        for k in (2, 3):
            lp = lp_relaxation(merged, mw, k)
            assert lp.value >= _brute(dense, mw, k) - 1e-6
            for j in range(1, 6):  # the count's dual bounds the LP at every other count
                other = lp_relaxation(merged, mw, j).value
                assert other <= lp.value + lp.slope * (j - k) + 1e-6
            assert lp.x.sum() == pytest.approx(k) and lp.x.min() >= -1e-9 <= 1 - lp.x.max()
            with_j, without_j = in_and_out(merged, mw, k, lp.lam)
            for j in range(dense.shape[1]):
                assert with_j[j] >= _best_with(dense, mw, k, j, True) - 1e-6
                assert without_j[j] >= _best_with(dense, mw, k, j, False) - 1e-6


def _towns(rng: np.random.Generator, n_units: int = 200) -> tuple[csr_matrix, np.ndarray]:
    centres = rng.uniform(0, 6000, size=(3, 2))
    half = n_units // 2
    units = np.vstack(
        [
            centres[rng.integers(0, 3, half)] + rng.normal(0, 500, size=(half, 2)),
            rng.uniform(0, 6000, size=(n_units - half, 2)),
        ]
    )
    cands = np.vstack([rng.uniform(0, 6000, size=(10, 2)), units[rng.integers(0, n_units, 10)]])
    a = radius_cover(units, cands, rng.uniform(300, 900))
    merged, mw, _ = merge_units(csr_matrix(a, dtype=float), rng.integers(0, 9, n_units) * 1.0)
    return merged, mw


def test_search_split_and_branch_match_brute_force() -> None:
    # towns with a rural spread: each step of the exact search (splitting into groups that
    # share no unit, branching in/out) is run on its own from nothing known, and the whole
    # search too, every answer and bound against brute force over all choices
    from scipy.sparse import csgraph

    rng = np.random.default_rng(3)
    splits = 0
    for _ in range(12):
        merged, mw = _towns(rng)
        dense = merged.toarray() > 0
        labels = csgraph.connected_components(merged.T @ merged, directed=False)[1]
        for k in (2, 3, 4):
            best = _brute(dense, mw, k)
            runs = [
                Search(time.perf_counter() + 30, True).solve(merged, mw, k, 0.0),
                Search(time.perf_counter() + 30, True).branch(
                    merged, mw, k, 0.0, rng.random(merged.shape[1])
                ),
            ]
            if labels.max() > 0:
                runs.append(
                    Search(time.perf_counter() + 30, True).split(merged, mw, k, 0.0, labels)
                )
                splits += 1
            for found in runs:
                assert found.value == best and found.bound >= best and len(found.chosen) <= k
                assert float(mw[dense[:, found.chosen].any(axis=1)].sum()) == best
    assert splits >= 6


def test_search_is_exact_where_brute_force_cannot_go() -> None:
    # 600 units, 80 candidates (C(80, 6) = 300 million choices): the search's proven
    # optimum equals HiGHS's on the plain MILP, for several k
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import hstack, identity

    rng = np.random.default_rng(21)
    units = np.vstack([rng.normal(2500, 700, size=(400, 2)), rng.uniform(0, 8000, size=(200, 2))])
    a = radius_cover(units, rng.uniform(0, 8000, size=(80, 2)), 900)
    w = rng.integers(0, 20, 600).astype(float)
    merged, mw, _ = merge_units(csr_matrix(a, dtype=float), w)
    m, n = merged.shape
    for k in (3, 6):
        res = milp(
            np.concatenate([np.zeros(n), -mw]),
            constraints=[
                LinearConstraint(hstack([-merged, identity(m)]).tocsr(), -np.inf, 0.0),
                LinearConstraint(np.concatenate([np.ones(n), np.zeros(m)])[None, :], k, k),
            ],
            integrality=np.concatenate([np.ones(n), np.zeros(m)]),
            bounds=Bounds(0.0, 1.0),
        )
        assert res.status == 0
        result = best_sites(csr_matrix(a), w, k)
        assert result.status == "optimal" and result.optimal_gain == round(-res.fun)
        assert w[a.toarray()[:, result.chosen].any(axis=1)].sum() == result.optimal_gain


def test_best_split_over_groups() -> None:
    # two groups' best covers for 0..3 sites: 3 sites go 2 + 1, not 3 + 0
    total, counts = best_split([[0, 10, 14, 15], [0, 9, 11, 12]], 3)
    assert (total, counts) == (23, [2, 1])
    assert best_split([[0, 10, 14, 15], [0, 9]], 5) == (24, [3, 1])
