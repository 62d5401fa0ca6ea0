"""The survey form's drawn service area: a polygon answer is checked, queued, shown on the
review queue's small map; a bad one is refused next to the field."""

from __future__ import annotations

import json

from conftest import csrf_token, login_as, make_app
from shapely.geometry import box
from survey_support import add_provider, submissions

from mapsvc.core.registry import get_provider
from mapsvc.geo.drawn import geojson
from mapsvc.upkeep import survey
from mapsvc.upkeep.review import approve

SECRET = "test-secret-key"


def _link(services, uid):
    with services.store.session() as session:
        token = survey.issue_token(session, get_provider(session, uid), actor="editor", days=30)
        return survey.sign(SECRET, token.id)


def _post(client, token, uid, **fields):
    data = {
        "csrf_token": csrf_token(client, f"/survey/{token}"),
        "provider_id": uid,
        "respondent.name": "高松 花子",
        "respondent.title": "管理者",
        **fields,
    }
    return client.post(f"/survey/{token}", data=data)


def test_drawn_polygon_goes_to_review_and_is_shown_on_a_small_map(sqlite_services) -> None:
    services = sqlite_services
    client = make_app(services).test_client()
    uid = add_provider(services, "N", type="home_nursing", service_area={"kind": "radius", "km": 5})
    token = _link(services, uid)
    page = client.get(f"/survey/{token}").get_data(as_text=True)
    assert 'id="survey-area-map"' in page and 'value="polygon"' in page
    assert "js/survey_area.js" in page and "<script>" not in page

    bad = _post(
        client, token, uid, **{"service_area.kind": "polygon", "service_area.geometry": "{}"}
    )
    assert bad.status_code == 400
    assert 'id="f-service_area-geometry-error"' in bad.get_data(as_text=True)
    assert submissions(services, uid) == []

    square = geojson(box(134.04, 34.33, 134.06, 34.35))
    ok = _post(
        client,
        token,
        uid,
        **{"service_area.kind": "polygon", "service_area.geometry": json.dumps(square)},
    )
    assert ok.status_code in (200, 302, 303)
    (sub,) = submissions(services, uid)
    proposed = sub.payload["changes"]["service_area"]
    assert proposed["kind"] == "polygon"
    assert proposed["geometry"]["type"] == "Polygon"

    login_as(client, services, "editor")
    html = client.get("/admin/review").get_data(as_text=True)
    assert 'class="area-compare-map"' in html
    after = html.split('data-after="', 1)[1].split('"', 1)[0]
    assert json.loads(after.replace("&#34;", '"').replace("&quot;", '"'))["type"] == "Polygon"
    with services.store.session() as session:
        approve(session, sub.id, actor="editor")
        assert get_provider(session, uid).service_area["kind"] == "polygon"
