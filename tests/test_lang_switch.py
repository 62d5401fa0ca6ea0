"""The language switch (日本語 / English) keeps the page as it is: every other query parameter
of the current URL stays, only ``lang`` is set — on the public map with its filters, on the
API pages for people, and in the browser after the map's filters change the address bar."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import csrf_token, login_as, make_app, serve_app
from werkzeug.datastructures import MultiDict

pytest_plugins = ["demo_support"]  # demo_services, demo_client


def switch_link(page: str) -> tuple[str, list[tuple[str, str]]]:
    """The language switch's path and its query parameters, in order."""
    match = re.search(r'<li class="lang">\s*<a href="([^"]*)"', page)
    assert match, "no language switch on the page"
    url = urlsplit(html.unescape(match.group(1)))
    return url.path, parse_qsl(url.query, keep_blank_values=True)


def test_switch_on_the_public_map_keeps_the_chosen_layers_and_filters(demo_client):
    query = "sel=1&layer=medical&layer=care&cap=home_visit_medical"
    path, params = switch_link(demo_client.get(f"/?{query}").get_data(as_text=True))
    assert path == "/"
    assert params == [*parse_qsl(query), ("lang", "en")]
    # back to Japanese from the English page: lang replaced, not repeated
    path, params = switch_link(demo_client.get(f"/?lang=en&{query}").get_data(as_text=True))
    assert params == [*parse_qsl(query), ("lang", "ja")]
    # the English page keeps the choice (the filter is still ticked)
    en = demo_client.get(f"/?{query}&lang=en").get_data(as_text=True)
    assert re.search(r'id="cap-home_visit_medical"[^>]*checked', en)


def test_switch_on_an_api_page_keeps_the_query(demo_client):
    query = "f=html&limit=5&offset=5&cap=home_visit_medical&bbox=133.0,34.0,135.0,35.0"
    page = demo_client.get(f"/api/collections/medical/items?{query}").get_data(as_text=True)
    path, params = switch_link(page)
    assert path == "/api/collections/medical/items"
    assert params == [*parse_qsl(query), ("lang", "en")]
    en = demo_client.get(f"{path}?{'&'.join(f'{k}={v}' for k, v in params)}")
    assert en.status_code == 200 and "Providers" in en.get_data(as_text=True)
    # a page with no other parameter gets just lang (a fresh visitor: no language cookie)
    fresh = demo_client.application.test_client()
    assert switch_link(fresh.get("/api?f=html").get_data(as_text=True)) == (
        "/api",
        [("f", "html"), ("lang", "en")],
    )
    english = fresh.get("/api/collections?lang=en&f=html").get_data(as_text=True)
    assert switch_link(english)[1] == [("f", "html"), ("lang", "ja")]


@pytest.mark.browser
def test_switch_follows_the_filters_chosen_on_the_map(browser, demo_services):
    with serve_app(
        make_app(demo_services, BASEMAP_URL="http://127.0.0.1:9/{z}/{x}/{y}.png")
    ) as base:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP")
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_selector("#map[data-state=ready]")
        page.check("#cap-home_visit_medical")
        page.wait_for_selector("#map[data-state=ready]")
        href = page.get_attribute("li.lang a", "href")
        params = parse_qsl(urlsplit(href).query)
        assert ("cap", "home_visit_medical") in params and params[-1] == ("lang", "en")
        assert [k for k, _ in params].count("lang") == 1
        page.click("li.lang a")
        page.wait_for_selector("#map[data-state=ready]")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.is_checked("#cap-home_visit_medical")
        context.close()


def _form_fields(page: str, form_id: str) -> list[tuple[str, str]]:
    """The hidden fields a browser sends with the form ``form_id`` of the page."""
    body = re.search(rf'<form [^>]*id="{form_id}"[^>]*>(.*?)</form>', page, re.S).group(1)
    return re.findall(r'<input type="hidden" name="(\w+)"[^>]* value="([^"]*)"', body)


def _switch_button(page: str) -> dict[str, str]:
    button = re.search(r'<li class="lang">\s*<button ([^>]*)>', page)
    assert button, "no language switch on the page"
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', button.group(1)))
    assert attrs["type"] == "submit"
    return {k: html.unescape(v) for k, v in attrs.items()}


def test_switch_on_a_finder_result_submits_the_same_search(demo_services):
    """A result page is a POST: the switch submits the search again (its point, needs and
    tie-break seed, never the typed address) to the same address with only lang added."""
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    form = {"address": "デモ市本町一丁目", "cap-home_visit_medical": "accept"}
    page = client.post("/pro/search", data={"csrf_token": csrf_token(client, "/pro/"), **form})
    text = page.get_data(as_text=True)
    attrs = _switch_button(text)
    assert attrs["formaction"] == "/pro/search?lang=en"
    fields = _form_fields(text, attrs["form"])
    assert ("cap", "home_visit_medical:accept") in fields
    assert "デモ市本町一丁目" not in str(fields)  # the point is kept, not the typed address
    en = client.post(attrs["formaction"], data=MultiDict(fields))
    en_text = en.get_data(as_text=True)
    assert en.status_code == 200 and '<html lang="en">' in en_text
    assert _results(en_text) == _results(text) and _results(text)  # the same list, same order
    assert 'value="accept" selected' in en_text  # the need is still chosen
    # after an error the finder form is sent as it stands, so the choices survive
    bad = client.post(
        "/pro/search",
        data={
            "csrf_token": csrf_token(client, "/pro/"),
            "address": "どこにもない町",
            **{"cap-home_visit_medical": "accept"},
        },
    ).get_data(as_text=True)
    assert _switch_button(bad)["form"] == "finder-form"
    # the start page (a GET) keeps the plain link
    assert switch_link(client.get("/pro/?lang=ja").get_data(as_text=True)) == (
        "/pro/",
        [("lang", "en")],
    )


def _results(page: str) -> list[str]:
    return re.findall(r'<li class="result" data-uid="([^"]+)"', page)


def test_an_error_page_does_not_repeat_the_refused_parameters(demo_client):
    page = demo_client.get("/?cap=terminal_care&layer=medical")
    assert page.status_code == 400
    assert switch_link(page.get_data(as_text=True)) == ("/", [("lang", "en")])
