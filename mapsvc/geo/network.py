"""The municipality's road network: import from local OSM XML or GraphML, and load it.

Nothing is downloaded. :func:`import_network` reads

* an OSM XML file (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.xml``): the drivable ways are
  picked out first (:data:`DRIVABLE_HIGHWAYS`, no ``access=no/private``, no ``area=yes``,
  no ``motor_vehicle``/``motorcar=no``) and handed to :func:`osmnx.graph_from_xml`
  (one-way tags are honoured by osmnx; the largest weakly connected part is kept), or
* an osmnx GraphML file (:func:`osmnx.load_graphml`), filtered the same way where its
  edges carry ``highway``.

Edges get ``speed_kph`` (``maxspeed`` where tagged, else :data:`DEFAULT_SPEEDS_KPH` for the
highway class, overridable with the ``NETWORK_SPEEDS`` setting) and ``travel_time``
(seconds). The graph is saved as ``<instance>/networks/<name>.graphml`` and registered
as a :class:`~mapsvc.core.models.RoadNetwork` row whose ``signature`` is the SHA-256 of that
file; the newest import is the active network. Importing the same file again with the
same speeds produces the same file and signature, and is skipped quickly.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
from sqlalchemy import select, update

from mapsvc.core.db import bump_generation
from mapsvc.core.errors import DataUnavailable, ImportFailed, InvalidInput
from mapsvc.core.models import RoadNetwork, utcnow
from mapsvc.geo._osm_xml import DRIVABLE_HIGHWAYS, filter_drivable, is_drivable

if TYPE_CHECKING:
    from mapsvc.core.services import Services

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "DRIVABLE_HIGHWAYS",
    "clear_network_cache",
    "import_network",
    "is_drivable",
    "list_networks",
    "load_active_network",
    "network_file",
    "network_speeds",
]

# km/h where an edge has no usable maxspeed: Japan's legal defaults on general roads are
# 60 km/h, but realistic free-flow speeds in a city are lower; these follow common
# planning practice (motorway 80, arterials 40-50, residential 20, living street 10).
DEFAULT_SPEEDS_KPH: dict[str, float] = {
    "motorway": 80,
    "motorway_link": 40,
    "trunk": 50,
    "trunk_link": 40,
    "primary": 40,
    "primary_link": 30,
    "secondary": 40,
    "secondary_link": 30,
    "tertiary": 30,
    "tertiary_link": 20,
    "unclassified": 20,
    "residential": 20,
    "living_street": 10,
    "road": 20,
}
FALLBACK_SPEED_KPH = 20.0
_IMPORT_VERSION = "1"  # bump when the import procedure changes the saved graph
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def network_speeds(overrides: dict[str, Any] | None = None) -> dict[str, float]:
    """:data:`DEFAULT_SPEEDS_KPH` with the ``NETWORK_SPEEDS`` overrides applied.

    Raises
    ------
    InvalidInput
        An override that is not a positive number.
    """
    speeds = dict(DEFAULT_SPEEDS_KPH)
    for key, value in (overrides or {}).items():
        try:
            kph = float(value)
        except (TypeError, ValueError):
            kph = -1.0
        if kph <= 0:
            raise InvalidInput(
                f"NETWORK_SPEEDS[{key!r}] = {value!r}: expected a speed in km/h > 0",
                field="NETWORK_SPEEDS",
            )
        speeds[str(key)] = kph
    return speeds


def _graph_from_osm(path: Path) -> nx.MultiDiGraph:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    with tempfile.TemporaryDirectory(prefix="mapsvc-osm-") as tmp:
        filtered = Path(tmp) / "drive.osm"
        filter_drivable(path, filtered)
        try:
            return ox.graph_from_xml(filtered, simplify=True, retain_all=False)
        except (ValueError, KeyError, InsufficientResponseError) as exc:
            raise ImportFailed(f"{path}: osmnx could not build a graph: {exc}") from None


# ---- GraphML ---------------------------------------------------------------------------


def _graph_from_graphml(path: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    try:
        G = ox.load_graphml(path)
    except (nx.NetworkXError, ET.ParseError, ValueError, KeyError, TypeError) as exc:
        raise ImportFailed(f"{path}: not an osmnx GraphML file ({exc})", field="file") from None
    if not isinstance(G, nx.MultiDiGraph):
        raise ImportFailed(f"{path}: the GraphML is not a directed multigraph", field="file")
    for node, data in G.nodes(data=True):
        x, y = data.get("x"), data.get("y")
        if not isinstance(x, float) or not isinstance(y, float) or x != x or y != y:
            raise ImportFailed(f"{path}: node {node} has no coordinates (x/y)", field="file")
    crs = str(G.graph.get("crs", "epsg:4326"))
    if crs.lower() not in ("epsg:4326", "wgs84", "epsg:6668", "epsg:4612"):
        G = ox.project_graph(G, to_latlong=True)
    drop = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not _edge_drivable(d)]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise ImportFailed(f"{path}: no drivable roads in the graph", field="file")
    return ox.truncate.largest_component(G, strongly=False)


def _edge_drivable(data: dict[str, Any]) -> bool:
    return "highway" not in data or is_drivable(data)


# ---- import ----------------------------------------------------------------------------


def _file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".graphml"):
        return "graphml"
    if name.endswith((".osm", ".osm.bz2", ".osm.gz", ".xml", ".xml.bz2", ".xml.gz")):
        return "osm"
    raise ImportFailed(
        f"{path}: unknown road network file type; expected .osm, .osm.bz2, .osm.gz, .xml or .graphml",
        field="file",
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _add_speeds(G: nx.MultiDiGraph, speeds: dict[str, float]) -> None:
    import osmnx as ox

    edges = [d for _, _, d in G.edges(data=True)]
    if not all(isinstance(d.get("speed_kph"), float) and d["speed_kph"] > 0 for d in edges):
        unclassified = sum(1 for d in edges if "highway" not in d)
        if unclassified:
            raise ImportFailed(
                f"{unclassified} edges have neither a highway class nor speed_kph; "
                "cannot assign speeds",
                field="file",
            )
        ox.add_edge_speeds(G, hwy_speeds=speeds, fallback=FALLBACK_SPEED_KPH)
    if any("length" not in d for _, _, d in G.edges(data=True)):
        ox.distance.add_edge_lengths(G)
    ox.add_edge_travel_times(G)


def _saved_fingerprint_matches(path: Path, fingerprint: str) -> bool:
    """Is ``fingerprint`` among the graph attributes of a saved GraphML?

    networkx writes the graph's own ``<data>`` either before the nodes (newer releases) or
    after the edges (older ones), so the head and the tail of the file are read, never the
    whole (national graphs are gigabytes).
    """
    window = 65536
    try:
        with path.open("rb") as fh:
            head = fh.read(window)
            fh.seek(max(0, path.stat().st_size - window))
            tail = fh.read()
    except OSError:
        return False
    return fingerprint.encode() in head or fingerprint.encode() in tail


def _relative(path: Path, instance: Path) -> str:
    try:
        return str(path.resolve().relative_to(instance.resolve()))
    except ValueError:
        return str(path.resolve())


def network_file(services: Services, row: RoadNetwork) -> Path:
    """Absolute path of a registered network's GraphML (stored relative to the instance)."""
    path = Path(row.path)
    return path if path.is_absolute() else services.instance_path / path


