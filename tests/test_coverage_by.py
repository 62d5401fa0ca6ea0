"""`mapsvc coverage --by municipality`: one dask task per municipality, equal to one run.

Issue 11 item 7. The store holds two municipalities side by side (west 高松市 x < 450 m,
east 丸亀市 x > 450 m) on a 900 m grid network, population spread over both, and a clinic
offering 夜間対応 16.15 km east of the grid: far off the road network. By its type's
16 km radius it reaches the units east of about x = 600 m, in 丸亀市 only. It used to be
dropped (0 covered everywhere); now it falls back to its radius and is counted.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from conftest import run_cli
from planner_support import add_area, add_population, add_providers, load_grid_network
from planner_support import population_frame as make_population

HOME = {"home_visit_medical": {"level": "accept"}}
NIGHT = {"night_response": {"level": "accept"}}
FAR_X = 16_600.0  # 16 km from x = 600 m


@pytest.fixture
def two_cities(services, tmp_path):
    load_grid_network(services, tmp_path, nx_=10, ny_=10)
    add_providers(
        services,
        [
            {"dx": 0, "dy": 0, "capabilities": HOME},
            {"dx": 800, "dy": 800, "capabilities": {"home_visit_medical": {"level": "consult"}}},
            {"dx": FAR_X, "dy": 450, "name": "沖の診療所", "capabilities": NIGHT},
        ],
    )
    rng = np.random.default_rng(11)
    points = [
        {"dx": x, "dy": y, "bands": {"40-44": 5, "70-74": 2, "80-84": 1 + i % 3}}
        for i, (x, y) in enumerate(rng.uniform(0, 900, size=(300, 2)))
    ]
    add_population(services, "grid", make_population(points))
    add_area(services, "municipality", "372013", "高松市", -1000, 450)
    add_area(services, "municipality", "372021", "丸亀市", 450, 2000)
    return services


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ("--capability", "home_visit_medical:consult", "--minutes", "1"),
        ("--capability", "home_visit_medical:consult", "--radius-km", "0.3"),
        ("--capability", "night_response"),  # each provider's own rule: the far one's radius
    ],
)
def test_batch_by_municipality_equals_the_single_process_run(two_cities, runner, args) -> None:
    batch = _json(run_cli(runner, two_cities, "coverage", "--by", "municipality", *args, "--json"))
    single = _json(run_cli(runner, two_cities, "coverage", *args, "--json"))
    rows = {r["municipality"]: r for r in batch["municipalities"]}
    assert sorted(rows) == ["372013", "372021"]
    assert [rows[c]["name"] for c in sorted(rows)] == ["高松市", "丸亀市"]
    assert sum(r["units"] for r in rows.values()) == single["units"] == 300
    # per municipality: the single run's area breakdown (its groups are the municipalities)
    areas = {a["area"]: a for a in single["by_area"]}
    assert sorted(areas) == sorted(rows)
    for code, row in rows.items():
        for col in ("total", "65+", "75+"):
            assert row[col] == areas[code][col]
            assert row[f"{col}_covered"] == areas[code][f"{col}_covered"], (code, col)
    # every count column adds up per municipality and sums to the single run's bands
    for band in single["bands"]:
        col = band["band"]
        assert sum(r[f"{col}_covered"] for r in rows.values()) == band["covered"]
        for r in rows.values():
            assert r[col] == r[f"{col}_covered"] + r[f"{col}_uncovered"]
    assert batch["providers"] == single["providers"]


def test_provider_off_the_network_falls_back_to_its_radius_and_is_counted(
    two_cities, runner
) -> None:
    result = run_cli(
        runner, two_cities, "coverage", "--by", "municipality", "--capability", "night_response",
        "--json",
    )  # fmt: skip
    body = _json(result)
    assert body["off_network"] == {"fallback_radius": 1, "left_out": 0}
    (problem,) = body["problems"]
    assert problem["problem"] == "off_network" and problem["fallback"] == "radius"
    assert problem["km"] == 16
    assert "its type's radius of 16 km is used instead" in result.stderr
    rows = {r["municipality"]: r for r in body["municipalities"]}
    assert rows["372013"]["total_covered"] == 0  # x < 450 m: more than 16 km away
    east = rows["372021"]
    assert 0 < east["total_covered"] < east["total"]  # x > ~600 m of 450..900 m
    assert east["75+_share"] == round(east["75+_covered"] / east["75+"], 4)
    # a forced time limit leaves it out of travel-time areas, still counted
    timed = _json(
        run_cli(
            runner, two_cities, "coverage", "--by", "municipality", "--capability",
            "night_response", "--minutes", "5", "--json",
        )
    )  # fmt: skip
    assert timed["off_network"] == {"fallback_radius": 0, "left_out": 1}
    assert all(r["total_covered"] == 0 for r in timed["municipalities"])


def test_batch_text_and_csv_tables(two_cities, runner) -> None:
    args = ("coverage", "--by", "municipality", "--capability", "night_response")
    text = run_cli(runner, two_cities, *args)
    assert text.exit_code == 0, text.output
    assert "off the road network: 1 use their type's radius, 0 left out" in text.stdout
    assert "高松市" in text.stdout and "丸亀市" in text.stdout and "0.0%" in text.stdout
    out = run_cli(runner, two_cities, *args, "--csv")
    assert out.exit_code == 0, out.output
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["municipality"] for r in table] == ["372013", "372021"]
    assert [r["name"] for r in table] == ["高松市", "丸亀市"]
    for r in table:
        assert int(r["75+"]) == int(r["75+_covered"]) + int(r["75+_uncovered"])


def test_batch_says_missing_data_and_refuses_bad_options(two_cities, runner) -> None:
    body = _json(
        run_cli(
            runner, two_cities, "coverage", "--by", "municipality", "--capability",
            "ventilator", "--radius-km", "5", "--json",
        )
    )  # fmt: skip
    assert [m["capability"] for m in body["missing"]] == ["ventilator"]
    assert all(r["75+_share"] is None for r in body["municipalities"])
    bad = run_cli(runner, two_cities, "coverage", "--capability", "ventilator", "--scheduler", "x")
    assert bad.exit_code == 1 and "--scheduler needs --by" in bad.output
    both = run_cli(runner, two_cities, "coverage", "--capability", "ventilator", "--json", "--csv")
    assert both.exit_code == 1 and "not both" in both.output
