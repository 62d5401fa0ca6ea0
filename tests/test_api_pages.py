"""The layer API's HTML pages for people: chosen by f=html or a browser's Accept (JSON stays
the default for other clients), Japanese first, a map element with its data, links both
ways and paging, and public fields only for anonymous visitors."""

from __future__ import annotations

import html
import json
import re

import pytest
from conftest import login_as, make_app
from search_support import add_providers, east

from mapsvc.core.visibility import professional_only_names

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PRO_FAX = "087-555-0199"
PRO_NOTE = "裏口のインターホンを押してください"
PRO_MAIL = "renraku@example.jp"


@pytest.fixture
def api(sqlite_services):
    add_providers(
        sqlite_services,
        {
            "source_id": "c1",
            "name": "番町クリニック",
            "phone": "087-555-0100",
            "fax": PRO_FAX,
            "email": PRO_MAIL,
            "notes_professional": PRO_NOTE,
            "capabilities": {
                "home_visit_medical": {"level": "accept", "note": "午後のみ"},
                "terminal_care": {"level": "accept"},  # a professional capability
            },
        },
        *({"source_id": f"c{i}", "name": f"診療所{i}", "lon": east(300 * i)} for i in range(2, 6)),
    )
    return make_app(sqlite_services, INDEX_REFRESH_SECONDS=0), sqlite_services


PAGES = [
    "/api",
    "/api/conformance",
    "/api/collections",
    "/api/collections/medical",
    "/api/collections/medical/items",
    "/api/collections/medical/items/{uid}",
]


def _first_uid(client) -> str:
    doc = json.loads(client.get("/api/collections/medical/items?limit=1").data)
    return str(doc["features"][0]["id"])


@pytest.mark.parametrize("path", PAGES)
def test_browsers_get_html_and_other_clients_json(api, path):
    c = api[0].test_client()
    path = path.format(uid=_first_uid(c))
    page = c.get(path, headers={"Accept": BROWSER})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Accept" in page.headers["Vary"]
    same = c.get(f"{path}?f=html")
    assert same.mimetype == "text/html"
    for accept in (None, "*/*", "application/json", "application/geo+json"):
        r = c.get(path, headers={"Accept": accept} if accept else {})
        assert r.mimetype in ("application/json", "application/geo+json"), (path, accept)
        json.loads(r.data)
    # a browser asking for JSON explicitly gets JSON
    r = c.get(f"{path}?f=json", headers={"Accept": BROWSER})
    assert r.mimetype in ("application/json", "application/geo+json")


def _text(response) -> str:
    return response.get_data(as_text=True)


def _h1(text: str) -> list[str]:
    return re.findall(r"<h1[^>]*>(.*?)</h1>", text, flags=re.S)


def test_pages_are_japanese_first_with_links_both_ways(api):
    c = api[0].test_client()
    landing = _text(c.get("/api?f=html"))
    assert _h1(landing) == ["在宅医療・介護資源マップ API"] and '<html lang="ja">' in landing
    assert 'href="/api/collections?f=html"' in landing
    assert 'rel="alternate" type="application/json" href="http://localhost/api?f=json"' in landing
    cols = _text(c.get("/api/collections?f=html"))
    assert _h1(cols) == ["レイヤー一覧"]
    assert 'href="/api/collections/medical?f=html">病院・診療所</a>' in cols
    assert "ventilator_nursing" not in cols  # a professional layer
    one = _text(c.get("/api/collections/medical?f=html"))
    assert _h1(one) == ["病院・診療所"]
    assert 'id="api-map"' in one and 'id="api-map-config"' in one
    config = json.loads(re.search(r'id="api-map-config">(.*?)</script>', one, re.S).group(1))
    assert config["bbox"][0] <= config["bbox"][2]  # the extent drawn on the map
    assert 'href="/api/collections/medical/items?f=html"' in one and "最終確認日の範囲" in one
    en = _text(c.get("/api/collections/medical?f=html&lang=en"))
    assert _h1(en) == ["Hospitals and clinics"]
    # the JSON documents point at the HTML pages
    doc = json.loads(c.get("/api/collections/medical").data)
    alt = [link for link in doc["links"] if link["rel"] == "alternate"]
    assert alt == [
        {
            "href": "http://localhost/api/collections/medical?f=html",
            "rel": "alternate",
            "type": "text/html",
            "title": "HTML",
        }
    ]


