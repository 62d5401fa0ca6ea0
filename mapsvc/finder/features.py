"""Providers as GeoJSON features (RFC 7946) and CSV, for one audience.

Every feature goes through :func:`mapsvc.core.visibility.reduce_record`: the public gets public
fields and public capability keys only. Serialised features are cached on the index per
(audience, language, day) — the confirmation state depends on the date — so a page of a
thousand features is a join of ready bytes.

Query parameters of the items endpoint (validated here, errors name the parameter):

``bbox=minlon,minlat,maxlon,maxlat``
    EPSG:4326 / CRS84 degrees, edges included; longitudes in [-180, 180], latitudes in
    [-90, 90], min <= max. Six numbers ``minlon,minlat,minz,maxlon,maxlat,maxz`` are
    accepted too (OGC API - Features /req/core/fc-bbox-definition); heights are ignored.
``datetime``
    An instant or interval (:mod:`mapsvc.finder.temporal`) matched against the record's
    last confirmation (``confirmed_at``).
``limit``, ``offset``
    Page size (1 … ``ITEMS_MAX_LIMIT``, default ``ITEMS_DEFAULT_LIMIT``) and start.
``cap``, ``type``
    The filter grammar of :mod:`mapsvc.core.filters`.
``f``
    ``json`` / ``geojson`` (default) or ``csv`` (UTF-8 with BOM, for Excel).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from mapsvc.core import _csv
from mapsvc.core.errors import InvalidInput
from mapsvc.core.filters import FilterSet, parse_filters
from mapsvc.core.staleness import confirmation_badge
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.core.visibility import reduce_record
from mapsvc.finder.index import ProviderIndex
from mapsvc.finder.temporal import Period, confirmed_times, parse_datetime
from mapsvc.geo.geojson import DECIMALS, rfc7946_dict

ITEM_PARAMS = ("bbox", "bbox-crs", "datetime", "limit", "offset", "cap", "type", "f", "lang")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
FORMATS = ("json", "geojson", "csv", "html")
# json.dumps(doc, ensure_ascii=False, separators=(",", ":")) without a new encoder per call
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class ItemsQuery:
    bbox: tuple[float, float, float, float] | None
    limit: int
    offset: int
    filters: FilterSet
    format: str
    period: Period | None = None


def _one(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or []
    if len(values) > 1:
        raise InvalidInput(f"{name}: give it once", field=name)
    return values[0] if values else None


def check_known(args: Mapping[str, Sequence[str]], allowed: Sequence[str]) -> None:
    """400 for a parameter the API does not define (OGC API - Features /req/core/query-param-unknown)."""
    for name in args:
        if name not in allowed:
            raise InvalidInput(
                f"unknown parameter; this endpoint takes {', '.join(allowed)}", field=name
            )


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in degrees, or None when absent; of six numbers
    ``minlon,minlat,minz,maxlon,maxlat,maxz`` the heights are checked and dropped.

    Raises
    ------
    InvalidInput
        ``field="bbox"``: not four or six numbers, out of range, or min > max.
    """
    if text is None or text == "":
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            "bbox: expected four numbers minlon,minlat,maxlon,maxlat (degrees), or six "
            "minlon,minlat,minz,maxlon,maxlat,maxz",
            field="bbox",
        )
    if len(values) == 6:
        if values[2] > values[5]:
            raise InvalidInput("bbox: the minimum height must not exceed the maximum", field="bbox")
        values = [values[0], values[1], values[3], values[4]]
    minx, miny, maxx, maxy = values
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise InvalidInput(
            "bbox: longitudes must be within -180..180 and latitudes within -90..90", field="bbox"
        )
    if minx > maxx or miny > maxy:
        raise InvalidInput("bbox: the minimum must not exceed the maximum", field="bbox")
    return minx, miny, maxx, maxy


def parse_int(text: str | None, name: str, low: int, high: int, default: int | None = None) -> int:
    """A whole number within ``low..high``; ``default`` when absent (None: required).

    Raises
    ------
    InvalidInput
        ``field=name``: missing (and required), not a whole number, or out of range.
    """
    if text is None or text == "":
        if default is None:
            raise InvalidInput(f"{name}: required, a whole number {low}..{high}", field=name)
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name}: expected a whole number", field=name) from None
    if value < low or value > high:
        raise InvalidInput(f"{name}: must be between {low} and {high}", field=name)
    return value


