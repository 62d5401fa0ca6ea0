"""Readers of population files, one per format, for :mod:`mapsvc.geo.population`.

Each reader turns the rows of a table into :class:`Unit` values (or a rejection with a
reason). The formats and how they are recognised from the header:

``jp_standard``  自治体標準オープンデータセット 地域・年齢別人口: ``地域名`` and ``0-4歳の男性`` …
                 ``85歳以上の女性``. No coordinates: the town is located through loaded
                 ``town`` areas (by 地域コード, then name) or the offline gazetteer.
``takamatsu``    高松市's own schema: ``regionName``, ``totalPopulation``, ``man1..man18``,
                 ``woman1..woman18`` (the 18 standard bands) and ``location`` = "lat,lon".
``estat_mesh``   e-Stat 地域メッシュ統計 CSV: ``KEY_CODE`` and a second header row of Japanese
                 labels; five-year band columns are found by their labels.
``mapsvc_grid``  mapsvc's own mesh grid (the demo): ``mesh_code``, ``total`` and the band keys.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from mapsvc.core.codes import header_key, in_japan, nfkc
from mapsvc.geo._population_tables import area_totals, detect, single_year, split_branch

BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 85, 5)) + ("85+",)


class RowRejected(ValueError):
    """A row that cannot become a unit; the message is the reason."""


@dataclass
class Unit:
    key: str
    kind: str  # mesh | town
    name: str | None
    total: int
    bands: dict[str, int]
    lon: float | None = None
    lat: float | None = None
    survey_date: str | None = None
    area_code: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (1-based line, cells)
    labels: list[str] | None = None  # e-Stat second header row


def read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("neither UTF-8 nor CP932 (Shift_JIS)")


_MARKERS = {
    "takamatsu": {"regionname", "totalpopulation", "man1", "woman18"},
    "jp_standard": {"0-4歳の男性"},
    "estat_mesh": {"key_code"},
    "mapsvc_grid": {"mesh_code", "85+"},
}


def read_table(text: str) -> tuple[str, Table]:
    """Find the header row and the format; metadata rows (``#LINK`` …) are skipped."""
    lines = list(csv.reader(io.StringIO(text)))
    for i, cells in enumerate(lines):
        keys = {_band_header(header_key(c).lstrip("#")) for c in cells}
        for fmt, markers in _MARKERS.items():
            if markers <= keys and (fmt != "jp_standard" or keys & set(_AREA_NAMES)):
                header = [c.strip().lstrip("\ufeff") for c in cells]
                start = i + 1
                labels = None
                if fmt == "estat_mesh" and start < len(lines) and not nfkc(lines[start][0]):
                    labels, start = lines[start], start + 1
                rows = [
                    (n + 1, r)
                    for n, r in enumerate(lines[start:], start=start)
                    if any(c.strip() for c in r) and not r[0].startswith("#")
                ]
                return fmt, Table(header, rows, labels)
        loose = detect(cells)
        if loose:
            rows = [
                (n + 1, r)
                for n, r in enumerate(lines[i + 1 :], start=i + 1)
                if any(c.strip() for c in r) and not r[0].startswith("#")
            ]
            return loose, Table([c.strip().lstrip("\ufeff") for c in cells], rows)
    raise ValueError(
        "unknown population format: expected 自治体標準 地域・年齢別人口 (地域名, 0-4歳の男性 …), "
        "Takamatsu (regionName, totalPopulation, man1 … woman18), e-Stat mesh (KEY_CODE) "
        "a mapsvc grid (mesh_code, 0-4 … 85+), a single-year table (地域名, 年齢, 男, 女, 計) "
        "or area totals (地域名/町名, 人口)"
    )


_RANGE = re.compile(r"(\d+)\s*[-~〜～－ー]\s*(\d+)\s*歳")
_OVER = re.compile(r"(\d+)\s*歳以上")


_SEXED = re.compile(r"^(\d+-\d+歳|\d+歳以上)\s*の?\s*[(（]?\s*(男|女)性?\s*[)）]?$")
_AREA_NAMES = ("地域名", "町丁名", "町丁目名", "町丁字名", "地区名", "町名", "町字名")


def _band_header(key: str) -> str:
    """Normalise ``0～4歳の男性`` → ``0-4歳の男性`` (full-width tilde and dash variants;
    ``0-4歳男``, ``0～4歳（女）`` and ``85歳以上男性`` as published by some cities)."""
    key = _RANGE.sub(lambda m: f"{m.group(1)}-{m.group(2)}歳", key)
    return _SEXED.sub(lambda m: f"{m.group(1)}の{m.group(2)}性", key)


_ZERO_FRACTION = re.compile(r"(\d+)\.0*")


def count(raw: str, what: str) -> int:
    """A non-negative integer cell: "1,234", full-width digits and "2752.00" allowed.

    Spreadsheet exports write counts as decimals (``2752.00``, ``12.0``); a fraction other
    than zero (``2752.5``) is not a count and is rejected.
    """
    text = nfkc(raw).replace(",", "")
    whole = _ZERO_FRACTION.fullmatch(text)
    if whole:
        text = whole.group(1)
    if not text.isdigit():
        raise RowRejected(f"{what} {raw!r} is not a non-negative whole number")
    return int(text)


def survey_date(raw: str) -> str | None:
    """ISO date from ``2026-02-01``, ``2026/2/1``, ``12/1/2022`` (m/d/yyyy) or 令和 dates."""
    text = nfkc(raw)
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if not m:
            raise RowRejected(f"survey date {raw!r} is not a date (YYYY-MM-DD or m/d/yyyy)")
        mo, d, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        raise RowRejected(f"survey date {raw!r} is not a valid date") from None


def _index(header: list[str]) -> dict[str, int]:
    return {_band_header(header_key(h).lstrip("#")): i for i, h in enumerate(header)}


def _cell(cells: list[str], idx: dict[str, int], *names: str) -> str:
    for name in names:
        i = idx.get(header_key(name))
        if i is not None and i < len(cells):
            return cells[i]
    return ""


def _point(lon: float, lat: float) -> tuple[float, float]:
    if not in_japan(lon, lat):
        if in_japan(lat, lon):
            raise RowRejected(f"location ({lon}, {lat}) is outside Japan; lat/lon look swapped")
        raise RowRejected(f"location (lon {lon}, lat {lat}) is outside Japan's extent")
    return lon, lat


# ---- readers -------------------------------------------------------------------------

Reader = Callable[[Table], Iterator[tuple[int, Unit | RowRejected]]]


def takamatsu(table: Table) -> Iterator[tuple[int, Unit | RowRejected]]:
    idx = _index(table.header)
    for line, cells in table.rows:
        try:
            name = _cell(cells, idx, "regionName").strip()
            if not name:
                raise RowRejected("regionName is empty")
            bands = {
                band: count(_cell(cells, idx, f"man{i}"), f"man{i}")
                + count(_cell(cells, idx, f"woman{i}"), f"woman{i}")
                for i, band in enumerate(BANDS, start=1)
            }
            location = nfkc(_cell(cells, idx, "location"))
            try:
                lat_s, lon_s = (p.strip() for p in location.split(","))
                lon, lat = _point(float(lon_s), float(lat_s))
            except ValueError as exc:
                if isinstance(exc, RowRejected):
                    raise
                raise RowRejected(f"location {location!r} is not 'lat,lon'") from None
            code = nfkc(_cell(cells, idx, "regionCode"))
            unit = Unit(
                key=code or nfkc(name),
                kind="town",
                name=name,
                total=count(_cell(cells, idx, "totalPopulation"), "totalPopulation"),
                bands=bands,
                lon=lon,
                lat=lat,
                survey_date=survey_date(_cell(cells, idx, "surveyDate")),
                area_code=code or None,
                properties={
                    "municipality_code": nfkc(_cell(cells, idx, "prefCode")) or None,
                    "male": count(_cell(cells, idx, "male"), "male"),
                    "female": count(_cell(cells, idx, "woman"), "woman"),
                },
            )
            yield line, unit
        except RowRejected as exc:
            yield line, exc


def jp_standard(table: Table) -> Iterator[tuple[int, Unit | RowRejected]]:
    idx = _index(table.header)
    columns = {band: (f"{band}歳の男性", f"{band}歳の女性") for band in BANDS[:-1]}
    columns["85+"] = ("85歳以上の男性", "85歳以上の女性")
    missing = [c for pair in columns.values() for c in pair if header_key(c) not in idx]
    if missing:
        raise ValueError(f"missing age band column(s): {', '.join(missing[:4])}")
    for line, cells in table.rows:
        try:
            name = _cell(cells, idx, *_AREA_NAMES).strip()
            if not name:
                raise RowRejected("地域名 is empty")
            bands = {
                band: count(_cell(cells, idx, m), m) + count(_cell(cells, idx, f), f)
                for band, (m, f) in columns.items()
            }
            raw_total = _cell(cells, idx, "総人口", "人口総数", "総数", "人口")
            code = nfkc(_cell(cells, idx, "地域コード"))
            branch, bare = split_branch(name)
            unit = Unit(
                key=code or nfkc(name),
                kind="town",
                name=bare,
                total=count(raw_total, "総人口") if nfkc(raw_total) else sum(bands.values()),
                bands=bands,
                survey_date=survey_date(_cell(cells, idx, "調査年月日")),
                area_code=code or None,
                properties={
                    "municipality_code": nfkc(
                        _cell(cells, idx, "都道府県コード又は市区町村コード", "市区町村コード")
                    )
                    or None,
                    "address_prefix": nfkc(
                        _cell(cells, idx, "都道府県名") + _cell(cells, idx, "市区町村名")
                    ),
                    "municipality_name": nfkc(_cell(cells, idx, "市区町村名")) or None,
                    **({"branch": branch} if branch else {}),
                },
            )
            lon, lat = _cell(cells, idx, "経度", "longitude"), _cell(cells, idx, "緯度", "latitude")
            if nfkc(lon) and nfkc(lat):
                try:
                    unit.lon, unit.lat = _point(float(nfkc(lon)), float(nfkc(lat)))
                except ValueError as exc:
                    if isinstance(exc, RowRejected):
                        raise
                    raise RowRejected(f"緯度/経度 {lat!r}/{lon!r} are not numbers") from None
            yield line, unit
        except RowRejected as exc:
            yield line, exc


def _label_band(label: str) -> str | None:
    """Band of an e-Stat label: ``0-4`` … ``80-84``, ``85+``, ``85+part`` (85～89歳, 90歳以上…)."""
    m = _RANGE.search(label)
    if m and int(m.group(2)) - int(m.group(1)) == 4 and int(m.group(1)) % 5 == 0:
        a = int(m.group(1))
        return f"{a}-{a + 4}" if a < 85 else "85+part"
    o = _OVER.search(label)
    if o and not m:
        n = int(o.group(1))
        return "85+" if n == 85 else ("85+part" if n > 85 else None)
    return None


def _estat_columns(table: Table) -> tuple[dict[str, list[int]], int | None]:
    """Band -> columns to add up, and the total column, found from the Japanese labels."""
    labels = [nfkc(x) for x in (table.labels or table.header)]
    plain: dict[str, list[int]] = {}  # both sexes
    sexed: dict[str, list[int]] = {}  # men and women columns
    total = None
    for i, label in enumerate(labels):
        if i < 4:  # KEY_CODE, HTKSYORI (秘匿処理), HTKSAKI (秘匿先), GASSAN (合算地域)
            continue
        is_sexed = bool(re.search(r"[男女]", label.replace("男女", "")))
        band = _label_band(label)
        if band is None:
            if total is None and not is_sexed and "総数" in label and "歳" not in label:
                total = i
            continue
        (sexed if is_sexed else plain).setdefault(band, []).append(i)
    out: dict[str, list[int]] = {}
    for band in (*BANDS[:-1], "85+"):
        for source in (plain, sexed):
            cols = source.get(band) or (source.get("85+part") if band == "85+" else None)
            if cols:
                out[band] = cols
                break
    missing = [b for b in BANDS if b not in out]
    if missing:
        raise ValueError(
            f"no five-year age band columns for {', '.join(missing[:4])}; mapsvc needs the "
            "年齢（５歳階級）別 mesh table (labels such as ０～４歳)"
        )
    return out, total


def estat_mesh(table: Table) -> Iterator[tuple[int, Unit | RowRejected]]:
    import jismesh.utils as ju

    columns, total_col = _estat_columns(table)
    idx = _index(table.header)
    key_col = idx["key_code"]

    def value(cells: list[str], i: int) -> int:
        raw = nfkc(cells[i]) if i < len(cells) else ""
        if raw in ("", "-", "*", "X", "x", "…"):  # 秘匿 or none: counted in the 合算先 cell
            return 0
        return count(raw, f"column {table.header[i]}")

    for line, cells in table.rows:
        try:
            code = nfkc(cells[key_col]) if key_col < len(cells) else ""
            if not code.isdigit() or len(code) not in (4, 6, 8, 9, 10, 11):
                raise RowRejected(f"KEY_CODE {code!r} is not a JIS X 0410 mesh code")
            try:
                level = int(ju.to_meshlevel(int(code)))
                lat, lon = (float(v) for v in ju.to_meshpoint(int(code), 0.5, 0.5))
            except (ValueError, KeyError, TypeError):
                raise RowRejected(f"KEY_CODE {code!r} is not a JIS X 0410 mesh code") from None
            bands = {b: sum(value(cells, i) for i in cols) for b, cols in columns.items()}
            hidden = any(nfkc(cells[i]) in ("*", "X", "x") for i in range(4, len(cells)))
            unit = Unit(
                key=code,
                kind="mesh",
                name=None,
                total=value(cells, total_col) if total_col is not None else sum(bands.values()),
                bands=bands,
                lon=lon,
                lat=lat,
                properties={"mesh_level": level, **({"hidden": True} if hidden else {})},
            )
            _point(lon, lat)
            yield line, unit
        except RowRejected as exc:
            yield line, exc


def mapsvc_grid(table: Table) -> Iterator[tuple[int, Unit | RowRejected]]:
    import jismesh.utils as ju

    idx = _index(table.header)
    missing = [b for b in BANDS if b not in idx]
    if missing:
        raise ValueError(f"missing band column(s): {', '.join(missing)}")
    for line, cells in table.rows:
        try:
            code = nfkc(_cell(cells, idx, "mesh_code"))
            if not code.isdigit():
                raise RowRejected(f"mesh_code {code!r} is not a JIS X 0410 mesh code")
            try:
                lat, lon = (float(v) for v in ju.to_meshpoint(int(code), 0.5, 0.5))
                level = int(ju.to_meshlevel(int(code)))
            except (ValueError, KeyError, TypeError):
                raise RowRejected(f"mesh_code {code!r} is not a JIS X 0410 mesh code") from None
            bands = {b: count(_cell(cells, idx, b), b) for b in BANDS}
            raw_total = _cell(cells, idx, "total")
            synthetic = nfkc(_cell(cells, idx, "synthetic")).lower() in ("true", "1", "yes")
            unit = Unit(
                key=code,
                kind="mesh",
                name=nfkc(_cell(cells, idx, "name")) or None,
                total=count(raw_total, "total") if nfkc(raw_total) else sum(bands.values()),
                bands=bands,
                lon=lon,
                lat=lat,
                survey_date=survey_date(_cell(cells, idx, "survey_date")),
                area_code=nfkc(_cell(cells, idx, "area_code")) or None,
                properties={"mesh_level": level, **({"synthetic": True} if synthetic else {})},
            )
            _point(lon, lat)
            yield line, unit
        except RowRejected as exc:
            yield line, exc


READERS: dict[str, Reader] = {
    "takamatsu": takamatsu,
    "jp_standard": jp_standard,
    "estat_mesh": estat_mesh,
    "mapsvc_grid": mapsvc_grid,
    "single_year": single_year,
    "area_totals": area_totals,
}
