"""Reading data files into rows: encodings, CSV quirks, GeoJSON features, XLSX sheets.

Rows come out as ``(line, cells)`` with ``line`` the 1-based physical line (CSV), feature
number (GeoJSON) or sheet row (XLSX), so every message can point at the place in the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mapsvc.core.codes import header_aliases, header_key
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
    kind: str  # csv | geojson | xlsx (xls workbooks too)
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
    """The kind of data in a file, by its content (see :func:`sniff`), else its name."""
    if path.is_file():
        with path.open("rb") as fh:
            return sniff(fh.read(4096), path.name)
    return _kind_by_name(path.name)


def _kind_by_name(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        return "xls"
    return "csv"


def sniff(head: bytes, name: str) -> str:
    """csv | geojson | xlsx | xls | zip from the first bytes: an .xls that is really an
    xlsx is an xlsx, a .csv that is a zip archive is a zip; the name only breaks ties."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if b"[Content_Types].xml" in head or b"xl/" in head else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "geojson"
    kind = _kind_by_name(name)
    return "csv" if kind in ("xlsx", "xls", "zip") else kind


def read_raw(path: Path, encodings: Iterable[str] = ("utf-8-sig", "utf-8", "cp932")) -> RawTable:
    """Read a CSV/TSV, GeoJSON, XLSX or XLS file (or a zip holding one) into raw rows."""
    if not path.exists():
        raise ImportFailed(f"{path}: no such file", field="file")
    data = path.read_bytes()
    kind = sniff(data[:4096], path.name)
    if kind == "zip":
        data, inner = _unzip_one(path, data)
        kind = sniff(data[:4096], inner)
    if kind == "xlsx":
        return _read_xlsx(path, data)
    if kind == "xls":
        return _read_xls(path, data)
    text, encoding = decode(path, data, encodings)
    if kind == "geojson":
        return _read_geojson(path, text, encoding)
    return _read_csv(path, text, encoding)


def iter_rows(
    path: Path, encodings: Iterable[str] = ("utf-8-sig", "utf-8", "cp932")
) -> Iterator[list[str]]:
    """Non-empty rows one at a time (CSV streamed; other kinds via :func:`read_raw`), for
    large companion files."""
    data = path.read_bytes()
    kind = sniff(data[:4096], path.name)
    if kind == "zip":
        data, inner = _unzip_one(path, data)
        kind = sniff(data[:4096], inner)
    if kind != "csv":
        for _, cells in read_raw(path, encodings).rows:
            yield cells
        return
    text, _ = decode(path, data, encodings)
    del data
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    try:
        for cells in reader:
            if cells and (cells[0].strip() or "".join(cells).strip()):  # any non-blank cell
                yield cells
    except csv.Error as exc:
        raise ImportFailed(
            f"{path}: line {reader.line_num}: malformed CSV: {exc}", field="file"
        ) from exc