def parse_items_query(
    args: Mapping[str, Sequence[str]],
    taxonomy: Taxonomy,
    audience: str,
    *,
    default_limit: int,
    max_limit: int,
) -> ItemsQuery:
    """Validate the items endpoint's parameters (``args``: name → list of values).

    Raises
    ------
    InvalidInput
        Naming the parameter: unknown parameter, malformed or out-of-range bbox, a
        ``bbox-crs`` other than CRS84, bad ``datetime``, limit/offset out of range, bad
        filter, bad ``f``.
    """
    check_known(args, ITEM_PARAMS)
    crs = _one(args, "bbox-crs")
    if crs not in (None, "", CRS84):
        raise InvalidInput(f"bbox-crs: only {CRS84} is supported", field="bbox-crs")
    fmt = _one(args, "f") or "geojson"
    if fmt not in FORMATS:
        raise InvalidInput(f"f: expected one of {', '.join(FORMATS)}", field="f")
    return ItemsQuery(
        bbox=parse_bbox(_one(args, "bbox")),
        limit=parse_int(_one(args, "limit"), "limit", 1, max_limit, min(default_limit, max_limit)),
        offset=parse_int(_one(args, "offset"), "offset", 0, 10**9, 0),
        filters=parse_filters(args.get("cap"), args.get("type"), taxonomy, audience),
        format=fmt,
        period=parse_datetime(_one(args, "datetime")),
    )


