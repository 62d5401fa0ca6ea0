"""Planner commands against a store: coverage, service areas and their cache, errors."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from conftest import run_cli
from planner_support import (
    add_population,
    add_providers,
    load_grid_network,
    uniform_population,
)
from sqlalchemy import select, update

from mapsvc.core.models import Provider, ServiceAreaCache
from mapsvc.geo.service_areas import OffNetwork

HOME = {"home_visit_medical": {"level": "accept"}}


@pytest.fixture
def planner_store(services, tmp_path):
    """Grid network (9×9 blocks of 100 m), two clinics, 400 population points."""
    load_grid_network(services, tmp_path, nx_=10, ny_=10)
    add_providers(
        services,
        [
            {"dx": 0, "dy": 0, "capabilities": HOME},
            {"dx": 900, "dy": 900, "capabilities": {"home_visit_medical": {"level": "consult"}}},
        ],
    )
    add_population(services, "grid", uniform_population(400, 450, seed=3))
    return services


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_coverage_json_bands_add_up_for_every_mode(planner_store, runner) -> None:
    for args in (["--minutes", "1"], ["--radius-km", "0.3"], []):
        out = _json(
            run_cli(
                runner,
                planner_store,
                "coverage",
                "--capability",
                "home_visit_medical:consult",
                "--json",
                *args,
            )
        )
        assert out["providers"] == 2 and out["population"] == "grid"
        for band in out["bands"]:
            assert band["covered"] + band["uncovered"] == band["total"]
        assert out["bands"][0]["total"] == 4000
    radius = _json(
        run_cli(
            runner,
            planner_store,
            "coverage",
            "--capability",
            "home_visit_medical:accept",
            "--radius-km",
            "0.3",
            "--json",
        )
    )
    assert radius["providers"] == 1 and 0 < radius["bands"][0]["covered"] < 4000
    assert radius["uncovered_places"][0]["75+"] == 2


def test_coverage_text_names_filter_and_limit(planner_store, runner) -> None:
    result = run_cli(
        runner, planner_store, "coverage", "--capability", "home_visit_medical", "--minutes", "2"
    )
    assert result.exit_code == 0, result.output
    assert "訪問診療" in result.output and "2 min travel time" in result.output
    assert "75+" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--capability", "teleportation"], "unknown capability 'teleportation'"),
        (["--capability", "home_visit_medical", "--minutes", "0"], "must be > 0 minutes"),
        (["--capability", "home_visit_medical", "--minutes", "-5"], "must be > 0 minutes"),
        (["--capability", "home_visit_medical:often"], "not a minimum level"),
        (["--capability", "home_visit_medical", "--population", "nope"], "'nope' is not loaded"),
        (["--capability", "home_visit_medical", "--minutes", "5", "--radius-km", "2"], "not both"),
    ],
)
def test_coverage_bad_input_is_a_clear_error(planner_store, runner, args, message) -> None:
    result = run_cli(runner, planner_store, "coverage", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_no_network_and_no_population_are_explained(sqlite_services, runner) -> None:
    add_providers(sqlite_services, [{"capabilities": HOME}])
    no_pop = run_cli(
        runner,
        sqlite_services,
        "coverage",
        "--capability",
        "home_visit_medical",
        "--radius-km",
        "5",
    )
    assert no_pop.exit_code == 1 and "no population is loaded" in no_pop.output
    add_population(sqlite_services, "grid", uniform_population(10, 100))
    no_net = run_cli(
        runner, sqlite_services, "coverage", "--capability", "home_visit_medical", "--minutes", "10"
    )
    assert no_net.exit_code == 1 and "no road network is loaded" in no_net.output
    # without a network the default rule falls back to the radius
    ok = _json(
        run_cli(runner, sqlite_services, "coverage", "--capability", "home_visit_medical", "--json")
    )
    assert ok["area_kinds"] == {"radius": 1} and ok["bands"][0]["share"] == 1.0


def test_provider_off_the_network(planner_store, runner) -> None:
    (far,) = add_providers(
        planner_store, [{"dx": 8000, "dy": 8000, "name": "沖の島診療所", "capabilities": HOME, "source_id": "far"}],
        source="island",
    )  # fmt: skip
    result = run_cli(
        runner,
        planner_store,
        "coverage",
        "--capability",
        "home_visit_medical",
        "--minutes",
        "1",
        "--json",
    )
    assert result.exit_code == 0
    assert "warning: 沖の島診療所 is 10,041 m from the nearest road" in result.stderr
    out = json.loads(result.stdout)
    assert [p["problem"] for p in out["problems"]] == ["off_network"]
    strict = run_cli(
        runner,
        planner_store,
        "coverage",
        "--capability",
        "home_visit_medical",
        "--minutes",
        "1",
        "--strict",
    )
    assert strict.exit_code == 1 and "without --strict" in strict.output
    single = run_cli(runner, planner_store, "service-areas", "--provider", far, "--minutes", "5")
    assert single.exit_code == 1
    assert "error: 沖の島診療所 is 10,041 m from the nearest road" in single.output
    assert OffNetwork.code == "off_network"


def test_service_area_cache_reused_and_recomputed_on_change(planner_store, runner) -> None:
    first = run_cli(runner, planner_store, "service-areas", "--minutes", "1")
    assert "2 service areas (travel_time 2); 0 from the cache" in first.output
    again = run_cli(runner, planner_store, "service-areas", "--minutes", "1")
    assert "2 from the cache" in again.output
    with planner_store.store.session() as s:
        rows = s.scalars(select(ServiceAreaCache)).all()
        assert {r.minutes for r in rows} == {1.0} and len(rows) == 2
    with planner_store.store.session() as s:
        s.execute(
            update(Provider)
            .where(Provider.source_id == "1")
            .values(updated_at=datetime(2030, 1, 1))
        )
    changed = run_cli(runner, planner_store, "service-areas", "--minutes", "1")
    assert "1 from the cache" in changed.output
    geo = _json(run_cli(runner, planner_store, "service-areas", "--minutes", "1", "--json"))
    assert len(geo["features"]) == 2
    assert geo["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def _add_area(services, kind: str, code: str, name: str, x0: float, x1: float, parent=None) -> None:
    import shapely
    from planner_support import lonlat
    from shapely.geometry import mapping

    from mapsvc.core.models import Area

    square = shapely.Polygon(
        [lonlat(x0, -1000), lonlat(x1, -1000), lonlat(x1, 2000), lonlat(x0, 2000)]
    )
    with services.store.session() as s:
        s.add(
            Area(
                kind=kind,
                code=code,
                name=name,
                parent_code=parent,
                geometry=mapping(square),
                properties={},
            )
        )


def test_indicators_snapshot_compare_and_target(planner_store, runner) -> None:
    from datetime import date

    from mapsvc.core.models import AuditEntry

    with planner_store.store.session() as s:  # the first two clinics date from 2025
        s.execute(update(AuditEntry).values(at=datetime(2025, 1, 6)))
        s.execute(update(Provider).values(created_at=datetime(2025, 1, 6)))
    _add_area(planner_store, "municipality", "372013", "高松市", -1000, 2000)
    _add_area(planner_store, "daily_life_area", "D1", "西", -1000, 450)
    _add_area(planner_store, "daily_life_area", "D2", "東", 450, 2000)
    rows = _json(
        run_cli(
            runner,
            planner_store,
            "indicators",
            "--indicator",
            "per1000_75:cap:home_visit_medical",
            "--json",
        )
    )
    by_area = {r["area_code"]: r for r in rows}
    assert set(by_area) == {"372013", "D1", "D2"}
    assert by_area["372013"]["numerator"] == 2 and by_area["372013"]["denominator"] == 800
    assert by_area["372013"]["value"] == 2.5
    shares = _json(
        run_cli(runner, planner_store, "indicators", "--indicator", "covered75:", "--json")
    )
    assert {r["indicator"] for r in shares} >= {"covered75:home_visit_medical"}
    assert all(0 <= r["value"] <= 1 for r in shares if r["value"] is not None)
    snap = run_cli(
        runner,
        planner_store,
        "indicators",
        "--snapshot",
        "--date",
        "2025-04-01",
        "--indicator",
        "count:",
    )
    assert "snapshot 2025-04-01:" in snap.output
    add_providers(
        planner_store,
        [{"dx": 100, "dy": 100, "capabilities": HOME, "source_id": "new"}],
        source="later",
    )
    today = date.today().isoformat()
    run_cli(runner, planner_store, "indicators", "--snapshot", "--date", today)
    cmp = _json(
        run_cli(
            runner,
            planner_store,
            "indicators",
            "--compare",
            "2025-04-01",
            today,
            "--indicator",
            "count:type:clinic",
            "--json",
        )
    )
    city = next(r for r in cmp if r["area_code"] == "372013")
    assert (city["value_1"], city["value_2"], city["change"]) == (2, 3, 1)
    bad = run_cli(runner, planner_store, "indicators", "--compare", "2025-04-01", "2020-01-01")
    assert bad.exit_code == 1 and "no indicator snapshot on 2020-01-01" in bad.output
    run_cli(
        runner,
        planner_store,
        "indicators",
        "--target",
        "municipality",
        "372013",
        "per1000_75:type:clinic",
        "5",
    )
    rows = _json(
        run_cli(
            runner, planner_store, "indicators", "--indicator", "per1000_75:type:clinic", "--json"
        )
    )
    city = next(r for r in rows if r["area_code"] == "372013")
    assert city["target"] == 5 and city["gap"] == pytest.approx(5 - 3 / 800 * 1000)


def test_candidates_command(planner_store, runner) -> None:
    missing = run_cli(runner, planner_store, "candidates")
    assert missing.exit_code == 1 and "no municipality boundary is loaded" in missing.output
    _add_area(planner_store, "municipality", "372013", "高松市", -1000, 2000)
    add_providers(
        planner_store,
        [
            {
                "dx": 50,
                "dy": 50,
                "name": "支援診",
                "capabilities": {"home_care_support_clinic": {"value": "enhanced_linked"}},
            }
        ],
        source="kouseikyoku",
    )
    out = _json(run_cli(runner, planner_store, "candidates", "--json"))
    assert out[0]["branch"] == "enhanced_clinic"
    assert [c["name"] for c in out[0]["candidates"]] == ["支援診"]
    text = run_cli(runner, planner_store, "candidates")
    assert "支援診: 在宅療養支援診療所（機能強化型（連携型））" in text.output


def test_osm_file_without_drivable_roads_then_travel_time_is_refused(
    sqlite_services, runner
) -> None:
    from conftest import DATA

    result = run_cli(
        runner, sqlite_services, "network", "import", str(DATA / "osm_footways_only.osm")
    )
    assert result.exit_code == 1 and "drivable" in result.output
    add_providers(sqlite_services, [{"capabilities": HOME}])
    add_population(sqlite_services, "grid", uniform_population(10, 100))
    refused = run_cli(
        runner, sqlite_services, "coverage", "--capability", "home_visit_medical", "--minutes", "10"
    )
    assert refused.exit_code == 1 and "no road network is loaded" in refused.output


def test_locked_store_is_a_clear_message_not_a_traceback(sqlite_services, runner, monkeypatch):
    """Another writer holding the store: `users add` says so and exits 1 (issue 11 item 8)."""
    import sqlite3

    from mapsvc.core import db

    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.2)
    path = sqlite_services.config["DATABASE_URL"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # what a long write transaction looks like
    try:
        result = run_cli(
            runner,
            sqlite_services,
            "users",
            "add",
            "someone",
            "--role",
            "planner",
            input="a-long-password\na-long-password\n",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "error: the store is busy" in result.output
    assert "Traceback" not in result.output and "OperationalError" not in result.output


def test_service_areas_hold_no_write_transaction_while_computing(planner_store, monkeypatch):
    """Polygons are computed with no session open; the cache is written afterwards."""
    from mapsvc.geo import area_sets, service_area_cache
    from mapsvc.planner.inputs import context_for, providers_for

    store = planner_store.store
    open_sessions = []
    real_session = store.session

    from contextlib import contextmanager

    depth = {"n": 0}

    @contextmanager
    def counting():
        depth["n"] += 1
        try:
            with real_session() as s:
                yield s
        finally:
            depth["n"] -= 1

    real_geoms = area_sets.provider_area_geometries

    def spy(rules, ctx, quad_segs=8):
        open_sessions.append(depth["n"])
        return real_geoms(rules, ctx, quad_segs)

    monkeypatch.setattr(store, "session", counting)
    monkeypatch.setattr(service_area_cache, "provider_area_geometries", spy)
    with real_session() as s:
        providers = providers_for(s)
        ctx = context_for(planner_store, s, lons=providers["lon"])
    areas, _ = service_area_cache.provider_areas(store, providers, ctx, minutes=1)
    assert open_sessions == [0] and len(areas) == 2
    with real_session() as s:
        assert len(s.scalars(select(ServiceAreaCache)).all()) == 2


def test_coverage_side_by_side_quadrants_add_up(planner_store, runner) -> None:
    """Issue 11 item 1: inside/outside the radius x inside/outside N minutes, per band."""
    args = ["--capability", "home_visit_medical", "--json"]
    both = _json(
        run_cli(
            runner,
            planner_store,
            "coverage",
            *args,
            "--compare-radius-km",
            "0.3",
            "--minutes",
            "0.5",
        )
    )
    radius = _json(run_cli(runner, planner_store, "coverage", *args, "--radius-km", "0.3"))
    minutes = _json(run_cli(runner, planner_store, "coverage", *args, "--minutes", "0.5"))
    assert both["quadrants"] == ["both", "only_radius", "only_minutes", "neither"]
    by_band_r = {r["band"]: r for r in radius["bands"]}
    by_band_m = {r["band"]: r for r in minutes["bands"]}
    for row in both["bands"]:
        assert (
            row["both"] + row["only_radius"] + row["only_minutes"] + row["neither"] == row["total"]
        )
        assert row["both"] + row["only_radius"] == by_band_r[row["band"]]["covered"]
        assert row["both"] + row["only_minutes"] == by_band_m[row["band"]]["covered"]
    total = next(r for r in both["bands"] if r["band"] == "total")
    assert total["only_minutes"] > 0 and total["neither"] > 0 and total["both"] > 0
    wide = _json(
        run_cli(
            runner,
            planner_store,
            "coverage",
            *args,
            "--compare-radius-km",
            "0.7",
            "--minutes",
            "0.5",
        )
    )
    wide_total = next(r for r in wide["bands"] if r["band"] == "total")
    assert wide_total["only_radius"] > 0  # the disc's diagonals lie beyond the streets' reach
    for area in both["by_area"]:
        quads = sum(area[f"75+_{q}"] for q in both["quadrants"])
        assert quads == area["75+"]
    text = run_cli(
        runner, planner_store, "coverage", "--capability", "home_visit_medical",
        "--compare-radius-km", "16", "--minutes", "0.5",
    )  # fmt: skip
    assert text.exit_code == 0 and "16 km radius vs 0.5 min" in text.output
    assert "only 16 km" in text.output
    alone = run_cli(
        runner, planner_store, "coverage", "--capability", "home_visit_medical",
        "--compare-radius-km", "16",
    )  # fmt: skip
    assert alone.exit_code == 1 and "needs --minutes" in alone.output


def test_default_population_is_the_newest_survey_not_the_first_name(planner_store, runner):
    """Issue 11 item 3: loading an older file must not make it the default."""
    from planner_support import add_population, uniform_population

    add_population(
        planner_store, "a_old_2015", uniform_population(4, 450, seed=1), survey_date="2015-10-01"
    )
    with planner_store.store.session() as s:
        from mapsvc.core.models import PopulationUnit

        s.execute(
            update(PopulationUnit)
            .where(PopulationUnit.dataset == "grid")
            .values(survey_date="2020-10-01")
        )
    out = _json(
        run_cli(runner, planner_store, "coverage", "--capability", "home_visit_medical", "--json")
    )
    assert out["population"] == "grid"
    assert out["population_note"] == {
        "dataset": "grid",
        "survey_date": "2020-10-01",
        "why": "newest",
    }
    text = run_cli(runner, planner_store, "coverage", "--capability", "home_visit_medical")
    assert "population grid (survey 2020-10-01; newest loaded)" in text.output


def test_capability_nobody_answered_is_missing_not_zero(planner_store, runner) -> None:
    """Issue 11 item 2: no provider answered 24h support → データなし, not 0%."""
    args = ("coverage", "--capability", "support_clinic_24h", "--radius-km", "5")
    from mapsvc.core.taxonomy import load_taxonomy

    taxonomy = load_taxonomy("layers")
    key = next(
        k for k, c in taxonomy.capabilities.items()
        if c.kind in ("flag", "level") and "clinic" in c.applies_to and k != "home_visit_medical"
    )  # fmt: skip
    args = ("coverage", "--capability", key, "--radius-km", "5")
    body = _json(run_cli(runner, planner_store, *args, "--json"))
    assert [m["capability"] for m in body["missing"]] == [key]
    assert body["missing"][0]["message"] == "データなし（この項目の回答がありません）"
    text = run_cli(runner, planner_store, *args)
    assert "データなし（この項目の回答がありません）" in text.output
    answered = _json(
        run_cli(runner, planner_store, "coverage", "--capability", "home_visit_medical", "--json")
    )
    assert answered["missing"] == []
