"""Road network import (OSM XML, GraphML), registration and loading."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest
from conftest import DATA, real_path, run_cli
from sqlalchemy import select

from mapsvc.core.errors import DataUnavailable, ImportFailed, InvalidInput
from mapsvc.core.models import RoadNetwork
from mapsvc.geo.network import (
    DEFAULT_SPEEDS_KPH,
    DRIVABLE_HIGHWAYS,
    clear_network_cache,
    import_network,
    load_active_network,
    network_file,
)

OAKLAND = ("osm", "West-Oakland.osm.bz2")
MUNICH = ("osm", "munich-small.osm")


def _highways(data: dict) -> list[str]:
    hw = data["highway"]
    return hw if isinstance(hw, list) else [hw]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_oakland_drive_network_has_speeds_travel_times_and_one_ways(sqlite_services):
    row = import_network(sqlite_services, real_path(*OAKLAND), name="oakland")
    saved = network_file(sqlite_services, row)
    G = ox.load_graphml(saved)  # the saved file is plain osmnx GraphML
    assert (row.nodes, row.edges) == (len(G), G.number_of_edges())
    assert row.active and row.signature == _sha(saved)
    classes = {hw for _, _, d in G.edges(data=True) for hw in _highways(d)}
    # the file also has footway, cycleway and service ways: none may be driven on
    assert classes <= DRIVABLE_HIGHWAYS and {"secondary", "residential"} <= classes
    for _, _, d in G.edges(data=True):
        assert d["speed_kph"] > 0
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6), rel=1e-3)
        if "maxspeed" not in d and _highways(d) == ["residential"]:
            assert d["speed_kph"] == DEFAULT_SPEEDS_KPH["residential"]
    one_way = [(u, v) for u, v, d in G.edges(data=True) if d["oneway"]]
    two_way = [(u, v) for u, v, d in G.edges(data=True) if not d["oneway"]]
    assert one_way, "the secondary road in West Oakland is tagged oneway=yes"
    assert all(not G.has_edge(v, u) for u, v in one_way)
    assert all(G.has_edge(v, u) for u, v in two_way)


def test_munich_maxspeed_is_used_and_tracks_dropped(sqlite_services):
    row = import_network(sqlite_services, real_path(*MUNICH), name="munich")
    G = ox.load_graphml(network_file(sqlite_services, row))
    tagged = [d for _, _, d in G.edges(data=True) if d.get("maxspeed")]
    assert tagged and all(d["speed_kph"] == float(d["maxspeed"]) for d in tagged)
    assert not any({"track", "service"} & set(_highways(d)) for _, _, d in G.edges(data=True))


def test_reimport_is_reproducible_and_newest_is_active(services):
    first = import_network(services, real_path(*OAKLAND), name="oakland")
    path = network_file(services, first)
    path.unlink()  # force a full rebuild: the same input must give the same file
    again = import_network(services, real_path(*OAKLAND), name="oakland")
    assert again.signature == first.signature == _sha(path)
    import_network(services, real_path(*MUNICH), name="munich")
    with services.store.session() as session:
        rows = {r.name: r for r in session.scalars(select(RoadNetwork))}
    assert set(rows) == {"oakland", "munich"}
    assert rows["munich"].active and not rows["oakland"].active
    loaded = load_active_network(services)
    assert loaded is not None and loaded[1].name == "munich"
    # importing an older network again makes it the active one
    import_network(services, real_path(*OAKLAND), name="oakland")
    assert load_active_network(services)[1].name == "oakland"


def test_graphml_round_trip(sqlite_services, tmp_path):
    row = import_network(sqlite_services, real_path(*OAKLAND), name="osm")
    copy = tmp_path / "exported.graphml"
    shutil.copy(network_file(sqlite_services, row), copy)
    again = import_network(sqlite_services, copy, name="from-graphml")
    A = ox.load_graphml(network_file(sqlite_services, row))
    B = ox.load_graphml(network_file(sqlite_services, again))
    assert (again.nodes, again.edges) == (row.nodes, row.edges)
    assert set(A.nodes) == set(B.nodes)
    times_a = sorted(round(d["travel_time"], 3) for _, _, d in A.edges(data=True))
    times_b = sorted(round(d["travel_time"], 3) for _, _, d in B.edges(data=True))
    assert times_a == times_b


def test_graphml_with_node_without_coordinates_is_refused(sqlite_services, tmp_path):
    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=134.04, y=34.34)
    G.add_node(2)  # no x/y
    G.add_edge(1, 2, highway="residential", length=50.0, oneway=False, reversed=False, osmid=1)
    bad = tmp_path / "bad.graphml"
    ox.save_graphml(G, bad)
    with pytest.raises(ImportFailed, match=r"bad\.graphml: node 2 has no coordinates"):
        import_network(sqlite_services, bad)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("osm_footways_only.osm", r"osm_footways_only\.osm: no drivable roads.*highway=footway"),
        ("osm_node_without_coordinates.osm", r"node 3 \(used by a road\) has no coordinates"),
        ("osm_clipped_way.osm", r"1 nodes used by roads are not in the file.*complete_ways"),
    ],
)
def test_bad_osm_files_are_refused_and_register_nothing(sqlite_services, name, message):
    with pytest.raises(ImportFailed, match=message):
        import_network(sqlite_services, DATA / name)
    assert load_active_network(sqlite_services) is None
    assert not (sqlite_services.instance_path / "networks" / "default.graphml").exists()


def test_unreadable_inputs_are_named(sqlite_services, tmp_path):
    with pytest.raises(ImportFailed, match=r"nowhere\.osm: file not found"):
        import_network(sqlite_services, tmp_path / "nowhere.osm")
    html = tmp_path / "page.xml"
    html.write_text("<?xml version='1.0'?><html><body>x</body></html>", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"page\.xml: not an OSM XML file \(root element <html>"):
        import_network(sqlite_services, html)
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1'", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"broken\.osm: not readable as XML"):
        import_network(sqlite_services, broken)
    csv = tmp_path / "roads.csv"
    csv.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"roads\.csv: unknown road network file type"):
        import_network(sqlite_services, csv)
    fake = tmp_path / "fake.graphml"
    fake.write_text("not xml", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"fake\.graphml: not an osmnx GraphML file"):
        import_network(sqlite_services, fake)
    with pytest.raises(InvalidInput, match="network name"):
        import_network(sqlite_services, real_path(*MUNICH), name="../escape")


def test_load_active_network_caches_and_reports_missing_file(sqlite_services):
    assert load_active_network(sqlite_services) is None
    row = import_network(sqlite_services, real_path(*MUNICH), name="munich")
    G1, r1 = load_active_network(sqlite_services)
    G2, _ = load_active_network(sqlite_services)
    assert G1 is G2 and r1.signature == row.signature
    network_file(sqlite_services, row).unlink()
    clear_network_cache()
    with pytest.raises(DataUnavailable, match="munich.*is missing"):
        load_active_network(sqlite_services)


def test_network_speeds_setting_overrides_defaults(tmp_path):
    from conftest import build_services

    svc = build_services(
        tmp_path,
        f"sqlite:///{tmp_path / 's.sqlite'}",
        NETWORK_SPEEDS='{"residential": 25, "unclassified": 15}',
    )
    try:
        row = import_network(svc, real_path(*OAKLAND))
        G = ox.load_graphml(network_file(svc, row))
        residential = [d for _, _, d in G.edges(data=True) if _highways(d) == ["residential"]]
        assert residential and all(d["speed_kph"] == 25 for d in residential)
    finally:
        svc.close()
    bad = build_services(
        tmp_path / "b", f"sqlite:///{tmp_path / 'b.sqlite'}", NETWORK_SPEEDS='{"x": 0}'
    )
    try:
        with pytest.raises(InvalidInput, match="NETWORK_SPEEDS"):
            import_network(bad, real_path(*MUNICH))
    finally:
        bad.close()


def test_cli_import_and_list(runner, sqlite_services):
    result = run_cli(runner, sqlite_services, "network", "list")
    assert "no road network registered" in result.output
    result = run_cli(
        runner, sqlite_services, "network", "import", str(real_path(*MUNICH)), "--name", "m"
    )
    assert result.exit_code == 0, result.output
    assert "network m:" in result.output and "(active)" in result.output
    result = run_cli(runner, sqlite_services, "network", "list")
    assert result.output.startswith("* m ")
    result = run_cli(
        runner, sqlite_services, "network", "import", str(DATA / "osm_footways_only.osm")
    )
    assert result.exit_code == 1
    assert "no drivable roads" in result.output
