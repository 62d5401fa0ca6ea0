"""Survey templates round-trip through the generic importer into the review queue."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from survey_support import add_provider, provider_audits, record, submissions

from mapsvc.core.models import ImportRun, RejectedRow
from mapsvc.ingest.reader import read_raw
from mapsvc.upkeep import review
from mapsvc.upkeep.returns import import_returns
from mapsvc.upkeep.survey_templates import (
    template_columns,
    template_csv,
    template_records,
    template_xlsx,
)

CAPS = {
    "ventilator": {"level": "consult", "note": "要相談（夜間）"},
    "contact_methods": {"value": ["phone", "fax"]},
    "home_care_support_clinic": {"value": "enhanced_linked"},
    "dementia_support_doctor": {"level": "unknown"},
    "doctor_meeting_times": {"value": "火曜午後"},
}


def _providers(services):
    a = add_provider(
        services,
        "A",
        capabilities=CAPS,
        fax="087-811-0001",
        service_area={"kind": "radius", "km": 16},
    )
    b = add_provider(services, "B", service_area={"kind": "codes", "codes": ["372013", "372021"]})
    add_provider(services, "N", type="home_nursing", name="テスト訪問看護")
    return a, b


def _template(services, kind):
    with services.store.session() as session:
        records = template_records(session, "clinic")
    build = template_xlsx if kind == "xlsx" else template_csv
    return build(services.taxonomy, "clinic", records)


def _import_review(services, path, tmp_path):
    return import_returns(
        services.store,
        path,
        services.taxonomy,
        actor="editor",
        rejects_path=tmp_path / "rejects.csv",
        instance_path=services.instance_path,
    )


def test_template_columns_follow_the_taxonomy_for_the_type(services):
    keys = [c.key for c in template_columns(services.taxonomy, "pharmacy")]
    assert keys[:4] == ["id", "source_id", "type", "name"]
    assert "sterile_compounding" in keys and "sterile_compounding_note" in keys
    # issue 14 item 4: surveys ask pharmacies about ventilator patients, so ventilator applies;
    # a doctor's home visit still does not
    assert "ventilator" in keys
    assert "home_visit_medical" not in keys  # does not apply to pharmacies
    assert "fax" in keys and "service_area_km" in keys
    with pytest.raises(Exception, match="unknown provider type"):
        template_columns(services.taxonomy, "spaceport")


def test_csv_template_is_utf8_with_bom_and_prefilled(services):
    a, b = _providers(services)
    data = _template(services, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    labels, keys, *body = rows
    assert len(body) == 2  # the two clinics, not the nursing station
    row = dict(zip(keys, next(r for r in body if r[0] == a), strict=True))
    assert row["ventilator"] == "要相談" and row["ventilator_note"] == "要相談（夜間）"
    assert row["contact_methods"] == "電話、FAX"
    assert row["home_care_support_clinic"] == "機能強化型（連携型）"
    assert row["dementia_support_doctor"] == "不明"
    assert row["service_area_km"] == "16" and row["fax"] == "087-811-0001"
    other = dict(zip(keys, next(r for r in body if r[0] == b), strict=True))
    assert other["service_area_codes"] == "372013、372021"
    assert labels[keys.index("ventilator")].startswith("人工呼吸器【専門職のみ公開】")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_unchanged_unsigned_template_rows_are_untouched_not_confirmations(services, tmp_path, kind):
    """Issue 14 item 12 (this test queued every unchanged row as a confirmation before)."""
    a, b = _providers(services)
    path = tmp_path / f"clinic.{kind}"
    path.write_bytes(_template(services, kind))
    before = record(services, a)
    report = _import_review(services, path, tmp_path)
    assert (report.queued, report.untouched, report.rejected) == (0, 2, 0)
    assert (report.inserted, report.updated) == (0, 0)
    assert submissions(services) == []
    assert record(services, a) == before


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_whole_type_template_queues_only_edited_or_signed_rows(services, tmp_path, kind):
    """One edited row and one signed row in a whole-type template: two submissions."""
    a, b = _providers(services)
    extra = [add_provider(services, f"X{i}") for i in range(6)]
    path = tmp_path / f"clinic.{kind}"
    path.write_bytes(_template(services, kind))
    edits = {a: {"fax": "087-811-9999"}, extra[0]: {"respondent_name": "高松花子"}}
    if kind == "xlsx":
        _fill_xlsx(path, edits)
    else:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        keys = rows[1]
        for row in rows[2:]:
            for key, value in edits.get(row[0], {}).items():
                row[keys.index(key)] = value
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        path.write_bytes(out.getvalue().encode("utf-8-sig"))
    report = _import_review(services, path, tmp_path)
    assert (report.queued, report.untouched, report.rejected) == (2, 6, 0)
    assert [s.payload["changes"] for s in submissions(services, extra[0])] == [{}]
    assert submissions(services, extra[0])[0].payload["respondent"]["name"] == "高松花子"
    assert submissions(services, a)[0].payload["changes"] == {"fax": "087-811-9999"}
    with services.store.session() as session:
        from sqlalchemy import select

        run = session.scalars(select(ImportRun).where(ImportRun.status == "review")).one()
        assert run.counts["untouched"] == 6 and run.counts["confirmations"] == 1


def _fill_xlsx(path, edits):
    """Edit cells of a template the way a provider would in Excel: by column key."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    keys = [c.value for c in ws[2]]
    for uid, values in edits.items():
        for row in ws.iter_rows(min_row=3):
            if row[0].value == uid:
                for key, value in values.items():
                    row[keys.index(key)].value = value
    wb.save(path)


