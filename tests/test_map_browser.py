"""The public map and the professional finder in Debian's Chromium, on the demo city.

Tiles point at a closed local port, so the base map fails exactly as it does offline;
the tests wait on the map's own state (``#map[data-state=ready]``), never on time.
"""

from __future__ import annotations

import csv
import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import make_app, serve_app, wait_js

from mapsvc.core.users import add_user
from mapsvc.geo.areas import areas_frame

pytest_plugins = ["demo_support"]  # demo_services
PASSWORD = "correct horse battery"
READY = "#map[data-state=ready]"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(services: Any) -> Iterator[str]:
    """The demo app with a base map that cannot load (as offline), on a free port."""
    app = make_app(services, BASEMAP_URL=f"http://127.0.0.1:{_closed_port()}/{{z}}/{{x}}/{{y}}.png")
    with serve_app(app) as base:
        yield base


def markers(page: Any) -> int:
    return int(page.get_attribute("#map", "data-markers") or 0)


@pytest.mark.browser
def test_public_map_shows_markers_and_a_filter_changes_them(browser, demo_services):
    with serve(demo_services) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/")
        page.wait_for_selector(READY)
        before = markers(page)
        assert before > 500  # the demo city's providers of the default layers
        assert page.locator(".leaflet-marker-icon").count() > 0
        page.wait_for_selector("#tile-note", state="visible")  # tiles failed, data still shown
        summary_before = page.inner_text("#list-summary")

        page.check("#cap-home_visit_medical")
        page.wait_for_selector(READY)
        after = markers(page)
        assert 0 < after < before
        assert page.inner_text("#list-summary") != summary_before
        # the map's count is the API's count for the same layers and filter
        expected = page.evaluate(
            """async () => {
                const ids = [...document.querySelectorAll('#layer-form input[name=layer]:checked')].map(e => e.value);
                let n = 0;
                for (const id of ids) {
                    const r = await fetch(`/api/collections/${id}/items?cap=home_visit_medical&limit=1`);
                    n += (await r.json()).numberMatched;
                }
                return n;
            }"""
        )
        assert after == expected

        page.uncheck("#cap-home_visit_medical")
        page.uncheck("#layer-care")
        page.wait_for_selector(READY)
        assert markers(page) < before

        # the list is keyboard usable: a row's button opens that provider's popup
        first = page.locator("#provider-list tbody tr th button").first
        name = first.inner_text()
        first.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(".leaflet-popup-content")
        assert name in page.inner_text(".leaflet-popup-content")

        # 200% zoom of this window is a 640 px wide viewport: no sideways scrolling
        page.set_viewport_size({"width": 640, "height": 450})
        wait_js(page, "document.documentElement.scrollWidth <= 640")
        assert page.locator("#provider-list").is_visible()
        assert errors == []
        context.close()


@pytest.mark.browser
def test_address_search_on_a_phone_names_the_right_centre(browser, demo_services):
    with demo_services.store.session() as session:
        area = areas_frame(session, "daily_life_area").iloc[2]
    town, centre = area["properties"]["towns"][0], area["properties"]["center_name"]
    with serve(demo_services) as base:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="ja-JP", is_mobile=True, has_touch=True
        )
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_selector(READY)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.fill("#address", f"デモ市{town}3-1")
        page.get_by_role("button", name="探す").click()
        page.wait_for_selector(".centre-name")
        assert page.inner_text(".centre-name strong") == centre
        assert area["name"] in page.inner_text("#centre")
        assert page.locator("#nearby tbody tr").count() == 20
        page.wait_for_selector(READY)
        assert markers(page) > 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert "3-1" not in page.url and "%" not in page.url  # the address is not in the URL
        context.close()


@pytest.mark.browser
def test_public_map_works_when_the_site_is_mounted_under_a_path(browser, demo_services):
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    app = make_app(
        demo_services, BASEMAP_URL=f"http://127.0.0.1:{_closed_port()}/{{z}}/{{x}}/{{y}}.png"
    )
    with serve_app(DispatcherMiddleware(NotFound(), {"/map": app})) as base:
        page = browser.new_page()
        page.goto(base + "/map/")
        page.wait_for_selector(READY)
        assert markers(page) > 500  # the layers came from /map/api/...
        assert page.get_attribute("#print-link", "href").startswith("/map/print?")
        page.close()


@pytest.mark.browser
def test_professional_logs_in_finds_providers_and_exports_a_shortlist(
    browser, demo_services, tmp_path
):
    with demo_services.store.session() as session:
        add_user(session, "cm1", PASSWORD, "professional")
    with serve(demo_services) as base:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="ja-JP", accept_downloads=True
        )
        page = context.new_page()
        page.goto(base + "/pro/")
        page.wait_for_url("**/login**")
        page.fill("#username", "cm1")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/pro/")
        page.wait_for_selector(READY)

        # a click on the map chooses a place (kept in hidden fields, not in the URL)
        page.click("#map", position={"x": 300, "y": 300})
        assert page.input_value("#point-lon") != ""
        assert "地図上の地点を指定しました" in page.inner_text("#point-status")

        page.fill("#address", "デモ市本町一丁目5-5")
        assert page.input_value("#point-lon") == ""  # the typed address wins
        page.select_option("#cap-home_visit_medical", "accept")
        page.select_option("#cap-night_response", "consult")
        page.click("#finder-submit")
        page.wait_for_selector("#finder-results")
        rows = page.locator("#finder-results li[data-uid]")
        assert rows.count() >= 2
        assert "車での所要時間" in page.inner_text("#order-note")
        reasons = rows.first.locator(".reasons").text_content()
        assert "訪問診療" in reasons and "夜間対応" in reasons
        names = [rows.nth(i).locator(".show-on-map").inner_text() for i in range(2)]
        page.check("#pick-1")
        page.check("#pick-2")
        with page.expect_download() as info:
            page.click("#export-csv")
        path = tmp_path / "shortlist.csv"
        info.value.save_as(path)
        data = path.read_bytes()
        assert data.startswith("\ufeff".encode())
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert [row[1] for row in table[1:]] == names
        assert "直通電話（専門職向け）" in table[0]
        assert "/pro/search" in page.url and "%E6" not in page.url
        context.close()
