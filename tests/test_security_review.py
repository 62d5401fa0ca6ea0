"""Review (issue 9, item 9): an answer that came through a since-revoked or expired link is
flagged in the queue and needs an explicit confirmation to approve."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import csrf_token, login_as, make_app
from survey_support import add_provider, answers, record, submissions

from mapsvc.core.errors import Conflict
from mapsvc.core.models import utcnow
from mapsvc.core.registry import get_provider
from mapsvc.upkeep import review, survey


def _submit_through_link(services, uid: str) -> tuple[int, str]:
    with services.store.session() as session:
        provider = get_provider(session, uid)
        token = survey.issue_token(session, provider, actor="editor", days=30)
        session.flush()
        sub = review.receive(
            session,
            services.taxonomy,
            provider,
            answers(ventilator={"level": "active"}),
            token_id=token.id,
        )
        return sub.id, token.id


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_dead_link_is_flagged_and_needs_confirmation(services, how):
    uid = add_provider(services, "C")
    sid, token_id = _submit_through_link(services, uid)
    with services.store.session() as session:
        [group] = review.review_queue(session, services.taxonomy)
        assert group.entries[0].link_warning is None  # a live link: nothing to flag
        if how == "revoked":
            survey.revoke(session, actor="editor", token_id=token_id)
    now = utcnow() + (timedelta(days=31) if how == "expired" else timedelta(0))
    with services.store.session() as session:
        warning = review.link_warning(session, session.get(review.Submission, sid), now)
        assert warning and how in warning
        with pytest.raises(Conflict) as err:
            review.approve(session, sid, actor="editor", now=now)
        assert err.value.field == "confirm_link"
    assert submissions(services, uid)[0].status == "pending"
    with services.store.session() as session:
        review.approve(session, sid, actor="editor", now=now, confirm_link=True)
    assert record(services, uid)["capabilities"]["ventilator"] == {"level": "active"}


def test_the_queue_page_flags_it_and_the_form_asks_for_confirmation(sqlite_services):
    uid = add_provider(sqlite_services, "C")
    sid, token_id = _submit_through_link(sqlite_services, uid)
    with sqlite_services.store.session() as session:
        survey.revoke(session, actor="editor", token_id=token_id)
    client = make_app(sqlite_services).test_client()
    login_as(client, sqlite_services, "editor")
    html = client.get("/admin/review").get_data(as_text=True)
    assert "link-warning" in html and 'name="confirm_link"' in html
    token = csrf_token(client, "/admin/review")
    client.post(f"/admin/review/{sid}/approve", data={"csrf_token": token})
    assert submissions(sqlite_services, uid)[0].status == "pending"
    client.post(f"/admin/review/{sid}/approve", data={"csrf_token": token, "confirm_link": "1"})
    assert submissions(sqlite_services, uid)[0].status == "approved"
    assert re.search(r"revoked", html)
