"""Picking the drivable roads out of an OSM XML file, streamed (for :mod:`mapsvc.geo.network`).

osmnx's :func:`~osmnx.graph_from_xml` turns every way of a file into edges (buildings and
footpaths too) and fails on ways whose nodes are missing; reading the file ourselves first
keeps only the roads a car may use, and names the file and the element when something is
wrong.
"""

from __future__ import annotations

import bz2
import gzip
import io
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mapsvc.core.errors import ImportFailed
from mapsvc.core.input_limits import MAX_DECOMPRESSED_BYTES, CappedReader

# highway classes a car may use (osmnx's "drive" network, without service roads)
DRIVABLE_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "road",
    }
)
_NO_ACCESS = {"no", "private"}


def is_drivable(tags: dict[str, Any]) -> bool:
    """Would a car use a way (or edge) with these OSM tags?"""
    highway = tags.get("highway")
    values = highway if isinstance(highway, list) else [highway]
    if not any(isinstance(v, str) and v in DRIVABLE_HIGHWAYS for v in values):
        return False
    if str(tags.get("area", "")).lower() == "yes":
        return False
    if str(tags.get("access", "")).lower() in _NO_ACCESS:
        return False
    return not any(str(tags.get(k, "")).lower() == "no" for k in ("motor_vehicle", "motorcar"))


def _open(path: Path) -> io.BufferedIOBase:
    name = path.name.lower()
    cap = MAX_DECOMPRESSED_BYTES  # a compression bomb stops at the cap
    if name.endswith(".bz2"):
        return CappedReader(bz2.open(path, "rb"), cap, str(path))  # type: ignore[return-value]
    if name.endswith(".gz"):
        return CappedReader(gzip.open(path, "rb"), cap, str(path))  # type: ignore[return-value,arg-type]
    return path.open("rb")


def _iter_osm(path: Path) -> Iterator[ET.Element]:
    """Top-level node/way elements of an OSM XML file (streamed; errors name the file)."""
    try:
        with _open(path) as fh:
            context = ET.iterparse(fh, events=("start", "end"))
            depth = 0
            root = None
            for event, elem in context:
                if event == "start":
                    if depth == 0:
                        if elem.tag != "osm":
                            raise ImportFailed(
                                f"{path}: not an OSM XML file (root element <{elem.tag}>, expected <osm>)",
                                field="file",
                            )
                        root = elem
                    depth += 1
                    continue
                depth -= 1
                if depth == 1:
                    if elem.tag in ("node", "way"):
                        yield elem
                    root.clear()  # type: ignore[union-attr]  # else it keeps every element
    except ET.ParseError as exc:
        raise ImportFailed(f"{path}: not readable as XML ({exc})", field="file") from None
    except (OSError, EOFError) as exc:
        raise ImportFailed(f"{path}: cannot be read ({exc})", field="file") from None


def filter_drivable(path: Path, target: Path) -> dict[str, int]:
    """Write the drivable ways of ``path`` and their nodes to ``target`` (OSM XML)."""
    ways: list[bytes] = []
    needed: set[str] = set()
    classes: Counter[str] = Counter()
    for elem in _iter_osm(path):
        if elem.tag != "way":
            continue
        tags = {t.get("k", ""): t.get("v", "") for t in elem.iter("tag")}
        if "highway" in tags:
            classes[tags["highway"]] += 1
        if is_drivable(tags):
            refs = [nd.get("ref", "") for nd in elem.iter("nd")]
            needed.update(refs)
            ways.append(ET.tostring(elem))
    if not ways:
        found = ", ".join(f"highway={k} ({n})" for k, n in classes.most_common(8)) or "none"
        raise ImportFailed(
            f"{path}: no drivable roads (ways tagged highway={'/'.join(sorted(DRIVABLE_HIGHWAYS))}); "
            f"found: {found}",
            field="file",
        )
    found_nodes = 0
    with target.open("wb") as out:
        out.write(b"<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n")
        seen: set[str] = set()
        for elem in _iter_osm(path):
            if elem.tag != "node" or elem.get("id") not in needed:
                continue
            if elem.get("lat") in (None, "") or elem.get("lon") in (None, ""):
                raise ImportFailed(
                    f"{path}: node {elem.get('id')} (used by a road) has no coordinates (lat/lon)",
                    field="file",
                )
            seen.add(elem.get("id", ""))
            found_nodes += 1
            out.write(ET.tostring(elem))
        missing = needed - seen
        if missing:
            example = sorted(missing)[:3]
            raise ImportFailed(
                f"{path}: {len(missing)} nodes used by roads are not in the file and have no "
                f"coordinates (e.g. {', '.join(example)}); export the extract with complete ways "
                "(osmium extract --strategy complete_ways, or Overpass with (._;>;))",
                field="file",
            )
        for way in ways:
            out.write(way)
        out.write(b"</osm>\n")
    return {"ways": len(ways), "nodes": found_nodes}
