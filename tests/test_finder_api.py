"""The JSON finder (POST /pro/api/finder): session or per-user token, the form's query,
answers with reasons, levels, distance, minutes, confirmation and seed; tokens issued and
revoked by an editor (admin page and CLI); never the point or the address in an answer or
a log."""

from __future__ import annotations

import logging
import re

from conftest import csrf_token, login_as, make_app, run_cli
from sqlalchemy import select

from mapsvc.core.api_tokens import issue_token
from mapsvc.core.models import ApiToken, Provider
from mapsvc.core.registry import provider_record

pytest_plugins = ["demo_support"]
ADDRESS = "デモ市本町一丁目"
QUERY = {"address": ADDRESS, "cap": ["home_visit_medical:accept", "night_response"]}


def _app(services):
    return make_app(services)


def test_session_and_token_get_the_same_answer_and_it_matches_the_form(demo_services):
    app = _app(demo_services)
    client = app.test_client()
    assert client.post("/pro/api/finder", json=QUERY).status_code == 401
    login_as(client, demo_services, "professional", "cm1")
    r = client.post("/pro/api/finder", json=QUERY)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    doc = r.get_json()
    assert doc["numberReturned"] == len(doc["results"]) > 0
    assert doc["order"] == "travel_time" and isinstance(doc["seed"], int)
    first = doc["results"][0]
    for key in ("reasons", "levels", "distance_km", "travel_min", "confirmation", "contact"):
        assert key in first
    assert set(first["levels"]) == {"home_visit_medical", "night_response"}
    tax = demo_services.taxonomy
    with demo_services.store.session() as session:
        for res in doc["results"]:
            p = session.scalar(select(Provider).where(Provider.uid == res["id"]))
            caps = provider_record(p)["capabilities"]
            assert tax.offers("home_visit_medical", caps.get("home_visit_medical"), "accept")
            assert res["levels"]["home_visit_medical"] == caps["home_visit_medical"]
    # the answer repeats neither the address nor the point
    text = r.get_data(as_text=True)
    for res in doc["results"]:  # a provider's own address may lie in the searched town
        text = text.replace(res["address"] or "", "")
    assert ADDRESS not in text
    assert not {"address", "lon", "lat", "point", "place"} & set(doc)
    assert doc["approximated"] is True
    # the same seed repeats the order; the HTML form gives the same providers
    again = client.post("/pro/api/finder", json={**QUERY, "seed": doc["seed"]}).get_json()
    assert [x["id"] for x in again["results"]] == [x["id"] for x in doc["results"]]
    token = csrf_token(client, "/pro/")
    html = client.post(
        "/pro/search",
        data={
            "csrf_token": token,
            "address": ADDRESS,
            "cap-home_visit_medical": "accept",
            "cap-night_response": "yes",
            "seed": str(doc["seed"]),
        },
    ).get_data(as_text=True)
    assert re.findall(r'<li class="result" data-uid="([^"]+)"', html) == [
        x["id"] for x in doc["results"]
    ]
    # a token acts as its user, without a session
    with demo_services.store.session() as session:
        key = issue_token(session, "cm1", actor="test", label="ケアマネソフト")
    other = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    by_token = other.post("/pro/api/finder", json={**QUERY, "seed": doc["seed"]}, headers=headers)
    assert by_token.status_code == 200
    assert [x["id"] for x in by_token.get_json()["results"]] == [x["id"] for x in doc["results"]]
    with demo_services.store.session() as session:
        row = session.scalar(select(ApiToken))
        assert row.last_used_at is not None and key not in (row.token_hash, row.label)
    bad = other.post("/pro/api/finder", json=QUERY, headers={"Authorization": "Bearer mst_nope"})
    assert bad.status_code == 401 and bad.get_json()["error"] == "unauthorized"


def test_each_result_shows_the_professional_record_of_its_provider(demo_services):
    """The answer reads only some fields of each record: they must be the ones the
    professional reduction of the stored provider holds, with its confirmation badge."""
    from mapsvc.core.models import utcnow
    from mapsvc.core.staleness import confirmation_badge
    from mapsvc.core.visibility import reduce_record
    from mapsvc.finder.shortlist import CONTACT_FIELDS

    client = _app(demo_services).test_client()
    login_as(client, demo_services, "professional", "cm1")
    tax = demo_services.taxonomy
    for lang in ("ja", "en"):
        doc = client.post(f"/pro/api/finder?lang={lang}", json={**QUERY, "cap": []}).get_json()
        assert doc["numberReturned"] > 0
        with demo_services.store.session() as session:
            for res in doc["results"]:
                p = session.scalar(select(Provider).where(Provider.uid == res["id"]))
                record = provider_record(p)
                props = reduce_record(record, "professional", tax)
                assert (res["name"], res["type"], res["address"]) == (
                    props.get("name"),
                    props.get("type"),
                    props.get("address"),
                )
                assert res["type_label"] == tax.provider_types[record["type"]].label.get(lang)
                assert res["contact"] == {f: props[f] for f in CONTACT_FIELDS if props.get(f)}
                badge = confirmation_badge(record, utcnow(), demo_services.config, lang)
                assert res["confirmation"] == {
                    k: badge[k] for k in ("state", "label", "date", "text")
                }
                assert res["levels"] == {}
    assert any(res["contact"] for res in doc["results"])


