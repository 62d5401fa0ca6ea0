"""A patient's address typed into the finder never reaches a log.

Two real servers, each driven over HTTP through a whole finder session (login, search by
address, CSV shortlist, print page) plus a public address search:

* werkzeug's server in a thread, with every logger (the app's, werkzeug's request lines,
  SQLAlchemy's statements and rows, geopy) captured at DEBUG;
* gunicorn (the production server) in a subprocess, with its access log (default format:
  request line, referer, user agent) and error log at debug level written to files.

Neither may hold any part of the address: the whole, its town, its block number, the
normalised form, or their URL encodings.
"""

from __future__ import annotations

import http.cookiejar
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app, serve_app

from mapsvc.core.addresses import normalise
from mapsvc.core.users import add_user

pytest_plugins = ["demo_support"]  # demo_services

ADDRESS = "デモ市本町一丁目47番58号"
PASSWORD = "correct horse battery"


def address_parts() -> list[str]:
    parts = [
        ADDRESS,
        "本町一丁目47",
        "本町一丁目",
        "47番58号",
        "47-58",
        normalise(ADDRESS),
        "1丁目47",
    ]
    encoded = []
    for part in parts:
        encoded += [
            urllib.parse.quote(part),
            urllib.parse.quote_plus(part),
            part.encode("unicode_escape").decode(),
        ]
    return parts + encoded


def assert_clean(text: str, where: str) -> None:
    for part in address_parts():
        assert part not in text, f"{where} contains {part!r}"


class Browser:
    """Just enough of a browser: cookies, forms with CSRF tokens, POST bodies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read().decode("utf-8-sig")

    def post(self, path: str, data: dict[str, Any], referer: str = "/") -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode()
        req = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + referer}
        )
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.read().decode("utf-8-sig")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")

    @staticmethod
    def token(html: str) -> str:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert match
        return match.group(1)


def finder_session(base: str) -> None:
    b = Browser(base)
    b.get("/")  # warm up: the index is built before the address is typed
    status, _ = b.post(
        "/login",
        {"csrf_token": b.token(b.get("/login")), "username": "cm1", "password": PASSWORD},
        "/login",
    )
    assert status == 200  # followed the redirect to /pro/
    status, html = b.post(
        "/pro/search",
        {
            "csrf_token": b.token(b.get("/pro/")),
            "address": ADDRESS,
            "cap-home_visit_medical": "consult",
        },
        "/pro/",
    )
    assert status == 200 and 'id="finder-results"' in html, html[:500]
    form = dict(
        re.findall(
            r'<input type="hidden" name="(lon|lat|seed|csrf_token)" value="([^"]*)">',
            html.split('id="shortlist-form"')[1],
        )
    )
    form["cap"] = "home_visit_medical"
    status, csv_text = b.post("/pro/export.csv", form, "/pro/search")
    assert status == 200 and csv_text.startswith("順位")
    status, _ = b.post("/pro/print", form, "/pro/search")
    assert status == 200
    status, html = b.post("/", {"csrf_token": b.token(b.get("/")), "address": ADDRESS})
    assert status == 200 and "centre-name" in html


def add_care_manager(services: Any) -> None:
    with services.store.session() as session:
        add_user(session, "cm1", PASSWORD, "professional")


def test_app_werkzeug_and_sql_logs_hold_no_part_of_the_address(demo_services, caplog):
    add_care_manager(demo_services)
    app = make_app(demo_services, INDEX_REFRESH_SECONDS=3600)
    with serve_app(app) as base:
        Browser(base).get("/")  # the index is built (SQL rows logged) before capture
        caplog.set_level(logging.DEBUG)
        for name in ("werkzeug", "mapsvc", "sqlalchemy.engine", "geopy", "urllib3"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        try:
            finder_session(base)
        finally:
            for name in ("werkzeug", "mapsvc", "sqlalchemy.engine", "geopy", "urllib3"):
                logging.getLogger(name).setLevel(logging.NOTSET)
    records = caplog.records
    assert any(r.name == "werkzeug" and "POST /pro/search" in r.getMessage() for r in records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in records)  # SQL was captured too
    for r in records:
        assert_clean(r.getMessage() + (r.exc_text or ""), f"log record {r.name}")
    assert_clean(caplog.text, "captured log")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_access_and_error_logs_hold_no_part_of_the_address(demo_services, tmp_path):
    add_care_manager(demo_services)
    port = _free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAPSVC_")}
    cfg = demo_services.config
    env.update(
        MAPSVC_INSTANCE_PATH=cfg["INSTANCE_PATH"],
        MAPSVC_DATABASE_URL=cfg["DATABASE_URL"],
        MAPSVC_SECRET_KEY="test-secret-key",
        MAPSVC_GEOCODERS="cache,gazetteer",
        MAPSVC_GAZETTEER_FILES=",".join(cfg["GAZETTEER_FILES"]),
    )
    cmd = [
        sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
        "--access-logfile", str(access), "--error-logfile", str(errors), "--log-level", "debug",
        "mapsvc:create_app()",
    ]  # fmt: skip
    out = (tmp_path / "stdout.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"gunicorn did not start: {(tmp_path / 'stdout.log').read_text()[-2000:]}"
                    )
                time.sleep(0.2)
        finder_session(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        out.close()
    access_text = access.read_text(encoding="utf-8")
    assert "POST /pro/search" in access_text and "POST /pro/export.csv" in access_text
    assert_clean(access_text, "gunicorn access log")
    assert_clean(errors.read_text(encoding="utf-8"), "gunicorn error log")
    assert_clean(
        (tmp_path / "stdout.log").read_text(encoding="utf-8", errors="replace"), "gunicorn output"
    )


def test_the_checked_parts_would_be_found(tmp_path: Path):
    """The check itself works: a log line with the address in any encoding fails it."""
    for leaked in (
        ADDRESS,
        urllib.parse.quote_plus(ADDRESS),
        "POST /x?q=" + urllib.parse.quote("本町一丁目"),
    ):
        with pytest.raises(AssertionError):
            assert_clean(f"127.0.0.1 - - {leaked}", "sample")
