"""In Chromium (issue 9, items 4 and 5): after an address search the public map asks for a
region snapped to a coarse grid, never a bbox centred on the address; and no page breaks
the Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from test_map_browser import READY, serve

from mapsvc.geo.areas import areas_frame

pytest_plugins = ["demo_support"]
GRID = 0.05


@pytest.mark.browser
def test_map_requests_after_a_search_hold_only_a_coarse_region(browser, demo_services):
    with demo_services.store.session() as session:
        town = areas_frame(session, "daily_life_area").iloc[1]["properties"]["towns"][0]
    with serve(demo_services) as base:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP")
        page = context.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(base + "/")
        page.wait_for_selector(READY)
        urls: list[str] = []
        page.on("request", lambda r: urls.append(r.url) if "/api/collections/" in r.url else None)
        page.fill("#address", f"デモ市{town}3-1")
        page.get_by_role("button", name="探す").click()
        page.wait_for_selector(".centre-name")
        page.wait_for_selector(READY)
        lon, lat = page.evaluate(
            "(() => { const c = JSON.parse(document.getElementById('map-config').textContent);"
            " return [c.search.lon, c.search.lat]; })()"
        )
        boxes = [parse_qs(urlparse(u).query).get("bbox", [""])[0] for u in urls]
        boxes = [b for b in boxes if b]
        assert boxes, urls
        for box in boxes:
            values = [float(v) for v in box.split(",")]
            assert all(abs(v / GRID - round(v / GRID)) < 1e-6 for v in values), box
            minx, miny, maxx, maxy = values
            assert maxx - minx >= GRID and maxy - miny >= GRID
            assert minx <= lon <= maxx and miny <= lat <= maxy
        page.goto(base + "/print?sel=1&layer=medical")
        page.goto(base + "/login")
        assert violations == []
        context.close()
