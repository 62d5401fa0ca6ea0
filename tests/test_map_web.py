"""The public map and the professional finder through the test client, on the demo city."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from conftest import csrf_token, login_as, make_app
from sqlalchemy import delete, select, update

from mapsvc.core.models import Area, Provider, utcnow
from mapsvc.core.registry import provider_record
from mapsvc.core.staleness import add_months
from mapsvc.geo.areas import areas_frame

pytest_plugins = ["demo_support"]  # demo_services, demo_client fixtures


def map_config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S)
    assert match, "no map config on the page"
    return json.loads(match.group(1))


def areas_with_a_town(services) -> list[tuple[str, str, str]]:
    """(area name, one of its towns, the centre named for it) of every 日常生活圏域."""
    with services.store.session() as session:
        frame = areas_frame(session, "daily_life_area")
    return [
        (r["name"], r["properties"]["towns"][0], r["properties"]["center_name"])
        for _, r in frame.iterrows()
    ]


# ---- the public map --------------------------------------------------------------------


def test_map_page_builds_its_layer_control_from_the_layer_files(demo_client):
    r = demo_client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    cfg = map_config(html)
    ids = [layer["id"] for layer in cfg["layers"]]
    assert ids == [
        "consultation",
        "medical",
        "home_visit_medical",
        "dental",
        "pharmacy",
        "home_nursing",
        "care",
    ]
    assert "ventilator_nursing" not in html  # a professional layer
    assert "home_visit_medical" not in cfg["visible"]  # default_visible: false
    for layer_id in ids:
        assert f'id="layer-{layer_id}"' in html
    for key in ("home_visit_medical", "home_death_care", "response_24h"):
        assert f'id="cap-{key}"' in html
    assert cfg["basemap"]["url"].startswith("https://cyberjapandata.gsi.go.jp/")
    assert "地理院タイル" in cfg["basemap"]["attribution"]
    assert "架空" in html and 'class="synthetic-banner"' in html  # the demo banner
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in html and "unpkg" not in html
    en = demo_client.get("/?lang=en").get_data(as_text=True)
    assert (
        "Search by address" in en
        and map_config(en)["layers"][1]["title"] == "Hospitals and clinics"
    )


def test_map_script_urls_keep_the_path_the_site_is_mounted_under(demo_client):
    mounted = "http://localhost/map/"
    cfg = map_config(demo_client.get("/", base_url=mounted).get_data(as_text=True))
    assert cfg["urls"] == {
        "collections": "/map/api/collections",
        "print": "/map/print",
        "areas": "/map/areas.geojson",
    }
    items = demo_client.get("/api/collections/medical/items?limit=1", base_url=mounted)
    assert items.status_code == 200 and items.get_json()["numberReturned"] == 1


def test_map_page_keeps_the_chosen_layers_and_filters_and_refuses_unknown_ones(demo_client):
    html = demo_client.get("/?sel=1&layer=pharmacy&cap=response_24h").get_data(as_text=True)
    cfg = map_config(html)
    assert cfg["visible"] == ["pharmacy"] and cfg["filters"] == ["response_24h"]
    assert demo_client.get("/?layer=ventilator_nursing").status_code == 400
    assert demo_client.get("/?cap=ventilator").status_code == 400


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_address_search_names_the_centre_of_the_daily_life_area(demo_services, lang):
    client = make_app(demo_services).test_client()
    for area, town, centre in areas_with_a_town(demo_services):
        token = csrf_token(client, f"/?lang={lang}")
        r = client.post("/", data={"csrf_token": token, "address": f"デモ市{town}1-2"})
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "no-store"
        html = r.get_data(as_text=True)
        name = re.search(r'<p class="centre-name"><strong>(.*?)</strong>', html)
        assert name and name.group(1) == centre, (town, area)
        assert area in html
        cfg = map_config(html)
        assert cfg["search"]["found"] and len(cfg["search"]["nearby"]) == 20
        distances = [row["distance_km"] for row in cfg["search"]["nearby"]]
        assert distances == sorted(distances)


def test_without_daily_life_areas_the_nearest_centre_is_named_and_the_page_says_so(demo_services):
    with demo_services.store.session() as session:
        session.execute(delete(Area).where(Area.kind == "daily_life_area"))
        session.execute(
            update(Provider)
            .where(Provider.type == "community_support_center")
            .values(service_area=None)
        )
    town = "本町一丁目"
    client = make_app(demo_services).test_client()
    token = csrf_token(client, "/")
    html = client.post("/", data={"csrf_token": token, "address": f"デモ市{town}"}).get_data(
        as_text=True
    )
    assert re.search(r'<p class="centre-name"><strong>デモ市.+地域包括支援センター</strong>', html)
    assert "日常生活圏域のデータが読み込まれていないため、最寄りのセンターを表示しています" in html


def test_address_search_errors(demo_client):
    token = csrf_token(demo_client, "/")
    r = demo_client.post("/", data={"csrf_token": token, "address": "  "})
    assert r.status_code == 400 and "住所を入力してください" in r.get_data(as_text=True)
    r = demo_client.post("/", data={"csrf_token": token, "address": "火星市オリンポス山"})
    assert r.status_code == 200 and "住所が見つかりませんでした" in r.get_data(as_text=True)
    assert "火星市" not in r.get_data(as_text=True).split('id="address"')[0]
    # no CSRF token, no search
    assert demo_client.post("/", data={"address": "デモ市本町一丁目"}).status_code == 400


def test_unconfirmed_records_are_marked_never_hidden(demo_services):
    old = add_months(utcnow(), -25)
    with demo_services.store.session() as session:
        uid = session.scalar(
            select(Provider.uid).where(Provider.type == "pharmacy").order_by(Provider.id)
        )
        session.execute(update(Provider).where(Provider.uid == uid).values(confirmed_at=old))
        name = session.scalar(select(Provider.name).where(Provider.uid == uid))
        session.execute(update(Provider).where(Provider.uid != uid).values(confirmed_at=utcnow()))
        from mapsvc.core.db import bump_generation

        bump_generation(session)
    client = make_app(demo_services).test_client()
    doc = json.loads(
        client.get("/api/collections/pharmacy/items?limit=1000").get_data(as_text=True)
    )
    states = {f["properties"]["name"]: f["properties"]["confirmation"] for f in doc["features"]}
    assert states[name]["state"] == "unconfirmed" and states[name]["label"] == "未確認"
    assert {s["state"] for n, s in states.items() if n != name} == {"confirmed"}
    html = client.get("/print?sel=1&layer=pharmacy").get_data(as_text=True)
    row = html[html.index(name) :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge unconfirmed">未確認</span>' in row


def test_print_view_lists_the_layers_with_their_filters(demo_client):
    html = demo_client.get("/print?sel=1&layer=medical&layer=pharmacy&cap=response_24h").get_data(
        as_text=True
    )
    assert "病院・診療所" in html and "薬局" in html and "24時間対応（要相談以上）" in html
    counts = [int(n) for n in re.findall(r"（(\d+)件）</h2>", html)]
    api = [
        json.loads(
            demo_client.get(f"/api/collections/{c}/items?cap=response_24h&limit=1").get_data(
                as_text=True
            )
        )["numberMatched"]
        for c in ("medical", "pharmacy")
    ]
    assert counts == api and all(n > 0 for n in counts)


def test_print_view_says_no_information_for_an_empty_offers_cell(demo_client):
    items = demo_client.get("/api/collections/pharmacy/items?limit=2000").get_json(force=True)
    empty = sum(1 for f in items["features"] if not f["properties"]["capabilities"])
    assert 0 < empty < len(items["features"])  # the demo has both kinds of row
    html = demo_client.get("/print?sel=1&layer=pharmacy").get_data(as_text=True)
    cells = re.findall(r'<td class="offers">(.*?)</td>', html, re.S)
    assert len(cells) == len(items["features"])
    assert sum(1 for c in cells if "情報なし" in c) == empty
    assert all(c.strip() for c in cells)  # never a blank cell


# ---- the professional finder -----------------------------------------------------------


def test_finder_needs_a_professional_login(demo_services):
    client = make_app(demo_services).test_client()
    r = client.get("/pro/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post("/pro/search", data={}).status_code in (302, 400)
    login_as(client, demo_services, "planner")  # planners and editors may use it too
    assert client.get("/pro/").status_code == 200


def _search(client, **form):
    token = csrf_token(client, "/pro/")
    return client.post("/pro/search", data={"csrf_token": token, **form})


def _rows(html: str) -> list[str]:
    return re.findall(r'<li class="result" data-uid="([^"]+)"', html)


def test_finder_results_meet_every_requirement_and_are_ordered_by_travel_time(demo_services):
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    r = _search(
        client,
        address="デモ市本町一丁目",
        **{
            "cap-home_visit_medical": "accept",
            "cap-terminal_care": "consult",
            "cap-night_response": "consult",
        },
    )
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    html = r.get_data(as_text=True)
    uids = _rows(html)
    assert uids, "no provider matched in the demo city"
    tax = demo_services.taxonomy
    with demo_services.store.session() as session:
        records = {
            p.uid: provider_record(p)
            for p in session.scalars(select(Provider).where(Provider.uid.in_(uids)))
        }
    for uid in uids:
        caps = records[uid]["capabilities"]
        assert tax.offers("home_visit_medical", caps.get("home_visit_medical"), "accept")
        assert tax.offers("terminal_care", caps.get("terminal_care"), "consult")
        assert tax.offers("night_response", caps.get("night_response"), "consult")
    assert "車での所要時間（分）の短い順" in html  # the demo has a road network
    shown = re.findall(r'<span class="dist">車で(?:約 (\d+) 分|(1分未満)) ·', html)
    minutes = [int(m) if m else 0 for m, _under in shown]
    assert minutes == sorted(minutes) and len(minutes) == len(uids)
    assert "ターミナルケア：" in html and "（条件 ターミナルケア（要相談以上））" in html
    assert "最終確認日" in html and "FAX（専門職向け）" in html  # professional contact fields
    # the patient's address is echoed nowhere in a URL of the page
    for url in re.findall(r'(?:href|action|formaction)="([^"]*)"', html):
        assert "本町" not in url and "%E6%9C%AC" not in url


def test_finder_by_map_click_and_errors(demo_services):
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    with demo_services.store.session() as session:
        lon, lat = session.execute(
            select(Provider.lon, Provider.lat).where(Provider.type == "home_nursing")
        ).first()
    r = _search(client, lon=str(lon), lat=str(lat), **{"type": "home_nursing"})
    assert r.status_code == 200 and _rows(r.get_data(as_text=True))
    r = _search(client)
    assert (
        r.status_code == 400
        and "住所を入力するか、地図で地点をクリックしてください" in r.get_data(as_text=True)
    )
    r = _search(client, lon="200", lat="0")
    assert r.status_code == 400
    r = _search(client, lon=str(lon), lat=str(lat), seed="²")  # a bad seed: a fresh one
    assert r.status_code == 200 and 'name="seed" value="' in r.get_data(as_text=True)
    r = _search(client, address="デモ市本町一丁目", **{"cap-ventilator": "sometimes"})
    assert r.status_code == 400 and "ventilator" in r.get_data(as_text=True)
    r = _search(client, address="存在しない町")
    assert r.status_code == 400 and "住所が見つかりませんでした" in r.get_data(as_text=True)


def test_shortlist_csv_and_print_keep_the_order_the_user_saw(demo_services):
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    r = _search(client, address="デモ市本町一丁目", type="home_nursing")
    html = r.get_data(as_text=True)
    uids = _rows(html)
    assert len(uids) >= 3
    form = dict(
        re.findall(
            r'<input type="hidden" name="(lon|lat|seed|csrf_token)" value="([^"]*)">',
            html.split('id="shortlist-form"')[1],
        )
    )
    picked = [uids[2], uids[0]]
    data = {**form, "type": "home_nursing", "uid": picked}
    r = client.post("/pro/export.csv", data=data)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["順位", "名称", "種別"] and "FAX（専門職向け）" in rows[0]
    assert [row[0] for row in rows[1:]] == ["1", "3"]  # ranks as on screen, screen order
    names = re.findall(r'class="link show-on-map"[^>]*>([^<]+)</button>', html)
    assert [row[1] for row in rows[1:]] == [names[0], names[2]]
    page = client.post("/pro/print", data=data)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert names[0] in text and names[2] in text and names[1] not in text
    # all results when nothing is ticked
    everything = client.post("/pro/export.csv", data={**form, "type": "home_nursing"})
    assert len(list(csv.reader(io.StringIO(everything.data.decode("utf-8-sig"))))) == len(uids) + 1


def test_finder_agrees_with_the_planners_service_area_rule(demo_services):
    """For any place, the finder and the planner's point check (whose answers match the
    planner's service-area polygons) say the same about every on-network provider."""
    from mapsvc.core.filters import FilterSet
    from mapsvc.finder.index import load_index
    from mapsvc.finder.search import find_providers
    from mapsvc.geo.area_check import point_check
    from mapsvc.geo.service_areas import resolve_rules
    from mapsvc.planner.inputs import context_for, providers_for, road_index

    index = load_index(demo_services)
    road = road_index(demo_services)
    assert road is not None
    with demo_services.store.session() as session:
        providers = providers_for(session)
        ctx = context_for(demo_services, session)
    rules, _problems = resolve_rules(providers, ctx)
    rng = __import__("numpy").random.default_rng(7)
    picks = rng.choice(len(index), 12, replace=False)
    compared = 0
    for pos in picks:
        lon, lat = float(index.lon[pos]) + 0.004, float(index.lat[pos]) - 0.003
        planner = {r["uid"]: r for r in point_check(rules, ctx, lon, lat) if not r["off_network"]}
        result = find_providers(
            index, lon, lat, FilterSet(), road=road, access_m=ctx.access_m, snap_m=ctx.snap_m
        )
        if result.order != "travel_time":
            continue  # the point is off the network: the finder says so and uses distance
        found = {m.uid: m for m in result.matches}
        for uid, verdict in planner.items():
            pos_of = index.position(uid)
            if pos_of is None or not index.active[pos_of]:
                continue  # the finder lists active providers only (suspended ones cannot serve)
            assert (uid in found) == verdict["inside"], (uid, verdict)
            if verdict["travel_min"] is not None and uid in found:
                assert abs(found[uid].travel_s / 60.0 - verdict["travel_min"]) < 0.01
            compared += 1
    assert compared > 3000


