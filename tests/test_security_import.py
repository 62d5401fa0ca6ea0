"""Import validation (issue 9, item 7): values that do not fit their column are rejected rows
on both back-ends; concurrent imports get a clear message; no traceback prints row values."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from import_support import read_rejects, records, run_import
from sqlalchemy.exc import IntegrityError

from mapsvc.core.errors import ImportFailed
from mapsvc.core.import_lock import import_lock
from mapsvc.core.record_check import record_problem
from mapsvc.ingest import importer

HEADER = "source_id,type,name,address,municipality_code,lat,lon,fax\n"
FAX = "087-555-0199"


def _file(tmp_path: Path, extra: str = "") -> Path:
    good = "".join(
        f"ok-{i},clinic,診療所{i},香川県高松市番町1-{i},372013,34.34,134.04,{FAX}\n"
        for i in range(50)
    )
    path = tmp_path / "sizes.csv"
    path.write_text(HEADER + good + extra, encoding="utf-8")
    return path


def test_over_long_values_are_rejects_with_line_and_reason(services, tmp_path):
    extra = (
        f"long-name,clinic,{'長' * 301},香川県高松市番町9,372013,34.34,134.04,\n"
        f"long-fax,clinic,診療所X,香川県高松市番町9,372013,34.34,134.04,{'0' * 101}\n"
    )
    report = run_import(services, _file(tmp_path, extra), tmp_path)
    assert (report.inserted, report.rejected) == (50, 2)
    rejects = {r["line"]: r["reason"] for r in read_rejects(tmp_path / "sizes.rejects.csv")}
    assert rejects == {
        "52": "name: 301 characters, at most 300",
        "53": "fax: 101 characters, at most 100",
    }
    assert len(records(services)) == 50


def test_record_problem_checks_types():
    assert record_problem({"name": "ok", "lon": 134.0}) is None
    assert record_problem({"lon": "east"}) == "lon: expected a number"
    assert record_problem({"lat": float("nan")}) == "lat: expected a finite number"
    assert record_problem({"name": 3}) == "name: expected text"


def test_a_second_concurrent_import_gets_a_clear_message(services, tmp_path):
    path = _file(tmp_path)
    with services.store.session() as session, import_lock(session):
        with pytest.raises(ImportFailed) as err:
            run_import(services, path, tmp_path)
    assert "another import is running" in err.value.message
    assert records(services) == {}
    assert run_import(services, path, tmp_path).inserted == 50  # the lock was released


def test_a_store_error_never_prints_row_values(sqlite_services, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise IntegrityError("INSERT INTO providers ...", {"fax": FAX}, Exception(f"dup {FAX}"))

    monkeypatch.setattr(importer, "apply_plan", refuse)
    with pytest.raises(ImportFailed) as err:
        run_import(sqlite_services, _file(tmp_path), tmp_path)
    text = "".join(traceback.format_exception(err.value))
    assert "IntegrityError" in text and FAX not in text
