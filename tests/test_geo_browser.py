"""Both maps without tiles (issue 10 item 6), in Debian's Chromium at 1366×900 and 390×844:
every request off this site is aborted (as offline), and the maps still draw the
municipality outline, the 日常生活圏域 and the towns from the store, under the providers,
with a layer control in Japanese and a tile note that says truly what is drawn; the
finder's start map shows the providers and a click on an area still sets the place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import browser_login, make_app, serve_app, wait_js

from mapsvc.core.users import add_user

pytest_plugins = ["demo_support"]  # demo_services
PASSWORD = "correct horse battery"
READY = "#map[data-state=ready]"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
SHOTS = os.environ.get("MAPSVC_TEST_SCREENSHOTS")  # a folder, to look at the maps
# the demo city: 1 outline, 6 日常生活圏域, 60 towns
KINDS = {"municipality": 1, "daily_life_area": 6, "town": 60}


@pytest.fixture
def served(demo_services):
    with demo_services.store.session() as session:
        add_user(session, "cm1", PASSWORD, "professional")
    # the default base map (地理院タイル on the internet): the browser blocks it below
    with serve_app(make_app(demo_services)) as base:
        yield base


def _offline_page(browser: Any, base: str, size: str) -> tuple[Any, Any, list[str], list[str]]:
    """A page whose every request off this site fails as offline; (context, page, page
    errors, blocked URLs)."""
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="ja-JP",
        is_mobile=phone,
        has_touch=phone,
    )
    blocked: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(base):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors, blocked


def _paths(page: Any, kind: str) -> int:
    return int(page.locator(f".leaflet-areas-pane path.area-{kind}").count())


def _wait_geography(page: Any, extra: int = 0) -> None:
    """Wait for the map and its geography: the demo city's areas plus ``extra`` lines."""
    page.wait_for_selector(READY)
    wait_js(
        page,
        "document.getElementById('map').dataset.areas !== undefined"
        " && document.querySelectorAll('.leaflet-areas-pane path.area-town').length > 0",
    )
    assert page.get_attribute("#map", "data-areas") == str(sum(KINDS.values()) + extra)
    page.wait_for_selector("#tile-note", state="visible")


def _check_drawn_under_markers(page: Any) -> None:
    for kind, count in KINDS.items():
        assert _paths(page, kind) == count, kind  # towns too: without tiles they are the map
    z = page.evaluate(
        """() => ['areas', 'overlay', 'marker'].map(n =>
            +getComputedStyle(document.querySelector('.leaflet-' + n + '-pane')).zIndex)"""
    )
    assert z[0] < z[1] < z[2]  # under the finder's dots and every provider pin
    # the outline really is on screen, not an empty path
    box = page.locator(".leaflet-areas-pane path.area-municipality").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100


def _check_note(page: Any, providers_text: str) -> None:
    note, mapbox = page.locator("#tile-note").bounding_box(), page.locator("#map").bounding_box()
    assert mapbox["y"] + mapbox["height"] - 1 <= note["y"] <= mapbox["y"] + mapbox["height"] + 20
    text = page.inner_text("#tile-note")
    assert "背景地図を読み込めません" in text and providers_text in text
    assert "市区町村の境界、日常生活圏域、町丁・字を線で表示しています" in text


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.locator("#map").scroll_into_view_if_needed()
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def _control(page: Any, size: str) -> Any:
    """The map's area control (a <details>, folded on a phone: opened by keyboard here)."""
    box = page.locator(".area-control")
    assert box.locator("summary").inner_text().strip() == "境界の表示"
    if size == "phone":
        assert box.locator("details").get_attribute("open") is None  # folded, the map stays free
        box.locator("summary").focus()
        page.keyboard.press("Enter")
    assert box.locator("details").get_attribute("open") is not None
    return box


