"""Issue 11: a stored snapshot keeps データなし apart from a rate over nobody.

Before, a snapshot stored both "nobody had answered the item" and "the area has no
residents, so no rate" as an empty value, and the trend chart and report showed "–" for
either (and データなし only for today's point, judged by today's answers).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import login_as, make_app, run_cli
from planner_support import add_area, build_planner_store
from sqlalchemy import select, text

from mapsvc.core.db import make_engine, upgrade
from mapsvc.core.models import IndicatorSnapshot, Provider
from mapsvc.core.registry import Change, apply_changes, diff, existing_by_uid
from mapsvc.planner.indicators import compare_snapshots, load_snapshot

MISSING = "データなし（この項目の回答がありません）"
NOBODY = "対象人口なし"
ON_CALL = "per100k:cap:on_call_visit"  # nobody in the planner store answers 往診
CLINICS = "per100k:type:clinic"
DAY = date.today().isoformat()  # a past date would count the registry of then: nobody
TREND = "/planner/api/charts/trend?kind=daily_life_area&code={code}&indicator={indicator}"


@pytest.fixture
def planner(sqlite_services, tmp_path, runner):
    services = build_planner_store(sqlite_services, tmp_path)
    add_area(services, "daily_life_area", "D3", "無人圏域", 5000, 6000)  # nobody lives there
    out = run_cli(runner, services, "indicators", "--snapshot", "--date", DAY)
    assert out.exit_code == 0, out.output
    client = make_app(services).test_client()
    login_as(client, services, "planner")
    return client, services


def _answer_on_call(services) -> None:
    """After the snapshot, a clinic answers 往診: today it is a number, in the snapshot it was not."""
    with services.store.session() as s:
        first = s.scalar(select(Provider.uid).order_by(Provider.id))
        current = existing_by_uid(s, [first])[first]
        caps = {**current["capabilities"], "on_call_visit": {"level": "accept"}}
        before, after = diff(current, {"capabilities": caps})
        apply_changes(s, [Change(current["id"], first, before, after, current)], actor="editor",
                      action="review.approve")  # fmt: skip


def test_snapshot_stores_missing_apart_from_a_zero_denominator(planner) -> None:
    _, services = planner
    with services.store.session() as s:
        rows = {
            (r.area_code, r.indicator): r
            for r in s.scalars(select(IndicatorSnapshot)).all()
            if r.indicator in (ON_CALL, CLINICS)
        }
        frame = load_snapshot(s, DAY).set_index(["area_code", "indicator"])
    unanswered, nobody = rows[("D1", ON_CALL)], rows[("D3", CLINICS)]
    assert unanswered.value is None and nobody.value is None  # both have no number …
    assert unanswered.missing is True and nobody.missing is False  # … for different reasons
    assert nobody.denominator == 0 and unanswered.denominator > 0
    assert bool(frame.loc[("D1", ON_CALL), "missing"]) is True
    assert bool(frame.loc[("D3", CLINICS), "missing"]) is False
    assert rows[("D1", CLINICS)].missing is False and rows[("D1", CLINICS)].value > 0


def test_trend_says_no_data_for_an_unanswered_snapshot_even_when_answered_now(planner) -> None:
    client, services = planner
    _answer_on_call(services)
    spec = client.get(TREND.format(code="D1", indicator=ON_CALL)).get_json()
    assert spec["labels"] == [DAY, "現在"]
    assert spec["rows"][0][:2] == [DAY, "データなし"]
    assert spec["series"][0]["values"][0] is None
    assert spec["rows"][1][1] not in ("データなし", NOBODY, "–")  # answered today: a number
    assert spec["series"][0]["values"][1] > 0
    assert spec["missing"] == MISSING and spec["no_denominator"] is None


def test_trend_and_report_say_no_residents_for_a_rate_over_nobody(planner) -> None:
    client, _ = planner
    spec = client.get(TREND.format(code="D3", indicator=CLINICS)).get_json()
    assert [r[:2] for r in spec["rows"]] == [[DAY, NOBODY], ["現在", NOBODY]]
    assert spec["missing"] is None and spec["no_denominator"].startswith(NOBODY)
    assert spec["series"][0]["values"] == [None, None]
    unanswered = client.get(TREND.format(code="D1", indicator=ON_CALL)).get_json()
    assert [r[1] for r in unanswered["rows"]] == ["データなし", "データなし"]
    assert unanswered["no_denominator"] is None
    report = client.get(
        f"/planner/report/daily_life_area/D3?capability=home_visit_medical&indicator={CLINICS}"
    ).get_data(as_text=True)
    table = re.search(r'<table[^>]*data-chart="trend".*?</table>', report, re.S).group(0)
    assert f'<th scope="row">{DAY}</th><td>{NOBODY}</td>' in table
    assert MISSING not in table and spec["no_denominator"] in report
    report = client.get(
        f"/planner/report/daily_life_area/D1?capability=home_visit_medical&indicator={ON_CALL}"
    ).get_data(as_text=True)
    table = re.search(r'<table[^>]*data-chart="trend".*?</table>', report, re.S).group(0)
    assert f'<th scope="row">{DAY}</th><td>データなし</td>' in table
    assert MISSING in report and NOBODY not in table


def test_snapshots_stored_before_the_state_still_load(db_url) -> None:
    """Rows written at revision 0005 (no ``missing`` column) load after the upgrade: an
    unanswered item was stored without a numerator, a rate over nobody with one."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0005_sites")
        with engine.begin() as conn:
            for code, indicator, value, num, den in (
                ("D1", ON_CALL, None, None, 1200.0),
                ("D3", CLINICS, None, 0.0, 0.0),
                ("D1", CLINICS, 166.67, 2.0, 1200.0),
                ("D1", "count:cap:on_call_visit", None, None, None),
            ):
                conn.execute(
                    text(
                        "INSERT INTO indicator_snapshots (snapshot_date, area_kind, area_code,"
                        " indicator, value, numerator, denominator, created_at) VALUES"
                        " ('2024-04-01', 'daily_life_area', :c, :i, :v, :n, :d,"
                        " CURRENT_TIMESTAMP)"
                    ),
                    {"c": code, "i": indicator, "v": value, "n": num, "d": den},
                )
        upgrade(engine)
        from sqlalchemy.orm import Session

        from mapsvc.planner.indicators import value_state

        with Session(engine) as s:
            frame = load_snapshot(s, "2024-04-01").set_index(["area_code", "indicator"])
            compared = compare_snapshots(s, "2024-04-01", "2024-04-01")
        states = {
            key: value_state(row.value, row.denominator, bool(row.missing))
            for key, row in frame.iterrows()
        }
        assert states == {
            ("D1", ON_CALL): "missing",
            ("D3", CLINICS): "no_denominator",
            ("D1", CLINICS): None,
            ("D1", "count:cap:on_call_visit"): "missing",
        }
        assert frame.loc[("D1", CLINICS), "value"] == 166.67
        on_call = compared[compared["indicator"] == ON_CALL].iloc[0]
        assert bool(on_call["missing_1"]) and bool(on_call["missing_2"])
    finally:
        engine.dispose()