def test_bad_bodies_are_400_naming_the_field_and_forms_are_refused(demo_services):
    client = _app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    cases = [
        ({"lon": "east", "lat": 34}, "lon"),
        ({"address": ADDRESS, "cap": ["ventilator:maybe"]}, "cap"),
        ({"address": ADDRESS, "color": "red"}, "color"),
        ({"address": ADDRESS, "seed": -1}, "seed"),
        ({"address": "存在しない町"}, "address"),
        ({}, "address"),
        ([1, 2], "body"),
    ]
    for body, field in cases:
        r = client.post("/pro/api/finder", json=body)
        assert r.status_code == 400, body
        assert r.get_json()["field"] == field, (body, r.get_json())
    form = client.post("/pro/api/finder", data={"address": ADDRESS})
    assert form.status_code == 415  # a cross-site form cannot send JSON


def test_an_empty_answer_says_what_each_condition_removes(demo_services):
    client = _app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    doc = client.post(
        "/pro/api/finder",
        json={
            "address": ADDRESS,
            "cap": ["ventilator:active", "home_visit_medical:active"],
            "type": ["pharmacy"],
        },
    ).get_json()
    assert doc["results"] == []
    why = doc["why_few"]
    assert why["covering"] > 0 and {c["condition"] for c in why["conditions"]} == {
        "ventilator:active",
        "home_visit_medical:active",
        "type",
    }
    vent = next(c for c in why["conditions"] if c["condition"] == "ventilator:active")
    assert vent["relaxed_to"] == "consult" and isinstance(vent["relaxed"], int)


def test_no_log_holds_the_address_or_the_point(demo_services, caplog):
    client = _app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    client.post("/pro/api/finder", json={"lon": 139.0, "lat": 35.0})  # warm the index
    caplog.set_level(logging.DEBUG)
    for name in ("mapsvc", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        client.post("/pro/api/finder", json=QUERY)
        client.post("/pro/api/finder", json={"lon": 133.123457, "lat": 34.345679})
    finally:
        for name in ("mapsvc", "sqlalchemy.engine"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    assert caplog.records
    assert "本町" not in caplog.text and "133.12" not in caplog.text and "34.34" not in caplog.text


def test_openapi_describes_the_finder_for_professionals_only(demo_services):
    client = _app(demo_services).test_client()
    assert "/pro/api/finder" not in client.get("/api/openapi.json").get_json()["paths"]
    login_as(client, demo_services, "professional")
    doc = client.get("/api/openapi.json").get_json()
    post = doc["paths"]["/pro/api/finder"]["post"]
    assert "application/json" in post["requestBody"]["content"]
    assert doc["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_editor_issues_and_revokes_tokens_on_the_admin_page_and_the_cli(demo_services, runner):
    app = _app(demo_services)
    editor = app.test_client()
    login_as(editor, demo_services, "editor", "ed1")
    login_as(app.test_client(), demo_services, "professional", "cm2")
    page = editor.post(
        "/admin/tokens/issue",
        data={"csrf_token": csrf_token(editor, "/admin/tokens"), "username": "cm2", "label": "x"},
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    key = re.search(r'<code id="new-token">(mst_[^<]+)</code>', page.get_data(as_text=True)).group(
        1
    )
    api = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert api.post("/pro/api/finder", json=QUERY, headers=headers).status_code == 200
    listing = editor.get("/admin/tokens").get_data(as_text=True)
    assert key not in listing and "cm2" in listing  # shown once only
    token_id = re.search(r"/admin/tokens/(\d+)/revoke", listing).group(1)
    editor.post(
        f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(editor, "/admin/tokens")}
    )
    assert api.post("/pro/api/finder", json=QUERY, headers=headers).status_code == 401
    assert app.test_client().get("/admin/tokens").status_code == 302  # editors only
    # the CLI: issue, list (never the token), revoke
    out = run_cli(runner, demo_services, "tokens", "issue", "cm2", "--label", "cli")
    cli_key = out.output.strip()
    assert out.exit_code == 0 and cli_key.startswith("mst_")
    assert (
        api.post(
            "/pro/api/finder", json=QUERY, headers={"Authorization": f"Bearer {cli_key}"}
        ).status_code
        == 200
    )
    listed = run_cli(runner, demo_services, "tokens", "list").output
    assert cli_key not in listed and "revoked" in listed
    cli_id = [line.split()[0] for line in listed.splitlines() if " cli " in line][0]
    assert run_cli(runner, demo_services, "tokens", "revoke", cli_id).exit_code == 0
    assert (
        api.post(
            "/pro/api/finder", json=QUERY, headers={"Authorization": f"Bearer {cli_key}"}
        ).status_code
        == 401
    )