@pytest.mark.browser
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_public_map_draws_the_geography_without_tiles(browser, served, size):
    context, page, errors, blocked = _offline_page(browser, served, size)
    page.goto(served + "/")
    _wait_geography(page)
    assert any("cyberjapandata.gsi.go.jp" in url for url in blocked)  # tiles were refused
    assert int(page.get_attribute("#map", "data-markers") or 0) > 500
    _check_drawn_under_markers(page)
    _check_note(page, "事業所の位置は表示されています")
    # clusters, counts per cell and area lines: a colour no provider layer has; counts shown
    colours = page.evaluate(
        """() => {
            const cfg = JSON.parse(document.getElementById('map-config').textContent);
            const rgb = c => { const d = document.createElement('i'); d.style.color = c;
                document.body.appendChild(d); const v = getComputedStyle(d).color; d.remove();
                return v.match(/\\d+/g).slice(0, 3).map(Number); };
            const cell = document.createElement('div');
            cell.className = 'cell-count';
            cell.innerHTML = '<span>12</span>';
            document.body.appendChild(cell);
            const bg = el => getComputedStyle(el).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number);
            const cluster = document.querySelector('.cluster-icon span');
            const out = {
                layers: cfg.layers.map(l => rgb(l.color)),
                areas: [...new Set([...document.querySelectorAll('.leaflet-areas-pane path')]
                    .map(p => getComputedStyle(p).stroke))].map(rgb),
                cluster: bg(cluster), clusterText: cluster.textContent,
                cell: bg(cell.firstChild), cellText: cell.textContent,
            };
            cell.remove();
            return out;
        }"""
    )
    assert colours["clusterText"][:1].isdigit() and colours["cellText"] == "12"
    # (the areas are lines, the clusters filled squares with a white edge: shapes differ too)
    for mine in [colours["cluster"], colours["cell"], *colours["areas"]]:
        for layer in colours["layers"]:
            distance = sum((a - b) ** 2 for a, b in zip(mine, layer, strict=True)) ** 0.5
            assert distance > 60, (mine, layer)
    # 日常生活圏域 carry their names on the map
    labels = page.locator(".leaflet-areaLabels-pane .area-label").all_inner_texts()
    assert len(labels) == KINDS["daily_life_area"] and all(labels)
    # ... readable: painted over the cluster squares and pins (taps go through them to the
    # markers), under tooltips and popups
    z = page.evaluate(
        """() => ['marker', 'areaLabels', 'tooltip', 'popup'].map(n =>
            +getComputedStyle(document.querySelector('.leaflet-' + n + '-pane')).zIndex)"""
    )
    assert z[0] < z[1] < z[2] < z[3], z
    caught = page.evaluate(
        """() => [...document.querySelectorAll('.leaflet-areaLabels-pane .area-label')].filter(l => {
            const b = l.getBoundingClientRect();
            const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
            return hit && hit.closest('.leaflet-areaLabels-pane');
        }).length"""
    )
    assert caught == 0
    _shot(page, f"geo-public-{size}")

    # the layer control, in Japanese; hiding a kind removes its lines and the note follows
    box = _control(page, size)
    labels = [s.strip() for s in box.locator("label").all_inner_texts()]
    assert labels == ["市区町村の境界", "日常生活圏域", "町丁・字"]
    box.locator("label", has_text="日常生活圏域").click()  # a tap on the label, as on a phone
    assert _paths(page, "daily_life_area") == 0
    assert "日常生活圏域" not in page.inner_text("#tile-note")
    assert "市区町村の境界、町丁・字を線で表示しています" in page.inner_text("#tile-note")
    box.locator("label", has_text="日常生活圏域").click()
    assert _paths(page, "daily_life_area") == KINDS["daily_life_area"]

    # every provider type unticked: the note no longer claims providers are shown
    if size == "phone":
        page.click("#filter-box summary")  # folded on a phone
    for layer in page.locator("#layer-form input[name=layer]").all():
        layer.uncheck()
        page.wait_for_selector(READY)
    assert page.get_attribute("#map", "data-markers") == "0"
    note = page.inner_text("#tile-note")
    assert "事業所の位置は表示されています" not in note
    assert "表示する種類をすべて外しているため、事業所は表示していません" in note
    assert "市区町村の境界、日常生活圏域、町丁・字を線で表示しています" in note
    # and no boundary either: the note names no lines
    for label in ["市区町村の境界", "日常生活圏域", "町丁・字"]:
        box.locator("label", has_text=label).click()
    note = page.inner_text("#tile-note")
    assert "線で表示" not in note and "背景地図を読み込めません" in note
    page.locator("#layer-form input[name=layer]").first.check()
    page.wait_for_selector(READY)
    assert int(page.get_attribute("#map", "data-markers") or 0) > 0
    assert "事業所の位置は表示されています" in page.inner_text("#tile-note")
    assert errors == []
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_finder_start_map_shows_providers_and_areas_without_tiles(browser, served, size):
    context, page, errors, blocked = _offline_page(browser, served, size)
    browser_login(page, served, "cm1")
    page.wait_for_load_state()
    page.goto(served + "/pro/")
    _wait_geography(page)
    assert any("cyberjapandata.gsi.go.jp" in url for url in blocked)
    # something to click before any search: every provider as a dot, on top of the areas
    assert int(page.get_attribute("#map", "data-dots")) > 500
    _check_drawn_under_markers(page)
    dots, areas = page.evaluate(
        """() => ['startDots', 'areas'].map(n =>
            +getComputedStyle(document.querySelector('.leaflet-' + n + '-pane')).zIndex)"""
    )
    assert dots > areas
    _check_note(page, "事業所の位置は表示されています")
    _shot(page, f"geo-pro-start-{size}")

    # a click inside a town (the towns take hover for their names) still sets the place
    page.locator("#map").scroll_into_view_if_needed()
    x, y = page.evaluate(
        """() => {  // the middle of a town well inside the map, under no control
            const m = document.getElementById('map').getBoundingClientRect();
            for (const p of document.querySelectorAll('.leaflet-areas-pane path.area-town')) {
                const b = p.getBoundingClientRect(), x = b.x + b.width / 2, y = b.y + b.height / 2;
                if (x > m.x + 60 && x < m.right - 60 && y > m.y + 150 && y < m.bottom - 40
                    && document.elementFromPoint(x, y) === p) return [x, y];
            }
            return [null, null];
        }"""
    )
    assert x is not None
    page.mouse.click(x, y)
    assert page.input_value("#point-lon") != "" and page.input_value("#point-lat") != ""

    # after a search the result map keeps the geography
    page.fill("#address", "デモ市本町一丁目5-5")
    page.click("#finder-submit")
    page.wait_for_selector("#finder-results")
    if size == "phone":
        page.click("#view-toggle [data-view=map]")
    _wait_geography(page)
    assert _paths(page, "municipality") == 1
    assert "検索した地点と結果の事業所は表示されています" in page.inner_text("#tile-note")
    _shot(page, f"geo-pro-results-{size}")
    assert errors == []
    context.close()


