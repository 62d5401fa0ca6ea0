"""Factories for the planner tests: tiny road graphs, provider and population frames.

Everything is built in code around (134.05 E, 34.30 N) so the expected numbers can be
worked out by hand.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import Transformer

from mapsvc.planner.coverage import BANDS

LON0, LAT0 = 134.05, 34.30
CRS_M = "EPSG:6690"  # JGD2011 UTM 53N, the zone mapsvc picks for these longitudes
_TO_DEG = Transformer.from_crs(CRS_M, "EPSG:4326", always_xy=True)
_TO_M = Transformer.from_crs("EPSG:4326", CRS_M, always_xy=True)
X0, Y0 = _TO_M.transform(LON0, LAT0)


def lonlat(dx: float, dy: float) -> tuple[float, float]:
    """Degrees of the point dx, dy metres from the origin."""
    lon, lat = _TO_DEG.transform(X0 + dx, Y0 + dy)
    return float(lon), float(lat)


def grid_graph(
    nx_: int = 5,
    ny_: int = 5,
    spacing: float = 100.0,
    speed_kph: float = 36.0,
    one_way_rows: tuple[int, ...] = (),
) -> nx.MultiDiGraph:
    """A square grid of two-way streets (or one-way eastbound on ``one_way_rows``).

    At 36 km/h a 100 m block takes 10 s. Node ids are ``row * nx_ + col``.
    """
    G = nx.MultiDiGraph(crs="epsg:4326")
    for r in range(ny_):
        for c in range(nx_):
            lon, lat = lonlat(c * spacing, r * spacing)
            G.add_node(r * nx_ + c, x=lon, y=lat)
    t = spacing / (speed_kph / 3.6)

    def add(u: int, v: int, both: bool = True) -> None:
        G.add_edge(u, v, key=0, length=spacing, travel_time=t, highway="residential")
        if both:
            G.add_edge(v, u, key=0, length=spacing, travel_time=t, highway="residential")

    for r in range(ny_):
        for c in range(nx_):
            n = r * nx_ + c
            if c + 1 < nx_:
                add(n, n + 1, both=r not in one_way_rows)
            if r + 1 < ny_:
                add(n, n + nx_)
    return G


def providers_frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Provider frame like ``load_providers_frame``; each row gives dx, dy (m) or lon, lat."""
    records = []
    for i, row in enumerate(rows, start=1):
        lon, lat = (row["lon"], row["lat"]) if "lon" in row else lonlat(row["dx"], row["dy"])
        records.append(
            {
                "id": row.get("id", i),
                "uid": row.get("uid", f"p{i}"),
                "type": row.get("type", "clinic"),
                "name": row.get("name", f"provider {i}"),
                "municipality_code": row.get("municipality_code", "372013"),
                "lon": lon,
                "lat": lat,
                "service_area": row.get("service_area"),
                "capabilities": row.get("capabilities", {}),
                "status": row.get("status", "active"),
                "updated_at": pd.Timestamp("2026-01-01"),
            }
        )
    df = pd.DataFrame.from_records(records)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")


