"""Turning one data row into a provider record, or a reason to reject it (the mapping is
bound to the file's header first, by :func:`mapsvc.ingest.resolve.resolve`)."""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import Any

from mapsvc.core.addresses import normalise as normalise_address
from mapsvc.core.codes import in_japan, nfkc, normalise_municipality_code, parse_coordinate
from mapsvc.core.publication import dropped_coordinates, publication
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.cells import capability_cells
from mapsvc.ingest.mapping import TEMPLATE_FIELD
from mapsvc.ingest.reader import GEOMETRY
from mapsvc.ingest.resolve import FILENAME, Resolved
from mapsvc.ingest.spec import ROW, TYPE
from mapsvc.ingest.text import clean, clean_multiline

_PLAIN_FIELDS = (
    "name",
    "kana",
    "address",
    "phone",
    "url",
    "hours",
    "fax",
    "phone_direct",
    "email",
    "contact_person",
    "contact_hours",
    "notes_professional",
    "confirmed_by",
)
_AREA_TARGETS = frozenset(
    {"service_area_geojson", "service_area_codes", "service_area_minutes", "service_area_km"}
)
_DANGLING = re.compile(r"^[\s〜~\-@/]+|[\s〜~\-@/]+$")
# keys a record carries back to the planner (popped there, never stored)
DERIVED = "@derived_id"
SKIPPED = "@skipped_cells"


class RowRejected(ValueError):
    """The row cannot become a record; the message is the reason written to the rejects file."""


def _value(res: Resolved, row: dict[str, str], target: str) -> str:
    """The cleaned value of a target: the first non-empty header variant, else the template
    (a source id template only when every part it names is filled)."""
    norm, headers, template, parts = res.readers.get(target) or res.reader(target)
    for header in headers:
        value = norm(row.get(header))
        if value:
            return value
    if template is not None:
        filled = [bool(clean(row.get(p))) for p in parts]
        if not any(filled) or (target == "source_id" and not all(filled)):
            return ""
        text = clean(TEMPLATE_FIELD.sub(lambda m: _render_field(m.group(1), row), template))
        return _DANGLING.sub("", text)
    return ""


def _rule_text(res: Resolved, column: tuple[str, ...], row: dict[str, str]) -> str | None:
    col = res.rule_columns.get(column)
    if col == FILENAME:
        return res.filename
    return None if col is None else nfkc(row.get(col, "") or "")


def _render_field(spec: str, row: dict[str, str]) -> str:
    column, *filters = spec.split("|")
    text = clean(row.get(column))
    for filt in filters:
        if filt == "key":
            text = re.sub(r"[\s]+", "", text)
            text = re.sub(r"[(（]休止中[)）]", "", text)
        elif filt == "town":
            text = normalise_address(text)
            text = re.split(r"\d", text, maxsplit=1)[0].rstrip("-")
    return text


def _decide_type(res: Resolved, row: dict[str, str]) -> str:
    m = res.mapping
    explicit = _value(res, row, "type") if "type" in res.columns else ""
    if explicit:
        return m.type_map.get(explicit, explicit)
    for rule in m.type_rules:
        text = _rule_text(res, rule.column, row)
        if text is not None and rule.matches(text):
            return rule.result
    if res.type_column is not None:
        raw = clean(row.get(res.type_column))
        if raw in m.type_map:
            if m.type_map[raw] == "by_name":
                return _type_by_name(res, row, raw)
            return m.type_map[raw]
        if raw and not m.type_fixed:
            raise RowRejected(
                f"provider type {raw!r} in column {res.type_column} is not mapped; "
                f"known: {', '.join(m.type_map)}"
            )
    if m.type_by_name and res.type_column is None and not m.type_fixed:
        return _type_by_name(res, row, "")
    if m.type_filename:
        found = re.search(m.type_filename[0], res.filename)
        if found and found.group(1) in m.type_filename[1]:
            return m.type_filename[1][found.group(1)]
    if m.type_fixed:
        return m.type_fixed
    raise RowRejected("provider type could not be determined from this row")


def _type_by_name(res: Resolved, row: dict[str, str], raw: str) -> str:
    name = _value(res, row, "name")
    for pattern, result in res.mapping.type_by_name:
        if re.search(pattern, name):
            return result
    if res.mapping.type_fixed:
        return res.mapping.type_fixed
    what = f"type {raw!r} is decided by the name, and" if raw else "the"
    raise RowRejected(f"{what} name {name!r} matches none of type.by_name")