def test_filled_xlsx_template_lands_in_the_review_queue_not_the_registry(services, tmp_path):
    a, b = _providers(services)
    path = tmp_path / "clinic.xlsx"
    path.write_bytes(_template(services, "xlsx"))
    _fill_xlsx(
        path,
        {
            a: {
                "ventilator": "受入",
                "ventilator_note": "",
                "fax": "087-811-9999",
                "respondent_name": "高松 太郎",
                "respondent_title": "院長",
            },
            b: {
                "terminal_care": "積極的受入",
                "service_area_minutes": "20",
                "service_area_codes": "",
            },
        },
    )
    before_a, before_b = record(services, a), record(services, b)
    audit_count = len(provider_audits(services, a))
    generation = services.store.generation()
    report = _import_review(services, path, tmp_path)
    assert report.queued == 2 and report.rejected == 0
    # nothing reached the registry
    assert record(services, a) == before_a and record(services, b) == before_b
    assert len(provider_audits(services, a)) == audit_count
    assert services.store.generation() == generation
    sub_a = submissions(services, a)[0]
    assert sub_a.status == "pending" and sub_a.origin == "template"
    assert sub_a.submitted_by == "高松 太郎（院長）"
    assert sub_a.payload["changes"] == {
        "fax": "087-811-9999",
        "capabilities": {"ventilator": {"level": "accept"}},
    }
    assert sub_a.payload["line"] >= 3
    sub_b = submissions(services, b)[0]
    assert sub_b.payload["changes"]["service_area"] == {"kind": "travel_time", "minutes": 20.0}
    assert sub_b.payload["changes"]["capabilities"] == {"terminal_care": {"level": "active"}}
    with services.store.session() as session:
        run = session.get(ImportRun, report.run_id)
        assert run.status == "review"
        assert run.counts == {
            "queued": 2,
            "changes": 2,
            "confirmations": 0,
            "untouched": 0,
            "rejected": 0,
            "rows": 2,
        }
    # approval then applies it, as for the web form
    with services.store.session() as session:
        review.approve(session, sub_a.id, actor="editor")
    rec = record(services, a)
    assert rec["capabilities"]["ventilator"] == {"level": "accept"}
    assert rec["fax"] == "087-811-9999"
    assert rec["confirmed_by"] == "editor"


