"""Coverage on the real Takamatsu files (facilities, 地域・年齢別人口 by town, N03 boundary).

Skips, saying why, when ../shared/data/real is absent.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import real_path, run_cli

pytestmark = pytest.mark.real
TOTAL = 418_129  # the towns of population_by_town_age_202602.csv sum to this


@pytest.fixture
def takamatsu(sqlite_services, runner):
    facilities = real_path("takamatsu", "facilities", "hospital_gh-pages_2024-09.geojson")
    population = real_path("takamatsu", "population", "population_by_town_age_202602.csv")
    boundary = real_path("takamatsu", "boundary", "N03-21_37_210101_s0010.geojson")
    for args in (
        [
            "import",
            str(facilities),
            "--rejects",
            str(sqlite_services.instance_path / "rejects.csv"),
        ],
        ["population", "import", str(population), "--dataset", "takamatsu-2026-02"],
        [
            "areas",
            "import",
            str(boundary),
            "--kind",
            "municipality",
            "--municipality-code",
            "37201",
        ],
    ):
        result = run_cli(runner, sqlite_services, *args)
        assert result.exit_code == 0, result.output
    return sqlite_services, population


ASKS = [
    ["--type", "hospital", "--radius-km", "4"],
    ["--capability", "home_visit_medical", "--radius-km", "16"],
    ["--type", "clinic", "--capability", "night_response", "--radius-km", "2"],
    ["--type", "clinic", "--type", "hospital", "--radius-km", "1"],
]


@pytest.mark.parametrize("ask", ASKS, ids=lambda a: " ".join(a))
def test_radius_coverage_of_the_town_population_adds_up(takamatsu, runner, ask) -> None:
    services, _ = takamatsu
    result = run_cli(runner, services, "coverage", *ask, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    bands = {b["band"]: b for b in out["bands"]}
    assert out["units"] == 235
    assert bands["total"]["covered"] + bands["total"]["uncovered"] == TOTAL
    assert bands["total"]["total"] == TOTAL
    for band in out["bands"]:
        assert band["covered"] + band["uncovered"] == band["total"]
    for part in ("covered", "uncovered", "total"):
        assert bands["75+"][part] == sum(bands[b][part] for b in ("75-79", "80-84", "85+"))


def test_hospital_radius_numbers_match_an_independent_computation(takamatsu, runner) -> None:
    """Town points within 4 km of a hospital, by plain geopandas distances."""
    import geopandas as gpd

    services, population = takamatsu
    out = json.loads(
        run_cli(
            runner, services, "coverage", "--type", "hospital", "--radius-km", "4", "--json"
        ).stdout
    )
    raw = pd.read_csv(population, encoding="utf-8-sig")
    latlon = raw["location"].str.split(",", expand=True).astype(float)
    towns = gpd.GeoDataFrame(
        raw, geometry=gpd.points_from_xy(latlon[1], latlon[0]), crs=4326
    ).to_crs(6690)
    with services.store.session() as s:
        from mapsvc.core.frames import load_providers_frame

        providers = load_providers_frame(s)
    hospitals = providers[
        (providers["type"] == "hospital") & (providers["status"] == "active")
    ].to_crs(6690)
    dist = towns.geometry.apply(lambda p: hospitals.distance(p).min())
    covered = dist.to_numpy() <= 4000
    assert covered.sum() > 200  # most towns are near a hospital
    bands = {b["band"]: b for b in out["bands"]}
    assert bands["total"]["covered"] == int(raw["totalPopulation"][covered].sum())
    older = raw[[f"{s}{i}" for s in ("man", "woman") for i in (16, 17, 18)]].sum(axis=1)
    assert bands["75+"]["covered"] == int(older[covered].sum())
    assert bands["75+"]["total"] == int(older.sum())
    uncovered = [p["name"] for p in out["uncovered_places"]]
    expected = raw.loc[~covered].sort_values("totalPopulation", ascending=False)
    assert set(uncovered) <= set(expected["regionName"])
    assert np.all(np.diff([p["75+"] for p in out["uncovered_places"]]) <= 0)


def test_hospitals_off_the_network_fall_back_to_their_radius_by_municipality(
    takamatsu, runner
) -> None:
    """Issue 11 item 7 on the real files: with a road network that does not reach 高松市 (the
    only Japanese OSM extract here is of Tokyo), every hospital is off the network. In the
    default mode each falls back to its type's 16 km radius, counted — 高松市 used to be 0%
    because they were all dropped — and `--by municipality` equals the single run."""
    import geopandas as gpd

    from mapsvc.core.frames import load_providers_frame

    services, population = takamatsu
    osm = real_path("osm", "tokyo-nerima-itabashi.osm")
    result = run_cli(runner, services, "network", "import", str(osm))
    assert result.exit_code == 0, result.output
    with services.store.session() as s:
        providers = load_providers_frame(s)
    hospitals = providers[(providers["type"] == "hospital") & (providers["status"] == "active")]
    ask = ["coverage", "--type", "hospital", "--json"]
    single = json.loads(run_cli(runner, services, *ask).stdout)
    by = json.loads(run_cli(runner, services, *ask, "--by", "municipality").stdout)
    assert single["off_network"] == {"fallback_radius": len(hospitals), "left_out": 0}
    assert by["off_network"] == single["off_network"] and len(hospitals) > 30
    (muni,) = by["municipalities"]
    older = {b["band"]: b for b in single["bands"]}["75+"]
    assert muni["name"] == "高松市" and muni["75+_covered"] == older["covered"] > 0
    assert muni["75+_share"] == older["share"] > 0.5
    # the same as 16 km around each hospital, computed independently
    raw = pd.read_csv(population, encoding="utf-8-sig")
    latlon = raw["location"].str.split(",", expand=True).astype(float)
    towns = gpd.GeoSeries(gpd.points_from_xy(latlon[1], latlon[0]), crs=4326).to_crs(6690)
    near = hospitals.to_crs(6690).geometry.union_all().buffer(16_000)
    old = raw[[f"{s}{i}" for s in ("man", "woman") for i in (16, 17, 18)]].sum(axis=1)
    assert older["covered"] == int(old[towns.within(near).to_numpy()].sum())
    # a travel time forced on the form cannot be met off the network: left out, and said so
    forced = json.loads(run_cli(runner, services, *ask, "--minutes", "15").stdout)
    assert forced["off_network"] == {"fallback_radius": 0, "left_out": len(hospitals)}
