"""Accounts, roles, login rate limit and the `mapsvc users` command."""

from __future__ import annotations

import pytest
from conftest import csrf_token, run_cli
from sqlalchemy import select

from mapsvc.core.errors import Conflict, InvalidInput
from mapsvc.core.models import AuditEntry, User
from mapsvc.core.users import add_user, authenticate, can_access


def test_add_user_hashes_and_audits(services) -> None:
    with services.store.session() as session:
        add_user(session, "kanri", "a-long-password", "editor", actor="test")
    with services.store.session() as session:
        user = session.scalars(select(User)).one()
        assert user.password_hash != "a-long-password" and user.password_hash.startswith(
            ("scrypt:", "pbkdf2:")
        )
        assert authenticate(session, "kanri", "a-long-password") is not None
        assert authenticate(session, "kanri", "wrong-password") is None
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.add")).one()
        assert audit.after == {"username": "kanri", "role": "editor"}
        with pytest.raises(Conflict):
            add_user(session, "kanri", "another-long-one", "planner")
        with pytest.raises(InvalidInput, match="role 'admin'"):
            add_user(session, "x", "a-long-password", "admin")
        with pytest.raises(InvalidInput, match="at least 10"):
            add_user(session, "y", "short", "planner")


def test_role_access() -> None:
    assert can_access("editor", "planner") and can_access("planner", "professional")
    assert not can_access("professional", "planner") and not can_access(None, "professional")


def test_users_add_command(sqlite_services, runner) -> None:
    result = run_cli(
        runner,
        sqlite_services,
        "users",
        "add",
        "caremgr",
        "--role",
        "professional",
        input="a-long-password\na-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-long-password" not in result.output
    listed = run_cli(runner, sqlite_services, "users", "list")
    assert "caremgr" in listed.output and "professional" in listed.output
    bad = run_cli(
        runner,
        sqlite_services,
        "users",
        "add",
        "x",
        "--role",
        "professional",
        "--password",
        "short",
    )
    assert bad.exit_code == 1 and "at least 10 characters" in bad.output


def test_login_is_rate_limited(client, sqlite_services) -> None:
    with sqlite_services.store.session() as session:
        add_user(session, "pro1", "a-long-password", "professional")
    for _ in range(5):
        r = client.post(
            "/login",
            data={
                "username": "pro1",
                "password": "nope-nope-nope",
                "csrf_token": csrf_token(client),
            },
        )
        assert r.status_code == 401
    r = client.post(
        "/login",
        data={"username": "pro1", "password": "a-long-password", "csrf_token": csrf_token(client)},
    )
    assert r.status_code == 429  # even the right password waits out the window


def test_login_requires_csrf_and_sets_safe_cookies(client, sqlite_services) -> None:
    with sqlite_services.store.session() as session:
        add_user(session, "pro2", "a-long-password", "professional")
    assert (
        client.post("/login", data={"username": "pro2", "password": "a-long-password"}).status_code
        == 400
    )
    r = client.post(
        "/login",
        data={"username": "pro2", "password": "a-long-password", "csrf_token": csrf_token(client)},
    )
    assert r.status_code == 302
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_open_redirect_is_refused(client, sqlite_services) -> None:
    with sqlite_services.store.session() as session:
        add_user(session, "pro3", "a-long-password", "professional")
    r = client.post(
        "/login?next=https://evil.example/",
        data={"username": "pro3", "password": "a-long-password", "csrf_token": csrf_token(client)},
    )
    assert r.status_code == 302 and "evil.example" not in r.headers["Location"]
