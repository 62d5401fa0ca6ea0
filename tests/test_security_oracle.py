"""The level oracle (issue 9, item 1): asking the public filter for ``KEY:consult``,
``KEY:accept`` and ``KEY:active`` and comparing the answers must recover no
professional-only acceptance level, on any route that filters or counts."""

from __future__ import annotations

import json
import re

from conftest import login_as

from mapsvc.core.visibility import PUBLIC

pytest_plugins = ["demo_support"]

LEVELS = ("consult", "accept", "active")


def _public_level_caps(services) -> list[str]:
    tax = services.taxonomy
    return [k for k, c in tax.capabilities.items() if c.audience == PUBLIC and c.kind == "level"]


def _answers(client, url: str, refusals: list[dict]) -> tuple[int, object]:
    """Status and what the answer reveals: the id set (items), the count (clusters), or the
    names listed (map page, print)."""
    r = client.get(url)
    if r.status_code == 400 and r.mimetype == "application/json":
        refusals.append(r.get_json())
    if r.status_code != 200:
        return r.status_code, None
    text = r.get_data(as_text=True)
    if "f=csv" in url:
        return 200, text
    if "/items" in url:
        return 200, frozenset(f["id"] for f in json.loads(text)["features"])
    if "/clusters" in url:
        return 200, json.loads(text)["numberMatched"]
    return 200, text if url.startswith("/print") else re.sub(r"csrf_token[^>]*>", "", text)


def _urls(layers: list[str], key: str, level: str, pages: bool) -> list[str]:
    term = f"{key}:{level}"
    urls = [
        u
        for layer in layers
        for u in (
            f"/api/collections/{layer}/items?cap={term}&limit=10000",
            f"/api/collections/{layer}/items?cap={term}&limit=10000&f=csv",
            f"/api/collections/{layer}/clusters?zoom=8&cap={term}",
        )
    ]
    if pages:  # the pages show every public layer at once
        sel = "&".join(f"layer={layer}" for layer in layers)
        urls += [f"/print?sel=1&{sel}&cap={term}", f"/?sel=1&{sel}&cap={term}"]
    return urls


def _sweep(client, services, pages: bool = True) -> tuple[int, int, list[dict]]:
    """(filters tried, filters whose three level answers differ, every refusal's body)."""
    layers = [c["id"] for c in json.loads(client.get("/api/collections").data)["collections"]]
    tried = leaked = 0
    refusals: list[dict] = []
    for key in _public_level_caps(services):
        n = len(_urls(layers, key, "accept", pages))
        for route in range(n):
            seen = set()
            for level in LEVELS:
                url = _urls(layers, key, level, pages)[route]
                status, answer = _answers(client, url, refusals)
                seen.add((status, answer if status == 200 else None))
            tried += 1
            ok = [a for s, a in seen if s == 200]
            leaked += len(set(ok)) > 1
    return tried, leaked, refusals


def test_the_level_oracle_finds_nothing_for_the_public(demo_services):
    from conftest import make_app

    app = make_app(demo_services)
    pro = app.test_client()
    login_as(pro, demo_services, "professional")
    tried, pro_differs, _ = _sweep(pro, demo_services, pages=False)
    # the oracle works where levels may be seen: the demo's levels differ for professionals
    assert tried > 0 and pro_differs > 0
    anon = app.test_client()
    tried, leaked, refusals = _sweep(anon, demo_services)
    assert leaked == 0, f"{leaked} of {tried} public filters reveal a level"
    assert refusals and all(body["field"] == "cap" for body in refusals)
    # keys alone still filter for the public
    key = _public_level_caps(demo_services)[0]
    r = anon.get(f"/api/collections/medical/items?cap={key}")
    assert r.status_code == 200


def test_every_qualifier_is_a_400_naming_cap_for_the_public(demo_client):
    for term in ("home_visit_medical:accept", "home_visit_medical:yes", "response_24h:consult"):
        for url in (
            f"/api/collections/medical/items?cap={term}",
            f"/api/collections/medical/clusters?zoom=8&cap={term}",
        ):
            r = demo_client.get(url)
            assert r.status_code == 400, url
            assert r.get_json()["field"] == "cap"
        assert demo_client.get(f"/print?cap={term}").status_code == 400
        assert demo_client.get(f"/?cap={term}").status_code == 400


def test_public_openapi_advertises_keys_only(demo_client, demo_services):
    doc = json.loads(demo_client.get("/api/openapi.json").data)
    cap = doc["components"]["parameters"]["cap"]
    assert ":LEVEL" not in cap["description"].replace("no :LEVEL", "")
    assert "keys only" in cap["description"]
    assert set(cap["schema"]["items"]["enum"]) >= set(_public_level_caps(demo_services))
    assert all(":" not in k for k in cap["schema"]["items"]["enum"])