def _unzip_one(path: Path, data: bytes) -> tuple[bytes, str]:
    """The one data file inside a zip archive (publishers zip large CSVs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [
                n
                for n in zf.namelist()
                if not n.endswith("/")
                and not Path(n).name.startswith((".", "__MACOSX"))
                and Path(n).suffix.lower()
                in (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".json", ".geojson")
            ]
            if len(names) != 1:
                raise ImportFailed(
                    f"{path}: a zip archive must hold exactly one data file, found "
                    f"{len(names)} ({', '.join(names[:5])})",
                    field="file",
                )
            return zf.read(names[0]), names[0]
    except zipfile.BadZipFile as exc:
        raise ImportFailed(f"{path}: not a readable zip archive: {exc}", field="file") from exc


DELIMITERS = (",", "\t", ";")


def sniff_delimiter(text: str) -> str:
    """Comma, tab or semicolon: the one a line among the first ten (outside quotes) holds
    most of, so a title line above the header (「介護サービス事業所一覧 令和6年4月」) does not
    hide a tab-separated header below it."""
    counts = dict.fromkeys(DELIMITERS, 0)
    for line in text[:20000].split("\n", 10)[:10]:
        bare = re.sub(r'"[^"]*"', "", line)
        for d in DELIMITERS:
            counts[d] = max(counts[d], bare.count(d))
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(path: Path, text: str, encoding: str) -> RawTable:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if cells and (cells[0].strip() or "".join(cells).strip()):  # any non-blank cell
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        what = (
            "a quoted cell that starts here is never closed (unterminated quote, or the file "
            "is truncated)"
            if "end of data" in str(exc)
            else f"malformed CSV: {exc}"
        )
        raise ImportFailed(f"{path}: line {line}: {what}", field="file") from exc
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


def _read_xlsx(path: Path, data: bytes) -> RawTable:
    from openpyxl import load_workbook

    check_zip(path)  # a workbook that inflates past the cap is refused before reading
    try:
        with warnings.catch_warnings():
            # real municipal workbooks carry print headers openpyxl cannot parse; harmless
            warnings.filterwarnings("ignore", "Cannot parse header or footer", UserWarning)
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for bad files
        raise ImportFailed(f"{path}: not a readable XLSX workbook: {exc}", field="file") from exc
    rows: list[tuple[int, list[str]]] = []
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Cannot parse header or footer", UserWarning)
            ws = wb.worksheets[0]
            for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_cell(v) for v in values]
                if cells and (cells[0].strip() or "".join(cells).strip()):  # any non-blank cell
                    rows.append((i, cells))
    finally:
        wb.close()
    return RawTable(path, "xlsx", None, rows)


def _read_xls(path: Path, data: bytes) -> RawTable:
    """An old binary Excel (BIFF) workbook, first sheet."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data)
    except Exception as exc:  # xlrd raises its own error types and struct errors
        raise ImportFailed(f"{path}: not a readable XLS workbook: {exc}", field="file") from exc
    sheet = book.sheet_by_index(0)
    rows: list[tuple[int, list[str]]] = []
    for i in range(sheet.nrows):
        cells = []
        for cell in sheet.row(i):
            value = cell.value
            if cell.ctype == xlrd.XL_CELL_DATE:
                value = xlrd.xldate.xldate_as_datetime(value, book.datemode)
            cells.append(_cell(value))
        if cells and (cells[0].strip() or "".join(cells).strip()):  # any non-blank cell
            rows.append((i + 1, cells))
    return RawTable(path, "xlsx", None, rows)


def table_header(raw: RawTable, known_headers: set[str]) -> list[str]:
    """``to_table(raw, known_headers, None).header`` without keying every row (detecting
    the format needs the header only)."""
    if raw.features is not None:
        return _geojson_table(raw).header
    return _header_row(raw, known_headers)[1]


def _header_row(raw: RawTable, known_headers: set[str]) -> tuple[int, list[str]]:
    """Where the header row is in ``raw.rows`` (the early row naming the most known
    columns) and its cells."""
    if not raw.rows:
        raise ImportFailed(f"{raw.path}: the file has no rows", field="file")
    best_line_index, best_score = 0, -1
    for i, (_, cells) in enumerate(raw.rows[:30]):
        score = sum(
            1
            for c in cells
            if header_key(c) in known_headers or any(a in known_headers for a in header_aliases(c))
        )
        if score > best_score:
            best_line_index, best_score = i, score
    header_cells = raw.rows[best_line_index][1]
    return best_line_index, [c.replace("\ufeff", "").strip() for c in header_cells]


def to_table(raw: RawTable, known_headers: set[str], metadata_prefix: str | None) -> Table:
    """Find the header row (the early row naming the most known columns) and key the rows."""
    if raw.features is not None:
        return _geojson_table(raw)
    best_line_index, header = _header_row(raw, known_headers)
    header_line = raw.rows[best_line_index][0]
    # trailing unnamed header cells are padding, not columns a row must fill
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    rows: list[tuple[int, dict[str, str]]] = []
    n, short_matters = len(header), raw.kind == "csv"
    for line, cells in raw.rows[best_line_index + 1 :]:
        if metadata_prefix and cells and cells[0].startswith(metadata_prefix):
            continue
        row = dict(zip(header, cells, strict=False))
        count = len(cells)
        if count == n:
            pass
        elif count > n and "".join(cells[n:]).strip():
            row["@overflow"] = ",".join(cells[n:])
        elif count < width and short_matters:
            # a CSV row that stops early (a lost delimiter, a truncated file) would shift or
            # blank the cells after it; spreadsheets drop trailing empty cells, CSVs do not
            row["@short"] = f"{count} of {width}"
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
