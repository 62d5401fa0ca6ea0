"""Sessions that end (issue 9, item 3): a saved cookie is refused after logout, a password
change or a role change, and after the idle and absolute limits."""

from __future__ import annotations

import pytest
from conftest import csrf_token, login_as, make_app, run_cli

from mapsvc.core.users import set_password, set_role
from mapsvc.web import auth


@pytest.fixture
def web(sqlite_services):
    return make_app(sqlite_services), sqlite_services


def _saved_cookie(app, services, role="professional"):
    client = app.test_client()
    login_as(client, services, role)
    assert client.get("/pro/").status_code == 200
    return client, client.get_cookie("session").value


def _replay(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_replayed_after_logout_is_refused(web):
    app, services = web
    client, cookie = _saved_cookie(app, services)
    assert _replay(app, cookie).get("/pro/").status_code == 200  # the replay works before
    r = client.post("/logout", data={"csrf_token": csrf_token(client, "/pro/")})
    assert r.status_code == 302
    replay = _replay(app, cookie)
    r = replay.get("/pro/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert replay.get("/api/collections/ventilator_nursing/items").status_code == 404
    r = _replay(app, cookie).get("/pro/search", headers={"Accept": "application/json"})
    assert r.status_code in (302, 401, 405)


def test_password_and_role_changes_end_existing_sessions(web, runner):
    app, services = web
    _, cookie = _saved_cookie(app, services)
    with services.store.session() as session:
        set_password(session, "professional-user", "another long password", actor="test")
    assert _replay(app, cookie).get("/pro/").status_code == 302
    _, cookie = _saved_cookie(app, services, "planner")
    with services.store.session() as session:
        set_role(session, "planner-user", "professional", actor="test")
    assert _replay(app, cookie).get("/pro/").status_code == 302
    _, cookie = _saved_cookie(app, services, "editor")
    result = run_cli(
        runner, services, "users", "password", "editor-user", "--password", "yet another one"
    )
    assert result.exit_code == 0, result.output
    assert _replay(app, cookie).get("/pro/").status_code == 302


def test_idle_timeout_and_absolute_lifetime(sqlite_services, monkeypatch):
    app = make_app(sqlite_services, SESSION_IDLE_SECONDS=600, SESSION_MAX_SECONDS=3600)
    clock = [1_000_000.0]
    monkeypatch.setattr(auth.time, "time", lambda: clock[0])
    client = app.test_client()
    login_as(client, sqlite_services, "professional")
    for _ in range(5):  # active every 9 minutes: still in
        clock[0] += 540
        assert client.get("/pro/").status_code == 200
    clock[0] += 540 * 2  # 18 minutes idle
    assert client.get("/pro/").status_code == 302
    login_as(client, sqlite_services, "professional")
    for _ in range(6):
        clock[0] += 540
        assert client.get("/pro/").status_code == 200
    clock[0] += 540  # 63 minutes after login, however active
    assert client.get("/pro/").status_code == 302
