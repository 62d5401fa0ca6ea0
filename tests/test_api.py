"""The layer API: OGC API - Features documents, GeoJSON validity, paging, CSV, 400s that
name the parameter, and fields decided by the caller's role."""

from __future__ import annotations

import json
import re

import pytest
from conftest import login_as, make_app
from openapi_spec_validator import validate
from search_support import BASE_LAT, BASE_LON, add_providers, east

from mapsvc.core.visibility import professional_only_names

PRO_FAX = "087-555-0199"
PRO_NOTE = "裏口のインターホンを押してください"


@pytest.fixture
def api(sqlite_services):
    add_providers(
        sqlite_services,
        {
            "source_id": "c1",
            "name": "番町クリニック",
            "fax": PRO_FAX,
            "notes_professional": PRO_NOTE,
            "capabilities": {
                "home_visit_medical": {"level": "accept", "note": "午後のみ"},
                "ventilator": {"level": "accept"},
            },
        },
        {"source_id": "c2", "name": "東クリニック", "lon": east(2000)},
        {"source_id": "c3", "name": "遠方病院", "type": "hospital", "lon": 135.5, "lat": 34.7},
        {
            "source_id": "n1",
            "type": "home_nursing",
            "name": "訪問看護ステーションみなみ",
            "capabilities": {"ventilator": {"level": "active"}},
        },
        {"source_id": "x1", "name": "閉院した診療所", "status": "closed"},
    )
    app = make_app(sqlite_services, INDEX_REFRESH_SECONDS=0, ITEMS_MAX_LIMIT=500)
    return app, sqlite_services


def get_json(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.get_data(as_text=True))
    return r, json.loads(r.get_data(as_text=True))


