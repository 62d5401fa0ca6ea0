"""Population tables as cities publish them: single-year ages, totals only, subtotal rows.

Formats recognised here (after the fixed-header ones of :mod:`._population_formats`):

``single_year``  one row per area × age (``地域名, 年齢, 男, 女, 計``; the area column may be
                 absent for a whole-municipality table). Ages ``0``/``0歳`` … ``100歳以上``
                 are summed into the five-year bands; five-year rows (``0～4歳``) are used
                 when an area has no single years for that band and are otherwise subtotals;
                 ``計``/``合計``/``総数`` rows and groups that do not fit a band (``0-14歳``)
                 are subtotals, skipped and reported. ``年齢不詳`` counts in the total only.
``area_totals``  an area name and a population column, no ages (e.g. 越前市's 町別人口 with
                 schema.org-style URI headers): bands are unknown (all 0, listed in the
                 report), the total is the file's figure.

:func:`find_subtotals` finds subtotal rows among area units (``越前市`` above its districts,
``東地区`` above its towns, ``合計``): by name, and by structure (a row whose count is the
sum of the rows it heads, for every group of the file, or the whole file). They are never
loaded, so nothing is counted twice. :func:`split_branch` takes the branch-office prefix
off an area name (``本庁_牟礼`` → ``本庁``, ``牟礼``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mapsvc.core.codes import header_key, nfkc

if TYPE_CHECKING:
    from mapsvc.geo._population_formats import RowRejected, Table, Unit

AREA_COLUMNS = (
    "地域名", "町名", "町丁名", "町丁目名", "町丁字名", "町字名", "大字名", "字名", "地区名",
    "地区", "行政区名", "行政区", "校区名", "校区", "地域", "町丁", "町別", "区域名",
    "regionname", "area", "region", "name", "area_name",
)  # fmt: skip
TOTAL_COLUMNS = (
    "総人口", "人口総数", "人口計", "人口", "総数", "計", "合計", "男女計", "人口(人)",
    "totalpopulation", "population", "total",
)  # fmt: skip
MALE_COLUMNS = ("男", "男性", "男性人口", "男(人)", "male", "men")
FEMALE_COLUMNS = ("女", "女性", "女性人口", "女(人)", "female", "woman", "women")
AGE_COLUMNS = ("年齢", "年齢区分", "年齢階級", "歳", "age", "年齢(歳)", "各歳")
CODE_COLUMNS = ("地域コード", "町丁コード", "町字id", "町丁目コード", "area_code", "regioncode")
MUNICIPALITY_COLUMNS = ("都道府県コード又は市区町村コード", "市区町村コード", "団体コード")
DATE_COLUMNS = ("調査年月日", "基準日", "基準年月日", "時点", "surveydate")
HOUSEHOLD_COLUMNS = ("世帯数", "世帯", "number_of_households", "households", "numberofhouseholds")

_SUBTOTAL_NAME = re.compile(r"(合計|小計|総計|総数|計|全体|全域|全市|全町|全村)$")
_BRANCH = re.compile(
    r"^(本庁|本所|.{1,15}?(?:総合支所|支所|出張所|支庁|行政センター|市民センター|地域センター|"
    r"事務所|分室|庁舎))\s*[_:/・]\s*(.+)$"
)
_AGE_ONE = re.compile(r"(\d+)\s*歳?")
_AGE_OVER = re.compile(r"(\d+)\s*歳?\s*以上")
_AGE_RANGE = re.compile(r"(\d+)\s*歳?\s*[-~〜～－ー]\s*(\d+)\s*歳?")
_UNKNOWN_AGE = ("不詳", "年齢不詳", "不明")


def column_key(raw: str) -> str:
    """Header key; a URI header (``https://…/rdf/#population``) becomes its last part."""
    key = header_key(raw).lstrip("#")
    if "://" in key:
        key = re.split(r"[#/]", key.rstrip("/#"))[-1]
    return key


def _find(keys: Sequence[str], names: Sequence[str]) -> int | None:
    wanted = [header_key(n) for n in names]
    for name in wanted:  # in order of preference
        for i, key in enumerate(keys):
            if key == name:
                return i
    for i, key in enumerate(keys):  # ``echizen_city_area``, ``地域名称``
        if any(key.endswith(f"_{n}") or key.startswith(n) for n in wanted if len(n) > 2):
            return i
    return None


def detect(cells: Sequence[str]) -> str | None:
    """``single_year`` or ``area_totals`` when this row is such a header, else None."""
    keys = [column_key(c) for c in cells]
    has_count = any(
        _find(keys, cols) is not None for cols in (TOTAL_COLUMNS, MALE_COLUMNS, FEMALE_COLUMNS)
    )
    if not has_count:
        return None
    if _find(keys, AGE_COLUMNS) is not None:
        return "single_year"
    if _find(keys, AREA_COLUMNS) is not None and _find(keys, TOTAL_COLUMNS) is not None:
        return "area_totals"
    return None


def split_branch(name: str) -> tuple[str | None, str]:
    """(branch office, area name) of ``本庁_牟礼``; (None, name) when there is no prefix."""
    m = _BRANCH.match(nfkc(name))
    if not m:
        return None, name.strip()
    return m.group(1), m.group(2).strip()


def is_subtotal_name(name: str, municipality_names: Sequence[str] = ()) -> bool:
    text = re.sub(r"\s+", "", nfkc(name))
    _branch, bare = split_branch(text)
    if bare and _SUBTOTAL_NAME.search(bare):
        return True
    return bool(text) and text in {re.sub(r"\s+", "", nfkc(m)) for m in municipality_names if m}


def age_band(age: int) -> str:
    if age >= 85:
        return "85+"
    low = age // 5 * 5
    return f"{low}-{low + 4}"


def parse_age(raw: str) -> tuple[str, int, int] | None:
    """("one", a, a), ("over", a, 999), ("range", lo, hi), ("unknown", 0, 0), ("total"…)."""
    text = re.sub(r"\s+", "", nfkc(raw))
    if not text:
        return None
    if text in ("計", "合計", "総数", "総計", "小計", "男女計", "全年齢"):
        return ("total", 0, 0)
    if any(text.startswith(u) for u in _UNKNOWN_AGE):
        return ("unknown", 0, 0)
    for kind, pattern in (("over", _AGE_OVER), ("range", _AGE_RANGE), ("one", _AGE_ONE)):
        m = pattern.fullmatch(text)
        if m:
            lo = int(m.group(1))
            hi = 999 if kind == "over" else lo if kind == "one" else int(m.group(2))
            return (kind, lo, hi)
    return None


def _value(cells: list[str], i: int | None) -> str:
    return cells[i] if i is not None and i < len(cells) else ""


def single_year(table: Table) -> Iterator[tuple[int, Unit | RowRejected]]:
    """Sum the rows of each area into the 18 bands (see the module docstring)."""
    from mapsvc.geo._population_formats import BANDS, RowRejected, Unit, count, survey_date

    keys = [column_key(h) for h in table.header]
    col = {
        name: _find(keys, names)
        for name, names in (
            ("area", AREA_COLUMNS), ("age", AGE_COLUMNS), ("total", TOTAL_COLUMNS),
            ("male", MALE_COLUMNS), ("female", FEMALE_COLUMNS), ("code", CODE_COLUMNS),
            ("municipality", MUNICIPALITY_COLUMNS), ("date", DATE_COLUMNS),
        )
    }  # fmt: skip
    areas: dict[str, dict[str, Any]] = {}
    for line, cells in table.rows:
        area = nfkc(_value(cells, col["area"])) if col["area"] is not None else "全域"
        raw_age = _value(cells, col["age"])
        age = parse_age(raw_age)
        if not area:
            yield line, RowRejected("the area name is empty")
            continue
        if age is None:
            yield line, RowRejected(f"age {raw_age!r} is not an age (0, 0歳, 100歳以上, 0～4歳)")
            continue
        try:
            male = (
                count(_value(cells, col["male"]), "男") if nfkc(_value(cells, col["male"])) else 0
            )
            female = (
                count(_value(cells, col["female"]), "女")
                if nfkc(_value(cells, col["female"]))
                else 0
            )
            raw_total = _value(cells, col["total"])
            n = count(raw_total, "計") if nfkc(raw_total) else male + female
        except RowRejected as exc:
            yield line, exc
            continue
        entry = areas.setdefault(
            area,
            {"line": line, "rows": [], "cells": cells},
        )
        entry["rows"].append((line, age, n, male, female))
    for area, entry in areas.items():
        singles = {a for _ln, (k, a, _h), *_ in entry["rows"] if k == "one"}
        bands = dict.fromkeys(BANDS, 0)
        male = female = unknown = 0
        skipped: list[str] = []
        for _ln, (kind, lo, hi), n, m, f in entry["rows"]:
            fits = kind in ("one", "over") and (lo >= 85 or kind == "one")
            if kind == "range" and lo % 5 == 0 and (hi == lo + 4 or (lo == 85 and hi > 85)):
                covered = any(lo <= a <= hi for a in singles)
                fits = not covered
                label = f"{lo}-{hi}歳"
            elif kind == "over":
                fits = lo >= 85 and not any(a >= lo for a in singles)
                label = f"{lo}歳以上"
            else:
                label = {"total": "計", "unknown": "年齢不詳"}.get(kind, f"{lo}-{hi}歳")
            if kind == "one":
                bands[age_band(lo)] += n
            elif kind == "unknown":
                unknown += n
            elif fits:
                bands[age_band(lo)] += n
            else:
                skipped.append(label)
                continue
            male, female = male + m, female + f
        branch, name = split_branch(area)
        cells = entry["cells"]
        code = nfkc(_value(cells, col["code"])) or None
        unit = Unit(
            key=code or area,
            kind="town",
            name=name,
            total=sum(bands.values()) + unknown,
            bands=bands,
            survey_date=survey_date(_value(cells, col["date"])),
            area_code=code,
            properties={
                "municipality_code": nfkc(_value(cells, col["municipality"])) or None,
                "male": male,
                "female": female,
                **({"branch": branch} if branch else {}),
                **({"unknown_age": unknown} if unknown else {}),
                **({"age_subtotals_skipped": skipped} if skipped else {}),
            },
        )
        yield entry["line"], unit


def area_totals(table: Table) -> Iterator[tuple[int, Unit | RowRejected]]:
    """One unit per row: area name and population, bands unknown."""
    from mapsvc.geo._population_formats import BANDS, RowRejected, Unit, count, survey_date

    keys = [column_key(h) for h in table.header]
    area_i, total_i = _find(keys, AREA_COLUMNS), _find(keys, TOTAL_COLUMNS)
    male_i, female_i = _find(keys, MALE_COLUMNS), _find(keys, FEMALE_COLUMNS)
    code_i, muni_i = _find(keys, CODE_COLUMNS), _find(keys, MUNICIPALITY_COLUMNS)
    house_i, date_i = _find(keys, HOUSEHOLD_COLUMNS), _find(keys, DATE_COLUMNS)
    for line, cells in table.rows:
        try:
            raw = nfkc(_value(cells, area_i))
            if not raw:
                raise RowRejected(f"{table.header[area_i or 0]} is empty")
            branch, name = split_branch(raw)
            code = nfkc(_value(cells, code_i)) or None
            props: dict[str, Any] = {"municipality_code": nfkc(_value(cells, muni_i)) or None}
            for label, i in (("male", male_i), ("female", female_i), ("households", house_i)):
                if nfkc(_value(cells, i)):
                    props[label] = count(_value(cells, i), label)
            if branch:
                props["branch"] = branch
            props["bands_unknown"] = True
            yield (
                line,
                Unit(
                    key=code or raw,
                    kind="town",
                    name=name,
                    total=count(_value(cells, total_i), table.header[total_i or 0]),
                    bands=dict.fromkeys(BANDS, 0),
                    survey_date=survey_date(_value(cells, date_i)),
                    area_code=code,
                    properties=props,
                ),
            )
        except RowRejected as exc:
            yield line, exc


# ---- subtotal rows ----------------------------------------------------------------------


def _tile(totals: Sequence[int], header_first: bool) -> list[int] | None:
    """Heads of groups tiling the rows (each head = sum of the rows it heads), or None."""
    order = list(range(len(totals)))
    if not header_first:
        order.reverse()
    heads: list[int] = []
    sizes: list[int] = []
    p = 0
    while p < len(order):
        target, acc, j = totals[order[p]], 0, p + 1
        while j < len(order) and acc < target:
            acc += totals[order[j]]
            j += 1
        if acc != target or j == p + 1:
            return None
        while j < len(order) and totals[order[j]] == 0:  # empty towns stay in the group
            j += 1
        heads.append(order[p])
        sizes.append(j - p - 1)
        p = j
    if len(heads) < 2 or sum(s >= 2 for s in sizes) * 2 < len(sizes):
        return None
    return heads


def find_subtotals(
    names: Sequence[str], totals: Sequence[int], municipality_names: Sequence[str] = ()
) -> dict[int, str]:
    """Positions of subtotal rows -> why (by name, grand total, or group heads)."""
    out = {
        i: "subtotal by name"
        for i, n in enumerate(names)
        if is_subtotal_name(n, municipality_names)
    }
    rest = [i for i in range(len(names)) if i not in out]
    ends = [rest[0], rest[-1]] if len(rest) > 2 else []
    for grand in ([], *([e] for e in dict.fromkeys(ends))):
        rows = [i for i in rest if i not in grand]
        vals = [totals[i] for i in rows]
        heads: list[int] = []
        for header_first in (True, False):
            tiled = _tile(vals, header_first)
            if tiled is not None:
                heads = [rows[k] for k in tiled]
                break
        leaves = sum(totals[i] for i in rows if i not in heads)
        if grand and totals[grand[0]] != leaves:
            continue
        if not grand and not heads:
            continue
        for i in grand:
            out[i] = "total of the whole file"
        for i in heads:
            out[i] = "sum of the rows it heads"
        break
    return out