def derived_id(res: Resolved, row: dict[str, str], rec: dict[str, Any]) -> str:
    """The id of a row whose id cell is empty (or that has no id column).

    ``derived_id: [name, address, type]`` (the default) gives ``~name|address|type`` (the
    parts in the order listed): the name without spaces or a 休止中 marker, the address in
    :func:`mapsvc.core.addresses.normalise` form, so re-publishing the same facility with
    spacing, full-width digits or 丁目 spelt differently finds the same provider.
    ``derived_id: "@row"`` gives ``@row<n>`` (the data row's position): only stable while
    the publisher keeps the order. ``derived_id: none`` rejects such rows.
    """
    parts = res.mapping.derived_id
    if not parts:
        raise RowRejected("no source id (the column that identifies the row is empty)")
    if parts == (ROW,):
        return f"@row{row.get(ROW, '')}"
    values: list[str] = []
    for part in parts:
        value = str(rec.get(part) or _value(res, row, part) or "")
        if part == "name":
            value = re.sub(r"[(（]休止中[)）]", "", re.sub(r"\s+", "", value))
        elif part == "address":
            value = normalise_address(value)
        values.append(value)
    if not any(v for p, v in zip(parts, values, strict=True) if p != "type"):
        raise RowRejected(
            f"no source id, and nothing to derive one from ({', '.join(parts)} are empty)"
        )
    return "~" + "|".join(values)


@functools.lru_cache(maxsize=4096)  # a file repeats its dates (datetime is immutable)
def _parse_date(raw: str, what: str) -> datetime:
    text = raw.strip().replace("/", "-").replace(".", "-")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            y, mo, d = (int(p) for p in text.split("-"))
            return datetime(y, mo, d)
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise RowRejected(f"{what} {raw!r} is not a date (YYYY-MM-DD)") from None


def _service_area(res: Resolved, row: dict[str, str]) -> dict[str, Any] | None:
    geo = _value(res, row, "service_area_geojson")
    if geo:
        from shapely.geometry import shape

        try:
            geometry = json.loads(geo)
            shp = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise RowRejected(f"service_area_geojson is not a GeoJSON geometry: {exc}") from None
        if shp.geom_type not in ("Polygon", "MultiPolygon") or not shp.is_valid:
            raise RowRejected("service_area_geojson must be a valid Polygon or MultiPolygon")
        minx, miny, maxx, maxy = shp.bounds
        if not (in_japan(minx, miny) and in_japan(maxx, maxy)):
            raise RowRejected(
                "service_area_geojson lies outside Japan (expects lon/lat, EPSG:4326)"
            )
        return {"kind": "polygon", "geometry": geometry}
    codes = _value(res, row, "service_area_codes")
    if codes:
        items = [c.strip() for c in re.split(r"[,;、；\s]+", codes) if c.strip()]
        return {"kind": "codes", "codes": items}
    minutes = _value(res, row, "service_area_minutes")
    if minutes:
        return {"kind": "travel_time", "minutes": _positive(minutes, "service_area_minutes")}
    km = _value(res, row, "service_area_km")
    if km:
        return {"kind": "radius", "km": _positive(km, "service_area_km")}
    return None