def test_landing_conformance_collections_links_have_rel_and_type(api):
    app, _ = api
    c = app.test_client()
    r, doc = get_json(c, "/api")
    assert r.mimetype == "application/json"
    rels = {link["rel"]: link for link in doc["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert all(link["type"] and link["href"].startswith("http") for link in doc["links"])
    _, conf = get_json(c, "/api/conformance")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf["conformsTo"]
    _, cols = get_json(c, "/api/collections")
    ids = [col["id"] for col in cols["collections"]]
    assert "medical" in ids and "ventilator_nursing" not in ids  # professional layer hidden
    medical = next(col for col in cols["collections"] if col["id"] == "medical")
    items = next(link for link in medical["links"] if link["rel"] == "items")
    assert items["type"] == "application/geo+json"
    assert medical["extent"]["spatial"]["bbox"][0] == [BASE_LON, BASE_LAT, 135.5, 34.7]
    _, one = get_json(c, "/api/collections/medical")
    assert one["id"] == "medical" and one["title"] == "病院・診療所"
    _, en = get_json(c, "/api/collections/medical?lang=en")
    assert en["title"] == "Hospitals and clinics"


def test_items_are_valid_geojson_with_paging(api):
    app, _ = api
    c = app.test_client()
    r, doc = get_json(c, "/api/collections/medical/items?limit=2")
    assert r.mimetype == "application/geo+json"
    assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946: no crs member
    assert doc["numberMatched"] == 3 and doc["numberReturned"] == 2  # the closed one is left out
    for f in doc["features"]:
        assert f["type"] == "Feature" and isinstance(f["id"], str)
        assert f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert f["properties"]["confirmation"]["state"] in ("confirmed", "due", "unconfirmed")
        # no property without a value (smaller answers); 6 decimals at most
        assert all(v is not None and v != "" for v in f["properties"].values())
        assert all(round(v, 6) == v for v in (lon, lat))
    nxt = next(link for link in doc["links"] if link["rel"] == "next")
    assert nxt["type"] == "application/geo+json" and "offset=2" in nxt["href"]
    _, page2 = get_json(c, nxt["href"].replace("http://localhost", ""))
    assert page2["numberReturned"] == 1
    assert not any(link["rel"] == "next" for link in page2["links"])
    seen = {f["id"] for f in doc["features"]} | {f["id"] for f in page2["features"]}
    assert len(seen) == 3
    _, boxed = get_json(
        c,
        f"/api/collections/medical/items?bbox={BASE_LON - 0.01},{BASE_LAT - 0.01},{east(2500)},{BASE_LAT + 0.01}",
    )
    assert sorted(f["properties"]["name"] for f in boxed["features"]) == [
        "東クリニック",
        "番町クリニック",
    ]
    _, filtered = get_json(c, "/api/collections/medical/items?cap=home_visit_medical")
    assert [f["properties"]["name"] for f in filtered["features"]] == ["番町クリニック"]
    # a level qualifier is professional: the public grammar takes keys only (issue 9)
    _, refused = get_json(c, "/api/collections/medical/items?cap=home_visit_medical:accept", 400)
    assert refused["field"] == "cap"
    pro = app.test_client()
    login_as(pro, api[1], "professional")
    _, filtered = get_json(pro, "/api/collections/medical/items?cap=home_visit_medical:accept")
    assert [f["properties"]["name"] for f in filtered["features"]] == ["番町クリニック"]
    _, typed = get_json(c, "/api/collections/medical/items?type=hospital")
    assert [f["properties"]["name"] for f in typed["features"]] == ["遠方病院"]


def test_single_item_and_404s(api):
    app, _ = api
    c = app.test_client()
    _, doc = get_json(c, "/api/collections/medical/items?limit=1")
    uid = doc["features"][0]["id"]
    r, item = get_json(c, f"/api/collections/medical/items/{uid}")
    assert r.mimetype == "application/geo+json" and item["id"] == uid
    assert {link["rel"] for link in item["links"]} == {"self", "collection", "alternate"}
    for url, field in [
        ("/api/collections/nope", "collectionId"),
        ("/api/collections/nope/items", "collectionId"),
        (f"/api/collections/pharmacy/items/{uid}", "featureId"),  # exists, other layer
        ("/api/collections/medical/items/not-a-uid", "featureId"),
        ("/api/collections/ventilator_nursing/items", "collectionId"),  # hidden from the public
    ]:
        r, body = get_json(c, url, 404)
        assert r.mimetype == "application/json" and body["field"] == field, url
        assert body["error"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=200,30,201,31", "bbox"),
        ("bbox=134,35,133,36", "bbox"),
        ("bbox=134,34,135,95", "bbox"),
        ("bbox=nan,34,135,35", "bbox"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("cap=teleportation", "cap"),
        ("cap=home_visit_medical:sometimes", "cap"),
        ("type=castle", "type"),
        ("f=xml", "f"),
        ("colour=red", "colour"),
        ("bbox-crs=EPSG:3857", "bbox-crs"),
        ("limit=1&limit=2", "limit"),
    ],
)
def test_invalid_parameters_are_400_naming_the_parameter(api, query, field):
    app, _ = api
    r, body = get_json(app.test_client(), f"/api/collections/medical/items?{query}", 400)
    assert r.mimetype == "application/json"
    assert body["field"] == field and body["error"] in ("invalid_input", "invalid_filter")
    assert body["message"]


def test_clusters_count_every_matching_provider(api):
    app, _ = api
    c = app.test_client()
    _, doc = get_json(c, "/api/collections/medical/clusters?zoom=6&bbox=133,33,136,35")
    assert doc["numberMatched"] == 3
    assert sum(f["properties"]["count"] for f in doc["features"]) == 3
    assert len(doc["features"]) == 2  # Takamatsu's two clinics share a cell at zoom 6
    get_json(c, "/api/collections/medical/clusters?zoom=99", 400)
    get_json(c, "/api/collections/medical/clusters", 400)
    # "²" passes str.isdigit() but is no number: a 400 naming zoom, not a crash
    _, body = get_json(c, "/api/collections/medical/clusters?zoom=%C2%B2", 400)
    assert body["field"] == "zoom"


def test_public_fields_only_for_anonymous_callers_and_professional_ones_after_login(api):
    app, services = api
    tax = services.taxonomy
    anon = app.test_client()
    r = anon.get("/api/collections/medical/items")
    text = r.get_data(as_text=True)
    assert PRO_FAX not in text and PRO_NOTE not in text and "午後のみ" not in text
    for name in professional_only_names(tax):
        assert f'"{name}"' not in text, name
    clinic = next(
        f for f in json.loads(text)["features"] if f["properties"]["name"] == "番町クリニック"
    )
    assert clinic["properties"]["capabilities"] == ["home_visit_medical"]
    # the answer depends on the login and (JSON or HTML) on Accept
    assert r.headers["Vary"] == "Cookie, Accept" and r.headers["Cache-Control"].startswith("public")
    # the public cannot filter on a professional capability, and is not told its name
    r, body = get_json(anon, "/api/collections/home_nursing/items?cap=ventilator:accept", 400)
    assert body["field"] == "cap" and "ventilator" not in body["message"]

    pro = app.test_client()
    login_as(pro, services, "professional")
    r = pro.get("/api/collections/medical/items")
    doc = json.loads(r.get_data(as_text=True))
    clinic = next(f for f in doc["features"] if f["properties"]["name"] == "番町クリニック")
    assert clinic["properties"]["fax"] == PRO_FAX
    assert clinic["properties"]["capabilities"]["ventilator"] == {"level": "accept"}
    assert clinic["properties"]["capabilities"]["home_visit_medical"]["note"] == "午後のみ"
    assert r.headers["Cache-Control"] == "no-store"  # issue 9: no-store when logged in
    _, vent = get_json(pro, "/api/collections/ventilator_nursing/items")
    assert [f["properties"]["name"] for f in vent["features"]] == ["訪問看護ステーションみなみ"]
    _, nurse = get_json(pro, "/api/collections/home_nursing/items?cap=ventilator:active")
    assert nurse["numberMatched"] == 1


def test_csv_has_a_bom_and_public_columns_only(api):
    app, services = api
    r = app.test_client().get("/api/collections/medical/items?f=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.startswith("\ufeff".encode())
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8-sig")
    assert "番町クリニック" in text and PRO_FAX not in text and "FAX" not in text
    pro = app.test_client()
    login_as(pro, services, "professional")
    text = pro.get("/api/collections/medical/items?f=csv").data.decode("utf-8-sig")
    assert PRO_FAX in text and "人工呼吸器" in text


@pytest.mark.parametrize("role", [None, "professional"])
def test_openapi_is_valid_and_describes_every_api_route(api, role):
    app, services = api
    c = app.test_client()
    if role:
        login_as(c, services, role)
    r = c.get("/api/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    doc = json.loads(r.get_data(as_text=True))
    validate(doc)
    described = set(doc["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api") and rule.rule != "/api/":
            path = re.sub(
                r"<(?:\w+:)?(\w+)>",
                lambda m: "{" + {"layer_id": "collectionId", "uid": "featureId"}[m.group(1)] + "}",
                rule.rule,
            )
            assert path in described, rule.rule
    text = json.dumps(doc, ensure_ascii=False)
    if role is None:
        for name in professional_only_names(services.taxonomy):
            assert re.search(rf"\b{name}\b", text) is None, name
        assert "ventilator_nursing" not in text
    else:
        assert "ventilator" in text and "ventilator_nursing" in text


def test_non_json_format_on_document_routes_is_refused(api):
    app, _ = api
    _, body = get_json(app.test_client(), "/api/collections?f=xml", 400)
    assert body["field"] == "f"
    _, body = get_json(app.test_client(), "/api/openapi.json?f=html", 400)
    assert body["field"] == "f"
