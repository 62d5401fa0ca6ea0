"""Re-confirmation cycle: confirmed → due → unconfirmed, and the due list with links."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from survey_support import add_provider, at, set_columns

from mapsvc.core.models import utcnow
from mapsvc.core.staleness import (
    add_months,
    confirmation_badge,
    confirmation_state,
    confirmed_date,
)
from mapsvc.upkeep import reconfirm, survey

NOW = at("2026-06-15T03:00:00")
CONFIG = {"RECONFIRM_MONTHS": 12, "UNCONFIRMED_MONTHS": 24}


@pytest.mark.parametrize(
    ("confirmed_at", "created_at", "state"),
    [
        ("2026-01-10T00:00:00", None, "confirmed"),
        ("2025-06-15T03:00:01", None, "confirmed"),  # just under 12 months
        ("2025-06-15T03:00:00", None, "due"),  # exactly 12 months
        ("2024-06-15T03:00:01", None, "due"),
        ("2024-06-15T03:00:00", None, "unconfirmed"),  # 24 months
        (None, None, "due"),  # never confirmed: due, creation unknown
        (None, "2026-01-01T00:00:00", "due"),
        (None, "2024-01-01T00:00:00", "unconfirmed"),  # never confirmed in over 24 months
        ("2026-01-10", None, "confirmed"),  # ISO strings (JSON records) work too
    ],
)
def test_confirmation_state(confirmed_at, created_at, state):
    record = {"confirmed_at": confirmed_at, "created_at": created_at}
    if confirmed_at and "T" in confirmed_at:
        record["confirmed_at"] = datetime.fromisoformat(confirmed_at)
    assert confirmation_state(record, NOW, CONFIG) == state


def test_periods_come_from_the_configuration():
    record = {"confirmed_at": at("2026-01-15T00:00:00")}
    assert confirmation_state(record, NOW, CONFIG) == "confirmed"
    assert (
        confirmation_state(record, NOW, {"RECONFIRM_MONTHS": 3, "UNCONFIRMED_MONTHS": 24}) == "due"
    )
    assert (
        confirmation_state(record, NOW, {"RECONFIRM_MONTHS": 1, "UNCONFIRMED_MONTHS": 4})
        == "unconfirmed"
    )


def test_add_months_clamps_to_month_end():
    assert add_months(at("2026-03-31T10:00:00"), -1) == at("2026-02-28T10:00:00")
    assert add_months(at("2024-02-29T00:00:00"), -12) == at("2023-02-28T00:00:00")
    assert add_months(at("2026-12-15T00:00:00"), 1) == at("2027-01-15T00:00:00")


def test_confirmed_date_is_the_japan_date():
    # 2026-06-14 20:00 UTC is 2026-06-15 05:00 in Japan
    assert confirmed_date({"confirmed_at": at("2026-06-14T20:00:00")}) == date(2026, 6, 15)
    assert confirmed_date({"confirmed_at": None}) is None


def test_badge_marks_unconfirmed_records_and_shows_the_date():
    badge = confirmation_badge({"confirmed_at": at("2023-01-05T00:00:00")}, NOW, CONFIG)
    assert badge == {
        "state": "unconfirmed",
        "label": "未確認",
        "date": "2023-01-05",
        "text": "未確認（最終確認日 2023-01-05）",
    }
    fresh = confirmation_badge({"confirmed_at": at("2026-04-01T00:00:00")}, NOW, CONFIG, "en")
    assert fresh["text"] == "Last confirmed 2026-04-01" and fresh["state"] == "confirmed"


def test_due_list_reuses_active_links_and_issues_missing_ones(services):
    due_with_link = add_provider(services, "A", fax="087-000-1111")
    due_without = add_provider(services, "B")
    fresh = add_provider(services, "C")
    old = add_provider(services, "D")
    set_columns(services, due_with_link, confirmed_at=at("2025-01-01T00:00:00"))
    set_columns(services, due_without, confirmed_at=at("2025-03-01T00:00:00"))
    set_columns(services, fresh, confirmed_at=at("2026-05-01T00:00:00"))
    set_columns(services, old, confirmed_at=at("2023-05-01T00:00:00"), confirmed_by="旧担当")
    with services.store.session() as session:
        from mapsvc.core.registry import get_provider

        existing = survey.issue_token(
            session, get_provider(session, due_with_link), actor="e", days=60, now=NOW
        )
        existing_id = existing.id
    with services.store.session() as session:
        rows = reconfirm.due_links(
            session,
            secret_key="k",
            base_url="https://map.example.jp",
            actor="editor",
            days=30,
            config=CONFIG,
            now=NOW + timedelta(days=1),
        )
        text = reconfirm.due_csv(rows, {"clinic": "診療所"})
    by_uid = {r.provider.uid: r for r in rows}
    assert set(by_uid) == {due_with_link, due_without, old}
    assert by_uid[due_with_link].link.token_id == existing_id  # printed again, not reissued
    assert by_uid[due_without].link is not None
    assert by_uid[old].state == "unconfirmed"
    table = {r["provider_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert table[old]["state"] == "未確認" and table[old]["last_confirmed"] == "2023-05-01"
    assert table[old]["confirmed_by"] == "旧担当"
    assert table[due_with_link]["fax"] == "087-000-1111"
    assert table[due_without]["url"].startswith("https://map.example.jp/survey/")


def test_views_get_the_badge_from_a_template_global(sqlite_services):
    from conftest import make_app
    from flask import render_template_string

    app = make_app(sqlite_services)
    template = (
        '{% from "_confirmation.html" import last_confirmed with context %}{{ last_confirmed(r) }}'
    )
    with app.test_request_context("/"):
        old = render_template_string(template, r={"confirmed_at": at("2020-01-05T00:00:00")})
        fresh = render_template_string(template, r={"confirmed_at": utcnow() - timedelta(days=3)})
        never = render_template_string(template, r={"confirmed_at": None})
    assert '<span class="badge unconfirmed">未確認</span>' in old and "最終確認日 2020-01-05" in old
    assert "unconfirmed" not in fresh and "最終確認日 20" in fresh
    assert "最終確認日 記録なし" in never
    with app.test_request_context("/?lang=en"):
        english = render_template_string(template, r={"confirmed_at": at("2020-01-05T00:00:00")})
    assert "Unconfirmed" in english and "Last confirmed 2020-01-05" in english


def test_frame_and_index_values_work_too():
    import pandas as pd

    assert confirmation_state({"confirmed_at": pd.NaT}, NOW, CONFIG) == "due"
    stamp = pd.Timestamp("2026-01-10T00:00:00")
    assert confirmation_state({"confirmed_at": stamp}, NOW, CONFIG) == "confirmed"
    old = {"confirmed_at": pd.NaT, "created_at": pd.Timestamp("2023-01-01")}
    assert confirmation_state(old, NOW, CONFIG) == "unconfirmed"


def test_provider_list_finds_every_record_in_a_state_not_just_early_names(services):
    # six confirmed records sort before the one unconfirmed record; the list asks for one row
    for i, letter in enumerate("ABCDEF"):
        uid = add_provider(services, f"OK{i}", name=f"{letter} 診療所")
        set_columns(services, uid, confirmed_at=at("2026-05-01T00:00:00"))
    late = add_provider(services, "Z", name="Z 診療所")
    set_columns(services, late, confirmed_at=at("2023-05-01T00:00:00"))
    with services.store.session() as session:
        rows = reconfirm.provider_list(
            session, state="unconfirmed", config=CONFIG, now=NOW, limit=1
        )
        confirmed = reconfirm.provider_list(
            session, state="confirmed", config=CONFIG, now=NOW, limit=2
        )
    assert [r["uid"] for r in rows] == [late]
    assert [r["name"] for r in confirmed] == ["A 診療所", "B 診療所"]
