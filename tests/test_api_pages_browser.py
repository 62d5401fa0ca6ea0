"""The layer API's HTML pages in Debian's Chromium at desktop and phone sizes: the small
map draws the page's items (and the collection's extent) under the site's CSP, with no
script error and no sideways scrolling; the base map fails as offline (a closed port)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import make_app, serve_app
from search_support import add_providers, east

SIZES = [(1366, 900), (390, 844)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_api_pages_draw_their_map_at_desktop_and_phone_sizes(
    browser, sqlite_services, tmp_path: Path, width: int, height: int
):
    add_providers(
        sqlite_services,
        *(
            {
                "source_id": f"c{i}",
                "name": f"番町第{i}クリニック（在宅医療・訪問診療）",
                "lon": east(400 * i),
                "phone": "087-555-0100",
            }
            for i in range(12)
        ),
    )
    app = make_app(
        sqlite_services,
        INDEX_REFRESH_SECONDS=0,
        BASEMAP_URL=f"http://127.0.0.1:{_closed_port()}/{{z}}/{{x}}/{{y}}.png",
    )
    with serve_app(app) as base:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        for path, drawn in [
            ("/api", 0),
            ("/api/collections", 0),
            ("/api/collections/medical", 1),  # the extent as one rectangle
            ("/api/collections/medical/items?limit=10", 10),  # one circle per item
        ]:
            page.goto(base + path)  # a browser's own Accept: the HTML page
            assert page.locator("h1").count() == 1, path
            if drawn:
                page.wait_for_selector("#api-map[data-state=ready]")
                assert page.locator("#api-map path.leaflet-interactive").count() == drawn, path
                page.wait_for_selector("#api-tile-note", state="visible")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
            name = path.strip("/").replace("/", "_").split("?")[0]
            page.screenshot(path=str(tmp_path / f"{name}_{width}.png"), full_page=True)
        page.click("a[rel=next] >> nth=0")
        assert "11〜12 件目" in page.inner_text("#items-count")
        page.click(".api-item-name a >> nth=0")  # the provider's own page, with its point
        page.wait_for_selector("#api-map[data-state=ready]")
        assert page.locator("#api-map path.leaflet-interactive").count() == 1
        assert page.locator("h1").inner_text().startswith("番町第")
        page.screenshot(path=str(tmp_path / f"item_{width}.png"), full_page=True)
        context.close()
        assert errors == []