def import_network(services: Services, path: Path | str, name: str = "default") -> RoadNetwork:
    """Import a road network from a local OSM XML or GraphML file and make it active.

    Parameters
    ----------
    services
        :class:`mapsvc.core.services.Services` (store, instance folder, ``NETWORK_SPEEDS``).
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.xml`` (OSM XML) or ``.graphml`` (osmnx).
    name
        Network name (letters, digits, ``_``, ``-``); the graph is saved as
        ``<instance>/networks/<name>.graphml``. Importing under an existing name replaces it.

    Returns
    -------
    RoadNetwork
        The registered row (``active=True``; every other network is deactivated).

    Raises
    ------
    ImportFailed
        The file is missing, is not OSM XML/GraphML, has no drivable roads, or has road
        nodes without coordinates. Nothing is registered then.
    InvalidInput
        A bad ``name`` or ``NETWORK_SPEEDS`` value.
    """
    import osmnx as ox

    path = Path(path)
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS:
        raise InvalidInput(
            f"network name {name!r}: use 1-64 letters, digits, '_' or '-'", field="name"
        )
    if not path.is_file():
        raise ImportFailed(f"{path}: file not found", field="file")
    kind = _file_kind(path)
    speeds = network_speeds(services.config.get("NETWORK_SPEEDS"))
    fingerprint = hashlib.sha256(
        f"{_sha256(path)}|{json.dumps(speeds, sort_keys=True)}|{_IMPORT_VERSION}".encode()
    ).hexdigest()
    target = services.instance_path / "networks" / f"{name}.graphml"
    store = services.store
    with store.session() as session:
        row = session.scalar(select(RoadNetwork).where(RoadNetwork.name == name))
        if (
            row is not None
            and target.exists()
            and _saved_fingerprint_matches(target, fingerprint)
            and _sha256(target) == row.signature
        ):
            _activate(session, row)
            return row

    G = _graph_from_osm(path) if kind == "osm" else _graph_from_graphml(path)
    _add_speeds(G, speeds)
    G.graph.pop("created_date", None)  # keep the saved file (and its signature) reproducible
    G.graph.update(
        crs="epsg:4326",
        mapsvc_name=name,
        mapsvc_source=path.name,
        mapsvc_fingerprint=fingerprint,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".graphml", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        ox.save_graphml(G, tmp)
        signature = _sha256(tmp)
        xs = [d["x"] for _, d in G.nodes(data=True)]
        ys = [d["y"] for _, d in G.nodes(data=True)]
        with store.session() as session:
            row = session.scalar(select(RoadNetwork).where(RoadNetwork.name == name))
            if row is None:
                row = RoadNetwork(name=name)
                session.add(row)
            row.path = _relative(target, services.instance_path)
            row.source_file = str(path.resolve())
            row.imported_at = utcnow()
            row.nodes = G.number_of_nodes()
            row.edges = G.number_of_edges()
            row.bbox = [min(xs), min(ys), max(xs), max(ys)]
            row.signature = signature
            session.flush()
            _activate(session, row, changed=True)
            tmp.replace(target)  # last step before the commit
    finally:
        tmp.unlink(missing_ok=True)
    with _CACHE_LOCK:
        _CACHE[signature] = G
    return row


def _activate(session: Any, row: RoadNetwork, *, changed: bool = False) -> None:
    """Make ``row`` the active network; bump the networks generation when that changes
    anything (``changed``: the row's graph itself is new)."""
    others = session.execute(
        update(RoadNetwork)
        .where(RoadNetwork.id != row.id, RoadNetwork.active.is_(True))
        .values(active=False)
    ).rowcount
    if changed or others or not row.active:
        bump_generation(session, "networks")
    row.active = True


def list_networks(session: Any) -> list[RoadNetwork]:
    """Registered networks, the active one first, then by name."""
    rows = session.scalars(select(RoadNetwork)).all()
    return sorted(rows, key=lambda r: (not r.active, r.name))


# ---- loading ---------------------------------------------------------------------------

_CACHE: dict[str, nx.MultiDiGraph] = {}
_CACHE_LOCK = threading.Lock()


def load_active_network(services: Services) -> tuple[nx.MultiDiGraph, RoadNetwork] | None:
    """The active road network graph and its row, or None when no network is registered.

    The graph (EPSG:4326, edges with ``length`` m, ``speed_kph``, ``travel_time`` s) is
    cached in this process by signature: treat it as read-only (copy it before changing
    it). A new import changes the signature, so the next call loads the new graph.

    Raises
    ------
    DataUnavailable
        A network is registered but its GraphML file is missing.
    """
    with services.store.session() as session:
        row = session.scalar(
            select(RoadNetwork)
            .where(RoadNetwork.active.is_(True))
            .order_by(RoadNetwork.imported_at.desc())
        )
    if row is None:
        return None
    with _CACHE_LOCK:
        cached = _CACHE.get(row.signature)
    if cached is not None:
        return cached, row
    path = network_file(services, row)
    if not path.exists():
        raise DataUnavailable(
            f"road network {row.name!r} is registered but {path} is missing; "
            "import it again with `mapsvc network import`"
        )
    import osmnx as ox

    G = ox.load_graphml(path)
    with _CACHE_LOCK:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[row.signature] = G
    return G, row


def clear_network_cache() -> None:
    """Forget the graphs cached in this process (tests; after deleting a network file)."""
    with _CACHE_LOCK:
        _CACHE.clear()
