"""Saved shortlists: save from a result page (providers + conditions, never the address or
point), reopen, share by link with another professional, "changed since" per provider."""

from __future__ import annotations

import json
import re

from conftest import csrf_token, login_as, make_app
from sqlalchemy import select

from mapsvc.core.db import bump_generation
from mapsvc.core.models import Provider, Shortlist, utcnow

pytest_plugins = ["demo_support"]
ADDRESS = "デモ市本町一丁目"


def _result_form(client):
    html = client.post(
        "/pro/search",
        data={
            "csrf_token": csrf_token(client, "/pro/"),
            "address": ADDRESS,
            "type": "home_nursing",
            "cap-night_response": "consult",
        },
    ).get_data(as_text=True)
    part = html.split('id="shortlist-form"')[1]
    form = dict(
        re.findall(r'<input type="hidden" name="(lon|lat|seed|csrf_token)" value="([^"]*)">', part)
    )
    uids = re.findall(r'<li class="result" data-uid="([^"]+)"', html)
    return form, uids


def test_save_reopen_share_and_see_what_changed(demo_services):
    app = make_app(demo_services, INDEX_REFRESH_SECONDS=0)
    cm1, cm2 = app.test_client(), app.test_client()
    login_as(cm1, demo_services, "professional", "cm1")
    login_as(cm2, demo_services, "professional", "cm2")
    form, uids = _result_form(cm1)
    assert len(uids) >= 3
    r = cm1.post(
        "/pro/shortlists/",
        data={
            **form,
            "cap": "night_response:consult",
            "type": "home_nursing",
            "uid": uids[:2],
            "title": "Aさん退院",
        },
    )
    assert r.status_code == 303
    link = r.headers["Location"]
    with demo_services.store.session() as session:
        row = session.scalar(select(Shortlist))
        stored = json.dumps(
            {"c": row.conditions, "i": row.items, "t": row.title}, ensure_ascii=False
        )
        assert [i["uid"] for i in row.items] == uids[:2]
        assert row.conditions == {"cap": ["night_response:consult"], "type": ["home_nursing"]}
    # neither the address nor the point is stored
    assert (
        "本町一丁目" not in stored
        and form["lon"][:6] not in stored
        and form["lat"][:5] not in stored
    )
    # reopened by its owner, listed under "mine"
    page = cm1.get(link).get_data(as_text=True)
    assert "Aさん退院" in page and "更新あり" not in page
    assert "Aさん退院" in cm1.get("/pro/shortlists/").get_data(as_text=True)
    assert "Aさん退院" not in cm2.get("/pro/shortlists/").get_data(as_text=True)
    # shared by link: another professional opens it; the public cannot
    shared = cm2.get(link)
    assert shared.status_code == 200 and "Aさん退院" in shared.get_data(as_text=True)
    assert shared.headers["Cache-Control"] == "no-store"
    assert app.test_client().get(link).status_code == 302  # login first
    # a provider's record changes: the shortlist says so for that one only
    with demo_services.store.session() as session:
        p = session.scalar(select(Provider).where(Provider.uid == uids[1]))
        p.phone, p.updated_at = "087-000-1234", utcnow()
        bump_generation(session)
    page = cm2.get(link).get_data(as_text=True)
    items = re.findall(r'<li class="result" data-uid="([^"]+)">(.*?)</li>', page, re.S)
    flags = {uid: "更新あり" in body for uid, body in items}
    assert flags == {uids[0]: False, uids[1]: True}
    assert 'href="tel:0870001234"' in page
    # only the owner may delete
    token = csrf_token(cm2, link)
    shortlist_id = link.rsplit("/", 1)[1]
    assert (
        cm2.post(f"/pro/shortlists/{shortlist_id}/delete", data={"csrf_token": token}).status_code
        == 404
    )
    token = csrf_token(cm1, link)
    gone = cm1.post(f"/pro/shortlists/{shortlist_id}/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    assert cm1.get(link).status_code == 404


def test_saving_with_nothing_ticked_keeps_every_result(demo_services):
    client = make_app(demo_services).test_client()
    login_as(client, demo_services, "professional")
    form, uids = _result_form(client)
    r = client.post(
        "/pro/shortlists/", data={**form, "cap": "night_response:consult", "type": "home_nursing"}
    )
    assert r.status_code == 303
    with demo_services.store.session() as session:
        assert [i["uid"] for i in session.scalar(select(Shortlist)).items] == uids
