"""Area editor and provider service-area endpoints: roles, CSRF, 400s naming the field,
save/undo through the web, the finder honouring a drawn provider area."""

from __future__ import annotations

import pytest
from conftest import login_as
from shapely.geometry import box, shape
from sqlalchemy import select

from mapsvc.core.models import Area, AuditEntry, Provider
from mapsvc.geo.drawn import geojson

pytest_plugins = ["demo_support"]


def _token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    return html.split(marker, 1)[1].split('"', 1)[0]


def _muni_and_areas(services):
    with services.store.session() as session:
        muni = session.scalar(select(Area).where(Area.kind == "municipality"))
        areas = session.scalars(
            select(Area).where(Area.kind == "daily_life_area").order_by(Area.code)
        ).all()
        return muni.code, {a.code: shape(a.geometry) for a in areas}


def test_roles_and_csrf(demo_services, demo_client) -> None:
    assert demo_client.get("/planner/areas/").status_code == 302  # to the login page
    anon = demo_client.post("/planner/areas/api/save", json={})
    assert anon.status_code in (400, 401)  # no CSRF token / no login: never saved
    login_as(demo_client, demo_services, "professional")
    assert demo_client.get("/planner/areas/").status_code == 403
    assert (
        demo_client.get(
            "/planner/areas/api/areas?kind=daily_life_area&municipality=372013"
        ).status_code
        == 403
    )


@pytest.mark.parametrize("role", ["planner", "editor"])
def test_editor_page_and_bad_geometry_names_the_field(demo_services, demo_client, role) -> None:
    login_as(demo_client, demo_services, role)
    page = demo_client.get("/planner/areas/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "leaflet-geoman-free-2.20.2/leaflet-geoman.js" in html
    assert "<script>" not in html  # scripts are files; data is in JSON blocks
    token = _token(demo_client, "/planner/areas/")
    muni, areas = _muni_and_areas(demo_services)
    # without the CSRF token: refused
    bad = demo_client.post("/planner/areas/api/save", json={"kind": "daily_life_area"})
    assert bad.status_code == 400 and "CSRF" in bad.get_json()["message"]
    headers = {"X-CSRFToken": token}
    body = {
        "kind": "daily_life_area",
        "municipality_code": muni,
        "areas": [{"code": "X1", "name": "x", "geometry": geojson(box(10, 10, 11, 11))}],
    }
    res = demo_client.post("/planner/areas/api/save", json=body, headers=headers)
    assert res.status_code == 400
    assert res.get_json()["field"] == "areas[0].geometry"
    assert "outside Japan" in res.get_json()["message"]
    # a drawn area over two existing ones: refused, with the overlaps to show
    first = sorted(areas)[0]
    body["areas"][0]["geometry"] = geojson(areas[first].centroid.buffer(0.01))
    res = demo_client.post("/planner/areas/api/save", json=body, headers=headers)
    assert res.status_code == 400
    data = res.get_json()
    assert data["error"] == "area_refused" and data["field"] == "areas"
    assert {p["problem"] for p in data["problems"]} == {"overlap"}
    assert all(p["geometry"]["type"] in ("Polygon", "MultiPolygon") for p in data["problems"])


def test_fit_save_indicators_and_undo_through_the_web(demo_services, demo_client) -> None:
    login_as(demo_client, demo_services, "planner")
    token = _token(demo_client, "/planner/areas/")
    headers = {"X-CSRFToken": token}
    muni, areas = _muni_and_areas(demo_services)
    q = f"kind=daily_life_area&municipality={muni}"
    before = {
        r["code"]: r
        for r in demo_client.get(f"/planner/areas/api/indicators?{q}").get_json()["rows"]
    }
    first = sorted(areas)[0]
    drawn = areas[first].buffer(0.01)  # about 1 km into every neighbour
    fit = demo_client.post(
        "/planner/areas/api/fit",
        json={
            "kind": "daily_life_area",
            "municipality_code": muni,
            "code": first,
            "geometry": geojson(drawn),
        },
        headers=headers,
    ).get_json()
    assert fit["problems"] == []
    assert len(fit["areas"]) >= 3  # the area and the neighbours that gave way
    saved = demo_client.post("/planner/areas/api/save", json=fit, headers=headers)
    assert saved.status_code == 200, saved.get_json()
    audit_id = saved.get_json()["audit_id"]
    after = {
        r["code"]: r
        for r in demo_client.get(f"/planner/areas/api/indicators?{q}").get_json()["rows"]
    }
    assert after[first]["population:75+"] > before[first]["population:75+"]
    assert sum(r["population:total"] for r in after.values()) == pytest.approx(
        sum(r["population:total"] for r in before.values()), rel=0.01
    )
    hist = demo_client.get(f"/planner/areas/api/areas?{q}").get_json()["history"]
    assert hist[0]["id"] == audit_id
    res = demo_client.post("/planner/areas/api/undo", json={"audit_id": "x"}, headers=headers)
    assert res.status_code == 400 and res.get_json()["field"] == "audit_id"
    res = demo_client.post("/planner/areas/api/undo", json={"audit_id": audit_id}, headers=headers)
    assert res.status_code == 200
    again = {
        r["code"]: r
        for r in demo_client.get(f"/planner/areas/api/indicators?{q}").get_json()["rows"]
    }
    assert again == before
    with demo_services.store.session() as session:
        actions = [
            r.action for r in session.scalars(select(AuditEntry).where(AuditEntry.entity == "area"))
        ]
    assert actions == ["area.edit", "area.undo"]


def test_provider_area_save_checks_and_the_finder_honours_it(demo_services, demo_client) -> None:
    with demo_services.store.session() as session:
        p = session.scalar(
            select(Provider)
            .where(Provider.type == "home_nursing", Provider.lon.is_not(None))
            .order_by(Provider.id)
        )
        uid, lon, lat = p.uid, p.lon, p.lat
    login_as(demo_client, demo_services, "planner")
    assert demo_client.get(f"/admin/providers/{uid}/service-area").status_code == 403
    login_as(demo_client, demo_services, "editor", username="editor1")
    page = demo_client.get(f"/admin/providers/{uid}/service-area")
    assert page.status_code == 200
    token = _token(demo_client, f"/admin/providers/{uid}/service-area")
    url = f"/admin/providers/{uid}/service-area/api/save"
    headers = {"X-CSRFToken": token}
    res = demo_client.post(
        url,
        json={"service_area": {"kind": "polygon", "geometry": {"type": "Point"}}},
        headers=headers,
    )
    assert res.status_code == 400 and res.get_json()["field"] == "service_area.geometry"
    res = demo_client.post(
        url, json={"service_area": {"kind": "codes", "codes": ["nope:1"]}}, headers=headers
    )
    assert res.status_code == 400 and res.get_json()["field"] == "service_area.codes"
    square = box(lon - 0.004, lat - 0.004, lon + 0.004, lat + 0.004)
    res = demo_client.post(
        url,
        json={"service_area": {"kind": "polygon", "geometry": geojson(square)}},
        headers=headers,
    )
    assert res.status_code == 200 and res.get_json()["changed"] is True
    with demo_services.store.session() as session:
        row = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "provider.service_area")
        ).one()
        assert row.entity_id == uid and row.actor == "editor1"

    # the finder now answers from the drawn polygon: in for a point inside, out for one
    # 2 km away that the type's default radius covered before
    with demo_services.store.session() as session:
        session.execute(
            Provider.__table__.update().where(Provider.uid == uid).values(service_area=None)
        )
    far = (lon + 0.022, lat)
    assert uid in _found(demo_services, *far)
    demo_client.post(
        url,
        json={"service_area": {"kind": "polygon", "geometry": geojson(square)}},
        headers=headers,
    )
    assert uid not in _found(demo_services, *far)
    assert _found(demo_services, lon + 0.003, lat + 0.003)[uid] == "polygon"


