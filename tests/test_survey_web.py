"""The provider's survey form at /survey/<token>, through the test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import csrf_token, make_app
from survey_support import add_provider, record, submissions

from mapsvc.core.models import utcnow
from mapsvc.core.registry import get_provider
from mapsvc.upkeep import survey

SECRET = "test-secret-key"


def _link(services, uid, *, days=30, now=None):
    with services.store.session() as session:
        token = survey.issue_token(
            session, get_provider(session, uid), actor="editor", days=days, now=now
        )
        return survey.sign(SECRET, token.id)


@pytest.fixture
def web(sqlite_services):
    app = make_app(sqlite_services)
    return app.test_client(), sqlite_services


def _form(uid, token_page, **fields):
    data = {
        "csrf_token": token_page,
        "provider_id": uid,
        "respondent.name": "高松 花子",
        "respondent.title": "管理者",
        "service_area.kind": "default",
    }
    data.update(fields)
    return data


def _post(client, token, uid, **fields):
    """Send the form as provider ``uid`` through the link ``token`` (with a CSRF token)."""
    data = _form(uid, csrf_token(client, f"/survey/{token}"), **fields)
    return client.post(f"/survey/{token}", data=data)


def test_form_is_generated_for_the_type_with_current_answers(web):
    client, services = web
    uid = add_provider(
        services,
        "N",
        type="home_nursing",
        name="テスト訪問看護ステーション",
        capabilities={"ventilator": {"level": "consult", "note": "日中のみ"}},
        fax="087-811-0000",
        service_area={"kind": "radius", "km": 8},
    )
    token = _link(services, uid)
    response = client.get(f"/survey/{token}")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "テスト訪問看護ステーション" in html and 'lang="ja"' in html
    assert 'name="capabilities.ventilator" value="consult" checked' in html
    assert 'value="日中のみ"' in html
    assert 'name="capabilities.nursing_24h_addition"' in html  # home-nursing registration
    assert 'name="capabilities.home_visit_medical"' not in html  # clinics and hospitals only
    assert 'name="fields.fax"' in html and 'value="087-811-0000"' in html
    assert 'name="service_area.kind" value="radius" checked' in html
    assert 'name="service_area.km"' in html and 'value="8"' in html
    assert 'name="csrf_token"' in html
    assert "積極的受入" in html and "不明" in html
    assert 'name="viewport"' in html


def test_submission_goes_to_the_review_queue_not_the_registry(web):
    client, services = web
    uid = add_provider(services, "C")
    before = record(services, uid)
    token = _link(services, uid)
    response = _post(
        client,
        token,
        uid,
        **{
            "capabilities.ventilator": "accept",
            "capabilities.ventilator.note": "要相談の場合あり",
            "capabilities.contact_methods.phone": "1",
            "capabilities.contact_methods.fax": "2",
            "capabilities.home_care_support_clinic": "conventional",
            "fields.fax": "087-811-1234",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/survey/{token}/thanks")
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ご回答ありがとうございました" in thanks
    assert record(services, uid) == before
    [sub] = submissions(services, uid)
    assert sub.status == "pending" and sub.origin == "web" and sub.token_id
    assert sub.payload["changes"]["capabilities"] == {
        "ventilator": {"level": "accept", "note": "要相談の場合あり"},
        "contact_methods": {"value": ["phone", "fax"]},
        "home_care_support_clinic": {"value": "conventional"},
    }
    assert sub.payload["changes"]["fax"] == "087-811-1234"


def test_out_of_range_value_is_refused_next_to_the_field(web):
    client, services = web
    uid = add_provider(services, "C")
    token = _link(services, uid)
    response = _post(
        client,
        token,
        uid,
        **{
            "capabilities.ventilator": "always",
            "service_area.kind": "radius",
            "service_area.km": "900",
            "fields.email": "nope",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for name in ("capabilities-ventilator", "service_area-km", "fields-email"):
        assert re.search(rf'id="f-{name}-error"[^>]*>[^<]+', html), name
    assert "900 is out of range" in html
    assert ">メール（専門職向け）</a>:" in html  # the error summary names the field by its label
    assert "&#39;always&#39; is not one of" in html
    # the provider's other answers are kept on the page
    assert 'value="高松 花子"' in html
    assert submissions(services, uid) == []


def test_unknown_capability_in_a_post_is_refused(web):
    client, services = web
    uid = add_provider(services, "C")
    token = _link(services, uid)
    response = _post(client, token, uid, **{"capabilities.teleport": "accept"})
    assert response.status_code == 400
    assert "unknown capability &#39;teleport&#39;" in response.get_data(as_text=True)
    assert submissions(services, uid) == []


def test_token_for_one_provider_cannot_update_another(web):
    client, services = web
    a = add_provider(services, "A")
    b = add_provider(services, "B")
    token = _link(services, a)
    response = _post(client, token, b, **{"capabilities.ventilator": "accept"})
    assert response.status_code == 403
    assert submissions(services) == []


def test_expired_revoked_and_tampered_links_are_refused(web):
    client, services = web
    uid = add_provider(services, "C")
    expired = _link(services, uid, days=1, now=utcnow() - timedelta(days=2))
    response = client.get(f"/survey/{expired}")
    assert response.status_code == 410
    assert "有効期限" in response.get_data(as_text=True)
    token = _link(services, uid)
    assert client.get(f"/survey/{token[:-3]}xyz").status_code == 403
    with services.store.session() as session:
        survey.revoke(session, actor="editor", provider_uid=uid)
    response = client.get(f"/survey/{token}")
    assert response.status_code == 410
    assert "取り消されました" in response.get_data(as_text=True)


def test_survey_post_without_csrf_token_is_refused(web):
    client, services = web
    uid = add_provider(services, "C")
    token = _link(services, uid)
    data = _form(uid, "", **{"capabilities.ventilator": "accept"})
    del data["csrf_token"]
    response = client.post(f"/survey/{token}", data=data)
    assert response.status_code == 400
    assert submissions(services) == []


def test_english_form(web):
    client, services = web
    uid = add_provider(services, "C")
    token = _link(services, uid)
    html = client.get(f"/survey/{token}?lang=en").get_data(as_text=True)
    assert "Actively accepting" in html and "Send" in html


def test_the_form_renders_for_every_provider_type(web):
    client, services = web
    for i, provider_type in enumerate(services.taxonomy.provider_types):
        uid = add_provider(services, f"T{i}", type=provider_type)
        token = _link(services, uid)
        response = client.get(f"/survey/{token}")
        assert response.status_code == 200, provider_type
        html = response.get_data(as_text=True)
        for key, cap in services.taxonomy.capabilities.items():
            present = f'name="capabilities.{key}' in html
            assert present == (provider_type in cap.applies_to), (provider_type, key)
