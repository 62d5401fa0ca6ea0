"""Files as they are really published, and nothing destroyed (issue 14 items 1, 2, 3, 9).

Each test here fails on the importer before issue 14: a content-sniffed file kind, a
derived id, a short row that used to erase fields, an unterminated quote that used to
pass, an empty cell that used to erase a stored value, CP932 and UTF-8 copies that used
to store differently.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from import_support import read_rejects, records, run_import, snapshot

from mapsvc.core.errors import ImportFailed
from mapsvc.ingest.text import clean

HEADER = (
    "source_id,type,name,address,municipality_code,phone,confirmed_at,hours,notes_for_professions"
)
ROW_A = "a-1,clinic,あおばクリニック,香川県高松市番町1-1,372013,087-000-0001,2026-04-01,月〜金 9:00〜17:00,在宅可"
ROW_B = "b-1,home_nursing,訪問看護そら,香川県高松市番町1-2,372013,087-000-0002,2026-04-01,,"


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _generic(
    tmp_path: Path, name: str, *rows: str, sep: str = ",", encoding: str = "utf-8"
) -> Path:
    lines = [HEADER, *rows]
    return _write(
        tmp_path, name, "\r\n".join(r.replace(",", sep) for r in lines) + "\r\n", encoding
    )


# --- item 1: sniff by content ---------------------------------------------------------


def test_xls_that_is_really_xlsx_loads(sqlite_services, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for line in (HEADER, ROW_A, ROW_B):
        ws.append(line.split(","))
    path = tmp_path / "providers.xls"  # an xlsx named .xls, as municipal portals serve them
    wb.save(path)
    report = run_import(sqlite_services, path, tmp_path)
    assert (report.inserted, report.rejected) == (2, 0)
    assert records(sqlite_services)["a-1"]["name"] == "あおばクリニック"


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_or_semicolon_separated_file_named_csv(
    sqlite_services, tmp_path: Path, sep: str
) -> None:
    path = _generic(tmp_path, "providers.csv", ROW_A, ROW_B, sep=sep)
    report = run_import(sqlite_services, path, tmp_path)
    assert (report.inserted, report.rejected) == (2, 0)
    assert records(sqlite_services)["b-1"]["address"] == "香川県高松市番町1-2"


def test_zipped_csv_loads(sqlite_services, tmp_path: Path) -> None:
    import zipfile

    inner = _generic(tmp_path, "inner.csv", ROW_A, ROW_B)
    path = tmp_path / "providers.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(inner, "providers.csv")
    assert run_import(sqlite_services, path, tmp_path).inserted == 2


def test_multiline_quoted_cell_and_bom(sqlite_services, tmp_path: Path) -> None:
    row = 'a-1,clinic,あおばクリニック,香川県高松市番町1-1,372013,087-000-0001,2026-04-01,"月〜金 9:00〜12:00\r\n土 9:00〜12:00",'
    path = _write(tmp_path, "p.csv", HEADER + "\r\n" + row + "\r\n" + ROW_B + "\r\n", "utf-8-sig")
    report = run_import(sqlite_services, path, tmp_path)
    assert (report.inserted, report.rejected, report.rows) == (2, 0, 2)
    assert records(sqlite_services)["a-1"]["hours"] == "月〜金 9:00〜12:00\n土 9:00〜12:00"


# --- item 2: rows without an id -------------------------------------------------------

STANDARD_OLD = (
    "都道府県コード又は市区町村コード,NO,名称,名称_カナ,医療機関の種類,住所,電話番号\r\n"
    ",,優クリニック,ユウクリニック,無床診療所,柳井市中央１丁目８番８号,0820-22-0317\r\n"
    ",,ウエルネス　クリニック,,無床診療所,柳井市柳井１５４７－１,0820-22-1024\r\n"
    ",,ウエルネス　クリニック,,無床診療所,柳井市柳井１５４７－１,0820-22-1024\r\n"
)


def test_rows_without_id_get_a_stable_derived_id(sqlite_services, tmp_path: Path) -> None:
    path = _write(tmp_path, "iryou.csv", STANDARD_OLD, "cp932")
    report = run_import(sqlite_services, path, tmp_path)
    # two distinct facilities imported; the repeated row is merged into the first, not lost
    assert (report.inserted, report.unchanged, report.rejected) == (2, 1, 0)
    assert report.warnings == {
        "derived id (the row has no id of its own)": 2,
        "repeated row merged into the first row with its id": 1,
    }
    ids = set(records(sqlite_services))
    assert "~優クリニック|柳井市中央1丁目8番8号|clinic" in ids
    # republished with other spacing and half-width digits: the same providers
    again = STANDARD_OLD.replace("ウエルネス　クリニック", "ウエルネスクリニック").replace(
        "柳井市中央１丁目８番８号", "柳井市中央1丁目8番8号"
    )
    report = run_import(sqlite_services, _write(tmp_path, "iryou2.csv", again), tmp_path)
    # the same two providers: the one whose name lost its space is updated, not added
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert set(records(sqlite_services)) == ids


def test_row_ids_when_the_mapping_says_the_order_is_stable(sqlite_services, tmp_path: Path) -> None:
    mapping = _write(
        tmp_path,
        "m.yaml",
        "name: ordered\ntitle: t\nsource: ordered\ndetect: {all: [名称]}\n"
        "derived_id: '@row'\ncolumns: {name: [名称], address: [住所]}\n"
        "type: {fixed: clinic}\n",
    )
    path = _write(tmp_path, "o.csv", "名称,住所\nA医院,高松市1\nB医院,高松市2\n")
    report = run_import(sqlite_services, path, tmp_path, mapping_path=mapping)
    assert report.derived_ids == 2
    assert {k: v["name"] for k, v in records(sqlite_services).items()} == {
        "@row1": "A医院",
        "@row2": "B医院",
    }


def test_same_derived_id_with_other_values_is_a_rejected_duplicate(
    sqlite_services, tmp_path: Path
) -> None:
    text = STANDARD_OLD.replace("0820-22-1024\r\n", "0820-22-9999\r\n", 1)
    path = _write(tmp_path, "iryou.csv", text, "cp932")
    report = run_import(sqlite_services, path, tmp_path)
    assert (report.inserted, report.rejected) == (2, 1)
    assert "duplicate derived id" in read_rejects(tmp_path / "iryou.rejects.csv")[0]["reason"]


# --- item 4: a cell that does not apply is skipped, not the provider -----------------


def test_capability_cell_that_does_not_apply_is_skipped(sqlite_services, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        "source_id,type,name,address,home_visit_medical,home_pharmacy_visit\n"
        "ph-1,pharmacy,みなと薬局,高松市番町1-9,受入,受入\n",
    )
    report = run_import(sqlite_services, path, tmp_path)
    assert (report.inserted, report.rejected, report.skipped_cells) == (1, 0, 1)
    assert report.warnings == {
        "capability home_visit_medical does not apply to provider type pharmacy": 1
    }
    rec = records(sqlite_services)["ph-1"]
    assert rec["capabilities"] == {"home_pharmacy_visit": {"level": "accept"}}
    assert rec["extra"]["skipped: home_visit_medical"] == "受入"  # kept, not lost


# --- item 3: nothing destroyed --------------------------------------------------------


def test_short_row_is_rejected_and_erases_nothing(sqlite_services, tmp_path: Path) -> None:
    run_import(sqlite_services, _generic(tmp_path, "p.csv", ROW_A, ROW_B), tmp_path)
    before = records(sqlite_services)["a-1"]
    # the row lost its last cells (a delimiter dropped, or the file cut short)
    short = "a-1,clinic,あおばクリニック,香川県高松市番町1-1"
    report = run_import(sqlite_services, _generic(tmp_path, "p2.csv", short, ROW_B), tmp_path)
    assert (report.rejected, report.updated) == (1, 0)
    reason = read_rejects(tmp_path / "p2.rejects.csv")[0]
    assert reason["line"] == "2" and "fewer cells than the header (4 of 9)" in reason["reason"]
    after = records(sqlite_services)["a-1"]
    for field in ("municipality_code", "confirmed_at", "phone", "extra", "hours"):
        assert after[field] == before[field]


def test_unterminated_quote_fails_the_file_and_changes_nothing(
    sqlite_services, tmp_path: Path
) -> None:
    run_import(sqlite_services, _generic(tmp_path, "p.csv", ROW_A, ROW_B), tmp_path)
    before = snapshot(sqlite_services)
    broken = 'c-1,clinic,"閉じない引用符クリニック,香川県高松市番町1-3,372013,,,,'
    with pytest.raises(ImportFailed) as info:
        run_import(sqlite_services, _generic(tmp_path, "p2.csv", ROW_B, broken), tmp_path)
    assert "p2.csv: line 3: a quoted cell that starts here is never closed" in info.value.message
    assert snapshot(sqlite_services) == before


def test_empty_cell_leaves_the_stored_value(sqlite_services, tmp_path: Path) -> None:
    run_import(sqlite_services, _generic(tmp_path, "p.csv", ROW_A), tmp_path)
    blanked = "a-1,clinic,あおばクリニック,香川県高松市番町1-1,,,,,"
    report = run_import(sqlite_services, _generic(tmp_path, "p2.csv", blanked), tmp_path)
    assert (report.updated, report.unchanged) == (0, 1)
    rec = records(sqlite_services)["a-1"]
    assert rec["phone"] == "087-000-0001" and rec["municipality_code"] == "372013"
    assert rec["hours"] == "月〜金 9:00〜17:00"


def test_empty_clear_in_the_mapping_erases(sqlite_services, tmp_path: Path) -> None:
    mapping = _write(
        tmp_path,
        "m.yaml",
        "name: clearing\ntitle: t\nsource: generic\nempty: clear\n"
        "detect: {all: [source_id, name]}\n"
        "columns: {source_id: [source_id], name: [name], address: [address], phone: [phone],"
        " type: [type]}\n",
    )
    run_import(sqlite_services, _generic(tmp_path, "p.csv", ROW_A), tmp_path)
    blanked = "a-1,clinic,あおばクリニック,香川県高松市番町1-1,,,,,"
    path = _generic(tmp_path, "p2.csv", blanked)
    report = run_import(sqlite_services, path, tmp_path, mapping_path=mapping)
    assert report.updated == 1
    assert records(sqlite_services)["a-1"]["phone"] is None


# --- item 9: one text normalisation ---------------------------------------------------


def test_cp932_and_utf8_copies_store_identically(tmp_path: Path) -> None:
    from conftest import build_services

    text = (
        "source_id,type,name,address,hours\r\n"
        "a-1,clinic,ﾃｽﾄ　クリニック,高松市番町１ｰ１,月～金 9:00～17:00\r\n"
    )
    stored = []
    for enc in ("cp932", "utf-8"):
        sub = tmp_path / enc
        sub.mkdir()
        services = build_services(sub, f"sqlite:///{sub}/db.sqlite")
        data = text.encode("cp932")  # the published bytes
        # the UTF-8 copy a converter (iconv, nkf, an editor) makes of the Shift_JIS file
        if enc == "utf-8":
            data = data.decode("shift_jis").encode("utf-8")
        (sub / "p.csv").write_bytes(data)
        run_import(services, sub / "p.csv", sub)
        rec = records(services)["a-1"]
        stored.append({k: rec[k] for k in ("name", "address", "hours")})
        again = run_import(services, sub / "p.csv", sub)
        assert (again.updated, again.unchanged) == (0, 1)
    assert (
        stored[0]
        == stored[1]
        == {
            "name": "テスト クリニック",
            "address": "高松市番町1-1",
            "hours": "月〜金 9:00〜17:00",
        }
    )


def test_clean_folds_variants_and_keeps_ascii() -> None:
    assert clean("ＡＢＣ　１２３") == "ABC 123"
    assert clean("5964ｰ1") == "5964-1" == clean("5964ー1") == clean("5964−1")
    assert clean("メディカルセンター") == "メディカルセンター"  # a long vowel stays a long vowel
    assert clean("https://example.jp/~user") == "https://example.jp/~user"
    assert clean("9:00～17:00") == clean("9:00〜17:00")


# --- item 5: answers layout -----------------------------------------------------------

ANSWERS_MAPPING = """
name: city_answers
title: t
source: city-survey
layout: answers
detect: {all: [事業所ID, 設問, 回答]}
answers:
  provider: [事業所ID]
  provider_source: resource-map
  question: [設問]
  answer: [回答]
  text: [記述]
  conflict: strongest
  questions:
    Q1:
      answers:
        A1: {capability: home_visit_medical, level: accept}
        A2: {capability: home_visit_medical, planned: true}
        A3: {capability: home_visit_medical, level: consult}
    Q2: {capability: {clinic: ventilator, home_nursing: tube_feeding}}
    Q3: {service_area: codes}
    Q4:
      answers:
        A1: {capability: terminal_care, planned: true}
    Q9: {ignore: true}
