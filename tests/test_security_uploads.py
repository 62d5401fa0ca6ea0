"""Uploads (issue 9, item 8): Japanese file names are kept and shown; two uploads with one
name in the same second never overwrite each other."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from conftest import csrf_token, login_as, make_app
from survey_support import add_provider

from mapsvc.core.errors import InvalidInput
from mapsvc.core.uploads import new_upload_path, upload_name


def test_upload_names_keep_unicode_and_lose_folders():
    assert upload_name("訪問看護_回答.csv") == "訪問看護_回答.csv"
    assert upload_name("C:\\Users\\市\\回答.xlsx") == "回答.xlsx"
    assert upload_name("../../etc/passwd") == "passwd"
    assert upload_name("a\x00b\r\n.csv") == "ab.csv"
    assert len(upload_name("長" * 300 + ".csv")) == 120
    with pytest.raises(InvalidInput):
        upload_name("..")


def test_same_name_same_second_never_overwrites(tmp_path):
    now = datetime(2026, 4, 1, 9, 0, 0)
    paths = {new_upload_path(tmp_path, "回答.csv", now) for _ in range(50)}
    assert len(paths) == 50 and all(p.name == "回答.csv" for p in paths)


def test_a_japanese_template_upload_is_accepted_and_shown(sqlite_services):
    add_provider(sqlite_services, "C")
    client = make_app(sqlite_services).test_client()
    login_as(client, sqlite_services, "editor")
    body = client.get("/admin/templates/clinic.csv").data
    for _ in range(2):
        r = client.post(
            "/admin/templates/upload",
            data={
                "csrf_token": csrf_token(client, "/admin/templates"),
                "file": (io.BytesIO(body), "診療所_回答.csv"),
            },
            content_type="multipart/form-data",
        )
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert "診療所_回答.csv" in client.get("/admin/imports").get_data(as_text=True)
    stored = list((sqlite_services.instance_path / "uploads").glob("*/診療所_回答.csv"))
    assert len(stored) == 2