def _positive(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RowRejected(f"{what} {text!r} is not a number") from None
    if value <= 0:
        raise RowRejected(f"{what} must be > 0, got {text}")
    return value


def row_to_record(res: Resolved, row: dict[str, str], taxonomy: Taxonomy) -> dict[str, Any]:
    """Map one row to a record holding only the fields this file provides.

    Raises
    ------
    RowRejected
        With the reason (missing name, unknown type, bad code, coordinates outside Japan,
        unknown capability value, …).
    """
    m = res.mapping
    if "@overflow" in row:
        raise RowRejected(
            f"the row has more cells than the header ({row['@overflow'][:40]!r} left over)"
        )
    if "@short" in row:
        raise RowRejected(
            f"the row has fewer cells than the header ({row['@short']}): a delimiter is missing "
            "or the file is cut short, so no cell can be trusted"
        )
    geometry = row.get(GEOMETRY)
    if geometry and geometry != "Point":
        raise RowRejected(
            f"the feature's geometry is a {geometry}; a provider's location is a Point"
        )
    rec: dict[str, Any] = {}
    for target in m.required_values:
        if target != "type" and not _value(res, row, target):
            raise RowRejected(f"required value {target} is empty")
    uid = _value(res, row, "uid")
    if uid:
        rec["uid"] = uid
    keep = m.empty == "keep"
    given = res.given()
    for target in _PLAIN_FIELDS:
        if target in given:
            value = _value(res, row, target)
            if value or not keep:
                rec[target] = value or None
    if "name" in given and not rec.get("name"):
        raise RowRejected("name is empty")
    if "address_detail" in res.columns and rec.get("address"):
        detail = _value(res, row, "address_detail")
        if detail and detail not in rec["address"]:
            rec["address"] = f"{rec['address']} {detail}"

    type_key = _decide_type(res, row)
    if type_key == "reject":
        raise RowRejected("this kind of facility is not a home-care resource mapsvc maps")
    if type_key not in taxonomy.provider_types:
        raise RowRejected(
            f"unknown provider type {type_key!r}; expected one of {', '.join(taxonomy.provider_types)}"
        )
    rec["type"] = type_key
    row[TYPE] = type_key
    source_id = _value(res, row, "source_id")
    if not source_id and not uid:
        source_id = derived_id(res, row, rec)
        rec[DERIVED] = True
    rec["source_id"] = source_id[:200] if source_id else None

    cell_skips: list[tuple[str, str, str]] = []
    if "municipality_code" in given or "municipality_code" in m.defaults:
        raw_code = _value(res, row, "municipality_code") or m.defaults.get("municipality_code", "")
        if raw_code and not re.search(r"\d", nfkc(raw_code)):
            # a name where the code goes (「山口県」 in a prefecture's list): the cell, not the row
            header = res.columns.get("municipality_code", "municipality_code")
            cell_skips.append((header, raw_code, f"column {header}: {raw_code!r} is not a code"))
        else:
            try:
                if raw_code or not keep:
                    rec["municipality_code"] = (
                        normalise_municipality_code(raw_code) if raw_code else None
                    )
            except ValueError as exc:
                raise RowRejected(f"invalid municipality code: {exc}") from None

    if "lon" in given or "lat" in given:
        try:
            lon = parse_coordinate(_value(res, row, "lon"))
            lat = parse_coordinate(_value(res, row, "lat"))
        except ValueError:
            raise RowRejected(
                f"coordinates are not numbers: lon {_value(res, row, 'lon')!r}, lat {_value(res, row, 'lat')!r}"
            ) from None
        if lon is not None and lat is not None and m.zero_is_missing and lon == 0 and lat == 0:
            lon = lat = None
        if (lon is None) != (lat is None):
            raise RowRejected("only one of longitude and latitude is given")
        if lon is not None and lat is not None and not in_japan(lon, lat):
            # (0, 0), outside Japan or swapped: the row is kept, placed from its address
            # (geodata, issue 14 item 10); the published values stay in extra
            rec.setdefault("extra", {})["dropped_coordinates"] = dropped_coordinates(lon, lat)
            lon = lat = None
        if lon is not None and lat is not None:
            rec.update(
                lon=lon, lat=lat, geocode_status="source", geocoder=None, geocode_precision="source"
            )
        else:
            rec.update(
                lon=None, lat=None, geocode_status="pending", geocoder=None, geocode_precision=None
            )

    status = None
    for rule in m.status_rules:
        text = _rule_text(res, rule.column, row)
        if text is not None and rule.matches(text):
            status = rule.result
            if rule.strip and rec.get("name"):
                rec["name"] = rec["name"].replace(rule.operand, "").strip()
            break
    if "status" in res.columns:
        raw_status = _value(res, row, "status")
        if raw_status:
            if raw_status not in ("active", "suspended", "closed"):
                raise RowRejected(f"status {raw_status!r} is not active, suspended or closed")
            status = raw_status
    if status is not None or m.status_rules or "status" in res.columns:
        rec["status"] = status or "active"

    if "confirmed_at" in res.columns:
        raw = _value(res, row, "confirmed_at")
        if raw or not keep:
            rec["confirmed_at"] = _parse_date(raw, "confirmed_at") if raw else None

    area = _service_area(res, row) if not _AREA_TARGETS.isdisjoint(given) else None
    if area is not None:
        rec["service_area"] = area
    if any(f in res.columns or f in m.defaults for f in ("public", "professional_visible")):
        try:
            rec.update(
                publication(
                    _value(res, row, "public") or str(m.defaults.get("public", "")),
                    _value(res, row, "professional_visible")
                    or str(m.defaults.get("professional_visible", "")),
                )
            )
        except ValueError as exc:
            raise RowRejected(str(exc)) from None

    caps, skipped = capability_cells(
        res.capability_columns, row, rec["type"], taxonomy, res.cell_memo
    )
    skipped.extend(cell_skips)
    if caps:
        rec["capabilities"] = caps
    # dropped coordinates (outside Japan, swapped) are already in rec["extra"]
    extra = {**rec.get("extra", {})}
    extra.update((k, v) for k, c in res.extra.items() if (v := clean_multiline(row.get(c))))
    extra.update((f"skipped: {h}", raw) for h, raw, _ in skipped)  # nothing said is lost
    if skipped:
        rec[SKIPPED] = skipped
    if res.extra or skipped or extra:
        rec["extra"] = extra
    return rec