def _found(services, lon: float, lat: float) -> dict[str, str]:
    from mapsvc.core.filters import parse_filters
    from mapsvc.finder.index import load_index
    from mapsvc.finder.search import find_providers

    index = load_index(services)
    result = find_providers(index, lon, lat, parse_filters(None, "home_nursing", services.taxonomy))
    return {m.uid: m.area_rule for m in result.matches}


def test_a_drawn_custom_area_is_used_by_the_planner_and_the_finder(
    demo_services, demo_client
) -> None:
    """任意の区域 is an area like a file-imported one: the planner's indicators and choropleth
    count it, and a provider's service area can name it (``custom:CODE``)."""
    login_as(demo_client, demo_services, "planner")
    headers = {"X-CSRFToken": _token(demo_client, "/planner/areas/")}
    muni, areas = _muni_and_areas(demo_services)
    with demo_services.store.session() as session:
        p = session.scalar(
            select(Provider)
            .where(Provider.type == "home_nursing", Provider.lon.is_not(None))
            .order_by(Provider.id)
        )
        uid, lon, lat = p.uid, p.lon, p.lat
    square = box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    fit = demo_client.post(
        "/planner/areas/api/fit",
        json={
            "kind": "custom",
            "municipality_code": muni,
            "code": "c1",
            "geometry": geojson(square),
        },
        headers=headers,
    ).get_json()
    assert fit["problems"] == [], fit
    saved = demo_client.post("/planner/areas/api/save", json=fit, headers=headers)
    assert saved.status_code == 200, saved.get_json()

    rows = demo_client.get(
        f"/planner/areas/api/indicators?kind=custom&municipality={muni}"
    ).get_json()["rows"]
    assert [r["code"] for r in rows] == ["c1"]
    assert rows[0]["population:total"] > 0

    with demo_services.store.session() as session:
        session.execute(
            Provider.__table__.update()
            .where(Provider.uid == uid)
            .values(service_area={"kind": "codes", "codes": ["custom:c1"]})
        )
    assert _found(demo_services, lon + 0.005, lat)[uid] == "polygon"
    assert uid not in _found(demo_services, lon + 0.03, lat)  # outside the area, in the radius
