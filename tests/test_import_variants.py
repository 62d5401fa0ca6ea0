"""Real files as other publishers write them: the same header and rows, perturbed.

Each case reads a real file's header and first rows in place (../shared/data/real, never
copied into the project), writes them back with one variation publishers really make —
full-width letters, 「(」 for 「（」, spaces inside names, 「※」 notes, unit notes, another
encoding, a tab-separated file named .csv, an xlsx named .xls, a title row above the
header, trailing empty columns and rows — and imports that beside the plain copy: the
variant must be read as the same format and change nothing (0 inserted, 0 updated).

The current 36-column 介護サービス事業所一覧 has no real file in ../shared; its header comes
from tests/data/jp_standard_care_current.csv, copied from 下松市's published
352071_care_service.csv (yamaguchi-opendata.jp), with invented rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REAL, build_services
from import_support import DATA, read_rejects, records, run_import

from mapsvc.ingest.reader import read_raw

SOURCES = {
    "current medical": "municipal/yamaguchi/yamaguchi_352039_医療機関一覧_R060401.csv",
    "older medical": "municipal/yamaguchi/yanai_352128_医療機関一覧_R050401.csv",
    "kaigo kohyo": "national/jigyosho_120.csv",
    "current care": "@data/jp_standard_care_current.csv",
}
ROWS = 25

Table = tuple[list[str], list[list[str]]]


def _source(name: str) -> Table:
    rel = SOURCES[name]
    if rel.startswith("@data/"):
        path = DATA / rel.removeprefix("@data/")
    else:
        path = REAL / rel
        if not path.exists():
            pytest.skip(f"real data not available: {path} (../shared/data/real is absent)")
    raw = read_raw(path)
    header = [c.replace("\ufeff", "") for c in raw.rows[0][1]]
    rows = [cells for _, cells in raw.rows[1 : ROWS + 1]]
    # rows CP932 cannot hold are left out, so every variant carries the same rows
    rows = [r for r in rows if _cp932_ok(r)]
    return header, rows


def _cp932_ok(cells: list[str]) -> bool:
    try:
        "\t".join(cells).encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


# header perturbations: (header) -> header
def _full_width(h: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in h)


def _paren_swap(h: str) -> str:
    return h.translate(str.maketrans({"(": "（", ")": "）", "（": "(", "）": ")"}))


def _spaced(h: str) -> str:
    return f" {h[0]} {h[1:]}\u3000" if len(h) > 1 else h


def _star_note(h: str) -> str:
    return f"{h}※必須" if h else h


def _unit_note(h: str) -> str:
    notes = {
        "緯度": "（世界測地系）",
        "経度": "(世界測地系)",
        "電話番号": "（代表）",
        "定員": "（人）",
    }
    return h + notes.get(h, "")


HEADER_VARIANTS: dict[str, Callable[[str], str]] = {
    "full-width letters": _full_width,
    "（ and ( swapped": _paren_swap,
    "spaces inside and around": _spaced,
    "※ notes": _star_note,
    "unit and datum notes": _unit_note,
}


def _encoded(encoding: str) -> Callable[[list[str], list[list[str]]], tuple[str, bytes]]:
    return lambda h, r: ("variant.csv", _csv(h, r).encode(encoding))


def _tsv(h: list[str], r: list[list[str]]) -> tuple[str, bytes]:
    return "variant.csv", _csv(h, r, "\t").encode("utf-8-sig")


def _xlsx_named_xls(h: list[str], r: list[list[str]]) -> tuple[str, bytes]:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(h)
    for cells in r:
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return "variant.xls", buf.getvalue()


def _title_above(h: list[str], r: list[list[str]]) -> tuple[str, bytes]:
    title = "一覧（令和6年4月1日現在）\r\n\r\n"
    return "variant.csv", (title + _csv(h, r, "\t")).encode("cp932")


def _trailing_empty(h: list[str], r: list[list[str]]) -> tuple[str, bytes]:
    text = _csv([*h, "", ""], [[*cells, "", ""] for cells in r])
    return "variant.csv", (text + "," * (len(h) + 1) + "\r\n\r\n").encode("utf-8")


FILE_VARIANTS = {
    "CP932": _encoded("cp932"),
    "UTF-8 without BOM": _encoded("utf-8"),
    "UTF-8 with BOM": _encoded("utf-8-sig"),
    "tab-separated named .csv": _tsv,
    "xlsx named .xls": _xlsx_named_xls,
    "title row above a TSV header": _title_above,
    "trailing empty columns and rows": _trailing_empty,
}


def _baseline(services, tmp_path: Path, header: list[str], rows: list[list[str]]):
    plain = tmp_path / "plain" / "plain.csv"
    plain.parent.mkdir()
    plain.write_bytes(_csv(header, rows).encode("utf-8-sig"))
    first = run_import(services, plain, tmp_path)
    assert first.inserted > 0, first.summary()
    return first


def _comparable(services) -> dict[str, dict]:
    """Records without the store's own ids and timestamps."""
    return {
        sid: {
            k: v
            for k, v in rec.items()
            if k != "id" and not k.endswith(("created_at", "updated_at"))
        }
        for sid, rec in records(services).items()
    }


