"""Issue 11 items 4 and 10: chart data from the server (coverage by age band, trend against
target, 二次医療圏 comparison), データなし instead of 0, and the printable report's text."""

from __future__ import annotations

import re

import pytest
from conftest import login_as, make_app
from planner_support import add_area, build_planner_store

NODATA = "データなし"
RAW = re.compile(
    r"\b(?:per100k|per1000_75|covered75|population|count):|home_visit_medical|\btotal\b"
    r"|\d(?:\.\d+)?[eE][+-]?\d"
)


@pytest.fixture
def planner(sqlite_services, tmp_path):
    build_planner_store(sqlite_services, tmp_path)
    app = make_app(sqlite_services)
    client = app.test_client()
    login_as(client, sqlite_services, "planner")
    return client, sqlite_services


def test_coverage_chart_stacks_covered_and_uncovered_per_band(planner) -> None:
    client, _ = planner
    body = client.get("/planner/api/coverage?capability=home_visit_medical&minutes=1").get_json()
    chart = body["chart"]
    assert chart["kind"] == "stacked_bar" and chart["labels"][0] == "0〜4歳"
    assert chart["labels"][-1] == "85歳以上" and len(chart["labels"]) == 18
    covered, uncovered = chart["series"]
    rows = {r[0]: r for r in chart["rows"]}
    by_band = {b["band"]: b for b in body["bands"]}
    for band, label in (("80-84", "80〜84歳"), ("85+", "85歳以上")):
        j = chart["labels"].index(label)
        assert covered["values"][j] + uncovered["values"][j] == by_band[band]["total"]
        assert covered["values"][j] == by_band[band]["covered"]
    total = by_band["total"]
    assert rows["合計"][1] == f"{total['total']:,}"  # thousands separators, 合計 not "total"
    assert rows["合計"][4] == f"{total['covered'] / total['total'] * 100:.1f}%"
    assert chart["missing"] is None


def test_unanswered_item_is_no_data_in_chart_and_table_not_zero(planner) -> None:
    """Nobody answered 夜間対応: the chart shows the band's people as データなし (grey),
    the table says データなし, never 0 or 0.0%."""
    client, _ = planner
    chart = client.get("/planner/api/coverage?capability=night_response&minutes=1").get_json()[
        "chart"
    ]
    assert chart["missing"].startswith(NODATA)
    assert [s["key"] for s in chart["series"]] == ["unknown"]
    total = next(r for r in chart["rows"] if r[0] == "合計")
    assert total[2:] == [NODATA, NODATA, NODATA]
    assert all("0.0%" not in row for row in chart["rows"])
    # the same on an indicator: 往診 (nobody answered) per 10万人 is データなし, not 0.00
    trend = client.get(
        "/planner/api/charts/trend?kind=daily_life_area&code=D1&indicator=per100k:cap:on_call_visit"
    ).get_json()
    assert trend["rows"][-1][:2] == ["現在", NODATA] and trend["series"][0]["values"][-1] is None
    assert trend["missing"].startswith(NODATA)