def test_items_page_has_a_map_of_its_items_and_paging_links(api):
    c = api[0].test_client()
    r = c.get("/api/collections/medical/items?limit=2", headers={"Accept": BROWSER})
    page = _text(r)
    assert _h1(page) == ["病院・診療所：事業所の一覧"]
    assert "全 5 件中 1〜2 件目" in page
    config = json.loads(re.search(r'id="api-map-config">(.*?)</script>', page, re.S).group(1))
    assert len(config["features"]) == 2  # the map shows the items of this page
    assert page.count('class="api-item"') == 2
    nxt = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', page).group(1))
    assert "offset=2" in nxt and "limit=2" in nxt
    page2 = _text(c.get(nxt.replace("http://localhost", ""), headers={"Accept": BROWSER}))
    assert "全 5 件中 3〜4 件目" in page2 and 'rel="prev"' in page2
    # filters carry over to the other formats
    assert 'href="http://localhost/api/collections/medical/items?limit=2&amp;f=json"' in page
    assert "f=csv" in page
    empty = _text(c.get("/api/collections/medical/items?f=html&bbox=130,30,130.1,30.1"))
    assert "条件に合う事業所はありません" in empty and 'id="api-map"' not in empty
    # bad parameters stay JSON 400s naming the parameter, also for a browser
    bad = c.get("/api/collections/medical/items?datetime=soon", headers={"Accept": BROWSER})
    assert bad.status_code == 400 and json.loads(bad.data)["field"] == "datetime"


def test_public_pages_never_show_a_professional_field(api):
    app, services = api
    anon = app.test_client()
    uid = next(
        f["id"]
        for f in json.loads(anon.get("/api/collections/medical/items").data)["features"]
        if f["properties"]["name"] == "番町クリニック"
    )
    for path in PAGES:
        text = _text(anon.get(f"{path.format(uid=uid)}?f=html"))
        for secret in (PRO_FAX, PRO_NOTE, PRO_MAIL, "午後のみ", "ターミナルケア", "FAX"):
            assert secret not in text, (path, secret)
        for name in professional_only_names(services.taxonomy):
            assert f'"{name}"' not in text, (path, name)
    items = _text(anon.get("/api/collections/medical/items?f=html"))
    assert "訪問診療" in items and 'href="tel:087-555-0100"' in items
    assert f'href="/api/collections/medical/items/{uid}?f=html">番町クリニック</a>' in items
    one = _text(anon.get(f"/api/collections/medical/items/{uid}?f=html"))
    assert _h1(one) == ["番町クリニック"] and 'id="api-map"' in one and "訪問診療" in one
    assert "ログインしていない方には" in _text(anon.get("/api?f=html"))
    pro = app.test_client()
    login_as(pro, services, "professional")
    text = _text(pro.get("/api/collections/medical/items?f=html"))
    assert "ターミナルケア" in text  # professionals see their capabilities with levels
    assert "ターミナルケア" in _text(pro.get(f"/api/collections/medical/items/{uid}?f=html"))


def test_pages_have_no_inline_script_and_load_the_vendored_leaflet(api):
    c = api[0].test_client()
    r = c.get("/api/collections/medical/items?f=html")
    page = _text(r)
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    for attrs, body in scripts:
        # data blocks only; every executed script comes from this site's static folder
        assert 'type="application/json"' in attrs or (body.strip() == "" and "src=" in attrs)
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in page
    assert "/static/js/api_pages.js" in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    assert "unpkg" not in page and "cdn" not in page.lower()


CONTACT_SHOWN = {  # field: (its label, its link, its value)
    "fax": ("FAX（専門職向け）", f'href="tel:{PRO_FAX.replace("-", "")}"', PRO_FAX),
    "email": ("メール（専門職向け）", f'href="mailto:{PRO_MAIL}"', PRO_MAIL),
}


def test_professional_contact_fields_appear_exactly_when_the_json_gives_them(api):
    """A logged-in professional sees FAX (tel:) and e-mail (mailto:) on the items list and the
    item page, as the JSON gives them; the public gets neither the value nor the label."""
    app, services = api
    anon = app.test_client()
    pro = app.test_client()
    login_as(pro, services, "professional")
    for client, audience in ((anon, "public"), (pro, "professional")):
        items = json.loads(client.get("/api/collections/medical/items").data)["features"]
        clinic = next(f for f in items if f["properties"]["name"] == "番町クリニック")
        given = {k for k in CONTACT_SHOWN if k in clinic["properties"]}
        assert given == (set(CONTACT_SHOWN) if audience == "professional" else set())
        pages = [
            _text(client.get("/api/collections/medical/items?f=html")),
            _text(client.get(f"/api/collections/medical/items/{clinic['id']}?f=html")),
        ]
        for page in pages:
            for field, (label, href, value) in CONTACT_SHOWN.items():
                shown = {label in page, href in page, value in page}
                assert shown == {field in given}, (audience, field)
            assert (PRO_NOTE in page) == (audience == "professional")
    # the other clinics have no FAX: no empty FAX row for them
    page = _text(pro.get("/api/collections/medical/items?f=html"))
    assert page.count("FAX（専門職向け）") == 1
