"""Shared fixtures: stores on SQLite and PostgreSQL, the app, a CLI runner, logins.

Store tests take the ``services`` fixture, which runs each test on SQLite and on
PostgreSQL. PostgreSQL needs MAPSVC_TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test); without it those cases skip with that
reason, unless MAPSVC_TEST_REQUIRE_POSTGRES=1 (set by .ci/run), where they fail.
Each PostgreSQL test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mapsvc.core.services import Services

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
# ../shared beside the checkout; a git worktree one level deeper (wt/NAME) finds it one
# level up; MAPSVC_TEST_REAL_DATA names another folder.
REAL = next(
    (
        p
        for p in (
            Path(os.environ.get("MAPSVC_TEST_REAL_DATA", "/nonexistent")),
            ROOT.parent / "shared" / "data" / "real",
            ROOT.parent.parent / "shared" / "data" / "real",
        )
        if p.exists()
    ),
    ROOT.parent / "shared" / "data" / "real",
)
PG_URL = os.environ.get("MAPSVC_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("MAPSVC_TEST_REQUIRE_POSTGRES") == "1"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's MAPSVC_* settings."""
    for key in list(os.environ):
        if key.startswith("MAPSVC_") and not key.startswith("MAPSVC_TEST_"):
            monkeypatch.delenv(key)


def real_path(*parts: str) -> Path:
    """A file under ../shared/data/real, or skip the test saying why."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (../shared/data/real is absent)")
    return path


@pytest.fixture
def real() -> Callable[..., Path]:
    return real_path


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each back-end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("MAPSVC_TEST_REQUIRE_POSTGRES=1 but MAPSVC_TEST_DATABASE_URL is not set")
        pytest.skip(
            "PostgreSQL store tests need MAPSVC_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    from sqlalchemy import text

    from mapsvc.core.db import make_engine

    schema = "t_" + uuid.uuid4().hex[:16]
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - report why PostgreSQL is unusable
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL at MAPSVC_TEST_DATABASE_URL is not usable: {exc}")
        pytest.skip(f"PostgreSQL at MAPSVC_TEST_DATABASE_URL is not usable: {exc}")
    try:
        yield _pg_schema_url(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def build_services(tmp_path: Path, db_url: str, **overrides: Any) -> Services:
    config = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": db_url,
        "GEOCODERS": "cache,gazetteer",
        "SECRET_KEY": "test-secret-key",
        **overrides,
    }
    services = Services.from_config(config)
    services.store.upgrade()
    return services


@pytest.fixture
def services(db_url: str, tmp_path: Path) -> Iterator[Services]:
    """Services on a fresh store, once per back-end (SQLite, PostgreSQL)."""
    svc = build_services(tmp_path, db_url)
    yield svc
    svc.close()


@pytest.fixture
def sqlite_services(tmp_path: Path) -> Iterator[Services]:
    svc = build_services(tmp_path, f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield svc
    svc.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_cli(runner: CliRunner, services: Services, *args: str, input: str | None = None) -> Any:
    """Invoke ``mapsvc`` against the test store (via environment, as a user would)."""
    from mapsvc.cli import main

    env = {
        "MAPSVC_DATABASE_URL": services.config["DATABASE_URL"],
        "MAPSVC_INSTANCE_PATH": services.config["INSTANCE_PATH"],
        "MAPSVC_GEOCODERS": "cache,gazetteer",
    }
    return runner.invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def make_app(services: Services, **overrides: Any) -> Any:
    from mapsvc import create_app

    config = {
        "TESTING": True,
        "INSTANCE_PATH": services.config["INSTANCE_PATH"],
        "DATABASE_URL": services.config["DATABASE_URL"],
        "SECRET_KEY": "test-secret-key",
        "GEOCODERS": "cache,gazetteer",
        **overrides,
    }
    return create_app(config)


@pytest.fixture
def app(sqlite_services: Services) -> Any:
    return make_app(sqlite_services)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: Any, path: str = "/login") -> str:
    """The CSRF token from a form page (tests submit forms the way a browser does)."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def login_as(client: Any, services: Services, role: str, username: str | None = None) -> str:
    """Create a user with ``role`` (if needed) and log the test client in."""
    from sqlalchemy import select

    from mapsvc.core.models import User
    from mapsvc.core.users import add_user

    username = username or f"{role}-user"
    password = "correct horse battery"
    with services.store.session() as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            add_user(session, username, password, role, actor="test")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return username


# ---- browser tests ---------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("MAPSVC_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser).

    Without /usr/bin/chromium the browser tests skip saying so, unless
    MAPSVC_TEST_REQUIRE_BROWSER=1 (set by .ci/run), where they fail.
    """
    if not Path(CHROMIUM).exists():
        message = (
            f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)"
        )
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, served from a thread (for browser tests)."""
    import threading

    from werkzeug.serving import make_server

    def closing(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        # When the browser drops a connection (a navigation cancels an image load),
        # werkzeug's dev server can fail while draining the request and skip closing the
        # response: a static file's handle then leaks (a ResourceWarning, an error under
        # filterwarnings=error). Close it ourselves when werkzeug lets go of the iterator.
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    server = make_server("127.0.0.1", 0, closing, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def wait_js(page: Any, expression: str, timeout_ms: int = 30_000) -> None:
    """Wait until a JavaScript expression is true on the page.

    Playwright's ``wait_for_function`` polls by ``eval``, which the app's CSP
    (``script-src 'self'``, no ``unsafe-eval``) refuses whenever the first check is false
    (microsoft/playwright#36982); ``page.evaluate`` of a function is not eval, so poll that.
    """
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_ms} ms waiting for: {expression}")
        page.wait_for_timeout(50)


BROWSER_PASSWORD = "correct horse battery"  # the password the tests' users are added with


def browser_login(page: Any, base: str, username: str, password: str = BROWSER_PASSWORD) -> None:
    """Log in through the login form in a Playwright page (the caller waits for where the
    login should land)."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