def test_trend_shows_snapshots_and_target_read_only(planner) -> None:
    from mapsvc.planner.analyses import run_indicators
    from mapsvc.planner.indicators import save_snapshot, set_target

    client, services = planner
    url = "/planner/api/charts/trend?kind=daily_life_area&code=D1&indicator=covered75:home_visit_medical"
    empty = client.get(url).get_json()
    assert empty["labels"] == ["現在"] and "--snapshot" in empty["absent"]
    assert "--target" in empty["target_note"]
    _, frame = run_indicators(services)
    with services.store.session() as session:
        save_snapshot(session, frame.assign(value=0.25), "2024-04-01")
        save_snapshot(session, frame.assign(value=0.5), "2025-04-01")
        set_target(session, "daily_life_area", "D1", "covered75:home_visit_medical", 0.9, "cli")
    spec = client.get(url).get_json()
    assert spec["labels"] == ["2024-04-01", "2025-04-01", "現在"]
    assert spec["series"][0]["values"][:2] == [25.0, 50.0] and spec["unit"] == "%"
    assert spec["target"]["value"] == 90.0 and spec["target"]["text"] == "90.0%"
    assert spec["rows"][0] == ["2024-04-01", "25.0%", "90.0%"]
    assert spec["absent"] is None and "訪問診療" in spec["title"]
    bad = client.get("/planner/api/charts/trend?kind=daily_life_area&code=D1&indicator=nope:x")
    assert bad.status_code == 400 and bad.get_json()["field"] == "indicator"
    assert (
        client.get("/planner/api/charts/trend?kind=daily_life_area").get_json()["field"] == "code"
    )
    missing = client.get("/planner/api/charts/trend?kind=daily_life_area&code=ZZ")
    assert missing.status_code == 404


def test_medical_area_comparison_absent_with_one_municipality_then_drawn(planner) -> None:
    client, services = planner
    url = "/planner/api/charts/medical-area?indicator=count:type:clinic"
    one = client.get(url).get_json()
    assert one["labels"] == [] and "市町村が1つ" in one["absent"]
    # a neighbour in the same 二次医療圏 (parent_code), east of the first
    with services.store.session() as session:
        from sqlalchemy import update

        from mapsvc.core.models import Area

        session.execute(update(Area).where(Area.kind == "municipality").values(parent_code="3701"))
    add_area(services, "municipality", "372021", "丸亀市", 2000, 4000, parent_code="3701")
    add_area(services, "secondary_medical_area", "3701", "高松圏域", -1000, 4000)
    with services.store.session() as session:  # as `mapsvc areas import` does
        from mapsvc.core.db import bump_generation

        bump_generation(session, "areas")
    spec = client.get(url).get_json()
    assert spec["absent"] is None and spec["labels"] == ["高松市", "丸亀市"]
    assert "高松圏域" in spec["title"]
    clinics = spec["series"][0]["values"]
    assert clinics == [2.0, 0.0]  # both clinics are in 高松市: 0 is a real count here
    assert spec["rows"] == [["高松市", "2"], ["丸亀市", "0"]]
    assert spec["reference"]["label"] == "高松圏域全体" and spec["reference"]["text"] == "2"
    rate = client.get(url.replace("count:", "per100k:")).get_json()
    assert rate["rows"][1] == ["丸亀市", "–"]  # nobody lives there: no rate, not 0
    report = client.get(
        "/planner/report/municipality/372013?capability=home_visit_medical&indicator=count:type:clinic"
    ).get_data(as_text=True)
    svg = re.search(r'<svg[^>]*data-chart="medical_area".*?</svg>', report, re.S).group(0)
    heights = [float(h) for h in re.findall(r'class="bar-value"[^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 2 and heights[0] > 0 and heights[1] == 0.0  # a real 0 is a 0 bar
    assert "高松圏域全体 2" in svg and "丸亀市" in report


def test_report_has_labels_sources_outline_and_no_raw_keys(planner) -> None:
    client, _ = planner
    html = client.get(
        "/planner/report/municipality/372013?capability=home_visit_medical&radius_km=0.3"
    ).get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(title|style)>.*?</\1>", " ", html, flags=re.S))
    assert not RAW.search(text), RAW.search(text)
    assert "合計" in text and "75歳以上" in text and "作成日" in text and "出典" in text
    assert "訪問診療（件/10万人）" in text and "%" in text
    assert "grid" in text  # population dataset name
    assert 'class="scale-bar"' in html and 'class="area-outline"' in html
    assert 'data-chart="coverage_bands"' in html  # the chart, as inline SVG
    # 往診: nobody answered, so the key indicators say データなし, not 0.00
    assert re.search(r"往診（件/10万人）</th><td>データなし", html)