def test_review_import_rejects_unknown_providers_and_fields_outside_the_survey(services, tmp_path):
    a, b = _providers(services)
    data = _template(services, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    keys = rows[1]
    rows[1] = [*keys, "status"]  # a column providers may not change through the survey
    for row in rows[2:]:
        row.append("suspended" if row[0] == a else "")
    keys = rows[1]
    new_row = [""] * len(keys)
    new_row[keys.index("source_id")] = "NEW-1"
    new_row[keys.index("type")] = "clinic"
    new_row[keys.index("name")] = "新しい診療所"
    rows.append(new_row)
    bogus = list(new_row)
    bogus[0] = "00000000-0000-0000-0000-000000000000"
    bogus[keys.index("source_id")] = "NEW-2"
    rows.append(bogus)
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path = tmp_path / "filled.csv"
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    report = _import_review(services, path, tmp_path)
    # b's row is fine but nobody changed or signed it: untouched, not queued (issue 14)
    assert report.inserted == 0 and report.queued == 0 and report.rejected == 3
    assert report.untouched == 1
    with services.store.session() as session:
        reasons = sorted(r.reason for r in session.query(RejectedRow).all())
    assert any("status cannot be changed through the survey" in r for r in reasons)
    assert any("not a provider in the registry" in r for r in reasons)
    assert any("no provider with id 00000000" in r for r in reasons)
    assert submissions(services, b) == [] and submissions(services, a) == []
    rejects = (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig")
    assert "not a provider in the registry" in rejects


def test_xlsx_template_has_dropdowns_and_text_cells(services, tmp_path):
    _providers(services)
    path = tmp_path / "clinic.xlsx"
    path.write_bytes(_template(services, "xlsx"))
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    keys = [c.value for c in ws[2]]
    col = keys.index("ventilator") + 1
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(col)
    lists = [dv for dv in ws.data_validations.dataValidation if letter + "3" in str(dv.sqref)]
    assert lists and lists[0].formula1 == '"積極的受入,受入,要相談,不可,不明"'
    assert ws.cell(row=3, column=keys.index("fax") + 1).number_format == "@"
    # the importer's reader sees row 2 as the header
    raw = read_raw(path)
    assert raw.rows[1][1][:4] == ["id", "source_id", "type", "name"]


def _full_answers(taxonomy, provider_type):
    """A stored value for every capability that applies to the type (exercises every kind)."""
    caps = {}
    for key, cap in taxonomy.capabilities.items():
        if provider_type not in cap.applies_to:
            continue
        if cap.kind == "level":
            caps[key] = {"level": "consult", "note": "条件あり"}
        elif cap.kind == "flag":
            caps[key] = {"level": "yes"}
        elif cap.kind == "choice":
            caps[key] = {"value": next(iter(cap.options))}
        elif cap.kind == "ranked":
            caps[key] = {"value": list(cap.options)[:2]}
        else:
            caps[key] = {"value": "火曜午後(要予約)"}
    return caps


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_provider_type_round_trips_without_changes(sqlite_services, tmp_path, kind):
    services = sqlite_services
    types = list(services.taxonomy.provider_types)
    for i, provider_type in enumerate(types):
        add_provider(
            services,
            f"T{i}",
            type=provider_type,
            capabilities=_full_answers(services.taxonomy, provider_type),
            contact_hours="平日 9:00-17:00",
            service_area={"kind": "travel_time", "minutes": 20},
        )
    build = template_xlsx if kind == "xlsx" else template_csv
    for provider_type in types:
        with services.store.session() as session:
            records = template_records(session, provider_type)
        path = tmp_path / f"{provider_type}.{kind}"
        path.write_bytes(build(services.taxonomy, provider_type, records))
        report = _import_review(services, path, tmp_path)
        # no change read back from its own template: untouched (issue 14 item 12)
        assert (report.queued, report.untouched, report.rejected) == (0, 1, 0), provider_type
    assert submissions(services) == []
