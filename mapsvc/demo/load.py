"""Loading the demo municipality into a store, through the same importers as real data."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select

from mapsvc.core.models import Area, PopulationUnit, Provider
from mapsvc.demo.generate import GENERATOR_VERSION, generate_demo, read_manifest
from mapsvc.demo.geography import CITY, MUNICIPALITY_CODE, PREFECTURE

if TYPE_CHECKING:
    from mapsvc.core.services import Services

DEMO_SOURCE = "demo"  # provider source namespace
DEMO_DATASET = "demo-250m"  # population dataset
DEMO_NETWORK = "demo"  # road network name
DEMO_ACTOR = "demo-loader"


@dataclass
class DemoLoadReport:
    folder: Path
    generated: bool
    seconds: float = 0.0
    areas: dict[str, int] = field(default_factory=dict)
    population: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    providers: dict[str, int] | None = None  # None: already loaded, nothing to change
    config_note: str | None = None
    steps: dict[str, float] = field(default_factory=dict)


def demo_folder(services: Services) -> Path:
    return services.instance_path / "demo"


def is_demo_store(session: Any) -> bool:
    """Does this store hold the synthetic demo data (show the 「架空のデモデータです」 banner)?"""
    return bool(
        session.scalar(select(exists().where(Provider.source == DEMO_SOURCE)))
        or session.scalar(select(exists().where(Area.municipality_code == MUNICIPALITY_CODE)))
        or session.scalar(select(exists().where(PopulationUnit.dataset == DEMO_DATASET)))
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def configure_gazetteer(services: Services, gazetteer: Path) -> str | None:
    """Point the instance's offline geocoder at the demo gazetteer (``mapsvc.toml``).

    Adds ``GAZETTEER_FILES``/``GAZETTEER_PREFIX`` when the instance file does not set
    them, and updates this process's configuration. Returns a note when the file
    already names other gazetteer files (they are left alone).
    """
    path = services.instance_path / "mapsvc.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    keys = {line.split("=", 1)[0].strip().upper() for line in text.splitlines() if "=" in line}
    files = [str(f) for f in services.config.get("GAZETTEER_FILES") or []]
    note = None
    if "GAZETTEER_FILES" not in keys:
        addition = (
            "\n# added by `mapsvc demo`: offline geocoder for the synthetic demo city\n"
            f"GAZETTEER_FILES = {_toml_value([str(gazetteer)])}\n"
        )
        if "GAZETTEER_PREFIX" not in keys:
            addition += f"GAZETTEER_PREFIX = {_toml_value(PREFECTURE + CITY)}\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + addition, encoding="utf-8")
    elif str(gazetteer) not in files:
        note = (
            f"{path} sets GAZETTEER_FILES without the demo gazetteer; add {gazetteer} "
            "to it so that demo addresses can be found offline"
        )
    if str(gazetteer) not in files:
        services.config["GAZETTEER_FILES"] = [*files, str(gazetteer)]
    services.config.setdefault("GAZETTEER_PREFIX", "")
    if not services.config["GAZETTEER_PREFIX"]:
        services.config["GAZETTEER_PREFIX"] = PREFECTURE + CITY
    return note


def _providers(services: Services, path: Path) -> dict[str, int] | None:
    """Import the providers with the real importer, unless it would change nothing."""
    from mapsvc.geo.geocode import import_geocoder
    from mapsvc.ingest.importer import import_file, plan_import

    geocode = import_geocoder(services)
    with services.store.sessions() as session:
        plan = plan_import(
            session, path, services.taxonomy, fmt="generic", source=DEMO_SOURCE, geocode=geocode
        )
        session.rollback()  # a dry run: geocode cache entries are not kept either
    counts = plan.counts
    if not (counts["inserted"] or counts["updated"] or counts["rejected"]):
        return None
    report = import_file(
        services.store,
        path,
        services.taxonomy,
        fmt="generic",
        source=DEMO_SOURCE,
        actor=DEMO_ACTOR,
        geocode=geocode,
        rejects_path=path.with_name("providers.rejects.csv"),
        instance_path=services.instance_path,
    )
    return {**report.summary(), "pending_geocode": report.pending_geocode}


def load_demo(services: Services, force: bool = False) -> DemoLoadReport:
    """Generate the demo files if absent, then load them into the store (idempotent).

    Parameters
    ----------
    services
        :class:`mapsvc.core.services.Services`; the seed is ``DEMO_SEED``.
    force
        Regenerate the files even when they exist for this seed.

    Returns
    -------
    DemoLoadReport
        What was generated and loaded; a second call reports nothing new and writes
        nothing (no provider, area, population, network or import-run changes).
    """
    from mapsvc.geo.areas import import_areas
    from mapsvc.geo.network import import_network
    from mapsvc.geo.population import import_population

    started = time.perf_counter()
    steps: dict[str, float] = {}

    def step(name: str, t0: float) -> float:
        now = time.perf_counter()
        steps[name] = round(now - t0, 3)
        return now

    folder = demo_folder(services)
    seed = int(services.config["DEMO_SEED"])
    manifest = read_manifest(folder)
    generated = (
        force
        or manifest is None
        or manifest.get("seed") != seed
        or manifest.get("generator_version") != GENERATOR_VERSION
    )
    t = time.perf_counter()
    if generated:
        generate_demo(folder, seed, services.taxonomy)
    t = step("generate", t)
    services.store.upgrade()
    t = step("store", t)
    report = DemoLoadReport(folder, generated, steps=steps)
    report.areas = {
        "municipality": import_areas(
            services, folder / "city.geojson", "municipality", "code", "name"
        ),
        "daily_life_area": import_areas(
            services,
            folder / "daily_life_areas.geojson",
            "daily_life_area",
            "code",
            "name",
            municipality_code=MUNICIPALITY_CODE,
        ),
        "town": import_areas(
            services,
            folder / "towns.geojson",
            "town",
            "code",
            "name",
            parent_field="daily_life_area",
            municipality_code=MUNICIPALITY_CODE,
        ),
    }
    t = step("areas", t)
    population = import_population(services, folder / "population_250m.csv", DEMO_DATASET)
    report.population = population.summary()
    t = step("population", t)
    network = import_network(services, folder / "roads.graphml", DEMO_NETWORK)
    report.network = {"name": network.name, "nodes": network.nodes, "edges": network.edges}
    t = step("network", t)
    report.config_note = configure_gazetteer(services, folder / "gazetteer_towns.csv")
    report.providers = _providers(services, folder / "providers.csv")
    step("providers", t)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