def population_frame(points: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Population points (dx, dy metres) with band counts; unspecified bands are 0."""
    records = []
    for i, p in enumerate(points):
        lon, lat = lonlat(p["dx"], p["dy"])
        bands = {b: int(p.get("bands", {}).get(b, 0)) for b in BANDS}
        rec = {
            "key": p.get("key", f"c{i}"),
            "name": p.get("name", f"cell {i}"),
            "area_code": p.get("area_code", "A"),
            **bands,
        }
        rec["total"] = sum(bands.values())
        records.append((rec, lon, lat))
    df = pd.DataFrame.from_records([r for r, _, _ in records])
    geom = gpd.points_from_xy([r[1] for r in records], [r[2] for r in records])
    frame = gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
    frame["65+"] = frame[list(BANDS[13:])].sum(axis=1)
    frame["75+"] = frame[list(BANDS[15:])].sum(axis=1)
    return frame


def uniform_population(n: int, extent: float, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` random points within ``extent`` metres of the origin, 10 people each (2 aged 75+)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-extent, extent, size=(n, 2))
    return population_frame(
        [{"dx": x, "dy": y, "bands": {"40-44": 8, "80-84": 1, "85+": 1}} for x, y in pts]
    )


# ---- store set-up (tests only) ----------------------------------------------------------


def load_grid_network(services: Any, tmp_path: Any, **grid: Any) -> Any:
    """Save a :func:`grid_graph` as GraphML and import it the way a user would."""
    import osmnx as ox

    from mapsvc.geo.network import import_network

    path = tmp_path / "grid.graphml"
    ox.save_graphml(grid_graph(**grid), path)
    return import_network(services, path, name="grid")


def add_providers(services: Any, rows: list[dict[str, Any]], source: str = "test") -> list[str]:
    """Insert providers (``dx``/``dy`` metres from the origin) through the registry."""
    from mapsvc.core.registry import insert_records, provider_uid

    records = []
    for i, row in enumerate(rows, start=1):
        row = dict(row)
        lon, lat = lonlat(row.pop("dx", 0.0), row.pop("dy", 0.0))
        records.append(
            {
                "source_id": str(row.pop("source_id", i)),
                "type": "clinic",
                "name": f"テスト{i}",
                "municipality_code": "372013",
                "lon": lon,
                "lat": lat,
                "geocode_status": "source",
                **row,
            }
        )
    with services.store.session() as session:
        insert_records(session, source, records, actor="test")
    return [provider_uid(source, r["source_id"]) for r in records]


def add_population(
    services: Any,
    dataset: str,
    frame: gpd.GeoDataFrame,
    kind: str = "mesh",
    survey_date: str | None = None,
) -> None:
    """Write a :func:`population_frame` into the store (test set-up only)."""
    from mapsvc.core.models import PopulationUnit

    with services.store.session() as session:
        for row in frame.to_dict("records"):
            session.add(
                PopulationUnit(
                    dataset=dataset,
                    kind=kind,
                    key=row["key"],
                    name=row["name"],
                    lon=float(row["geometry"].x),
                    lat=float(row["geometry"].y),
                    total=int(row["total"]),
                    bands={b: int(row[b]) for b in BANDS},
                    area_code=row["area_code"],
                    properties={},
                    survey_date=survey_date,
                )
            )


def add_area(
    services: Any, kind: str, code: str, name: str, x0: float, x1: float, **kw: Any
) -> None:
    """A rectangular area from x0 to x1 (metres east of the origin), y -1000..2000."""
    import shapely
    from shapely.geometry import mapping

    from mapsvc.core.models import Area

    square = shapely.Polygon(
        [lonlat(x0, -1000), lonlat(x1, -1000), lonlat(x1, 2000), lonlat(x0, 2000)]
    )
    with services.store.session() as s:
        s.add(Area(kind=kind, code=code, name=name, geometry=mapping(square), properties={}, **kw))


def build_planner_store(services: Any, tmp_path: Any) -> Any:
    """Grid network (9×9 blocks of 100 m), one municipality in two daily-life areas,
    two clinics doing home visits in the west, 400 population points."""
    load_grid_network(services, tmp_path, nx_=10, ny_=10)
    add_providers(
        services,
        [
            {"dx": 0, "dy": 0, "capabilities": {"home_visit_medical": {"level": "accept"}}},
            {
                "dx": 100,
                "dy": 800,
                "name": "支援診",
                "capabilities": {
                    "home_visit_medical": {"level": "consult"},
                    "home_care_support_clinic": {"value": "conventional"},
                },
            },
        ],
    )
    add_population(
        services,
        "grid",
        uniform_population(400, 450, seed=3).assign(
            geometry=lambda f: f.geometry.translate(0.004, 0.003)
        ),
    )
    add_area(services, "municipality", "372013", "高松市", -1000, 2000)
    add_area(services, "daily_life_area", "D1", "西圏域", -1000, 450)
    add_area(services, "daily_life_area", "D2", "東圏域", 450, 2000)
    return services


def one_clinic_on_a_grid(services: Any, tmp_path: Any) -> None:
    """A 10 × 10 road grid, one clinic (訪問診療 受入) whose own area is 300 m, and a
    uniform population around it: most of the 75+ are not covered yet (sites, what-if)."""
    load_grid_network(services, tmp_path, nx_=10, ny_=10)
    add_providers(
        services,
        [
            {
                "dx": 0,
                "dy": 0,
                "capabilities": {"home_visit_medical": {"level": "accept"}},
                "service_area": {"kind": "radius", "km": 0.3},
            }
        ],
    )
    add_population(services, "grid", uniform_population(400, 450, seed=3))
