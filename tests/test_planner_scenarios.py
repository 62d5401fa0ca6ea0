"""Best new sites on the planner page and saved what-if scenarios (issues 11 and 12)."""

from __future__ import annotations

import re

import pytest
from conftest import login_as, make_app
from planner_support import add_area, lonlat, one_clinic_on_a_grid
from sqlalchemy import select

from mapsvc.core.models import AuditEntry, WhatIfScenario


@pytest.fixture
def planner_app(sqlite_services, tmp_path):
    one_clinic_on_a_grid(sqlite_services, tmp_path)
    add_area(sqlite_services, "municipality", "372013", "高松市", -1000, 2000)
    return make_app(sqlite_services), sqlite_services


@pytest.fixture
def client(planner_app):
    app, services = planner_app
    c = app.test_client()
    login_as(c, services, "planner")
    c.csrf = re.search(  # type: ignore[attr-defined]
        r'name="csrf-token" content="([^"]+)"', c.get("/planner/").get_data(as_text=True)
    ).group(1)
    return c


def _post(c, path, body):
    return c.post(path, json=body, headers={"X-CSRFToken": c.csrf})


ANALYSIS = {"capability": ["home_visit_medical"], "radius_km": 0.3}
P1, P2 = lonlat(300, 300), lonlat(-300, -300)


def test_sites_action_answers_optimal_beside_greedy(client) -> None:
    body = _post(client, "/planner/api/sites", {**ANALYSIS, "k": 2, "km": 0.3, "grid_m": 150})
    assert body.status_code == 200, body.get_data(as_text=True)
    data = body.get_json()
    assert data["k"] == 2 and len(data["optimal"]["sites"]) <= 2
    assert data["optimal"]["75+_gain"] >= data["greedy"]["75+_gain"] > 0
    assert data["status"] in ("optimal", "time_limit") and data["candidates"] > 2
    site = data["optimal"]["sites"][0]
    assert 130 < site["lon"] < 140 and 30 < site["lat"] < 40


@pytest.mark.parametrize(
    ("change", "field"),
    [({"k": 0}, "k"), ({"k": 11}, "k"), ({"k": "three"}, "k"), ({"grid_m": 50}, "grid_m"),
     ({"km": -1}, "km"), ({"capability": ["nope"]}, "capability")],
)  # fmt: skip
def test_sites_action_bad_input_names_the_field(client, change, field) -> None:
    response = _post(client, "/planner/api/sites", {**ANALYSIS, "k": 2} | change)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_sites_action_has_a_size_limit_and_csrf(client, monkeypatch) -> None:
    import mapsvc.web.planner.scenarios as scenarios

    monkeypatch.setattr(scenarios, "WEB_MAX_CANDIDATES", 3)
    big = _post(client, "/planner/api/sites", {**ANALYSIS, "k": 2, "grid_m": 150})
    assert big.status_code == 400 and big.get_json()["field"] == "grid_m"
    assert "at most 3" in big.get_json()["message"]
    no_csrf = client.post("/planner/api/sites", json={**ANALYSIS, "k": 2})
    assert no_csrf.status_code == 400


def test_scenarios_save_list_open_compare(client, planner_app) -> None:
    _, services = planner_app
    first = {"lon": round(P1[0], 6), "lat": round(P1[1], 6)}
    second = {"lon": round(P2[0], 6), "lat": round(P2[1], 6), "km": 0.4}
    one = {"name": "北東に1か所", "analysis": ANALYSIS, "sites": [first]}
    two = {"name": "2か所", "analysis": ANALYSIS, "sites": [first, second]}
    assert client.post("/planner/api/scenarios", json=one).status_code == 400  # no CSRF
    saved = [_post(client, "/planner/api/scenarios", s) for s in (one, two)]
    assert [r.status_code for r in saved] == [201, 201]
    ids = [r.get_json()["id"] for r in saved]
    listed = client.get("/planner/api/scenarios").get_json()
    assert {r["name"]: r["sites"] for r in listed} == {"北東に1か所": 1, "2か所": 2}
    opened = client.get(f"/planner/api/scenarios/{ids[1]}").get_json()
    assert opened["sites_list"][1] == second
    assert opened["analysis"] == ANALYSIS | {"type": []}
    cmp = client.get(f"/planner/api/scenarios/compare?a={ids[0]}&b={ids[1]}").get_json()
    a, b = cmp["a"], cmp["b"]
    assert a["75+_covered_before"] == b["75+_covered_before"] and cmp["same_analysis"]
    assert b["75+_covered"] > a["75+_covered"] > a["75+_covered_before"]
    assert cmp["difference"]["75+_covered"] == b["75+_covered"] - a["75+_covered"]
    with services.store.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "what_if_scenario")
        ).all()
        assert len(rows) == 2 and rows[0].actor and rows[0].after["name"] == "北東に1か所"
    # saving under the same name replaces it (audit keeps the old version)
    again = _post(client, "/planner/api/scenarios", {**one, "sites": two["sites"]})
    assert again.status_code == 201 and again.get_json()["id"] == ids[0]
    with services.store.session() as session:
        assert session.scalars(select(WhatIfScenario)).all().__len__() == 2
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert last.before["sites"] == one["sites"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"name": ""}, "name"), ({"sites": []}, "sites"),
     ({"sites": [{"lon": 200, "lat": 34.3}]}, "sites[0].lon"),
     ({"sites": [{"lon": 134.05, "lat": 34.3, "minutes": "x"}]}, "sites[0].minutes"),
     ({"analysis": {"capability": []}}, "capability")],
)  # fmt: skip
def test_scenario_bad_input_names_the_field(client, change, field) -> None:
    body = {"name": "x", "analysis": ANALYSIS, "sites": [{"lon": 134.05, "lat": 34.3}]} | change
    response = _post(client, "/planner/api/scenarios", body)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_scenarios_need_the_planner_role(planner_app) -> None:
    app, services = planner_app
    c = app.test_client()
    assert c.get("/planner/api/scenarios").status_code == 401
    login_as(c, services, "professional")
    assert c.get("/planner/api/scenarios").status_code == 403
    assert c.get("/planner/api/scenarios/compare?a=1&b=2").status_code == 403
