"""Best k new sites (exact MCLP vs greedy) and the what-if / sites commands (issue 11)."""

from __future__ import annotations

import functools
import itertools
import json

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


def test_unproven_answer_reports_its_bound(monkeypatch) -> None:
    # when the MILP is not tried (too big for the time limit), the best known answer
    # comes with its proven upper bound; this instance's Lagrangian bound is 54.5 > 54
    import mapsvc.planner.sites as sites

    monkeypatch.setattr(sites, "MILP_MAX_NONZEROS", 0)
    rng = np.random.default_rng(1)
    a = rng.random((12, 6)) < 0.35
    w = rng.integers(1, 9, 12).astype(float)
    result = best_sites(csr_matrix(a), w, 2)
    assert result.status == "time_limit" and result.optimal_gain == _brute(a, w, 2)
    assert result.bound >= _brute(a, w, 2) and 0 < result.proven_gap < 0.05
    monkeypatch.undo()
    assert best_sites(csr_matrix(a), w, 2).status == "optimal"


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


def _cover(a: np.ndarray, w: np.ndarray, start: list[int]) -> tuple[list[int], float]:
    return start, float(w[a[:, start].any(axis=1)].sum())


def test_bound_rounds_keep_an_optimum_and_stay_above_it() -> None:
    # the rounds of fixing (bound, fix out, re-merge with the multipliers summed, a better
    # answer from the multipliers' top sites raising the bar) never cut every optimal
    # choice and never report a bound below the optimum
    from mapsvc.planner.sites_bound import fix_by_bound, merge_units

    rng = np.random.default_rng(7)
    raised = 0
    for trial in range(4):
        units = rng.uniform(0, 4000, size=(150, 2))
        a = radius_cover(units, rng.uniform(0, 4000, size=(14, 2)), 800 + 150 * trial)
        w = rng.integers(0, 9, 150).astype(float)
        merged, mw, where = merge_units(csr_matrix(a, dtype=float), w)
        assert mw.sum() == w[np.diff(a.indptr) > 0].sum() and where.max() == len(mw) - 1
        dense = merged.toarray() > 0
        for k in (2, 3):
            best = _brute(dense, mw, k)
            cover = functools.partial(_cover, dense, mw)
            for lower in (0.9 * best, best):
                alive, sub, sub_w, bound, found = fix_by_bound(merged, mw, k, lower, 0.5, cover)
                assert bound >= best - 1e-6
                if found is not None:  # a better answer than ``lower`` came from the bound
                    assert lower < cover(found)[1] <= best and len(found) == k
                    raised += 1
                assert _brute(dense[:, alive], mw, min(k, len(alive))) == best
                assert sub.shape[1] == len(alive) and sub_w.sum() <= mw.sum()
    assert raised > 0
