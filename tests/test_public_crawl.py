"""Everything an anonymous visitor can reach holds no professional field name or value.

On the demo city: every public GET route, every collection's items (every page, GeoJSON
and CSV), every single item, the clusters, the OpenAPI description, the print view, the
address search (POST), the static files the public pages load, the login page, and
error pages (400, 404, 405, and the login redirect of professional pages).
"""

from __future__ import annotations

import json
import re
from typing import Any

from conftest import csrf_token, make_app
from sqlalchemy import select

from mapsvc.core.models import Provider
from mapsvc.core.registry import provider_record
from mapsvc.core.visibility import professional_only_names
from mapsvc.geo.areas import areas_frame

pytest_plugins = ["demo_support"]  # demo_services


def professional_values(services: Any) -> set[str]:
    """Values stored in professional fields and notes that appear in no public field.

    A value that is also public somewhere (a FAX number equal to a public phone number,
    say) cannot be a leak when it shows, so it is left out of the check.
    """
    tax = services.taxonomy
    pro_fields = set(tax.professional_fields())
    public_fields = set(tax.public_fields())
    secret: set[str] = set()
    public: set[str] = set()
    with services.store.session() as session:
        records = [provider_record(p) for p in session.scalars(select(Provider))]
    for rec in records:
        for key, value in rec.items():
            if isinstance(value, str) and value.strip():
                (secret if key in pro_fields else public if key in public_fields else set()).add(
                    value.strip()
                )
        for key, value in (rec["capabilities"] or {}).items():
            if not value:
                continue
            if value.get("note"):
                secret.add(str(value["note"]).strip())
            cap = tax.capabilities.get(key)
            if cap and cap.audience == "professional" and cap.kind == "text" and value.get("value"):
                secret.add(str(value["value"]).strip())
    return {v for v in secret if len(v) >= 4 and v not in public}


class Crawl:
    def __init__(self, client: Any, names: set[str], values: set[str]) -> None:
        self.client = client
        self.names = [
            re.compile(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])") for n in sorted(names)
        ]
        self.values = sorted(values)
        self.seen: dict[str, int] = {}

    def check(self, label: str, response: Any) -> str:
        body = response.get_data()
        response.close()
        # third-party library code uses words like "children" (the DOM): only data counts there
        names = [] if label.startswith("/static/vendor/") else self.names
        text = body.decode("utf-8-sig", errors="replace")
        texts = [text, json.dumps(dict(response.headers), ensure_ascii=False)]
        try:  # JSON may escape non-ASCII; check the decoded form as well
            texts.append(json.dumps(json.loads(text), ensure_ascii=False))
        except ValueError:
            pass
        for chunk in texts:
            for pattern in names:
                assert not pattern.search(chunk), f"{label}: professional name {pattern.pattern!r}"
            for value in self.values:
                assert value not in chunk, f"{label}: professional value {value!r}"
        self.seen[label] = response.status_code
        return text

    def get(self, url: str, status: int | tuple[int, ...] = 200) -> str:
        response = self.client.get(url)
        wanted = (status,) if isinstance(status, int) else status
        assert response.status_code in wanted, (url, response.status_code)
        return self.check(url, response)


def test_anonymous_crawl_finds_no_professional_field_name_or_value(demo_services):
    app = make_app(demo_services)
    client = app.test_client()
    names = professional_only_names(demo_services.taxonomy)
    values = professional_values(demo_services)
    assert len(values) > 100, "the demo should carry professional contact data to look for"
    crawl = Crawl(client, names, values)

    # every public page, in both languages
    pages = [
        "/",
        "/?lang=en",
        "/?lang=ja",
        "/print",
        "/print?sel=1&layer=medical&cap=home_visit_medical",
        "/login",
    ]
    html_pages = [crawl.get(url) for url in pages]

    # every GET rule of the app that an anonymous visitor can call without arguments
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        crawl.get(rule.rule, (200, 302, 400, 401, 403, 404))

    # the API: documents, every collection's items (every page, GeoJSON and CSV), items
    crawl.get("/api")
    crawl.get("/api/conformance")
    crawl.get("/api/openapi.json")
    collections = json.loads(crawl.get("/api/collections"))["collections"]
    assert {c["id"] for c in collections} >= {"medical", "pharmacy", "care", "consultation"}
    items_seen = 0
    for col in collections:
        crawl.get(f"/api/collections/{col['id']}")
        crawl.get(f"/api/collections/{col['id']}/clusters?zoom=10")
        crawl.get(f"/api/collections/{col['id']}/items?f=csv&limit=10000")
        url = f"/api/collections/{col['id']}/items?limit=100&lang=en"
        while url:
            doc = json.loads(crawl.get(url))
            for feature in doc["features"]:
                crawl.get(f"/api/collections/{col['id']}/items/{feature['id']}")
                items_seen += 1
            nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
            url = nxt[0].replace("http://localhost", "") if nxt else ""
    assert items_seen >= 700

    # the public filters on the API and the map
    for cap in ("home_visit_medical", "home_death_care", "response_24h"):
        crawl.get(f"/api/collections/medical/items?cap={cap}")
    crawl.get("/api/collections/medical/items?cap=home_death_care:accept", 400)

    # the address search, for every 日常生活圏域
    with demo_services.store.session() as session:
        towns = [
            r["properties"]["towns"][0]
            for _, r in areas_frame(session, "daily_life_area").iterrows()
        ]
    for town in towns:
        token = csrf_token(client, "/")
        crawl.check(
            "POST /", client.post("/", data={"csrf_token": token, "address": f"デモ市{town}"})
        )
    crawl.check(
        "POST / empty",
        client.post("/", data={"csrf_token": csrf_token(client, "/"), "address": ""}),
    )

    # static files the public pages load
    assets = {u for html in html_pages for u in re.findall(r'(?:src|href)="(/static/[^"]+)"', html)}
    assert any(a.endswith("public_map.js") for a in assets)
    for asset in sorted(assets):
        crawl.get(asset)

    # error pages, including errors about professional things
    crawl.get("/no/such/page", 404)
    crawl.get("/api/no-such-thing", 404)
    crawl.get("/api/collections/ventilator_nursing", 404)
    crawl.get("/api/collections/ventilator_nursing/items", 404)
    crawl.get("/api/collections/home_nursing/items?cap=ventilator:accept", 400)
    crawl.get("/api/collections/home_nursing/items?cap=notes_for_professions", 400)
    crawl.get("/api/collections/medical/items?bbox=1,2,3", 400)
    crawl.get("/api/collections/medical/items?limit=999999", 400)
    crawl.get("/api/collections/medical/items/not-an-id", 404)
    crawl.get("/?cap=terminal_care", 400)
    crawl.check("POST /api/collections", client.post("/api/collections"))
    for page in ("/pro/", "/planner/", "/admin/"):
        crawl.get(page, (302, 404))
    crawl.check(
        "POST /pro/search", client.post("/pro/search", data={"address": "デモ市本町一丁目"})
    )
    assert len(crawl.seen) > 800