def select(
    index: ProviderIndex,
    filters: FilterSet,
    bbox: tuple[float, float, float, float] | None,
    period: Period | None = None,
) -> np.ndarray:
    """Positions (ascending, a stable order for paging) of active providers passing all."""
    if bbox is None:
        hits = np.flatnonzero(index.filter_mask(filters))
    else:
        hits = index.in_bbox(bbox)
        hits = hits[index.filter_mask(filters, positions=hits)]
    if period is not None:
        hits = hits[period.mask(confirmed_times(index)[hits])]
    return hits


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def feature_properties(
    index: ProviderIndex,
    pos: int,
    audience: str,
    lang: str,
    config: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The properties one audience may see, plus labels and the confirmation badge."""
    record = index.record(pos)
    props = {k: _jsonable(v) for k, v in reduce_record(record, audience, index.taxonomy).items()}
    area = props.get("service_area")
    if isinstance(area, dict) and isinstance(area.get("geometry"), dict):
        # a drawn area as stored: RFC 7946 winding and 6 decimals like every output
        props["service_area"] = {**area, "geometry": rfc7946_dict(area["geometry"])}
    ptype = index.taxonomy.provider_types.get(str(record.get("type")))
    props["type_label"] = ptype.label.get(lang) if ptype else record.get("type")
    badge = confirmation_badge(record, now, config, lang)
    props["confirmation"] = {k: badge[k] for k in ("state", "label", "date", "text")}
    return props


def feature_bytes(
    index: ProviderIndex,
    pos: int,
    audience: str,
    lang: str,
    config: Mapping[str, Any],
    now: datetime,
) -> bytes:
    """One GeoJSON Feature, serialised (coordinates to 6 decimals, ~0.1 m; properties
    without a value left out)."""
    feature = {
        "type": "Feature",
        "id": str(index.uids[pos]),
        "geometry": {
            "type": "Point",
            "coordinates": [
                round(float(index.lon[pos]), DECIMALS),
                round(float(index.lat[pos]), DECIMALS),
            ],
        },
        # a field with no value is left out (null or "": the reader shows nothing either way)
        "properties": {
            k: v
            for k, v in feature_properties(index, pos, audience, lang, config, now).items()
            if v is not None and v != ""
        },
    }
    return _encode(feature).encode("utf-8")


def features(
    index: ProviderIndex,
    positions: np.ndarray,
    audience: str,
    lang: str,
    config: Mapping[str, Any],
    now: datetime,
) -> list[bytes]:
    """Serialised features for ``positions``, from the index's cache where possible."""
    key = (audience, f"{lang}:{now.date().isoformat()}")
    return index.cached_features(
        key, lambda pos: feature_bytes(index, pos, audience, lang, config, now), positions
    )


def feature_collection(
    parts: list[bytes], number_matched: int, links: list[dict[str, Any]], stamp: datetime
) -> bytes:
    """A FeatureCollection (with OGC API paging members) around serialised features."""
    head = {
        "type": "FeatureCollection",
        "numberMatched": int(number_matched),
        "numberReturned": len(parts),
        "timeStamp": stamp.replace(microsecond=0).isoformat() + "Z",
        "links": links,
    }
    text = _encode(head)
    return b"".join((text[:-1].encode("utf-8"), b',"features":[', b",".join(parts), b"]}"))


def csv_bytes(
    index: ProviderIndex,
    positions: np.ndarray,
    audience: str,
    lang: str,
    config: Mapping[str, Any],
    now: datetime,
) -> bytes:
    """A CSV (UTF-8 with BOM) of the providers, in the given order, for one audience.

    Columns: the audience's fields with their labels in ``lang``, then capabilities
    (public: the offered ones by label; professional: one column per capability the
    rows mention, with the level's label and note).
    """
    taxonomy = index.taxonomy
    records = [feature_properties(index, int(p), audience, lang, config, now) for p in positions]
    fields = taxonomy.public_fields() if audience == "public" else list(taxonomy.fields)
    fields = [f for f in fields if f not in ("service_area",)]
    cap_cols: list[str] = []
    if audience != "public":
        seen = {k for r in records for k in (r.get("capabilities") or {})}
        cap_cols = [k for k in taxonomy.capabilities if k in seen]
    header = [taxonomy.fields[f].label.get(lang) for f in fields]
    header.append("最終確認の状態" if lang != "en" else "Confirmation")
    if audience == "public":
        header.append("対応できること" if lang != "en" else "Services")
    header.extend(taxonomy.capabilities[k].label.get(lang) for k in cap_cols)
    rows: list[list[Any]] = [header]
    for rec in records:
        row: list[Any] = []
        for f in fields:
            value = rec.get(f)
            row.append("" if value is None else (rec.get("type_label") if f == "type" else value))
        row.append(rec["confirmation"]["text"])
        caps = rec.get("capabilities") or {}
        if audience == "public":
            sep = "、" if lang != "en" else "; "
            row.append(sep.join(taxonomy.capabilities[k].label.get(lang) for k in caps))
        for key in cap_cols:
            row.append(capability_text(taxonomy, key, caps.get(key), lang))
        rows.append(row)
    return _csv.csv_bytes(rows)


def capability_text(taxonomy: Taxonomy, key: str, value: dict[str, Any] | None, lang: str) -> str:
    """A stored capability value in words (level label, option label, list, text, note)."""
    if not value:
        return ""
    cap = taxonomy.capabilities[key]
    if cap.kind in ("level", "flag"):
        text = taxonomy.level_label(value.get("level"), lang)
    elif cap.kind == "choice":
        option = cap.options.get(str(value.get("value")))
        text = option.get(lang) if option else str(value.get("value") or "")
    elif cap.kind == "ranked":
        sep = " > "
        text = sep.join(
            cap.options[o].get(lang) if o in cap.options else str(o)
            for o in value.get("value") or []
        )
    else:
        text = str(value.get("value") or "")
    note = value.get("note")
    return f"{text}（{note}）" if note and lang != "en" else (f"{text} ({note})" if note else text)


def grid_cells(index: ProviderIndex, positions: np.ndarray, zoom: int) -> list[dict[str, Any]]:
    """Counts of providers per display cell (64 screen pixels square at ``zoom``).

    For the map at low zoom: one GeoJSON point per non-empty cell, at the mean position of
    its providers, with ``count``. Cells are a fixed Web Mercator grid (a quarter of a map
    tile), so they do not move when the map pans (binning for display, not measuring).
    """
    if len(positions) == 0:
        return []
    cells = float(2**zoom) * 4.0
    lon, lat = index.lon[positions], index.lat[positions]
    col = np.floor((lon + 180.0) / 360.0 * cells).astype(np.int64)
    phi = np.radians(np.clip(lat, -85.0511, 85.0511))
    merc = np.log(np.tan(np.pi / 4.0 + phi / 2.0))
    row = np.floor((np.pi - merc) / (2.0 * np.pi) * cells).astype(np.int64)
    key = col * (1 << 32) + row
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    mlon = np.bincount(inverse, weights=lon) / counts
    mlat = np.bincount(inverse, weights=lat) / counts
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]},
            "properties": {"count": int(c)},
        }
        for x, y, c in zip(mlon, mlat, counts, strict=True)
    ]
