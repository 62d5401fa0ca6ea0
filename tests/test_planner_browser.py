"""The planner view in Chromium on the demo municipality: coverage map, choropleth, what-if."""

from __future__ import annotations

import pytest
from conftest import browser_login, make_app, serve_app

from mapsvc.core.users import add_user

pytest_plugins = ["demo_support"]
PASSWORD = "correct horse battery"


@pytest.mark.browser
def test_coverage_map_choropleth_and_what_if(browser, demo_services) -> None:
    with demo_services.store.session() as session:
        add_user(session, "planner1", PASSWORD, "planner")
    app = make_app(demo_services)
    with serve_app(app) as base:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        browser_login(page, base, "planner1")
        page.wait_for_url(f"{base}/planner/")

        # 1. coverage of 訪問診療 (積極的受入) within 3 minutes' drive
        page.wait_for_selector("#coverage-map[data-state=ready]", timeout=60_000)
        page.select_option("#cov-capability", "home_visit_medical")
        page.select_option("#cov-level", "active")
        page.check("input[name=mode][value=minutes]")
        assert page.input_value("#cov-km") == "16"  # the 16 km rule, its own input
        page.fill("#cov-minutes", "3")
        with page.expect_response(
            lambda r: "/planner/api/coverage" in r.url and "minutes=3" in r.url
        ) as info:
            page.click("#cov-run")
        assert info.value.status == 200
        page.wait_for_selector("#coverage-map[data-state=ready]")
        assert page.locator("#coverage-map path.coverage-area").count() >= 1
        assert page.locator("#coverage-map path.uncovered-place").count() > 10
        before = float(page.locator("#share-75").get_attribute("data-value"))
        assert 0 < before < 1
        assert page.locator("#bands-table tbody tr").count() == 21

        # 1b. side by side: 16 km vs 3 minutes, four quadrants per band, drawn on the map
        page.check("input[name=mode][value=compare]")
        with page.expect_response(
            lambda r: "/planner/api/compare" in r.url and "radius_km=16" in r.url
        ) as info:
            page.click("#cov-run")
        assert info.value.status == 200
        page.wait_for_selector("#coverage-map[data-state=ready]")
        assert page.locator("#compare-table tbody tr").count() == 21
        assert page.locator("#coverage-map path.quadrant-only_radius").count() >= 1
        first = page.locator("#compare-table tbody tr").nth(0).inner_text().replace(",", "")
        total, *quads = (int(x) for x in first.split()[1:])
        assert sum(quads) == total
        page.check("input[name=mode][value=minutes]")
        page.click("#cov-run")
        page.wait_for_selector("#coverage-map[data-state=ready]")
        assert page.locator("#compare-box").is_hidden()

        # 2. the choropleth of an indicator per 日常生活圏域, with a legend and units
        page.wait_for_selector("#choropleth-map[data-state=ready]", timeout=60_000)
        areas = page.locator("#choropleth-map path.choropleth-area")
        assert areas.count() == 6
        fills = {areas.nth(i).get_attribute("fill") for i in range(areas.count())}
        assert len(fills) >= 2  # classes differ between areas
        assert "75歳以上千人" in page.locator("#choropleth-legend").inner_text()

        # 3. what-if: place a hypothetical provider on the largest uncovered place
        page.click("#whatif-toggle")
        page.locator("#coverage-map").scroll_into_view_if_needed()
        target = page.evaluate(
            """() => {
              const map = document.getElementById('coverage-map').getBoundingClientRect();
              let best = null;
              document.querySelectorAll('#coverage-map path.uncovered-place').forEach(p => {
                const r = p.getBoundingClientRect();
                const cx = r.x + r.width / 2, cy = r.y + r.height / 2;
                const inside = cx > map.left + 20 && cx < map.right - 20 && cy > map.top + 20 && cy < map.bottom - 20;
                if (inside && (!best || r.width > best.width)) best = r;
              });
              return {x: best.x + best.width / 2, y: best.y + best.height / 2};
            }"""
        )
        with page.expect_response(lambda r: "/planner/api/what-if" in r.url) as info:
            page.mouse.click(target["x"], target["y"])
        assert info.value.status == 200
        page.wait_for_selector("#coverage-map[data-whatif=ready]")
        after = float(page.locator("#whatif-share").get_attribute("data-value"))
        assert after > before
        assert page.locator("#coverage-map path.whatif-area").count() >= 1
        assert page.locator("#whatif-areas tbody tr").count() >= 1

        # 3b. sites one by one (issue 12 item 4): own km, drag, remove; numbers follow each change
        assert page.locator("#whatif-list li").count() == 1
        with page.expect_response(lambda r: "/planner/api/what-if" in r.url) as info:
            page.mouse.click(target["x"] + 60, target["y"] + 40)
        assert info.value.status == 200
        assert page.locator("#whatif-list li").count() == 2
        page.select_option("#whatif-list li:nth-child(2) select", "km")
        with page.expect_request(lambda r: "/planner/api/what-if" in r.url) as req:
            page.fill("#whatif-list li:nth-child(2) input", "2")
            page.press("#whatif-list li:nth-child(2) input", "Tab")
        sent = req.value.post_data_json["providers"]
        assert len(sent) == 2 and sent[1]["km"] == "2" and "km" not in sent[0]
        page.wait_for_selector("#coverage-map[data-whatif=ready]")
        page.click("#whatif-toggle")  # adding off, so the drag's click places nothing
        marker = page.locator("#coverage-map .leaflet-marker-icon").nth(0)
        marker.scroll_into_view_if_needed()
        box = marker.bounding_box()
        with page.expect_request(lambda r: "/planner/api/what-if" in r.url) as req:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + 80, box["y"] + 60, steps=8)
            page.mouse.up()
        moved = req.value.post_data_json["providers"][0]
        assert (moved["lon"], moved["lat"]) != (sent[0]["lon"], sent[0]["lat"])
        page.wait_for_selector("#coverage-map[data-whatif=ready]")
        with page.expect_request(lambda r: "/planner/api/what-if" in r.url) as req:
            page.click("#whatif-list li:nth-child(1) .whatif-remove")
        assert len(req.value.post_data_json["providers"]) == 1
        assert page.locator("#whatif-list li").count() == 1
        assert page.locator("#coverage-map .leaflet-marker-icon").count() == 1
        page.wait_for_selector("#coverage-map[data-whatif=ready]")

        # 4. the candidates table lists the municipality with its reason
        assert "デモ市" in page.locator("#candidates-table").inner_text()
        page.screenshot(path=str(demo_services.instance_path / "planner.png"), full_page=True)
        assert errors == []
        context.close()
