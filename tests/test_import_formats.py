"""Each shipped format, on small fixtures written from the documented columns (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from import_support import DATA, read_rejects, records, run_import
from sqlalchemy import select

from mapsvc.core.models import AuditEntry, ImportRun


def test_jp_standard_medical(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "jp_standard_medical.csv", tmp_path)
    assert report.format == "jp_standard_medical"
    assert report.summary() == {
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "rows": 4,
    }
    recs = records(services, "jp-standard-medical")
    sakura = recs["3710000001"]
    assert sakura["type"] == "clinic" and sakura["kana"] == "サクラナイカクリニック"
    assert sakura["address"] == "香川県高松市番町一丁目1番1号 2階"  # 方書 appended
    assert sakura["hours"] == "月火水木金 09:00〜18:00"
    assert sakura["fax"] == "087-000-0002" and sakura["municipality_code"] == "372013"
    assert sakura["capabilities"]["night_response"] == {"level": "accept"}
    assert sakura["extra"]["medical_subjects"] == "内科;循環器内科"
    assert recs["3730000002"]["type"] == "dental_clinic"  # every subject dental
    assert recs["3710000003"]["type"] == "hospital"
    # no coordinates: kept, flagged, not placed anywhere
    assert recs["3710000003"]["lon"] is None and recs["3710000003"]["geocode_status"] == "pending"
    # free text the mapping cannot read is kept as a note, level unknown (never 不可)
    assert recs["3710000003"]["capabilities"]["night_response"] == {
        "level": "unknown",
        "note": "24時間対応(救急)",
    }


def test_jp_standard_medical_cp932_with_extra_columns(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "jp_standard_medical_hokkaido_cp932.csv", tmp_path)
    assert report.format == "jp_standard_medical" and report.inserted == 2
    recs = records(services)
    assert recs["0110000001"]["municipality_code"] == "011002"  # 5 digits + check digit
    assert recs["0110000002"]["status"] == "suspended"  # 現存・休止 = 休止
    assert recs["0110000001"]["status"] == "active"


def test_jp_standard_care_header_variants(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "jp_standard_care.csv", tmp_path)
    assert report.format == "jp_standard_care"
    assert report.summary() == {
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "rows": 4,
    }
    recs = records(services)
    assert recs["3760000001"]["type"] == "home_nursing"
    assert recs["3770000002"]["type"] == "care_management"
    assert recs["3770000003"]["type"] == "day_care"
    rejects = read_rejects(tmp_path / "jp_standard_care.rejects.csv")
    assert [r["事業所名"] for r in rejects] == ["福祉用具レンタルみどり"]
    assert "not a home-care resource" in rejects[0]["reason"] and rejects[0]["line"] == "5"


def test_kaigo_kohyo(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "jigyosho_130.csv", tmp_path)
    assert report.format == "kaigo_kohyo" and report.inserted == 2
    rec = records(services, "kaigo-kohyo")["3760100001"]
    assert rec["type"] == "home_nursing"
    assert rec["address"] == "香川県高松市松島町一丁目10-1 松島ビル3階"  # 方書 not appended twice
    assert rec["url"] == "info@example.invalid"  # kept as published (the column holds e-mails)


def test_navii_zero_coordinates_are_missing(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "02-1_clinic_facility_info_20260601.csv", tmp_path)
    assert report.format == "navii_facility"
    assert report.summary() == {
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "rows": 4,
    }
    recs = records(services, "navii")
    assert (
        recs["3720000000002"]["lon"] is None
        and recs["3720000000002"]["geocode_status"] == "pending"
    )
    assert recs["3720000000001"]["municipality_code"] == "372013"
    assert recs["3730000000003"]["type"] == "dental_clinic"
    pharmacy = run_import(services, DATA / "05_pharmacy_20260601.csv", tmp_path)
    assert pharmacy.inserted == 1
    assert records(services, "navii")["3750000000005"]["name"] == "みどり薬局 本店"


def test_generic_csv_with_capabilities_and_professional_fields(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "generic_providers.csv", tmp_path)
    assert report.summary() == {
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "rows": 3,
    }
    recs = records(services, "generic")
    sora = recs["st-001"]
    assert sora["capabilities"]["ventilator"] == {"level": "accept", "note": "夜間は要連絡"}
    assert sora["capabilities"]["night_response"] == {"level": "active"}
    assert sora["capabilities"]["contact_methods"] == {"value": ["phone", "fax"]}
    assert sora["capabilities"]["nursing_24h_addition"] == {"level": "yes"}
    assert (
        sora["phone_direct"] == "087-000-0399"
        and sora["notes_professional"] == "人工呼吸器の新規は月2件まで"
    )
    assert sora["service_area"] == {"kind": "radius", "km": 10.0}
    assert sora["confirmed_at"].date().isoformat() == "2026-04-01"
    assert recs["cl-002"]["type"] == "clinic"  # Japanese type label
    assert recs["cl-002"]["municipality_code"] == "372013"
    assert recs["cl-002"]["capabilities"]["night_response"] == {"level": "unknown"}
    assert recs["cl-002"]["capabilities"]["home_care_support_clinic"] == {
        "value": "enhanced_linked"
    }


def test_generic_geojson(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "generic_providers.geojson", tmp_path)
    assert report.inserted == 2
    ph = records(services)["ph-001"]
    assert (ph["lon"], ph["lat"]) == (134.05, 34.33)
    assert ph["capabilities"]["narcotics_licence"] == {"level": "yes"}


def test_reimport_is_idempotent_and_audited(services, tmp_path: Path) -> None:
    first = run_import(services, DATA / "generic_providers.csv", tmp_path)
    second = run_import(services, DATA / "generic_providers.csv", tmp_path)
    assert first.inserted == 3
    assert second.summary() == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 3,
        "rejected": 0,
        "rows": 3,
    }
    with services.store.session() as session:
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "import.insert")
        ).all()
        runs = session.scalars(select(ImportRun)).all()
    assert len(audits) == 3 and all(
        a.after and a.before is None and a.actor == "cli" for a in audits
    )
    assert len(runs) == 2 and runs[1].counts["unchanged"] == 3


def test_update_changes_only_what_the_file_says(services, tmp_path: Path) -> None:
    run_import(services, DATA / "generic_providers.csv", tmp_path)
    edited = tmp_path / "edited.csv"
    edited.write_text(
        "source_id,type,name,night_response\r\nst-001,home_nursing,訪問看護ステーションそら,要相談\r\n",
        encoding="utf-8",
    )
    report = run_import(services, edited, tmp_path)
    assert report.summary() == {
        "inserted": 0,
        "updated": 1,
        "unchanged": 0,
        "rejected": 0,
        "rows": 1,
    }
    sora = records(services)["st-001"]
    assert sora["capabilities"]["night_response"] == {"level": "consult"}
    assert sora["capabilities"]["ventilator"] == {
        "level": "accept",
        "note": "夜間は要連絡",
    }  # untouched
    assert sora["phone_direct"] == "087-000-0399"  # column absent: untouched
    with services.store.session() as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "import.update")
        ).one()
    assert audit.before == {"capabilities": {"night_response": {"level": "active"}}}
    assert audit.after == {"capabilities": {"night_response": {"level": "consult"}}}


def test_answers_layout(services, tmp_path: Path) -> None:
    run_import(services, DATA / "survey_providers.csv", tmp_path, source="resource-map")
    report = run_import(services, DATA / "survey_answers.csv", tmp_path)
    assert report.format == "resource_map_answers"
    assert report.summary() == {
        "inserted": 0,
        "updated": 6,
        "unchanged": 0,
        "rejected": 3,
        "rows": 9,
    }
    clinic = records(services, "resource-map")["1"]
    assert clinic["capabilities"]["ventilator"] == {"level": "accept"}
    assert clinic["capabilities"]["terminal_care"] == {"level": "accept"}
    assert clinic["capabilities"]["contact_methods"] == {"value": ["phone", "fax", "meeting"]}
    assert clinic["capabilities"]["dementia_support_doctor"] == {"level": "yes"}
    assert clinic["capabilities"]["notes_for_professions"] == {"value": "まず当院へご連絡下さい。"}
    reasons = [r["reason"] for r in read_rejects(tmp_path / "survey_answers.rejects.csv")]
    assert any("'99' is not in the registry" in r for r in reasons)
    assert any("unknown question code 'QX999'" in r for r in reasons)
    assert any("unknown answer code 'AA01999'" in r for r in reasons)
    again = run_import(services, DATA / "survey_answers.csv", tmp_path)
    assert again.summary() == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 6,
        "rejected": 3,
        "rows": 9,
    }


def test_municipality_schema_by_mapping_file_only(services, tmp_path: Path, runner) -> None:
    result = run_cli(
        runner,
        services,
        "import",
        str(DATA / "city_own_schema.csv"),
        "--mapping",
        str(DATA / "city_own_schema.yaml"),
        "--json",
        "--rejects",
        str(tmp_path / "r.csv"),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "rows": 3,
        "derived_ids": 0,
        "skipped_cells": 0,
        "warnings": {},
        "area_warnings": [],
        "placed": {"file": 3, "gazetteer": 0, "pending": 0, "dropped_coordinates": 0},
        "pending_reasons": {},
    }
    recs = records(services, "example-city")
    assert recs["A-01"]["type"] == "home_nursing" and recs["A-01"]["municipality_code"] == "372013"
    assert recs["A-02"]["capabilities"]["night_response"] == {"level": "no"}
    assert recs["A-03"]["capabilities"]["night_response"] == {"level": "consult"}


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("jp_standard_medical.csv", "jp_standard_medical"),
        ("jp_standard_medical_hokkaido_cp932.csv", "jp_standard_medical"),
        ("jp_standard_care.csv", "jp_standard_care"),
        ("jigyosho_130.csv", "kaigo_kohyo"),
        ("02-1_clinic_facility_info_20260601.csv", "navii_facility"),
        ("05_pharmacy_20260601.csv", "navii_facility"),
        ("generic_providers.csv", "generic"),
        ("generic_providers.geojson", "generic"),
        ("survey_answers.csv", "resource_map_answers"),
    ],
)
def test_format_detection(fixture: str, fmt: str, sqlite_services) -> None:
    from mapsvc.ingest.importer import read_table

    _, mapping = read_table(DATA / fixture, sqlite_services.taxonomy, None)
    assert mapping.name == fmt
