"""Geocoding: a configurable chain of geopy-compatible geocoders, and a cache.

* ``gazetteer`` — offline, from town-level address points (位置参照情報 大字・町丁目 CSV, or
  Geolonia japanese-addresses JSON). Precision is ``town``: the point is the town's
  representative point, never a building.
* ``gsi`` — the GSI (国土地理院) address search, online.
* ``cache`` — results found earlier for providers, kept in the store with the geocoder
  and precision that produced them.

When nothing matches (or the network is away) the chain returns None: the row is kept,
flagged "pending", and never placed at a made-up point. Patient addresses typed into a
search go through :meth:`GeocoderChain.geocode` with ``remember=False``: not cached, not
logged.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from geopy.adapters import URLLibAdapter
from geopy.exc import GeopyError
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location
from geopy.point import Point
from sqlalchemy.orm import Session

from mapsvc.core.addresses import normalise, split_prefecture_city
from mapsvc.core.codes import in_japan
from mapsvc.core.errors import InvalidConfig
from mapsvc.core.models import GeocodeCacheEntry
from mapsvc.core.textfile import decode

# geopy logs request URLs (which contain the query) at DEBUG; keep addresses out of logs.
logging.getLogger("geopy").setLevel(logging.WARNING)


@dataclass(frozen=True)
class GazetteerEntry:
    prefix: str  # normalised prefecture + city, may be empty
    town: str  # normalised town (+ koaza)
    name: str  # as written in the source
    lon: float
    lat: float


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidConfig(
            f"gazetteer file {path}: {exc.strerror or exc}", field="GAZETTEER_FILES"
        ) from None
    return decode(path, data, ("utf-8-sig", "cp932"))[0]


def load_gazetteer_entries(path: Path, default_prefix: str = "") -> list[GazetteerEntry]:
    """Read town points from a 位置参照情報 大字・町丁目 CSV or a japanese-addresses JSON.

    Raises
    ------
    InvalidConfig
        The file is neither format; the message names the file, the item or line, and
        what is missing.
    ImportFailed
        The file is neither UTF-8 nor CP932 (with the line and column).
    """
    text = _read_text(path)
    prefix = normalise(default_prefix)
    entries: list[GazetteerEntry] = []
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidConfig(
                f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}",
                field="GAZETTEER_FILES",
            ) from None
        return _json_entries(path, doc, prefix)
    reader = csv.DictReader(io.StringIO(text))
    needed = {"大字町丁目名", "緯度", "経度"}
    if not reader.fieldnames or not needed <= set(reader.fieldnames):
        raise InvalidConfig(
            f"{path}: expected 位置参照情報 columns {sorted(needed)} (and 都道府県名, 市区町村名)",
            field="GAZETTEER_FILES",
        )
    for row in reader:
        row_prefix = (
            normalise((row.get("都道府県名") or "") + (row.get("市区町村名") or "")) or prefix
        )
        town = row["大字町丁目名"]
        try:
            lon, lat = float(row["経度"]), float(row["緯度"])
        except (TypeError, ValueError):
            raise InvalidConfig(
                f"{path}: line {reader.line_num}: 緯度/経度 are not numbers",
                field="GAZETTEER_FILES",
            ) from None
        entries.append(GazetteerEntry(row_prefix, normalise(town), town, lon, lat))
    return entries


_PREF_SUFFIX = ("都", "道", "府", "県")
_CITY_SUFFIX = ("市", "区", "町", "村")


def _path_prefix(path: Path) -> tuple[str, str]:
    """(prefecture, city) read from a japanese-addresses path (``ja/香川県/高松市.json``,
    ``香川県.json``); empty strings when the path names none."""
    stem, parent = path.stem, path.parent.name
    if stem.endswith(_PREF_SUFFIX) and not parent.endswith(_PREF_SUFFIX):
        return stem, ""
    if parent.endswith(_PREF_SUFFIX) and stem.endswith(_CITY_SUFFIX):
        return parent, stem
    return "", ""


def _json_entries(path: Path, doc: Any, default_prefix: str) -> list[GazetteerEntry]:
    """Town points from the japanese-addresses JSON shapes of any prefecture.

    * a city file: ``[{town, koaza, lat, lng}, …]`` (``ja/香川県/高松市.json``), its city
      taken from the path, else from ``GAZETTEER_PREFIX``;
    * a prefecture file: ``{"高松市": [{town, …}], "丸亀市": […]}`` (``ja/香川県.json``);
    * items naming their own place: ``pref``/``prefecture`` and ``city`` keys;
    * the v2 shape: ``{"data": [{oaza_cho, chome, koaza, point: [lng, lat]}]}``.
    """
    pref, city = _path_prefix(path)
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        doc = doc["data"]
    groups: list[tuple[str, list[Any]]]
    if isinstance(doc, dict):
        groups = [(str(k), v) for k, v in doc.items() if isinstance(v, list)]
        if not groups:
            raise InvalidConfig(
                f"{path}: expected a list of towns or {{city: [towns]}}", field="GAZETTEER_FILES"
            )
    elif isinstance(doc, list):
        groups = [(city, doc)]
    else:
        raise InvalidConfig(f"{path}: expected a JSON list of towns", field="GAZETTEER_FILES")
    entries: list[GazetteerEntry] = []
    for group_city, items in groups:
        for i, item in enumerate(items):
            try:
                town = str(
                    item.get("town")
                    or f"{item.get('oaza_cho') or ''}{item.get('chome') or ''}"
                    or item["name"]
                ) + str(item.get("koaza") or "")
                if "point" in item:
                    lon, lat = (float(v) for v in item["point"][:2])
                else:
                    lon = float(item.get("lng", item.get("lon")))
                    lat = float(item["lat"])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise InvalidConfig(
                    f"{path}: item {i}: expected town, lat, lng ({exc})", field="GAZETTEER_FILES"
                ) from None
            own = f"{item.get('pref') or item.get('prefecture') or ''}{item.get('city') or ''}"
            if own:
                row_prefix = normalise(own)
            elif group_city:
                row_prefix = normalise(f"{pref}{group_city}")
            else:
                row_prefix = default_prefix
            entries.append(GazetteerEntry(row_prefix, normalise(town), town, lon, lat))
    return entries


class GazetteerGeocoder(Geocoder):
    """Offline geopy geocoder matching the longest town name at the start of the address."""

    precision = "town"

    def __init__(self, entries: Iterable[GazetteerEntry]) -> None:
        super().__init__()
        self.entries = list(entries)
        self._by_first: dict[str, list[GazetteerEntry]] = {}
        for e in self.entries:
            if e.town:
                self._by_first.setdefault(e.town[0], []).append(e)
        for bucket in self._by_first.values():
            bucket.sort(key=lambda e: len(e.town), reverse=True)
        self._prefixes = sorted({e.prefix for e in self.entries if e.prefix}, key=len, reverse=True)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], default_prefix: str = "") -> GazetteerGeocoder:
        entries: list[GazetteerEntry] = []
        for p in paths:
            entries.extend(load_gazetteer_entries(Path(p), default_prefix))
        return cls(entries)

    def match(self, query: str) -> GazetteerEntry | None:
        """The longest town at the start of the address, within the address's city.

        The city is the gazetteer prefix the address starts with (with or without the
        prefecture); an address naming no city is taken as local (any prefix).
        """
        text = normalise(query)
        prefix, rest = self._split_prefix(text)
        for e in self._by_first.get(rest[:1], ()):
            if rest.startswith(e.town) and (prefix is None or e.prefix in (prefix, "")):
                return e
        return None

    def _split_prefix(self, text: str) -> tuple[str | None, str]:
        for p in self._prefixes:  # longest first
            if text.startswith(p):
                return p, text[len(p) :]
        _pref, city, rest = split_prefecture_city(text)
        for p in self._prefixes:
            if city and p.endswith(city):
                return p, rest
        return None, text

    def geocode(
        self, query: str, *, exactly_one: bool = True, timeout: Any = DEFAULT_SENTINEL
    ) -> Any:
        e = self.match(query)
        if e is None:
            return None
        loc = Location(
            e.name, Point(e.lat, e.lon), {"precision": self.precision, "matched": e.name}
        )
        return loc if exactly_one else [loc]


class GSIGeocoder(Geocoder):
    """geopy geocoder for the GSI (国土地理院) address search (online)."""

    def __init__(
        self,
        url: str = "https://msearch.gsi.go.jp/address-search/AddressSearch",
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> None:
        scheme = url.split("://", 1)[0]
        super().__init__(scheme=scheme, timeout=timeout, **kwargs)
        self.api = url

    def geocode(
        self, query: str, *, exactly_one: bool = True, timeout: Any = DEFAULT_SENTINEL
    ) -> Any:
        url = f"{self.api}?{urlencode({'q': query})}"
        return self._call_geocoder(
            url, lambda doc: self._parse(doc, query, exactly_one), timeout=timeout
        )

    @staticmethod
    def _parse(doc: Any, query: str, exactly_one: bool) -> Any:
        if not isinstance(doc, list) or not doc:
            return None
        wanted = normalise(query)
        out = []
        for feature in doc:
            try:
                lon, lat = (float(v) for v in feature["geometry"]["coordinates"][:2])
                title = str(feature["properties"]["title"])
            except (KeyError, TypeError, ValueError):
                continue
            precision = "block" if normalise(title) == wanted else "town"
            out.append(Location(title, Point(lat, lon), {"precision": precision, "matched": title}))
        if not out:
            return None
        return out[0] if exactly_one else out


ONLINE_GEOCODERS = ("gsi",)


class GeocoderChain:
    """Tries the configured geocoders in order; the first in-Japan result wins.

    ``budget_s``: the online steps together may take at most this long (None: no budget).
    """

    def __init__(
        self,
        steps: list[tuple[str, Geocoder | None]],
        session_factory: Any = None,
        budget_s: float | None = None,
    ) -> None:
        self.steps = steps
        self.session_factory = session_factory
        self.budget_s = budget_s

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.steps]

    def geocode(
        self, address: str, *, remember: bool = True, session: Session | None = None
    ) -> dict[str, Any] | None:
        """Locate ``address``; returns {lon, lat, geocoder, precision, matched} or None.

        ``remember=False`` (patient addresses) neither reads nor writes the cache.
        """
        key = normalise(address)[:500]
        deadline = None if self.budget_s is None else time.monotonic() + self.budget_s
        for name, geocoder in self.steps:
            if name == "cache":
                if remember:
                    hit = self._cache_get(key, session)
                    if hit:
                        return hit
                continue
            extra: dict[str, Any] = {}
            if deadline is not None and name in ONLINE_GEOCODERS:
                extra["timeout"] = deadline - time.monotonic()
                if extra["timeout"] <= 0.05:
                    continue  # the budget is spent
            try:
                loc = geocoder.geocode(address, **extra) if geocoder is not None else None
            except (GeopyError, OSError, ValueError):
                loc = None  # offline or refused: try the next one
            if loc is None or not in_japan(loc.longitude, loc.latitude):
                continue
            result = {
                "lon": loc.longitude,
                "lat": loc.latitude,
                "geocoder": name,
                "precision": (loc.raw or {}).get("precision", "unknown"),
                "matched": (loc.raw or {}).get("matched"),
            }
            if remember and "cache" in self.names:
                self._cache_put(key, result, session)
            return result
        return None

    def _cache_get(self, key: str, session: Session | None) -> dict[str, Any] | None:
        if session is None and self.session_factory is None:
            return None
        if session is not None:
            entry = session.get(GeocodeCacheEntry, key)
        else:
            with self.session_factory() as s:
                entry = s.get(GeocodeCacheEntry, key)
        if entry is None:
            return None
        return {
            "lon": entry.lon,
            "lat": entry.lat,
            "geocoder": entry.geocoder,
            "precision": entry.precision,
            "matched": entry.matched,
        }

    def _cache_put(self, key: str, result: dict[str, Any], session: Session | None) -> None:
        values = dict(
            address_key=key,
            geocoder=result["geocoder"],
            precision=result["precision"],
            lon=result["lon"],
            lat=result["lat"],
            matched=result.get("matched"),
        )
        if session is not None:
            if session.get(GeocodeCacheEntry, key) is None:
                session.add(GeocodeCacheEntry(**values))
            return
        if self.session_factory is not None:
            with self.session_factory() as s, s.begin():
                if s.get(GeocodeCacheEntry, key) is None:
                    s.add(GeocodeCacheEntry(**values))


def search_chain(config: dict[str, Any], session_factory: Any = None) -> GeocoderChain:
    """The chain for a patient's or resident's address search (finder, public map).

    Online geocoders (``gsi``) send the typed address to a third party, so they are left
    out unless GEOCODE_SEARCH_ONLINE is on; when on, they get GEOCODE_SEARCH_BUDGET seconds
    in total and no retries, so a slow geocoder never holds a worker for long.
    """
    online = bool(config.get("GEOCODE_SEARCH_ONLINE"))
    names = [n for n in config["GEOCODERS"] if online or n not in ONLINE_GEOCODERS]
    budget = float(config.get("GEOCODE_SEARCH_BUDGET", 2.0))
    capped = {**config, "GEOCODER_TIMEOUT": min(float(config["GEOCODER_TIMEOUT"]), budget)}
    chain = build_chain(names, capped, session_factory, retries=False)
    chain.budget_s = budget
    return chain


def build_chain(
    names: list[str],
    config: dict[str, Any],
    session_factory: Any = None,
    *,
    retries: bool = True,
) -> GeocoderChain:
    """Build the chain named in configuration (``cache``, ``gazetteer``, ``gsi``).

    ``retries=False`` makes online geocoders try once (geopy's default adapter retries).

    Raises
    ------
    InvalidConfig
        An unknown geocoder name, or a gazetteer file that cannot be read.
    """
    steps: list[tuple[str, Geocoder | None]] = []
    for name in names:
        if name == "cache":
            steps.append(("cache", None))
        elif name == "gazetteer":
            files = config.get("GAZETTEER_FILES") or []
            if files:
                steps.append(
                    ("gazetteer", _gazetteer(tuple(files), config.get("GAZETTEER_PREFIX", "")))
                )
        elif name == "gsi":
            steps.append(
                (
                    "gsi",
                    GSIGeocoder(
                        config["GSI_GEOCODER_URL"],
                        timeout=float(config["GEOCODER_TIMEOUT"]),
                        **({} if retries else {"adapter_factory": URLLibAdapter}),
                    ),
                )
            )
        else:
            raise InvalidConfig(
                f"unknown geocoder {name!r} in the chain; expected cache, gazetteer or gsi",
                field="GEOCODERS",
            )
    return GeocoderChain(steps, session_factory)


_GAZETTEERS: dict[tuple[tuple[str, ...], str], GazetteerGeocoder] = {}


def _gazetteer(files: tuple[str, ...], prefix: str) -> GazetteerGeocoder:
    key = (files, prefix)
    if key not in _GAZETTEERS:
        _GAZETTEERS[key] = GazetteerGeocoder.from_files(files, prefix)
    return _GAZETTEERS[key]


def import_geocoder(services: Any) -> Any:
    """The offline chain used while importing (GEOCODERS_ON_IMPORT), as a callable."""
    from mapsvc.geo.geocode_reasons import ImportGeocoder

    chain = build_chain(services.config["GEOCODERS_ON_IMPORT"], services.config)
    return ImportGeocoder(chain) if chain.steps else None