"""


def test_answers_conflicts_planned_per_type_targets_areas_and_ignore(
    sqlite_services, tmp_path: Path
) -> None:
    from import_support import DATA

    run_import(sqlite_services, DATA / "survey_providers.csv", tmp_path, source="resource-map")
    mapping = _write(tmp_path, "a.yaml", ANSWERS_MAPPING)
    rows = [
        "事業所ID,設問,回答,記述",
        "1,Q1,A1,",  # does 訪問診療
        "1,Q1,A2,",  # ... and "plans to start": never lowers the stated level
        "1,Q1,A3,",  # ... and 要相談: a conflict, the strongest stated level wins
        "1,Q2,,受入",
        '1,Q3,,"372013,37202"',
        "1,Q9,X,",
        "1,Q4,A1,",  # only "plans to start": unknown with a note, not a level
        "2,Q2,,要相談",  # the same question targets another capability for this type
        "2,Q1,A1,",  # 訪問診療 does not apply to a nursing station: the cell is skipped
    ]
    path = _write(tmp_path, "answers.csv", "\n".join(rows) + "\n")
    report = run_import(sqlite_services, path, tmp_path, mapping_path=mapping)
    assert report.rows == 9 and report.rejected == 0
    assert report.warnings == {
        "conflicting answers settled by the mapping's rule": 1,
        "capability home_visit_medical does not apply to provider type home_nursing": 1,
    }
    recs = records(sqlite_services, "resource-map")
    one, two = recs["1"], recs["2"]
    assert one["capabilities"]["home_visit_medical"] == {"level": "accept"}
    assert one["capabilities"]["ventilator"] == {"level": "accept"}
    assert one["service_area"] == {"kind": "codes", "codes": ["372013", "37202"]}
    assert one["capabilities"]["terminal_care"] == {"level": "unknown", "note": "予定"}
    assert two["capabilities"]["tube_feeding"] == {"level": "consult"}
    assert "home_visit_medical" not in (two["capabilities"] or {})
    again = run_import(sqlite_services, path, tmp_path, mapping_path=mapping)
    assert (again.updated, again.unchanged) == (0, 9)
