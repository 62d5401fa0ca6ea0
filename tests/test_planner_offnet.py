"""The planner's coverage results say when providers are off the road network (issue:
the coverage JSON's ``off_network`` was not shown on the page). The store of
tests/test_coverage_by.py: a 900 m grid network, two clinics on it and a clinic offering
夜間対応 16 km east of the grid, far off the road network."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import browser_login, login_as, make_app, serve_app
from test_coverage_by import two_cities  # noqa: F401  (the fixture)

from mapsvc.core.users import add_user

PASSWORD = "correct horse battery"
READY = "#coverage-map[data-state=ready]"


@pytest.fixture
def services(sqlite_services):
    """One back-end is enough for a page test (two_cities builds on ``services``)."""
    return sqlite_services


def _run(page: Any, capability: str, mode: str, minutes: str = "15") -> None:
    page.select_option("#cov-capability", capability)
    page.check(f"input[name=mode][value={mode}]")
    page.fill("#cov-minutes", minutes)
    with page.expect_response(lambda r: "/planner/api/coverage" in r.url) as info:
        page.click("#cov-run")
    assert info.value.status == 200
    page.wait_for_selector(READY)


def test_coverage_api_counts_the_provider_off_the_network(two_cities) -> None:  # noqa: F811
    client = make_app(two_cities).test_client()
    login_as(client, two_cities, "planner")
    own = client.get("/planner/api/coverage?capability=night_response:consult").get_json()
    assert own["off_network"] == {"fallback_radius": 1, "left_out": 0}
    timed = client.get("/planner/api/coverage?capability=night_response:consult&minutes=5")
    assert timed.get_json()["off_network"] == {"fallback_radius": 0, "left_out": 1}
    html = client.get("/planner/").get_data(as_text=True)
    assert 'id="cov-offnet"' in html and "js/planner_offnet.js" in html


@pytest.mark.browser
def test_coverage_notes_providers_off_the_road_network(browser, two_cities) -> None:  # noqa: F811
    with two_cities.store.session() as session:
        add_user(session, "planner1", PASSWORD, "planner")
    with serve_app(make_app(two_cities)) as base:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        browser_login(page, base, "planner1")
        page.wait_for_url(f"{base}/planner/")
        page.wait_for_selector(READY, timeout=60_000)
        note = page.locator("#cov-offnet")

        # each provider's own rule: the far clinic falls back to its type's radius
        _run(page, "night_response", "default")
        assert note.is_visible()
        assert note.inner_text() == "道路網の外にある 1 事業所は半径で計算しました。"
        # the note sits with the coverage results, next to the summary
        assert page.locator(".planner-results #cov-summary + #cov-offnet").count() == 1

        # a travel time set on the form leaves it out
        _run(page, "night_response", "minutes", "5")
        assert note.inner_text() == (
            "道路網の外にある 1 事業所は計算から外れています（移動時間を指定したため）。"
        )

        # providers all on the network: no note
        _run(page, "home_visit_medical", "default")
        assert note.is_hidden()
        assert errors == []
        context.close()
