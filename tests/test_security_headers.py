"""Headers (issue 9, item 5): no-store for every authenticated page and download, a CSP
without inline script and with frame-ancestors 'none', Allow on 405, lang as its enum."""

from __future__ import annotations

import re

import pytest
from conftest import login_as, make_app
from planner_support import build_planner_store

PUBLIC_PAGES = ["/", "/print", "/login", "/api", "/api/collections"]
AUTH_PAGES = [
    "/pro/",
    "/planner/",
    "/admin/",
    "/admin/audit",
    "/admin/audit.csv",
    "/admin/review",
    "/admin/templates/clinic.csv",
    "/admin/links.csv",
    "/admin/users",
    "/planner/download/indicators.csv?kind=daily_life_area",
    "/api/collections/medical/items",
    "/",
]


@pytest.fixture
def web(sqlite_services, tmp_path):
    build_planner_store(sqlite_services, tmp_path)
    return make_app(sqlite_services), sqlite_services


def _inline_scripts(html: str) -> list[str]:
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    executable = [s for s in scripts if "application/json" not in s]
    handlers = re.findall(r"<[^>]+\son[a-z]+\s*=", html)
    return executable + handlers


def test_csp_forbids_inline_script_and_framing(web):
    app, services = web
    anon = app.test_client()
    editor = app.test_client()
    login_as(editor, services, "editor")
    for client, pages in ((anon, PUBLIC_PAGES), (editor, AUTH_PAGES)):
        for page in pages:
            r = client.get(page)
            assert r.status_code == 200, page
            csp = r.headers["Content-Security-Policy"]
            script_src = re.search(r"script-src ([^;]*)", csp).group(1)
            assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
            assert "frame-ancestors 'none'" in csp
            if r.mimetype == "text/html":
                assert _inline_scripts(r.get_data(as_text=True)) == [], page
    r = editor.post("/pro/print", data={})  # the printable shortlist page
    assert "onclick" not in r.get_data(as_text=True)


def test_every_authenticated_page_and_download_is_no_store(web):
    app, services = web
    editor = app.test_client()
    login_as(editor, services, "editor")
    for page in AUTH_PAGES:
        r = editor.get(page)
        assert r.status_code == 200, page
        assert r.headers.get("Cache-Control") == "no-store", page
    # the public map stays cacheable for anonymous visitors
    anon = app.test_client().get("/api/collections/medical/items")
    assert anon.headers["Cache-Control"].startswith("public")


def test_405_names_the_allowed_methods(web):
    app, _ = web
    c = app.test_client()
    r = c.post("/api/collections")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    r = c.delete("/login")
    assert r.status_code == 405 and {"GET", "POST"} <= set(r.headers["Allow"].split(", "))


def test_lang_and_f_are_enums(web):
    app, _ = web
    c = app.test_client()
    for url in ("/?lang=fr", "/api/collections?lang=xx", "/api/collections/medical/items?lang=de"):
        r = c.get(url, headers={"Accept": "application/json"})
        assert r.status_code == 400, url
        assert r.get_json()["field"] == "lang"
    assert c.get("/?lang=en").status_code == 200
    r = c.get("/api/collections/medical/items?f=xml")
    assert r.status_code == 400 and r.get_json()["field"] == "f"
    r = c.get("/api/collections?f=csv")
    assert r.status_code == 400 and r.get_json()["field"] == "f"
