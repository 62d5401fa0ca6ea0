"""What-if scenarios and best new sites in Chromium on the demo municipality (issues 11, 12):
a planner places sites by mouse, saves the scenario by name, reloads the page, reopens it
(the same sites come back), saves a second one, compares the two; then asks for the best
k new sites and sees them on the map, optimal beside greedy."""

from __future__ import annotations

import pytest
from conftest import browser_login, make_app, serve_app
from sqlalchemy import select

from mapsvc.core.models import AuditEntry, WhatIfScenario
from mapsvc.core.users import add_user

pytest_plugins = ["demo_support"]
PASSWORD = "correct horse battery"

UNCOVERED = """() => {
  const map = document.getElementById('coverage-map').getBoundingClientRect();
  const out = [];
  document.querySelectorAll('#coverage-map path.uncovered-place').forEach(p => {
    const r = p.getBoundingClientRect();
    const cx = r.x + r.width / 2, cy = r.y + r.height / 2;
    if (cx > map.left + 30 && cx < map.right - 30 && cy > map.top + 30 && cy < map.bottom - 30)
      out.push({x: cx, y: cy, w: r.width});
  });
  out.sort((a, b) => b.w - a.w);
  return out;
}"""


def _sites(page) -> list[str]:
    return page.locator("#whatif-list li span").all_inner_texts()


@pytest.mark.browser
def test_scenarios_saved_reopened_compared_and_best_sites(browser, demo_services) -> None:
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
        page.wait_for_selector("#coverage-map[data-state=ready]", timeout=60_000)
        page.select_option("#cov-capability", "home_visit_medical")
        page.check("input[name=mode][value=radius_km]")
        page.fill("#cov-km", "1")
        page.click("#cov-run")
        page.wait_for_selector("#coverage-map[data-state=ready]")

        # place two sites by mouse on uncovered places; the second gets its own 2 km
        page.click("#whatif-toggle")
        page.locator("#coverage-map").scroll_into_view_if_needed()
        spots = page.evaluate(UNCOVERED)
        assert len(spots) >= 2
        for spot in spots[:1]:
            with page.expect_response(lambda r: "/planner/api/what-if" in r.url):
                page.mouse.click(spot["x"], spot["y"])
        page.wait_for_selector("#coverage-map[data-whatif=ready]")
        one_share = float(page.locator("#whatif-share").get_attribute("data-value"))
        page.click("#whatif-toggle")  # adding off
        page.fill("#scenario-name", "西に1か所")
        with page.expect_response(lambda r: r.url.endswith("/planner/api/scenarios")) as info:
            page.click("#scenario-save")
        assert info.value.status == 201
        page.click("#whatif-toggle")
        page.locator("#coverage-map").scroll_into_view_if_needed()
        marker = page.locator("#coverage-map .leaflet-marker-icon").nth(0).bounding_box()
        assert marker is not None
        mx, my = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"]
        far = next(s for s in page.evaluate(UNCOVERED) if abs(s["x"] - mx) + abs(s["y"] - my) > 80)
        with page.expect_response(lambda r: "/planner/api/what-if" in r.url):
            page.mouse.click(far["x"], far["y"])
        page.wait_for_selector("#coverage-map[data-whatif=ready]")
        page.select_option("#whatif-list li:nth-child(2) select", "km")
        with page.expect_response(lambda r: "/planner/api/what-if" in r.url):
            page.fill("#whatif-list li:nth-child(2) input", "2")
            page.press("#whatif-list li:nth-child(2) input", "Tab")
        page.wait_for_selector("#coverage-map[data-whatif=ready]")
        two_share = float(page.locator("#whatif-share").get_attribute("data-value"))
        assert two_share > one_share
        placed = _sites(page)
        page.fill("#scenario-name", "2か所（東は2km）")
        with page.expect_response(lambda r: r.url.endswith("/planner/api/scenarios")) as info:
            page.click("#scenario-save")
        assert info.value.status == 201

        # reload: nothing placed; reopen the second scenario, the same two sites come back
        page.reload()
        page.wait_for_selector("#coverage-map[data-state=ready]", timeout=60_000)
        page.wait_for_selector("#scenario-list[data-count='2']")
        assert page.locator("#whatif-list li").count() == 0
        page.select_option("#scenario-list", label="2か所（東は2km） (2)")
        with page.expect_response(lambda r: "/planner/api/what-if" in r.url) as info:
            page.click("#scenario-open")
        assert info.value.status == 200
        assert info.value.request.post_data_json["providers"][1]["km"] in ("2", 2, 2.0)
        page.wait_for_selector("#coverage-map[data-whatif=ready]")
        assert _sites(page) == placed
        assert page.input_value("#cov-km") == "1"
        assert page.locator("#whatif-list li:nth-child(2) select").input_value() == "km"
        reopened = float(page.locator("#whatif-share").get_attribute("data-value"))
        assert reopened == pytest.approx(two_share)

        # compare A = one site, B = two sites: side by side and the difference
        page.select_option("#scenario-a", label="西に1か所 (1)")
        page.select_option("#scenario-b", label="2か所（東は2km） (2)")
        page.click("#scenario-compare")
        page.wait_for_selector("#scenario-compare-table[data-state=ready]", timeout=60_000)
        row = page.locator("#scenario-compare-table tr[data-key='75+_covered'] td")
        a, b, diff = (float(row.nth(i).get_attribute("data-value")) for i in range(3))
        assert b > a and diff == b - a
        share = page.locator("#scenario-compare-table tr[data-key='75+_share'] td")
        assert float(share.nth(0).get_attribute("data-value")) == pytest.approx(one_share)
        assert float(share.nth(1).get_attribute("data-value")) == pytest.approx(two_share)

        # best k new sites: shown on the map, optimal >= greedy
        page.fill("#sites-k", "2")
        page.fill("#sites-km", "1")
        with page.expect_response(lambda r: "/planner/api/sites" in r.url) as info:
            page.click("#sites-run")
        assert info.value.status == 200
        page.wait_for_selector("#sites-table[data-state=ready]", timeout=60_000)
        gains = page.locator("#sites-table td[data-value]")
        assert (
            float(gains.nth(0).get_attribute("data-value"))
            >= float(gains.nth(1).get_attribute("data-value"))
            > 0
        )
        assert page.locator("#coverage-map path.optimal-site").count() == 2
        # the input stops k > 10; past it (an old page, a script) the server names the field
        page.eval_on_selector("#sites-k", "e => e.removeAttribute('max')")
        page.fill("#sites-k", "11")
        with page.expect_response(lambda r: "/planner/api/sites" in r.url) as info:
            page.click("#sites-run")
        assert info.value.status == 400
        page.wait_for_selector("#sites-error:not([hidden])")
        assert "k" in page.locator("#sites-error").inner_text()
        assert errors == []
        context.close()
    with demo_services.store.session() as session:
        names = set(session.scalars(select(WhatIfScenario.name)))
        assert names == {"西に1か所", "2か所（東は2km）"}
        saves = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "scenario_save")
        ).all()
        assert len(saves) == 2 and {s.actor for s in saves} == {"planner1"}
