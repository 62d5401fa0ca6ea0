"""Coverage on the demo municipality, checked against an independent brute-force computation.

The independent check uses none of mapsvc's road index: networkx Dijkstra on the stored
graph, nearest nodes by brute force, and every directed edge cut to its reached part and
measured against each sampled cell one by one.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.ops import substring

from mapsvc.geo.network import load_active_network
from mapsvc.planner.analyses import run_coverage

pytest_plugins = ["demo_support"]
ACCESS_M = 300.0  # SERVICE_AREA_ACCESS_M default


def _brute_force_covered(services, result, minutes: float, cells) -> tuple[np.ndarray, np.ndarray]:
    """(covered, distance to the reached road) for sampled cells, independently."""
    G, _ = load_active_network(services)
    to_m = Transformer.from_crs("EPSG:4326", result.area_set.crs, always_xy=True)
    nodes = list(G.nodes)
    nx_, ny_ = to_m.transform([G.nodes[n]["x"] for n in nodes], [G.nodes[n]["y"] for n in nodes])
    node_xy = np.column_stack([nx_, ny_])
    sources = set()
    for rule in result.rules:
        d = np.hypot(node_xy[:, 0] - rule.x, node_xy[:, 1] - rule.y)
        if d.min() <= services.config["SERVICE_AREA_SNAP_M"]:
            sources.add(nodes[int(d.argmin())])
    limit = minutes * 60.0
    times = nx.multi_source_dijkstra_path_length(G, sources, cutoff=limit, weight="travel_time")
    parts = []
    for u, v, data in G.edges(data=True):
        if u not in times:
            continue
        share = min(1.0, (limit - times[u]) / max(float(data["travel_time"]), 1e-6))
        geom = data.get("geometry") or shapely.LineString(
            [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
        )
        coords = shapely.get_coordinates(geom)
        line = shapely.LineString(np.column_stack(to_m.transform(coords[:, 0], coords[:, 1])))
        parts.append(substring(line, 0, share * line.length))
    parts_arr = np.array(parts, dtype=object)
    xs, ys = to_m.transform(cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy())
    dist = np.array(
        [
            shapely.distance(shapely.Point(x, y), parts_arr).min()
            for x, y in zip(xs, ys, strict=True)
        ]
    )
    return dist <= ACCESS_M, dist


# Travel-time types only: the brute force below follows roads, and since issue 14 widened
# ventilator to pharmacies and care offices (whose type default is a radius) they would add
# radius areas it does not model.
MEDICAL = ("clinic", "hospital", "home_nursing")


@pytest.mark.parametrize(
    ("capability", "minutes"),
    [("home_visit_medical:active", 3.0), ("ventilator:accept", 5.0)],
)
def test_demo_coverage_matches_brute_force_shortest_paths(
    demo_services, capability, minutes
) -> None:
    dataset, result = run_coverage(demo_services, [capability], minutes=minutes, types=MEDICAL)
    assert dataset == "demo-250m"
    bands = {b["band"]: b for b in result.bands()}
    assert 0.2 < bands["total"]["share"] < 0.99  # a real mix of covered and uncovered cells
    for band in result.bands():
        assert band["covered"] + band["uncovered"] == band["total"]
    pop = result.population
    assert bands["total"]["total"] == int(pop["total"].sum())
    rng = np.random.default_rng(11)
    sample = pop.iloc[rng.choice(len(pop), size=120, replace=False)]
    expected, dist = _brute_force_covered(demo_services, result, minutes, sample)
    decisive = np.abs(dist - ACCESS_M) > 1.0  # a metre either side of the access limit
    got = sample["covered"].to_numpy()
    assert decisive.sum() > 100
    assert (got[decisive] == expected[decisive]).all(), sample.loc[
        decisive & (got != expected), "key"
    ].tolist()
    assert 0 < expected.sum() < len(sample)


def test_demo_default_rule_with_types_adds_up(demo_services) -> None:
    _, result = run_coverage(demo_services, ["ventilator:accept"], types=["home_nursing"])
    assert {r.type for r in result.rules} == {"home_nursing"}
    assert {r.source for r in result.rules} <= {"type_default", "provider", "explicit"}
    for band in result.bands():
        assert band["covered"] + band["uncovered"] == band["total"]
