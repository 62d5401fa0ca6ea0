"""Issue 11 items 4 and 10 in Chromium on the demo municipality: the planner's charts with
their tables, and the printed report as one A4 PDF page without raw keys or 5.131e+04."""

from __future__ import annotations

import re

import pytest
from conftest import browser_login, make_app, serve_app

from mapsvc.core.users import add_user

pytest_plugins = ["demo_support"]
PASSWORD = "correct horse battery"
RAW = re.compile(
    r"\b(?:per100k|per1000_75|covered75|population|count):|home_visit_medical|\btotal\b"
    r"|\d(?:\.\d+)?[eE][+-]?\d"
)


def _snapshots_and_target(services, code: str) -> None:
    """Two dated snapshots and a target, the way `mapsvc indicators` stores them."""
    from mapsvc.planner.analyses import run_indicators
    from mapsvc.planner.indicators import save_snapshot, set_target

    _, frame = run_indicators(services)
    with services.store.session() as session:
        for year in range(2018, 2026):  # eight years: more than the report's table holds
            scaled = frame.assign(value=frame["value"] * (year - 2010) / 16)
            save_snapshot(session, scaled, f"{year}-04-01")
        set_target(session, "municipality", code, "covered75:home_visit_medical", 0.95, "test")


def _nobody_answers(services, key: str) -> None:
    """Drop one item from every provider's answers (高松市's open data has none at all)."""
    from sqlalchemy import select

    from mapsvc.core.db import bump_generation
    from mapsvc.core.models import Provider

    with services.store.session() as session:
        for provider in session.scalars(select(Provider)):
            provider.capabilities = {
                k: v for k, v in (provider.capabilities or {}).items() if k != key
            }
        bump_generation(session, "providers")


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def _login(browser, base, viewport):
    context = browser.new_context(viewport=viewport, locale="ja-JP")
    page = context.new_page()
    browser_login(page, base, "planner1")
    page.wait_for_url(f"{base}/planner/")
    return context, page


@pytest.mark.browser
def test_charts_on_the_page_and_report_on_one_a4_page(browser, demo_services) -> None:
    from mapsvc.geo.areas import areas_frame

    with demo_services.store.session() as session:
        add_user(session, "planner1", PASSWORD, "planner")
        code = str(areas_frame(session, "municipality")["code"].iloc[0])
    _snapshots_and_target(demo_services, code)
    _nobody_answers(demo_services, "night_response")
    shots = demo_services.instance_path
    app = make_app(demo_services)
    with serve_app(app) as base:
        context, page = _login(browser, base, {"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.wait_for_selector("#coverage-chart[data-state=ready]", timeout=90_000)
        # coverage by age band: a Chart.js canvas and the table beside it, Japanese labels
        assert page.locator("#chart-coverage").is_visible()
        table = page.locator("#bands-table").inner_text()
        assert "85歳以上" in table and "合計" in table and "75歳以上" in table
        assert page.locator("#bands-table tbody tr").count() == 21
        drawn = page.evaluate("() => Chart.getChart('chart-coverage').data.datasets.length")
        assert drawn == 2  # covered and uncovered, stacked
        page.wait_for_selector("#trend-chart[data-state=ready]", timeout=90_000)
        page.wait_for_selector("#sma-chart[data-state=ready]")
        # the trend of the chosen municipality indicator vs its target (read-only)
        page.select_option("#ind-kind", "municipality")
        page.select_option("#ind-indicator", "covered75:home_visit_medical")
        with page.expect_response(lambda r: "/charts/trend" in r.url) as info:
            page.click("#indicator-form button[type=submit]")
        assert info.value.status == 200
        page.wait_for_selector("#trend-chart[data-state=ready]")
        trend = page.locator("#trend-chart table").inner_text()
        assert "2018-04-01" in trend and "2025-04-01" in trend and "現在" in trend
        assert "95.0%" in trend  # the target, as a percentage
        labels = page.evaluate("() => Chart.getChart('chart-trend').data.labels")
        assert labels[:2] == ["2018-04-01", "2019-04-01"] and len(labels) == 9
        # one municipality loaded: the comparison says why it is absent
        notes = page.locator("#sma-chart .chart-notes").inner_text()
        assert "市町村が1つ" in notes
        assert page.locator("#chart-sma").is_hidden()
        page.screenshot(path=str(shots / "planner-charts-1366.png"), full_page=True)
        # nobody answered 夜間対応: the chart and its table say データなし, never 0 or 0.0%
        page.select_option("#cov-capability", "night_response")
        with page.expect_response(lambda r: "/planner/api/coverage" in r.url) as info:
            page.click("#cov-run")
        assert info.value.status == 200
        page.wait_for_selector("#coverage-chart[data-missing=true]")
        rows = page.locator("#bands-table tbody tr")
        total = rows.filter(has_text="合計").inner_text()
        assert total.count("データなし") == 3 and "0.0%" not in total
        assert "データなし" in page.locator("#coverage-chart .chart-notes").inner_text()
        series = page.evaluate(
            "() => Chart.getChart('chart-coverage').data.datasets.map(d => d.label)"
        )
        assert series == ["データなし（人口）"]
        page.locator("#coverage-chart").screenshot(path=str(shots / "planner-nodata.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("#trend-chart").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "planner-charts-390.png"), full_page=True)
        assert errors == []

        # the report: one A4 page, Japanese headings, no raw keys, no scientific notation
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(
            f"{base}/planner/report/municipality/{code}?capability=home_visit_medical"
            "&indicator=covered75:home_visit_medical"
        )
        text = page.locator("body").inner_text()
        assert not RAW.search(text), RAW.search(text)
        assert "合計" in text and "作成日" in text and "出典" in text
        assert "demo-250m" in text  # the population dataset it used
        assert page.locator("svg.report-map .scale-bar").count() == 1
        assert page.locator("svg.report-map path.area-outline").count() == 1
        assert page.locator("svg[data-chart=trend] circle.point").count() == 7  # 6 + 現在
        assert "直近6時点" in page.locator("table[data-chart=trend] caption").inner_text()
        assert page.locator("svg[data-chart=coverage_bands] rect.bar-covered").count() >= 5
        page.emulate_media(media="print")
        page.screenshot(path=str(shots / "report-print.png"), full_page=True)
        pdf = page.pdf(format="A4", print_background=True)
        (shots / "report.pdf").write_bytes(pdf)
        assert _pages(pdf) == 1, f"report is {_pages(pdf)} A4 pages"
        # a daily-life area on a 3-minute drive, in English too: still one page
        page.emulate_media(media="screen")
        for lang in ("ja", "en"):
            page.goto(
                f"{base}/planner/report/daily_life_area/{code}-02?capability=home_visit_medical"
                f"&minutes=3&indicator=covered75:home_visit_medical&lang={lang}"
            )
            assert page.locator("svg.report-map circle.uncovered").count() > 0
            assert not RAW.search(page.locator("body").inner_text())
            pdf = page.pdf(format="A4", print_background=True)
            assert _pages(pdf) == 1, f"{lang} report is {_pages(pdf)} A4 pages"
        context.close()