def test_finder_form_keeps_every_choice_after_an_error_and_names_the_field(demo_services):
    """A misspelled address used to reset every chosen need to 条件にしない."""
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    chosen = {
        "cap-ventilator": "accept",
        "cap-night_response": "consult",
        "cap-narcotics_licence": "yes",
        "type": "clinic",
    }
    r = _search(client, address="存在しない町", **chosen)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert re.search(r'<option value="accept" selected>', html.split('id="cap-ventilator"')[1])
    assert re.search(r'<option value="consult" selected>', html.split('id="cap-night_response"')[1])
    assert re.search(r'id="cap-narcotics_licence"[^>]*checked', html)
    assert re.search(r'value="clinic" checked', html)
    assert 'value="存在しない町"' in html  # shown back (no-store), so it can be corrected
    assert r.headers["Cache-Control"] == "no-store"
    address = re.search(r'<input type="text" id="address"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in address and 'aria-describedby="err-address' in address
    assert 'id="err-address"' in html and "住所が見つかりませんでした" in html
    # a bad level names its own control, and the others stay chosen
    r = _search(client, address="デモ市本町一丁目", **{**chosen, "cap-ventilator": "sometimes"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    select = re.search(r'<select id="cap-ventilator"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in select and 'aria-describedby="err-cap-ventilator"' in select
    assert re.search(r'<option value="consult" selected>', html.split('id="cap-night_response"')[1])


def test_an_empty_result_says_which_condition_emptied_it(demo_services):
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    r = _search(
        client,
        address="デモ市本町一丁目",
        type="pharmacy",
        **{"cap-ventilator": "active", "cap-home_visit_medical": "active"},
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and not _rows(html)
    assert 'id="why-few"' in html and "だけで" in html and "この条件を外すと" in html
    assert "条件を緩めてください" not in html
    # the demo has a road network: the order note must not say none is loaded
    assert "道路網が読み込まれていない" not in html
    assert 'id="results-title" tabindex="-1"' in html and 'href="#results-title"' in html


def test_finder_rows_link_phone_mail_and_fax(demo_services):
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    html = _search(client, address="デモ市本町一丁目", type="home_nursing").get_data(as_text=True)
    assert re.search(r'<a href="tel:[0-9+]{6,}">', html)
    fax = html.split("FAX（専門職向け）</dt><dd>")[1]
    assert fax.startswith('<a href="tel:')
    if "メール（専門職向け）" in html:
        assert '<a href="mailto:' in html
