"""The demo municipality: determinism, realistic content, loading through the importers."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime

import networkx as nx
import osmnx as ox
import pytest
import shapely
from conftest import run_cli
from sqlalchemy import func, select

from mapsvc.core.codes import normalise_municipality_code
from mapsvc.core.frames import load_providers_frame
from mapsvc.core.models import (
    Area,
    AuditEntry,
    ImportRun,
    PopulationUnit,
    Provider,
    RoadNetwork,
)
from mapsvc.demo import (
    DEMO_DATASET,
    DEMO_SOURCE,
    MUNICIPALITY_CODE,
    is_demo_store,
    load_demo,
)
from mapsvc.demo.generate import FILES, build_files
from mapsvc.geo.areas import area_containing, areas_frame
from mapsvc.geo.geocode import GazetteerGeocoder
from mapsvc.geo.network import load_active_network
from mapsvc.geo.population import BANDS, cell_polygons, population_datasets, population_frame

pytest_plugins = ["demo_support"]  # demo_template, demo_services (ruff-clean fixture import)


def _providers(services):
    with services.store.session() as session:
        return load_providers_frame(session, located_only=False)


def test_same_seed_same_bytes_other_seed_other_city(sqlite_services):
    taxonomy = sqlite_services.taxonomy
    first = build_files(20260401, taxonomy)
    again = build_files(20260401, taxonomy)
    assert set(first) == {*FILES, "manifest.json"}
    assert all(first[name] == again[name] for name in first)
    other = build_files(7, taxonomy)
    assert other["providers.csv"] != first["providers.csv"]
    assert other["roads.graphml"] != first["roads.graphml"]


def test_municipality_code_is_valid():
    assert normalise_municipality_code(MUNICIPALITY_CODE[:5]) == MUNICIPALITY_CODE
    assert MUNICIPALITY_CODE[2:5] == "999"  # a city number that is never assigned


def test_providers_of_every_type_with_realistic_mixes(demo_services, demo_template):
    frame = _providers(demo_services)
    taxonomy = demo_services.taxonomy
    assert len(frame) == demo_template.manifest["counts"]["providers"] == 800
    assert set(frame["source"]) == {DEMO_SOURCE}
    types = Counter(frame["type"])
    assert set(types) == set(taxonomy.provider_types)

    def offers(row, key, level="accept"):
        return taxonomy.offers(key, row["capabilities"].get(key), level)

    nursing = frame[frame["type"] == "home_nursing"]
    ventilator = [r for _, r in nursing.iterrows() if offers(r, "ventilator")]
    assert 1 <= len(ventilator) <= 6  # "a few"
    clinics = frame[frame["type"] == "clinic"]
    with_24h = sum(offers(r, "response_24h", "consult") for _, r in clinics.iterrows())
    assert with_24h / len(clinics) < 0.3  # most clinics have no 24-hour response
    levels = Counter(
        v.get("level")
        for caps in frame["capabilities"]
        for v in caps.values()
        if isinstance(v, dict)
    )
    assert levels["unknown"] > 50 and levels["no"] > 500 and levels["active"] > 100
    assert sum(1 for caps in frame["capabilities"] if not caps) > 20  # never answered
    registered = Counter(
        c.get("home_care_support_clinic", {}).get("value") for c in clinics["capabilities"]
    )
    assert registered["enhanced_linked"] + registered["enhanced_single"] >= 1
    assert frame["fax"].notna().mean() > 0.5 and frame["contact_person"].notna().mean() > 0.5
    ranked = [
        c["contact_methods"]["value"] for c in frame["capabilities"] if "contact_methods" in c
    ]
    assert len(ranked) > 200 and any(len(r) > 1 for r in ranked)
    assert frame["service_area"].notna().sum() > 50


def test_everything_is_clearly_fictional(demo_services, demo_template):
    frame = _providers(demo_services)
    assert frame["name"].str.contains("デモ").all()
    assert frame["address"].str.contains("デモ市").all()
    assert frame["phone"].str.match(r"^000-0000-\d{4}$").all()
    assert frame["fax"].dropna().str.match(r"^000-0001-\d{4}$").all()
    assert frame["email"].dropna().str.endswith("@example.com").all()
    assert frame["url"].dropna().str.startswith("https://example.com/").all()
    folder = demo_template.demo_folder
    assert "架空のデモデータです" in (folder / "README.txt").read_text(encoding="utf-8")
    for name in ("city.geojson", "daily_life_areas.geojson", "towns.geojson"):
        doc = json.loads((folder / name).read_text(encoding="utf-8"))
        assert doc["metadata"]["synthetic"] is True
        assert all(f["properties"]["synthetic"] is True for f in doc["features"])
    with (folder / "providers.csv").open(encoding="utf-8-sig") as fh:
        assert {row["synthetic"] for row in csv.DictReader(fh)} == {"true"}
    with demo_services.store.session() as session:
        areas = session.scalars(select(Area)).all()
        assert areas and all(a.properties["synthetic"] is True for a in areas)
        assert all(p["synthetic"] for p in session.scalars(select(PopulationUnit.properties)).all())
        assert population_datasets(session)[0]["synthetic"] is True
        assert is_demo_store(session)


def test_fresh_store_is_not_a_demo_store(sqlite_services):
    with sqlite_services.store.session() as session:
        assert not is_demo_store(session)


def test_each_daily_life_area_has_exactly_one_support_center(demo_services):
    frame = _providers(demo_services)
    centres = frame[frame["type"] == "community_support_center"]
    with demo_services.store.session() as session:
        areas = areas_frame(session, "daily_life_area")
        towns = areas_frame(session, "town")
        city = areas_frame(session, "municipality")
    assert len(areas) == 6 and len(centres) == 6
    for area in areas.itertuples():
        inside = centres[centres.within(area.geometry)]
        assert len(inside) == 1, area.name
        centre = inside.iloc[0]
        assert area.properties["center_source_id"] == centre["source_id"]
        assert centre["service_area"] == {"kind": "codes", "codes": [area.code]}
        found = area_containing(areas, centre.geometry.x, centre.geometry.y, "daily_life_area")
        assert found["code"] == area.code
    # areas tile the city, towns nest in areas
    union = shapely.union_all(list(areas.geometry))
    assert union.symmetric_difference(city.geometry.iloc[0]).area < 1e-8
    assert set(towns["parent_code"]) == set(areas["code"])
    for town in towns.itertuples():
        parent = areas.set_index("code").loc[town.parent_code].geometry
        assert parent.buffer(1e-6).covers(town.geometry)


def test_population_grid_bands_and_ageing(demo_services):
    with demo_services.store.session() as session:
        frame = population_frame(session, DEMO_DATASET)
        areas = areas_frame(session, "daily_life_area")
    assert (frame[list(BANDS)].sum(axis=1) == frame["total"]).all()
    assert 100_000 <= frame["total"].sum() <= 200_000
    assert frame["key"].str.len().eq(10).all()  # JIS X 0410 level 5 = 250 m
    cells = cell_polygons(frame)
    assert all(cells.iloc[i].contains(frame.geometry.iloc[i]) for i in range(0, len(frame), 97))
    central = frame[frame["area_code"] == MUNICIPALITY_CODE + "-01"]
    outer = frame[frame["area_code"] != MUNICIPALITY_CODE + "-01"]
    assert central["75+"].sum() / central["total"].sum() < outer["75+"].sum() / outer["total"].sum()
    assert central["total"].sum() / len(central) > 2 * outer["total"].sum() / len(outer)
    sample = frame.iloc[::53]
    for row in sample.itertuples():
        found = area_containing(areas, row.geometry.x, row.geometry.y, "daily_life_area")
        assert found["code"] == row.area_code


def test_road_network_loads_in_osmnx_and_routes(demo_services, demo_template):
    G = ox.load_graphml(demo_template.demo_folder / "roads.graphml")
    largest = max(nx.strongly_connected_components(G), key=len)
    assert len(largest) >= 0.95 * len(G)
    classes = Counter(d["highway"] for _, _, d in G.edges(data=True))
    assert {"trunk", "primary", "secondary", "tertiary", "residential"} <= set(classes)
    assert sum(d["oneway"] for _, _, d in G.edges(data=True)) > 10
    loaded = load_active_network(demo_services)
    assert loaded is not None
    graph, row = loaded
    assert row.name == "demo" and row.nodes == len(graph)
    nodes = sorted(graph.nodes)
    minutes = nx.shortest_path_length(graph, nodes[0], nodes[-1], weight="travel_time") / 60
    assert 5 < minutes < 90
    trunk = [d for _, _, d in graph.edges(data=True) if d["highway"] == "trunk"]
    assert all(d["speed_kph"] == 50 for d in trunk)


def test_providers_were_loaded_through_the_importer(demo_services):
    frame = _providers(demo_services)
    with demo_services.store.session() as session:
        runs = session.scalars(select(ImportRun)).all()
        audit = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.import_run_id.is_not(None))
        )
    assert [(r.format, r.status, r.actor) for r in runs] == [("generic", "ok", "demo-loader")]
    assert runs[0].counts["inserted"] == 800 and runs[0].counts["rejected"] == 0
    assert audit == 800
    assert demo_services.store.generation() > 0
    # rows without coordinates were placed by the demo gazetteer at town precision
    geocoded = frame[frame["geocode_status"] == "geocoded"]
    assert len(geocoded) == 12 and set(geocoded["geocode_precision"]) == {"town"}
    pending = frame[frame["geocode_status"] == "pending"]
    assert len(pending) == 2 and pending["address"].str.contains("架空山").all()


def test_confirmation_dates_spread_so_some_are_stale(demo_services):
    frame = _providers(demo_services)
    dates = frame["confirmed_at"].dropna()
    assert frame["confirmed_at"].isna().sum() > 5  # never confirmed
    assert dates.max() <= datetime(2026, 10, 1)
    assert (dates < datetime(2024, 10, 1)).sum() > 50  # older than two years
    assert (dates > datetime(2025, 10, 1)).sum() > 300


def test_demo_gazetteer_reads_with_the_geocoder(demo_template):
    geocoder = GazetteerGeocoder.from_files(
        [demo_template.demo_folder / "gazetteer_towns.csv"], "栃木県デモ市"
    )
    towns = json.loads((demo_template.demo_folder / "towns.geojson").read_text(encoding="utf-8"))
    chome = next(
        f["properties"]["name"] for f in towns["features"] if "丁目" in f["properties"]["name"]
    )
    stem, number = chome[:-3], "一二三四五".index(chome[-3]) + 1
    full_width = f"デモ市{stem}{chr(ord('０') + number)}丁目３－４"
    location = geocoder.geocode(full_width)
    assert location is not None and location.raw["matched"] == chome


def _snapshot(services):
    with services.store.session() as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Provider, AuditEntry, ImportRun, Area, PopulationUnit, RoadNetwork)
        }
        counts["updated"] = session.scalar(select(func.max(Provider.updated_at)))
        counts["signature"] = session.scalar(select(RoadNetwork.signature))
    counts["generation"] = services.store.generation()
    return counts


def test_second_load_changes_nothing_on_both_backends(services):
    first = load_demo(services)
    assert first.generated and first.providers["inserted"] == 800
    before = _snapshot(services)
    second = load_demo(services)
    assert not second.generated and second.providers is None
    assert second.population["unchanged"] == second.population["loaded"]
    assert _snapshot(services) == before


def test_cli_demo_without_serving(runner, demo_services):
    result = run_cli(runner, demo_services, "demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "providers: already loaded, nothing changed" in result.output
    assert "mapsvc users add" in result.output and "password" not in result.output.lower()


def test_cli_serve_prints_url_and_production_alternative(runner, demo_services, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "werkzeug.serving.run_simple", lambda *a, **k: calls.append((a[:2], k["threaded"]))
    )
    result = run_cli(runner, demo_services, "serve", "--port", "5123")
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5123/" in result.output
    assert "gunicorn -w 2" in result.output and "mapsvc:create_app()" in result.output
    assert calls == [(("127.0.0.1", 5123), True)]


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_cli_help(runner, command):
    from mapsvc.cli import main

    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "--port" in result.output
