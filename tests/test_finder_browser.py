"""The finder, the public map and the other pages in Debian's Chromium at 1366×900 and
390×844, with axe-core (vendored, tests/vendor) injected by the test: errors keep the form
and take focus, results beside the map, keyboard reach, row/pin linking, the phone toggle,
saved shortlists, the start map and its tile note; no serious/critical axe violation."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import browser_login, make_app, serve_app

from mapsvc.core.users import add_user

pytest_plugins = ["demo_support"]
PASSWORD = "correct horse battery"
READY = "#map[data-state=ready]"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.10.2" / "axe.min.js"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
SHOTS = os.environ.get("MAPSVC_TEST_SCREENSHOTS")  # a folder, to look at the pages


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def axe_serious(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page (rule id and first target)."""
    found = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ' ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }"""
    )
    return list(found)


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def _context(browser: Any, size: str) -> Any:
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="ja-JP",
        is_mobile=phone,
        has_touch=phone,
    )
    context.add_init_script(path=str(AXE))  # through the browser, not the page's CSP
    return context


def _login(page: Any, base: str, user: str) -> None:
    browser_login(page, base, user)
    page.wait_for_load_state()


@pytest.fixture
def served(demo_services):
    with demo_services.store.session() as session:
        add_user(session, "cm1", PASSWORD, "professional")
        add_user(session, "ed1", PASSWORD, "editor")
    app = make_app(
        demo_services, BASEMAP_URL=f"http://127.0.0.1:{_closed_port()}/{{z}}/{{x}}/{{y}}.png"
    )
    with serve_app(app) as base:
        yield base


@pytest.mark.browser
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_finder_errors_results_keyboard_and_shortlist(browser, served, size):
    base = served
    context = _context(browser, size)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, base, "cm1")
    page.goto(base + "/pro/")
    page.wait_for_selector(READY)
    # the start map shows every provider, and the tile note beside the map says so truly
    assert int(page.get_attribute("#map", "data-dots")) > 500
    page.wait_for_selector("#tile-note", state="visible")
    note, box = page.locator("#tile-note").bounding_box(), page.locator("#map").bounding_box()
    assert note["y"] >= box["y"] + box["height"] - 1  # below the map, not over it
    assert "事業所の位置は表示されています" in page.inner_text("#tile-note")
    assert page.locator("h1").count() == 1
    shot(page, f"pro-start-{size}")
    assert axe_serious(page) == []

    # a misspelled address keeps every chosen need; focus goes to the field in error
    page.fill("#address", "デモ市存在しない町")
    page.select_option("#cap-ventilator", "accept")
    page.select_option("#cap-night_response", "consult")
    page.click("#finder-submit")
    page.wait_for_selector("#err-address")
    assert page.input_value("#cap-ventilator") == "accept"
    assert page.input_value("#cap-night_response") == "consult"
    assert page.evaluate("document.activeElement.id") == "address"
    err, field = (
        page.locator("#err-address").bounding_box(),
        page.locator("#address").bounding_box(),
    )
    assert abs(field["y"] - err["y"]) < 120  # next to the field, not 1,600 px down
    shot(page, f"pro-error-{size}")
    assert axe_serious(page) == []

    # a search: focus on the results heading, beside the map on a wide screen
    page.fill("#address", "デモ市本町一丁目5-5")
    page.select_option("#cap-ventilator", "")
    page.click("#finder-submit")
    page.wait_for_selector("#finder-results")
    page.wait_for_selector(READY, state="attached")  # on a phone the list shows, not the map
    assert page.evaluate("document.activeElement.id") == "results-title"
    heading = page.locator("#results-title").bounding_box()
    if size == "desktop":
        mapbox = page.locator("#map").bounding_box()
        assert heading["y"] < 300 and heading["x"] > mapbox["x"] + mapbox["width"] - 5
        first = page.locator("#finder-results .result").first
        assert first.bounding_box()["height"] < 160  # compact rows (was ~550 px)
        # hovering a row marks its pin, and the pin marks its row
        first.hover()
        assert page.get_attribute("#map", "data-active") == "1"
        page.locator(".leaflet-marker-icon.pin-active").wait_for()
        page.mouse.move(5, 5)
    else:
        # phones: the list, with a toggle to the map
        assert page.locator("#view-toggle").is_visible()
        assert not page.locator("#map").is_visible()
        page.click("#view-toggle [data-view=map]")
        assert page.locator("#map").is_visible()
        shot(page, f"pro-results-map-{size}")
        page.click("#view-toggle [data-view=list]")
    shot(page, f"pro-results-{size}")
    assert axe_serious(page) == []

    # keyboard: from the address field, submit and the first result in <= 5 Tabs
    page.focus("#address")
    tabs = 0
    while page.evaluate("document.activeElement.id") != "finder-submit" and tabs < 5:
        page.keyboard.press("Tab")
        tabs += 1
    assert page.evaluate("document.activeElement.id") == "finder-submit"
    while page.evaluate("document.activeElement.id") != "to-results" and tabs < 5:
        page.keyboard.press("Tab")
        tabs += 1
    page.keyboard.press("Enter")  # 結果へ移動
    page.keyboard.press("Tab")
    tabs += 1
    assert tabs <= 5
    assert page.evaluate("document.activeElement.id") == "pick-1"

    # the keyboard sets the search point: focus the map, Enter
    page.fill("#address", "")
    page.evaluate("document.getElementById('point-lon').value = ''")
    if size == "phone":
        page.click("#view-toggle [data-view=map]")
    page.focus("#map")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    assert page.input_value("#point-lon") != ""
    if size == "phone":
        page.click("#view-toggle [data-view=list]")

    # save a shortlist and reopen it
    page.check("#pick-1")
    page.fill("#shortlist-title", "退院調整")
    page.click("#save-shortlist")
    page.wait_for_selector("#saved-items")
    assert page.locator("#saved-items li").count() == 1
    assert "退院調整" in page.inner_text("h1")
    assert "本町一丁目5-5" not in page.content()
    assert axe_serious(page) == []
    assert errors == []
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_empty_search_says_why_and_the_order_note_is_true(browser, served, size):
    context = _context(browser, size)
    page = context.new_page()
    _login(page, served, "cm1")
    page.goto(served + "/pro/")
    page.wait_for_selector(READY)
    page.fill("#address", "デモ市本町一丁目")
    page.select_option("#cap-ventilator", "active")
    page.select_option("#cap-home_visit_medical", "active")
    page.locator("#types-box summary").click()
    page.check("input[name=type][value=pharmacy]")
    page.click("#finder-submit")
    page.wait_for_selector("#why-few")
    text = page.inner_text("#why-few")
    assert "だけで" in text and "この条件を外すと" in text
    assert "道路網が読み込まれていない" not in page.inner_text("#order-note")
    shot(page, f"pro-empty-{size}")
    assert axe_serious(page) == []
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_public_planner_and_admin_pages_pass_axe(browser, served, size):
    context = _context(browser, size)
    page = context.new_page()
    page.goto(served + "/")
    page.wait_for_selector(READY)
    assert page.locator("h1").count() == 1
    # disclosure blocks show a mark
    mark = page.evaluate("getComputedStyle(document.querySelector('summary'), '::before').content")
    assert mark not in ("none", "normal", "")
    shot(page, f"public-{size}")
    assert axe_serious(page) == []
    _login(page, served, "ed1")
    for path in ("/planner/", "/admin/"):
        page.goto(served + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1, path
        shot(page, f"{path.strip('/')}-{size}")
        assert axe_serious(page) == [], path
    context.close()
