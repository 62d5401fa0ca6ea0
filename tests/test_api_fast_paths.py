"""The short cuts the items endpoint takes per request (issue 13, item 5) give what the
long way gives: the format chosen from Accept, the page's URLs, and the paging links."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from conftest import make_app
from search_support import add_providers, east

from mapsvc.web import api_pages, mapdata

ACCEPTS = [
    "",
    "application/json",
    "application/geo+json",
    "APPLICATION/GEO+JSON",
    "*/*",
    "text/*",
    "TEXT/HTML",
    "text/html",
    "text/html;q=0.1, application/json",
    "application/json;q=0.1, text/html",
    "application/json;q=0.5, */*;q=0.9",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "image/png, application/xml",
]


@pytest.fixture
def app(sqlite_services):
    add_providers(
        sqlite_services,
        *({"source_id": f"c{i}", "name": f"診療所{i}", "lon": east(300 * i)} for i in range(1, 6)),
    )
    return make_app(sqlite_services, INDEX_REFRESH_SECONDS=0)


def _html_by_parsing() -> bool:
    accept = api_pages.request.accept_mimetypes
    return accept["text/html"] > max(accept["application/json"], accept["application/geo+json"])


@pytest.mark.parametrize("accept", ACCEPTS)
def test_the_format_from_accept_is_the_parsed_headers(app, accept):
    headers = {"Accept": accept} if accept else {}
    with app.test_request_context("/api/collections", headers=headers):
        assert api_pages.wants_html() == _html_by_parsing()


@pytest.mark.parametrize(
    ("base", "path"),
    [
        ("http://localhost/", "/api/collections/medical/items"),
        ("http://xn--eckwd4c7c.jp:8080/", "/api/collections/medical/items"),  # an IDN host
        ("https://example.jp/map/", "/api/collections/medical"),  # behind a script root
    ],
)
def test_the_page_urls_are_werkzeugs(app, base, path):
    for _ in range(2):  # computed, then remembered
        with app.test_request_context(path, base_url=base):
            request = api_pages.request
            assert mapdata.base_url() == request.host_url.rstrip("/") + request.script_root
            assert mapdata.page_url() == request.base_url


def test_paging_links_encode_the_parameters_as_urlencode_does(app):
    client = app.test_client()
    query = [
        ("bbox", "133.9, 34.2,134.2,34.5"),  # commas and spaces to encode
        ("type", "clinic"),
        ("type", "hospital"),
        ("limit", "2"),
        ("offset", "1"),
        ("lang", "en"),
    ]
    doc = json.loads(client.get(f"/api/collections/medical/items?{urlencode(query)}").data)
    assert doc["numberMatched"] == 5
    links = {link["rel"]: link["href"] for link in doc["links"]}
    base = "http://localhost/api/collections/medical/items"
    kept = [(k, v) for k, v in query if k != "offset"]
    assert links["self"] == f"{base}?{urlencode([*kept, ('offset', '1')])}"
    assert links["next"] == f"{base}?{urlencode([*kept, ('offset', '3')])}"
    assert links["prev"] == f"{base}?{urlencode(kept)}"
    assert links["alternate"] == f"{base}?{urlencode([*query, ('f', 'html')])}"