def _stroke(page: Any, kind: str) -> tuple[list[int], str]:
    """The computed stroke colour (RGB) and dash pattern of a kind's first line."""
    return tuple(  # type: ignore[return-value]
        page.evaluate(
            """kind => {
                const p = document.querySelector('.leaflet-areas-pane path.area-' + kind);
                const s = getComputedStyle(p);
                return [s.stroke.match(/\\d+/g).slice(0, 3).map(Number), s.strokeDasharray];
            }""",
            kind,
        )
    )


@pytest.mark.browser
def test_secondary_medical_area_parts_have_their_own_toggle_and_colour(browser, demo_services):
    from sqlalchemy import delete, select

    from mapsvc.core.db import bump_generation
    from mapsvc.core.models import Area

    with demo_services.store.session() as session:
        outline = session.scalars(select(Area).where(Area.kind == "municipality")).one()
        session.add(
            Area(
                kind="secondary_medical_area",  # the whole city in one 二次医療圏
                code="9901",
                name="デモ医療圏",
                municipality_code=outline.municipality_code,
                geometry=outline.geometry,
                properties={},
            )
        )
        bump_generation(session, "areas")
    with serve_app(make_app(demo_services)) as base:
        context, page, errors, _blocked = _offline_page(browser, base, "desktop")
        page.goto(base + "/")
        _wait_geography(page, extra=1)
        assert _paths(page, "secondary_medical_area") == 0  # off at first
        box = _control(page, "desktop")
        labels = [s.strip() for s in box.locator("label").all_inner_texts()]
        assert labels == ["市区町村の境界", "二次医療圏", "日常生活圏域", "町丁・字"]
        assert not box.locator("input[data-kind=secondary_medical_area]").is_checked()
        box.locator("label", has_text="二次医療圏").click()
        assert _paths(page, "secondary_medical_area") == 1
        assert "二次医療圏" in page.inner_text("#tile-note")
        colour, dashes = _stroke(page, "secondary_medical_area")
        layers = page.evaluate(
            """() => JSON.parse(document.getElementById('map-config').textContent).layers.map(l => {
                const d = document.createElement('i'); d.style.color = l.color;
                document.body.appendChild(d); const v = getComputedStyle(d).color; d.remove();
                return v.match(/\\d+/g).slice(0, 3).map(Number); })"""
        )
        others = [_stroke(page, k) for k in ("municipality", "daily_life_area", "town")]
        for other in [*layers, *(c for c, _ in others)]:
            distance = sum((a - b) ** 2 for a, b in zip(colour, other, strict=True)) ** 0.5
            assert distance > 60, (colour, other)
        assert dashes not in {d for _, d in others}  # a line pattern of its own, too
        _shot(page, "geo-public-sma")

        # a store holding only 二次医療圏 draws them from the start
        with demo_services.store.session() as session:
            session.execute(delete(Area).where(Area.kind != "secondary_medical_area"))
            bump_generation(session, "areas")
        page.goto(base + "/")
        page.wait_for_selector(READY)
        wait_js(page, "document.getElementById('map').dataset.areas === '1'")
        assert _paths(page, "secondary_medical_area") == 1
        assert page.locator("input[data-kind=secondary_medical_area]").is_checked()
        assert errors == []
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_public_map_opens_on_the_whole_municipality_filling_the_map(browser, served, size):
    context, page, errors, _blocked = _offline_page(browser, served, size)
    page.goto(served + "/")
    _wait_geography(page)
    page.locator("#map").scroll_into_view_if_needed()
    mapbox = page.locator("#map").bounding_box()
    outline = page.locator(".leaflet-areas-pane path.area-municipality").bounding_box()
    # all of the city is in view (its line may touch the edge) ...
    assert outline["x"] >= mapbox["x"] - 2 and outline["y"] >= mapbox["y"] - 2
    assert outline["x"] + outline["width"] <= mapbox["x"] + mapbox["width"] + 2
    assert outline["y"] + outline["height"] <= mapbox["y"] + mapbox["height"] + 2
    # ... and it fills the map in one direction at least (not half of it)
    fill = max(outline["width"] / mapbox["width"], outline["height"] / mapbox["height"])
    assert fill >= 0.8, (size, fill, outline, mapbox)
    _shot(page, f"geo-public-frame-{size}")
    assert errors == []
    context.close()
