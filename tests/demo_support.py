"""Realistic demo data for any test, loaded once per test session.

The demo municipality 「デモ市（架空）」 (800 providers of every type, six 日常生活圏域
with one 地域包括支援センター each, a 250 m population grid, a road network) is generated
and loaded ONCE into a template SQLite store; each test that asks for ``demo_services``
gets its own copy of that store and instance folder (a fraction of a second), so it may
change anything.

Usage, in a test module::

    from demo_support import demo_services, demo_template  # noqa: F401

    def test_something(demo_services):
        with demo_services.store.session() as session:
            ...

    # web tests: import the app/client fixtures too
    from demo_support import demo_app, demo_client, demo_services, demo_template  # noqa: F401

    def test_page(demo_client):
        assert demo_client.get("/").status_code == 200

ruff reports F811 where a test's argument repeats an imported fixture name; to avoid
that, register the module as a plugin instead of importing names (as test_demo.py does)::

    pytest_plugins = ["demo_support"]

Fixtures:

``demo_template`` (session)
    :class:`DemoTemplate`: the template instance folder, the load report and manifest.
``demo_services`` (function)
    :class:`mapsvc.core.services.Services` on a private copy (SQLite; geocoders
    ``cache,gazetteer`` with the demo gazetteer; active road network ``demo``;
    population dataset ``demo-250m``).
``demo_app`` / ``demo_client`` (function)
    The Flask app (``conftest.make_app``) and its test client on that copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import build_services, make_app

from mapsvc.core.services import Services
from mapsvc.demo import DemoLoadReport, load_demo


@dataclass(frozen=True)
class DemoTemplate:
    instance: Path
    report: DemoLoadReport
    manifest: dict[str, Any]

    @property
    def demo_folder(self) -> Path:
        return self.instance / "demo"


def _config(instance: Path) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'mapsvc.sqlite'}",
        "GEOCODERS": "cache,gazetteer",
        "GEOCODERS_ON_IMPORT": "cache,gazetteer",
        "SECRET_KEY": "test-secret-key",
    }


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    """Generate and load the demo once per session (about 6 s)."""
    instance = tmp_path_factory.mktemp("demo-template") / "instance"
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("MAPSVC_") and not key.startswith("MAPSVC_TEST_"):
                mp.delenv(key)
        services = Services.from_config(_config(instance))
        try:
            report = load_demo(services)
        finally:
            services.close()
    with sqlite3.connect(instance / "mapsvc.sqlite") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    manifest = json.loads((instance / "demo" / "manifest.json").read_text(encoding="utf-8"))
    return DemoTemplate(instance, report, manifest)


@pytest.fixture
def demo_services(demo_template: DemoTemplate, tmp_path: Path) -> Iterator[Services]:
    """Services on a private copy of the demo store and instance folder."""
    instance = tmp_path / "instance"
    shutil.copytree(
        demo_template.instance,
        instance,
        ignore=shutil.ignore_patterns("mapsvc.sqlite-wal", "mapsvc.sqlite-shm"),
    )
    gazetteer = instance / "demo" / "gazetteer_towns.csv"
    toml = instance / "mapsvc.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            str(demo_template.demo_folder / "gazetteer_towns.csv"), str(gazetteer)
        ),
        encoding="utf-8",
    )
    services = build_services(
        tmp_path,
        f"sqlite:///{instance / 'mapsvc.sqlite'}",
        GAZETTEER_FILES=str(gazetteer),
        GEOCODERS_ON_IMPORT="cache,gazetteer",
    )
    yield services
    services.close()


@pytest.fixture
def demo_app(demo_services: Services) -> Any:
    return make_app(demo_services)


@pytest.fixture
def demo_client(demo_app: Any) -> Any:
    return demo_app.test_client()