def _same_as_plain(services, tmp_path: Path, first, name: str, data: bytes) -> None:
    """The variant stores exactly what the plain copy stored (read into a fresh store, so a
    column the variant loses shows), and importing it over the plain copy changes nothing."""
    variant = tmp_path / "variant" / name
    variant.parent.mkdir()
    variant.write_bytes(data)
    fresh = build_services(tmp_path / "fresh", f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        alone = run_import(fresh, variant, tmp_path)
        assert alone.format == first.format
        assert alone.summary() == first.summary()
        assert _comparable(fresh) == _comparable(services)
    finally:
        fresh.close()
    again = run_import(services, variant, tmp_path)
    assert (again.inserted, again.updated, again.rejected) == (0, 0, first.rejected)


@pytest.mark.real
@pytest.mark.parametrize("variant", sorted(HEADER_VARIANTS))
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_header_variants_read_as_the_plain_file(
    source: str, variant: str, sqlite_services, tmp_path: Path
) -> None:
    header, rows = _source(source)
    first = _baseline(sqlite_services, tmp_path, header, rows)
    perturbed = [HEADER_VARIANTS[variant](h) for h in header]
    if perturbed == header:
        pytest.skip(f"the {source} header has nothing this variant changes")
    _same_as_plain(
        sqlite_services, tmp_path, first, "variant.csv", _csv(perturbed, rows).encode("utf-8-sig")
    )


@pytest.mark.real
@pytest.mark.parametrize("variant", sorted(FILE_VARIANTS))
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_file_variants_read_as_the_plain_file(
    source: str, variant: str, sqlite_services, tmp_path: Path
) -> None:
    header, rows = _source(source)
    first = _baseline(sqlite_services, tmp_path, header, rows)
    name, data = FILE_VARIANTS[variant](header, rows)
    _same_as_plain(sqlite_services, tmp_path, first, name, data)


def test_current_care_schema(sqlite_services, tmp_path: Path) -> None:
    """The 36-column 自治体標準 介護サービス事業所一覧 (header as 下松市 publishes it)."""
    report = run_import(sqlite_services, DATA / "jp_standard_care_current.csv", tmp_path)
    assert report.format == "jp_standard_care"
    assert report.summary() == {
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "rows": 5,
    }
    recs = records(sqlite_services)
    first = recs["KG0000100001"]  # no 事業所番号: the publisher's ID
    assert (first["type"], first["municipality_code"]) == ("care_management", "372013")
    assert first["address"] == "香川県高松市番町一丁目1-1" and first["lat"] == 34.343
    assert first["hours"] == "月火水木金"
    nursing = recs["3760000201"]  # 事業所番号 wins over ID
    assert nursing["type"] == "home_nursing"
    assert nursing["address"] == "香川県高松市福岡町二丁目3-4(うみビル2階)"  # 方書 not twice
    home = recs["KG0000100003"]  # split address columns only, no coordinates
    assert home["type"] == "residential" and home["address"] == "香川県高松市林町200"
    assert home["geocode_status"] == "pending"
    (reject,) = read_rejects(tmp_path / "jp_standard_care_current.rejects.csv")
    assert reject["line"] == "5" and "not a home-care resource" in reject["reason"]


def test_older_care_schema_as_a_prefecture_publishes_it(sqlite_services, tmp_path: Path) -> None:
    """A prefecture's list writes its own name in the code column and leaves NO empty: the
    rows import by 事業所番号; the name costs the code cell, not the row."""
    report = run_import(sqlite_services, DATA / "jp_standard_care_pref_cp932.csv", tmp_path)
    assert report.format == "jp_standard_care"
    assert (report.inserted, report.rejected, report.skipped_cells) == (2, 0, 2)
    recs = records(sqlite_services)
    assert recs["3770000301"]["type"] == "home_help"
    assert recs["3770000301"].get("municipality_code") is None
    assert recs["3770000301"]["extra"]["skipped: 都道府県コード又は市区町村コード"] == "香川県"
    assert any("'香川県' is not a code" in reason for reason in report.warnings)
