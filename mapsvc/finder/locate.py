"""Where is the address someone typed, and which 地域包括支援センター is their first contact.

:func:`locate_address` tries, in order:

1. the configured geocoder chain with ``remember=False`` (a typed address is neither read
   from nor written to the cache, and never logged);
2. the registry's own addresses: the providers whose normalised address shares the
   longest prefix with the query, at least its whole town name (町・丁目), located at
   their median point (precision ``town``) — works offline;
3. the names of loaded town areas (町丁・字), at the area's representative point.

:func:`support_centre` names the 地域包括支援センター whose 日常生活圏域 contains the
point: a centre whose declared service area (area codes or polygon) covers the point,
else the one located inside the area that contains the point; when no 日常生活圏域 is
loaded (or the point is outside all of them) the nearest centre, saying so.

Nothing here logs or keeps the address.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from mapsvc.core.addresses import normalise, split_prefecture_city
from mapsvc.core.errors import InvalidInput
from mapsvc.core.filters import FilterSet
from mapsvc.finder.index import RULE_POLYGON, ProviderIndex
from mapsvc.finder.reasons import Text

MAX_ADDRESS = 200
CENTRE_TYPE = "community_support_center"
_LEADING_NAME = re.compile(r"^[^0-9]+")


@dataclass(frozen=True)
class Located:
    lon: float
    lat: float
    source: str  # geocoder name | "registry" | "town_area"
    precision: str
    matched: str | None = None


def check_address(text: str | None) -> str:
    """The address stripped, or InvalidInput naming ``address`` (never echoing it)."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput("address: enter an address", field="address")
    if len(value) > MAX_ADDRESS:
        raise InvalidInput(f"address: at most {MAX_ADDRESS} characters", field="address")
    return value


def _split(address: str) -> tuple[str, str]:
    """(city, rest) of a normalised address."""
    _pref, city, rest = split_prefecture_city(normalise(address))
    return city, rest


def _address_table(index: ProviderIndex) -> tuple[list[str], list[int], list[str]]:
    addresses = index.columns.get("address") or [None] * len(index)
    rows = []
    for pos, address in enumerate(addresses):
        if address and index.active[pos]:
            city, rest = _split(str(address))
            if rest:
                rows.append((rest, pos, city))
    rows.sort()
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _from_registry(index: ProviderIndex, query: str) -> Located | None:
    keys, positions, cities = index.memo("address_table", lambda: _address_table(index))
    if not keys:
        return None
    city, rest = _split(query)
    town = _LEADING_NAME.match(rest)
    if not rest or town is None or len(town.group(0)) < 2:
        return None
    for length in range(len(rest), len(town.group(0)) - 1, -1):
        prefix = rest[:length]
        lo = bisect.bisect_left(keys, prefix)
        hi = bisect.bisect_right(keys, prefix + "\uffff")
        hits = [
            positions[i] for i in range(lo, hi) if not city or not cities[i] or cities[i] == city
        ]
        if hits:
            sel = np.array(hits[:500])
            return Located(
                float(np.median(index.lon[sel])),
                float(np.median(index.lat[sel])),
                "registry",
                "town",
                (city + prefix) if city else prefix,
            )
    return None


def _from_towns(index: ProviderIndex, query: str) -> Located | None:
    areas = index.areas
    if areas is None or len(areas) == 0:
        return None
    towns = areas[areas["kind"] == "town"]
    if len(towns) == 0:
        return None
    _city, rest = _split(query)
    best = None
    for name, geom in zip(towns["name"], towns.geometry, strict=True):
        key = normalise(str(name))
        if key and rest.startswith(key) and (best is None or len(key) > len(best[0])):
            best = (key, geom, str(name))
    if best is None:
        return None
    point = best[1].representative_point()
    return Located(float(point.x), float(point.y), "town_area", "town", best[2])


def locate_address(address: str, chain: Any, index: ProviderIndex) -> Located | None:
    """Locate a typed address (see the module docstring); None when nothing matches.

    Parameters
    ----------
    address
        As typed (checked with :func:`check_address` first).
    chain
        A :class:`mapsvc.geo.geocode.GeocoderChain`, or None for offline look-ups only.
    index
        The provider index (its addresses and loaded town areas).
    """
    if chain is not None:
        hit = chain.geocode(address, remember=False)
        if hit is not None:
            return Located(
                float(hit["lon"]),
                float(hit["lat"]),
                str(hit.get("geocoder") or "geocoder"),
                str(hit.get("precision") or "unknown"),
                hit.get("matched"),
            )
    return _from_registry(index, address) or _from_towns(index, address)


@dataclass
class CentreAnswer:
    pos: int | None
    area_name: str | None
    how: str  # "area" | "nearest" | "none"
    note: Text | None = None


def support_centre(index: ProviderIndex, lon: float, lat: float) -> CentreAnswer:
    """The 地域包括支援センター responsible for the point (module docstring)."""
    cand = np.flatnonzero(index.filter_mask(FilterSet(types=(CENTRE_TYPE,))))
    if cand.size == 0:
        return CentreAnswer(
            None,
            None,
            "none",
            Text(
                "地域包括支援センターの情報が登録されていません。",
                "No community support centre is registered.",
            ),
        )
    area = _daily_life_area(index, lon, lat)
    if area is not None:
        name, geom_deg = area
        px, py = index.project(lon, lat)
        point_m = shapely.Point(px, py)
        polygon_of = {int(p): i for i, p in enumerate(index.poly_pos.tolist())}
        declared = [
            int(p)
            for p in cand
            if index.rule[p] == RULE_POLYGON
            and index.polygons[polygon_of[int(p)]].intersects(point_m)
        ]
        if declared:
            return CentreAnswer(_nearest(index, lon, lat, np.array(declared)), name, "area")
        inside = [
            int(p) for p in cand if geom_deg.covers(shapely.Point(index.lon[p], index.lat[p]))
        ]
        if inside:
            return CentreAnswer(_nearest(index, lon, lat, np.array(inside)), name, "area")
    nearest = _nearest(index, lon, lat, cand)
    has_areas = index.areas is not None and (index.areas["kind"] == "daily_life_area").any()
    note = (
        Text(
            "この地点を含む日常生活圏域の担当センターが分からないため、最寄りのセンターを表示しています。",
            "The centre responsible for this place is not known, so the nearest centre is shown.",
        )
        if has_areas
        else Text(
            "日常生活圏域のデータが読み込まれていないため、最寄りのセンターを表示しています。担当は電話でご確認ください。",
            "No daily-life areas are loaded, so the nearest centre is shown; please call to check which centre is yours.",
        )
    )
    return CentreAnswer(nearest, area[0] if area else None, "nearest", note)


def _nearest(index: ProviderIndex, lon: float, lat: float, positions: np.ndarray) -> int:
    dist = index.distances(lon, lat, positions)
    return int(positions[int(np.argmin(dist))])


def _daily_life_area(index: ProviderIndex, lon: float, lat: float) -> tuple[str, Any] | None:
    areas = index.areas
    if areas is None or len(areas) == 0:
        return None
    areas = areas[areas["kind"] == "daily_life_area"]
    if len(areas) == 0:
        return None
    hits = areas.sindex.query(shapely.Point(lon, lat), predicate="intersects")
    if len(hits) == 0:
        return None
    row = areas.iloc[sorted(hits, key=lambda i: str(areas.iloc[i]["code"]))[0]]
    return str(row["name"]), row.geometry
