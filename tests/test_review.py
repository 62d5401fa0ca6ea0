"""Submissions wait in the review queue; approval applies, confirms and audits them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from survey_support import (
    add_provider,
    answers,
    at,
    provider_audits,
    record,
    set_columns,
    submissions,
)

from mapsvc.core.errors import Conflict, InvalidInput
from mapsvc.core.registry import Change, apply_changes, diff, get_provider, provider_record
from mapsvc.upkeep import review

T0 = at("2026-04-01T09:00:00")


def _receive(services, uid, data, *, now=T0):
    with services.store.session() as session:
        provider = get_provider(session, uid)
        return review.receive(session, services.taxonomy, provider, data, now=now).id


def _approve(services, submission_id, *, actor="editor", now=None):
    with services.store.session() as session:
        return review.approve(session, submission_id, actor=actor, now=now)


def test_unknown_capability_is_refused_naming_the_field(services):
    uid = add_provider(services, "A")
    with pytest.raises(review.InvalidAnswers) as exc:
        _receive(services, uid, answers(teleportation={"level": "accept"}))
    assert exc.value.field == "capabilities.teleportation"
    assert "unknown capability 'teleportation'" in exc.value.message
    assert exc.value.to_dict()["field"] == "capabilities.teleportation"
    assert submissions(services) == []


def test_capability_of_another_provider_type_is_refused(services):
    uid = add_provider(services, "A")  # a clinic
    with pytest.raises(review.InvalidAnswers) as exc:
        _receive(services, uid, answers(sterile_compounding={"level": "accept"}))  # pharmacies
    assert exc.value.field == "capabilities.sterile_compounding"
    assert "does not apply to 診療所" in exc.value.message


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (answers(ventilator={"level": "maybe"}), "capabilities.ventilator", "is not one of"),
        (answers(narcotics_licence={"level": "yes"}), "capabilities.narcotics_licence", "apply"),
        (
            answers(home_care_support_clinic={"value": "super"}),
            "capabilities.home_care_support_clinic",
            "is not an option",
        ),
        (
            answers(contact_methods={"value": ["phone", "pigeon"]}),
            "capabilities.contact_methods",
            "'pigeon' is not an option",
        ),
        (
            {**answers(), "service_area": {"kind": "radius", "km": 500}},
            "service_area.km",
            "out of range",
        ),
        (
            {**answers(), "service_area": {"kind": "travel_time", "minutes": "-5"}},
            "service_area.minutes",
            "out of range",
        ),
        ({**answers(), "fields": {"email": "not-an-address"}}, "fields.email", "e-mail"),
        ({**answers(), "fields": {"name": "乗っ取り"}}, "fields.name", "not a field"),
        (
            {"capabilities": {}, "respondent": {"name": "", "title": "x"}},
            "respondent.name",
            "required",
        ),
    ],
    ids=[
        "level",
        "wrong-type",
        "choice",
        "ranked",
        "radius",
        "minutes",
        "email",
        "field",
        "respondent",
    ],
)
def test_out_of_range_values_are_refused_naming_the_field(services, data, field, words):
    uid = add_provider(services, "A")
    with pytest.raises(review.InvalidAnswers) as exc:
        _receive(services, uid, data)
    assert field in exc.value.errors
    assert words in exc.value.errors[field]
    assert submissions(services) == []


def test_nothing_reaches_the_registry_before_approval(services):
    uid = add_provider(services, "A")
    before = record(services, uid)
    audits_before = len(provider_audits(services, uid))
    generation = services.store.generation()
    sid = _receive(
        services,
        uid,
        {
            **answers(ventilator={"level": "accept", "note": "夜間は要相談"}),
            "fields": {"fax": "087-999-0000"},
            "service_area": {"kind": "radius", "km": 8},
        },
    )
    assert record(services, uid) == before
    assert len(provider_audits(services, uid)) == audits_before
    assert services.store.generation() == generation
    [sub] = submissions(services, uid)
    assert sub.id == sid and sub.status == "pending" and sub.origin == "web"
    assert sub.submitted_by == "高松 花子（管理者）"
    assert sub.payload["changes"] == {
        "fax": "087-999-0000",
        "service_area": {"kind": "radius", "km": 8.0},
        "capabilities": {"ventilator": {"level": "accept", "note": "夜間は要相談"}},
    }
    assert sub.payload["base"]["fax"] is None


def test_approval_applies_confirms_and_audits_with_before_and_after(services):
    uid = add_provider(services, "A", capabilities={"ventilator": {"level": "no"}})
    sid = _receive(
        services,
        uid,
        {**answers(ventilator={"level": "accept"}), "fields": {"fax": "087-999-0000"}},
    )
    approved_at = T0 + timedelta(days=1)
    change = _approve(services, sid, actor="editor1", now=approved_at)
    assert change.after["capabilities"] == {"ventilator": {"level": "accept"}}
    rec = record(services, uid)
    assert rec["capabilities"]["ventilator"] == {"level": "accept"}
    assert rec["fax"] == "087-999-0000"
    assert rec["confirmed_by"] == "editor1"
    assert rec["confirmed_at"] is not None
    audit = provider_audits(services, uid)[-1]
    assert audit.action == "review.approve" and audit.actor == "editor1"
    assert audit.before["capabilities"] == {"ventilator": {"level": "no"}}
    assert audit.after["capabilities"] == {"ventilator": {"level": "accept"}}
    assert audit.before["fax"] is None and audit.after["fax"] == "087-999-0000"
    assert audit.before["confirmed_at"] is None and audit.after["confirmed_by"] == "editor1"
    [sub] = submissions(services, uid)
    assert (sub.status, sub.reviewed_by) == ("approved", "editor1")


def test_every_approval_leaves_an_audit_row_even_without_changes(services):
    """A provider who answers "all still correct" confirms the record."""
    uid = add_provider(services, "A", capabilities={"ventilator": {"level": "accept"}})
    sid = _receive(services, uid, answers(ventilator={"level": "accept"}))
    [sub] = submissions(services, uid)
    assert sub.payload["changes"] == {}
    count = len(provider_audits(services, uid))
    _approve(services, sid)
    audits = provider_audits(services, uid)
    assert len(audits) == count + 1
    assert audits[-1].before == {"confirmed_at": None, "confirmed_by": None}
    assert audits[-1].after["confirmed_by"] == "editor"
    assert record(services, uid)["confirmed_at"] is not None


def test_unknown_answer_for_an_unanswered_capability_is_not_a_change(services):
    uid = add_provider(services, "A")
    _receive(services, uid, answers(ventilator={"level": "unknown"}, stoma=None))
    [sub] = submissions(services, uid)
    assert sub.payload["changes"] == {}


def test_reject_needs_a_reason_and_leaves_the_registry_alone(services):
    uid = add_provider(services, "A")
    sid = _receive(services, uid, answers(ventilator={"level": "accept"}))
    before = record(services, uid)
    with pytest.raises(InvalidInput) as exc, services.store.session() as session:
        review.reject(session, sid, actor="editor", reason="  ")
    assert exc.value.field == "reason"
    with services.store.session() as session:
        review.reject(session, sid, actor="editor", reason="電話で確認したところ誤記")
    assert record(services, uid) == before
    [sub] = submissions(services, uid)
    assert (sub.status, sub.reason) == ("rejected", "電話で確認したところ誤記")
    with pytest.raises(Conflict), services.store.session() as session:
        review.approve(session, sid, actor="editor")


def test_several_submissions_are_shown_in_order_and_an_old_one_cannot_overwrite_a_newer(services):
    uid = add_provider(services, "A")
    first = _receive(services, uid, answers(ventilator={"level": "consult"}), now=T0)
    second = _receive(
        services, uid, answers(ventilator={"level": "accept"}), now=T0 + timedelta(hours=2)
    )
    with services.store.session() as session:
        [group] = review.review_queue(session, services.taxonomy)
        assert [e.submission.id for e in group.entries] == [first, second]
        assert [e.rows[0].after for e in group.entries] == ["要相談", "受入"]
        assert all(e.problem is None for e in group.entries)
    _approve(services, second)
    with pytest.raises(Conflict) as exc:
        _approve(services, first)
    assert f"#{second}" in exc.value.message and "already approved" in exc.value.message
    assert record(services, uid)["capabilities"]["ventilator"] == {"level": "accept"}
    with services.store.session() as session:
        [group] = review.review_queue(session, services.taxonomy)
        assert "older than" in group.entries[0].problem


def test_approval_is_refused_when_the_field_changed_after_the_submission(services):
    uid = add_provider(services, "A", fax="087-111-1111")
    sid = _receive(services, uid, {**answers(), "fields": {"fax": "087-222-2222"}})
    # an import changes the FAX number after the provider answered
    with services.store.session() as session:
        provider = get_provider(session, uid)
        current = provider_record(provider)
        before, after = diff(current, {"fax": "087-333-3333"})
        change = Change(provider.id, uid, before, after, current)
        apply_changes(session, [change], actor="importer", action="import.update")
    with pytest.raises(Conflict) as exc:
        _approve(services, sid)
    assert "fax changed after submission" in exc.value.message
    assert "importer" in exc.value.message
    assert record(services, uid)["fax"] == "087-333-3333"


def test_review_queue_describes_changes_with_taxonomy_labels(services):
    uid = add_provider(services, "A", capabilities={"contact_methods": {"value": ["fax"]}})
    _receive(
        services,
        uid,
        {
            **answers(
                contact_methods={"value": ["phone", "fax"]},
                home_care_support_clinic={"value": "enhanced_single"},
            ),
            "service_area": {"kind": "travel_time", "minutes": 20},
        },
    )
    with services.store.session() as session:
        [group] = review.review_queue(session, services.taxonomy)
    rows = {r.field: r for r in group.entries[0].rows}
    assert rows["capabilities.contact_methods"].label == "連絡方法（希望順）"
    assert rows["capabilities.contact_methods"].before == "FAX"
    assert rows["capabilities.contact_methods"].after == "電話、FAX"
    assert rows["capabilities.contact_methods"].audience == "professional"
    assert rows["capabilities.home_care_support_clinic"].after == "機能強化型（単独型）"
    assert rows["service_area"].before == "種別の標準"
    assert rows["service_area"].after == "移動時間 20 分"


def test_confirmation_date_is_set_on_approval(services):
    uid = add_provider(services, "A")
    set_columns(services, uid, confirmed_at=at("2024-01-01T00:00:00"), confirmed_by="old")
    sid = _receive(services, uid, answers())
    _approve(services, sid, actor="editor2")
    rec = record(services, uid)
    assert rec["confirmed_at"] > at("2026-01-01T00:00:00")
    assert rec["confirmed_by"] == "editor2"
