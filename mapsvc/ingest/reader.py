"""Reading data files into rows: encodings, CSV quirks, GeoJSON features, XLSX sheets.

Rows come out as ``(line, cells)`` with ``line`` the 1-based physical line (CSV), feature
number (GeoJSON) or sheet row (XLSX), so every message can point at the place in the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mapsvc.core.codes import header_key
from mapsvc.core.errors import ImportFailed
from mapsvc.core.input_limits import check_zip, parse_geojson
from mapsvc.core.textfile import decode

GEOMETRY_LON = "@lon"
GEOMETRY_LAT = "@lat"
GEOMETRY = "@geometry"


@dataclass
class RawTable:
    """A file's rows before a mapping is applied."""

    path: Path
    kind: str  # csv | geojson | xlsx
    encoding: str | None
    rows: list[tuple[int, list[str]]]  # every non-empty row, header candidates included
    features: list[dict[str, Any]] | None = None


@dataclass
class Table:
    """Header and data rows once the header row is known."""

    path: Path
    kind: str
    encoding: str | None
    header: list[str]
    header_line: int
    rows: list[tuple[int, dict[str, str]]]


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    return "csv"


def read_raw(path: Path, encodings: Iterable[str] = ("utf-8-sig", "utf-8", "cp932")) -> RawTable:
    """Read a CSV, GeoJSON or XLSX file into raw rows."""
    if not path.exists():
        raise ImportFailed(f"{path}: no such file", field="file")
    kind = file_kind(path)
    if kind == "xlsx":
        return _read_xlsx(path)
    data = path.read_bytes()
    text, encoding = decode(path, data, encodings)
    if kind == "geojson":
        return _read_geojson(path, text, encoding)
    return _read_csv(path, text, encoding)


def _read_csv(path: Path, text: str, encoding: str) -> RawTable:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFailed(
            f"{path}: line {reader.line_num}: malformed CSV: {exc}", field="file"
        ) from exc
    return RawTable(path, "csv", encoding, rows)


def _read_geojson(path: Path, text: str, encoding: str) -> RawTable:
    try:
        doc = parse_geojson(text, str(path))  # depth and feature-count limits
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}", field="file"
        ) from exc
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        raise ImportFailed(f"{path}: expected a GeoJSON FeatureCollection", field="file")
    return RawTable(path, "geojson", encoding, [], features=doc["features"])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path) -> RawTable:
    from openpyxl import load_workbook

    check_zip(path)  # a workbook that inflates past the cap is refused before reading
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for bad files
        raise ImportFailed(f"{path}: not a readable XLSX workbook: {exc}", field="file") from exc
    try:
        ws = wb.worksheets[0]
        rows: list[tuple[int, list[str]]] = []
        for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in values]
            if any(c.strip() for c in cells):
                rows.append((i, cells))
    finally:
        wb.close()
    return RawTable(path, "xlsx", None, rows)


def to_table(raw: RawTable, known_headers: set[str], metadata_prefix: str | None) -> Table:
    """Find the header row (the early row naming the most known columns) and key the rows."""
    if raw.features is not None:
        return _geojson_table(raw)
    if not raw.rows:
        raise ImportFailed(f"{raw.path}: the file has no rows", field="file")
    best_line_index, best_score = 0, -1
    for i, (_, cells) in enumerate(raw.rows[:30]):
        score = sum(1 for c in cells if header_key(c) in known_headers)
        if score > best_score:
            best_line_index, best_score = i, score
    header_line, header_cells = raw.rows[best_line_index]
    header = [c.replace("\ufeff", "").strip() for c in header_cells]
    rows: list[tuple[int, dict[str, str]]] = []
    for line, cells in raw.rows[best_line_index + 1 :]:
        if metadata_prefix and cells and cells[0].startswith(metadata_prefix):
            continue
        row = dict(zip(header, cells, strict=False))
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            row["@overflow"] = ",".join(cells[len(header) :])
        rows.append((line, row))
    return Table(raw.path, raw.kind, raw.encoding, header, header_line, rows)


def _geojson_table(raw: RawTable) -> Table:
    header: list[str] = []
    seen: set[str] = set()
    rows: list[tuple[int, dict[str, str]]] = []
    for i, feature in enumerate(raw.features or [], start=1):
        props = (feature or {}).get("properties") or {}
        row = {
            str(k): _cell(v)
            if not isinstance(v, dict | list)
            else json.dumps(v, ensure_ascii=False)
            for k, v in props.items()
        }
        geom = (feature or {}).get("geometry") or {}
        row[GEOMETRY] = str(geom.get("type") or "")
        if (
            geom.get("type") == "Point"
            and isinstance(geom.get("coordinates"), list)
            and len(geom["coordinates"]) >= 2
        ):
            row[GEOMETRY_LON] = _cell(geom["coordinates"][0])
            row[GEOMETRY_LAT] = _cell(geom["coordinates"][1])
        for k in row:
            if k not in seen:
                seen.add(k)
                header.append(k)
        rows.append((i, row))
    return Table(raw.path, "geojson", raw.encoding, header, 0, rows)
