"""Factories for the index, search and map tests: tiny provider frames, a hand-made road
network, and a small store with providers on both sides of a boundary."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd

from mapsvc.core.frames import FRAME_COLUMNS
from mapsvc.core.registry import insert_records, provider_uid

BASE_LON, BASE_LAT = 134.0466, 34.3401  # 高松市番町 (a real place; coordinates only)
DEG_LON_M = 92_000.0  # metres per degree of longitude at 34.3° N (approximately)


def provider_row(uid: str, **fields: Any) -> dict[str, Any]:
    """One frame row (every FRAME_COLUMNS key), a clinic at the base point by default."""
    row: dict[str, Any] = {c: None for c in FRAME_COLUMNS}
    row.update(
        id=abs(hash(uid)) % 10_000_000,
        uid=uid,
        source="test",
        source_id=uid,
        type="clinic",
        name=f"診療所{uid}",
        lon=BASE_LON,
        lat=BASE_LAT,
        status="active",
        capabilities={},
        service_area=None,
    )
    row.update(fields)
    return row


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=list(FRAME_COLUMNS))


def east(metres: float) -> float:
    """Longitude ``metres`` east of the base point."""
    return BASE_LON + metres / DEG_LON_M


def line_network(
    n: int = 6, spacing_m: float = 1000.0, seconds: float = 120.0, one_way_from: int | None = None
) -> nx.MultiDiGraph:
    """Nodes 0..n-1 along a west-east line from the base point, ``spacing_m`` apart.

    Every edge takes ``seconds``; both directions, except that from node ``one_way_from``
    eastwards the road is one-way eastbound (so driving west there is impossible).
    """
    G = nx.MultiDiGraph()
    G.graph["crs"] = "EPSG:4326"
    for i in range(n):
        G.add_node(i, x=east(i * spacing_m), y=BASE_LAT)
    for i in range(n - 1):
        G.add_edge(i, i + 1, key=0, travel_time=seconds, length=spacing_m)
        if one_way_from is None or i < one_way_from:
            G.add_edge(i + 1, i, key=0, travel_time=seconds, length=spacing_m)
    return G


def add_providers(services: Any, *records: dict[str, Any], source: str = "test") -> list[str]:
    """Insert providers into a store; returns their uids."""
    full = []
    for i, rec in enumerate(records):
        base = {
            "source_id": rec.get("source_id") or f"p{i}",
            "type": "clinic",
            "name": f"テスト診療所{i}",
            "address": "香川県高松市番町一丁目8番15号",
            "lon": BASE_LON,
            "lat": BASE_LAT,
            "geocode_status": "source",
        }
        base.update(rec)
        full.append(base)
    with services.store.session() as session:
        insert_records(session, source, full, actor="test")
    return [provider_uid(source, r["source_id"]) for r in full]
