"""Per-kind store generations (issue 13): providers, areas, population and networks each
have a counter, and each in-process cache follows only the kinds it is built from."""

from __future__ import annotations

import json

import pytest
from conftest import DATA
from search_support import BASE_LAT, BASE_LON, add_providers

from mapsvc.core.db import GENERATION_KINDS, bump_generation
from mapsvc.finder.index import IndexHolder
from mapsvc.geo.areas import import_areas
from mapsvc.geo.population import import_population


def test_each_kind_has_its_own_counter(services):
    store = services.store
    assert store.generations() == dict.fromkeys(GENERATION_KINDS, 0)
    with store.session() as session:
        bump_generation(session, "population")
        bump_generation(session, "population")
        bump_generation(session, "networks")
    assert store.generations() == {"providers": 0, "areas": 0, "population": 2, "networks": 1}
    assert store.generation("providers", "areas") == 0
    assert store.generation("population") == 2
    assert store.generation() == 3  # any kind: changes whenever one of them does
    with store.session() as session:
        bump_generation(session)  # the default kind is the providers
    assert store.generations("providers") == {"providers": 1}
    with pytest.raises(ValueError, match="unknown generation kind 'roads'"), store.session() as s:
        bump_generation(s, "roads")
    with pytest.raises(ValueError, match="unknown generation kind"):
        store.generation("roads")


def test_a_population_import_never_rebuilds_the_provider_index(sqlite_services, tmp_path):
    services = sqlite_services
    add_providers(services, {"source_id": "a"})
    holder = IndexHolder()
    first = holder.get(services, refresh_s=0)
    before = services.store.generations()

    report = import_population(services, DATA / "population_estat_mesh_age5_cp932.csv", "mesh")
    assert report.inserted > 0
    after = services.store.generations()
    assert after["population"] > before["population"]
    assert {k: v for k, v in after.items() if k != "population"} == {
        k: v for k, v in before.items() if k != "population"
    }
    assert holder.get(services, refresh_s=0) is first  # not rebuilt

    # boundaries do rebuild it (service areas given as area codes depend on them) ...
    ring = [[BASE_LON - 0.01, BASE_LAT - 0.01], [BASE_LON + 0.01, BASE_LAT - 0.01]]
    ring += [[BASE_LON + 0.01, BASE_LAT + 0.01], [BASE_LON - 0.01, BASE_LAT + 0.01], ring[0]]
    path = tmp_path / "towns.geojson"
    feature = {
        "type": "Feature",
        "properties": {"code": "T1", "name": "番町"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    import_areas(services, path, "town")
    second = holder.get(services, refresh_s=0)
    assert second is not first and len(second) == 1
    assert services.store.generations()["areas"] == after["areas"] + 1
    # ... and so do providers
    add_providers(services, {"source_id": "b"})
    third = holder.get(services, refresh_s=0)
    assert third is not second and len(third) == 2
