"""The admin view /admin: access, every page, every form (CSRF enforced), downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import csrf_token, login_as, make_app
from survey_support import add_provider, provider_audits, record, submissions

from mapsvc.core.registry import get_provider
from mapsvc.upkeep import review

GET_PAGES = [
    "/admin/",
    "/admin/quality",
    "/admin/providers",
    "/admin/links",
    "/admin/links.csv",
    "/admin/templates",
    "/admin/templates/clinic.csv",
    "/admin/templates/clinic.xlsx",
    "/admin/review",
    "/admin/review?status=approved",
    "/admin/audit",
    "/admin/audit.csv",
    "/admin/imports",
    "/admin/users",
]


def _post_routes() -> list[str]:
    """Every POST route of the admin, survey and login blueprints, with sample arguments."""
    from mapsvc import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://"})
    samples = {"token_id": "0" * 32, "submission_id": 1, "username": "editor-user", "token": "x"}
    out = []
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()) and rule.endpoint.split(".")[0] in (
            "admin",
            "survey",
            "auth",
        ):
            out.append(rule.build({a: samples[a] for a in rule.arguments}, append_unknown=False)[1])
    return sorted(out)


POST_FORMS = _post_routes()


@pytest.fixture
def web(sqlite_services):
    app = make_app(sqlite_services)
    return app.test_client(), sqlite_services


@pytest.mark.parametrize("path", GET_PAGES)
def test_anonymous_users_are_sent_to_login(web, path):
    client, _ = web
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["professional", "planner"])
def test_other_roles_are_refused(web, role):
    client, services = web
    login_as(client, services, role)
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_editor_login_lands_on_admin(web):
    client, services = web
    from mapsvc.core.users import add_user

    with services.store.session() as session:
        add_user(session, "ed", "correct horse battery", "editor")
    response = client.post(
        "/login",
        data={
            "username": "ed",
            "password": "correct horse battery",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"].endswith("/admin/")


@pytest.mark.parametrize("path", GET_PAGES)
def test_every_admin_page_renders_for_editors(web, path):
    client, services = web
    add_provider(services, "C", fax="087-000-0000")
    login_as(client, services, "editor")
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]


def test_the_sweep_covers_the_forms():
    assert {"/admin/links/issue", "/admin/review/1/approve", "/survey/x", "/login"} <= set(
        POST_FORMS
    )


@pytest.mark.parametrize("path", POST_FORMS)
def test_csrf_is_enforced_on_every_form(web, path):
    client, services = web
    login_as(client, services, "editor")
    response = client.post(path, data={"reason": "x", "role": "planner", "provider": "x"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_csrf_is_enforced_on_login_and_logout(web):
    client, services = web
    assert client.post("/login", data={"username": "a", "password": "b"}).status_code == 400
    login_as(client, services, "editor")
    assert client.post("/logout").status_code == 400


def _token(client, path="/admin/links"):
    return csrf_token(client, path)


def test_issue_link_from_the_provider_list_and_revoke_it(web):
    client, services = web
    uid = add_provider(services, "C", name="番町クリニック")
    login_as(client, services, "editor")
    page = client.get("/admin/providers?q=番町").get_data(as_text=True)
    assert "番町クリニック" in page and "再確認待ち" in page
    response = client.post(
        "/admin/links/issue", data={"csrf_token": _token(client), "provider": uid}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    url = re.search(r'class="issued-link">(http://localhost/survey/[^<]+)<', html).group(1)
    survey_page = client.get(url.replace("http://localhost", ""))
    assert survey_page.status_code == 200 and "番町クリニック" in survey_page.get_data(as_text=True)
    # revoke it from the links page
    links = client.get("/admin/links?status=active").get_data(as_text=True)
    token_id = re.search(r"/admin/links/([0-9a-f]{32})/revoke", links).group(1)
    response = client.post(f"/admin/links/{token_id}/revoke", data={"csrf_token": _token(client)})
    assert response.status_code == 302
    assert client.get(url.replace("http://localhost", "")).status_code == 410


def test_batch_issue_downloads_a_mail_merge_csv(web):
    client, services = web
    add_provider(services, "C", fax="087-000-1111")
    add_provider(services, "P", type="pharmacy", name="薬局")
    login_as(client, services, "editor")
    response = client.post(
        "/admin/links/issue",
        data={"csrf_token": _token(client), "type": "clinic", "output": "csv", "days": "14"},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["fax"] for r in rows] == ["087-000-1111"]
    assert rows[0]["url"].startswith("http://localhost/survey/")
    bad = client.post(
        "/admin/links/issue", data={"csrf_token": _token(client), "type": "clinic", "days": "0"}
    )
    assert bad.status_code == 400 and "days" in bad.get_data(as_text=True)


def test_links_keep_the_path_the_site_is_mounted_under(web):
    client, services = web
    uid = add_provider(services, "C")
    login_as(client, services, "editor")
    mounted = "http://localhost/map/"
    token = csrf_token(client, "/admin/links")
    response = client.post(
        "/admin/links/issue",
        data={"csrf_token": token, "provider": uid, "output": "csv"},
        base_url=mounted,
    )
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0]["url"].startswith("http://localhost/map/survey/")
    path = rows[0]["url"].removeprefix("http://localhost/map")
    assert client.get(path, base_url=mounted).status_code == 200


def test_due_list_download(web):
    client, services = web
    uid = add_provider(services, "C")
    login_as(client, services, "editor")
    response = client.post("/admin/due.csv", data={"csrf_token": _token(client, "/admin/")})
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r["provider_id"] for r in rows] == [uid]
    assert rows[0]["url"].startswith("http://localhost/survey/")


def _queue(services, uid, level, when=None):
    with services.store.session() as session:
        provider = get_provider(session, uid)
        data = {
            "capabilities": {"ventilator": {"level": level}},
            "respondent": {"name": "高松", "title": "管理者"},
        }
        return review.receive(session, services.taxonomy, provider, data, now=when).id


def test_review_page_shows_the_diff_and_approval_publishes(web):
    client, services = web
    uid = add_provider(services, "C", capabilities={"ventilator": {"level": "no"}})
    sid = _queue(services, uid, "accept")
    login_as(client, services, "editor", username="editor1")
    html = client.get("/admin/review").get_data(as_text=True)
    assert "人工呼吸器" in html and "不可" in html and "受入" in html
    response = client.post(
        f"/admin/review/{sid}/approve", data={"csrf_token": _token(client, "/admin/review")}
    )
    assert response.status_code == 302
    rec = record(services, uid)
    assert rec["capabilities"]["ventilator"] == {"level": "accept"}
    assert rec["confirmed_by"] == "editor1"
    audit = provider_audits(services, uid)[-1]
    assert audit.action == "review.approve" and audit.before and audit.after
    log = client.get(f"/admin/audit?provider={uid}&action=review.approve").get_data(as_text=True)
    assert "review.approve" in log and "editor1" in log


def test_review_page_refuses_an_unknown_status(web):
    client, services = web
    login_as(client, services, "editor")
    response = client.get("/admin/review?status=bogus")
    assert response.status_code == 400
    assert "&#39;bogus&#39; is not one of pending" in response.get_data(as_text=True)


def test_old_submission_cannot_be_approved_over_a_newer_one(web):
    client, services = web
    from datetime import timedelta

    from mapsvc.core.models import utcnow

    uid = add_provider(services, "C")
    old = _queue(services, uid, "consult", utcnow() - timedelta(hours=2))
    new = _queue(services, uid, "accept", utcnow() - timedelta(hours=1))
    login_as(client, services, "editor")
    html = client.get("/admin/review").get_data(as_text=True)
    assert html.index(f"submission-{old}") < html.index(f"submission-{new}")
    token = _token(client, "/admin/review")
    client.post(f"/admin/review/{new}/approve", data={"csrf_token": token})
    response = client.post(
        f"/admin/review/{old}/approve", data={"csrf_token": token}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "承認できません" in html and "already approved" in html
    assert record(services, uid)["capabilities"]["ventilator"] == {"level": "accept"}


def test_reject_needs_a_reason(web):
    client, services = web
    uid = add_provider(services, "C")
    sid = _queue(services, uid, "accept")
    login_as(client, services, "editor")
    token = _token(client, "/admin/review")
    html = client.post(
        f"/admin/review/{sid}/reject",
        data={"csrf_token": token, "reason": ""},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "却下の理由を入力してください" in html
    assert submissions(services, uid)[0].status == "pending"
    client.post(f"/admin/review/{sid}/reject", data={"csrf_token": token, "reason": "誤り"})
    assert submissions(services, uid)[0].status == "rejected"


def test_template_upload_goes_to_the_review_queue(web):
    client, services = web
    uid = add_provider(services, "C", capabilities={"ventilator": {"level": "no"}})
    login_as(client, services, "editor")
    data = client.get("/admin/templates/clinic.csv").data.decode("utf-8-sig")
    filled = data.replace(",不可,", ",積極的受入,", 1)
    before = record(services, uid)
    response = client.post(
        "/admin/templates/upload",
        data={
            "csrf_token": _token(client, "/admin/templates"),
            "file": (io.BytesIO(filled.encode("utf-8-sig")), "clinic.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/admin/imports/" in response.headers["Location"]
    report = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "queued: 1" in report
    assert record(services, uid) == before
    [sub] = submissions(services, uid)
    assert sub.origin == "template"
    assert sub.payload["changes"]["capabilities"] == {"ventilator": {"level": "active"}}
    wrong = client.post(
        "/admin/templates/upload",
        data={
            "csrf_token": _token(client, "/admin/templates"),
            "file": (io.BytesIO(b"x"), "a.exe"),
        },
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 400


def test_import_report_and_rejects_download(web, tmp_path):
    client, services = web
    add_provider(services, "C")
    login_as(client, services, "editor")
    body = "id,source_id,type,name\r\nnope,X,clinic,知らない診療所\r\n"
    response = client.post(
        "/admin/templates/upload",
        data={
            "csrf_token": _token(client, "/admin/templates"),
            "file": (io.BytesIO(body.encode("utf-8-sig")), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    run_url = response.headers["Location"]
    html = client.get(run_url).get_data(as_text=True)
    assert "no provider with id nope" in html
    rejects = client.get(run_url + "/rejects.csv")
    rows = list(csv.DictReader(io.StringIO(rejects.data.decode("utf-8-sig"))))
    assert rows[0]["reason"].startswith("no provider with id nope")
    assert "x.csv" in client.get("/admin/imports").get_data(as_text=True)


def test_users_add_and_change_role(web):
    client, services = web
    login_as(client, services, "editor", username="chief")
    token = _token(client, "/admin/users")
    response = client.post(
        "/admin/users/add",
        data={
            "csrf_token": token,
            "username": "cm1",
            "password": "long enough pw",
            "role": "professional",
        },
    )
    assert response.status_code == 302
    short = client.post(
        "/admin/users/add",
        data={"csrf_token": token, "username": "cm2", "password": "short", "role": "professional"},
    )
    assert short.status_code == 400 and "at least 10 characters" in short.get_data(as_text=True)
    client.post("/admin/users/cm1/role", data={"csrf_token": token, "role": "planner"})
    from sqlalchemy import select

    from mapsvc.core.models import AuditEntry, User

    with services.store.session() as session:
        user = session.scalar(select(User).where(User.username == "cm1"))
        assert user.role == "planner"
        assert user.password_hash != "long enough pw"
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == "cm1").order_by(AuditEntry.id)
        ).all()
    assert actions == ["user.add", "user.role"]
    demote = client.post("/admin/users/chief/role", data={"csrf_token": token, "role": "planner"})
    assert demote.status_code == 400


def test_audit_log_filters(web):
    client, services = web
    a = add_provider(services, "A", name="甲診療所")
    add_provider(services, "B", name="乙診療所")
    login_as(client, services, "editor")
    html = client.get("/admin/audit?provider=甲").get_data(as_text=True)
    assert a in html and "乙" not in html.split("<tbody>")[1]
    assert client.get("/admin/audit?since=2026-13-01").status_code == 400
    empty = client.get("/admin/audit?since=2099-01-01").get_data(as_text=True)
    assert "該当する記録はありません" in empty
    csv_text = client.get("/admin/audit.csv?entity=user").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "at,actor,action,entity,entity_id,before,after"
    assert "user.add" in csv_text and "import.insert" not in csv_text
