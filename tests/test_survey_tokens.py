"""Survey links: a token works only for its provider, only until expiry or revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from survey_support import add_provider, at, set_columns

from mapsvc.core.models import AuditEntry, Provider, SurveyToken
from mapsvc.core.registry import get_provider
from mapsvc.upkeep import reconfirm, survey

SECRET = "test-secret-key"
T0 = at("2026-04-01T09:00:00")


def _issue(services, uid, *, days=60, now=T0, replace=True):
    with services.store.session() as session:
        provider = get_provider(session, uid)
        token = survey.issue_token(
            session, provider, actor="editor", days=days, now=now, replace=replace
        )
        return token.id, survey.sign(SECRET, token.id)


def _resolve(services, signed, **kwargs):
    with services.store.session() as session:
        token, provider = survey.resolve(session, SECRET, signed, **kwargs)
        return token.id, provider.uid


def test_token_opens_only_its_own_provider(services):
    a = add_provider(services, "A")
    b = add_provider(services, "B")
    token_id, signed = _issue(services, a)
    assert _resolve(services, signed, now=T0 + timedelta(days=1)) == (token_id, a)
    assert _resolve(services, signed, now=T0, provider_uid=a) == (token_id, a)
    with pytest.raises(survey.SurveyLinkError) as exc:
        _resolve(services, signed, now=T0, provider_uid=b)
    assert exc.value.reason == "provider"
    assert exc.value.status == 403


def test_token_expires_after_its_days(services):
    uid = add_provider(services, "A")
    _, signed = _issue(services, uid, days=60)
    assert _resolve(services, signed, now=T0 + timedelta(days=59, hours=23))[1] == uid
    with pytest.raises(survey.SurveyLinkError) as exc:
        _resolve(services, signed, now=T0 + timedelta(days=60))
    assert exc.value.reason == "expired"
    assert exc.value.status == 410
    assert "有効期限" in exc.value.message


def test_revoked_token_is_refused(services):
    uid = add_provider(services, "A")
    token_id, signed = _issue(services, uid)
    with services.store.session() as session:
        assert survey.revoke(session, actor="editor", token_id=token_id, now=T0) == 1
    with pytest.raises(survey.SurveyLinkError) as exc:
        _resolve(services, signed, now=T0 + timedelta(hours=1))
    assert exc.value.reason == "revoked"
    with services.store.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == token_id)
        ).all()
    assert actions == ["survey.issue", "survey.revoke"]


def test_revoke_by_provider_revokes_every_active_link(services):
    uid = add_provider(services, "A")
    _, first = _issue(services, uid, replace=False)
    _, second = _issue(services, uid, replace=False)
    with services.store.session() as session:
        assert survey.revoke(session, actor="editor", provider_uid=uid, now=T0) == 2
    for signed in (first, second):
        with pytest.raises(survey.SurveyLinkError):
            _resolve(services, signed, now=T0 + timedelta(minutes=1))


def test_new_link_replaces_the_old_one_by_default(services):
    uid = add_provider(services, "A")
    old_id, old = _issue(services, uid)
    _, new = _issue(services, uid, now=T0 + timedelta(days=1))
    with pytest.raises(survey.SurveyLinkError) as exc:
        _resolve(services, old, now=T0 + timedelta(days=2))
    assert exc.value.reason == "revoked"
    with services.store.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == old_id).order_by(AuditEntry.id)
        ).all()
    assert actions == ["survey.issue", "survey.revoke"]
    assert _resolve(services, new, now=T0 + timedelta(days=2))[1] == uid


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"),  # signature altered
        lambda s: s[: len(s) // 2],  # truncated link (mail client wrapped it)
        lambda s: "x" + s,  # payload altered
    ],
    ids=["signature", "truncated", "payload"],
)
def test_tampered_token_is_refused(services, tamper):
    uid = add_provider(services, "A")
    _, signed = _issue(services, uid)
    with pytest.raises(survey.SurveyLinkError) as exc:
        _resolve(services, tamper(signed), now=T0)
    assert exc.value.reason == "tampered"


def test_token_signed_with_another_key_or_for_another_row_is_refused(services):
    uid = add_provider(services, "A")
    token_id, _ = _issue(services, uid)
    forged = survey.sign("another-secret", token_id)
    with pytest.raises(survey.SurveyLinkError) as exc:
        _resolve(services, forged, now=T0)
    assert exc.value.reason == "tampered"
    made_up = survey.sign(SECRET, "0" * 32)  # validly signed, but no such link was issued
    with pytest.raises(survey.SurveyLinkError) as exc:
        _resolve(services, made_up, now=T0)
    assert exc.value.reason == "unknown"


def test_resolve_records_last_use(services):
    uid = add_provider(services, "A")
    token_id, signed = _issue(services, uid)
    used = T0 + timedelta(days=3)
    _resolve(services, signed, now=used)
    with services.store.session() as session:
        assert session.get(SurveyToken, token_id).last_used_at == used


def test_batch_selection_by_type_area_and_due(services):
    clinic = add_provider(services, "C1")
    pharmacy = add_provider(services, "P1", type="pharmacy", name="テスト薬局")
    elsewhere = add_provider(services, "C2", municipality_code="372021")  # 丸亀市
    fresh = add_provider(services, "C3")
    set_columns(services, fresh, confirmed_at=T0 - timedelta(days=30))
    config = {"RECONFIRM_MONTHS": 12, "UNCONFIRMED_MONTHS": 24}
    with services.store.session() as session:

        def uids(**kwargs):
            return {
                p.uid for p in reconfirm.select_providers(session, now=T0, config=config, **kwargs)
            }

        assert uids(types=["clinic"]) == {clinic, elsewhere, fresh}
        assert uids(area="372013") == {clinic, pharmacy, fresh}
        assert uids(area="37201") == {clinic, pharmacy, fresh}  # 5-digit code without check digit
        assert uids(due_only=True) == {clinic, pharmacy, elsewhere}
        assert uids(types=["clinic"], area="372013", due_only=True) == {clinic}
        assert uids(uids=[pharmacy]) == {pharmacy}
        with pytest.raises(Exception, match="no area with code"):
            uids(area="daily_life_area:99")
        with pytest.raises(Exception, match="no provider with id nope"):
            uids(uids=["nope"])


def test_area_from_the_areas_table(services):
    from mapsvc.core.models import Area

    inside = add_provider(services, "IN", lon=134.05, lat=34.34)
    add_provider(services, "OUT", lon=134.20, lat=34.30)
    square = {
        "type": "Polygon",
        "coordinates": [
            [[134.0, 34.3], [134.1, 34.3], [134.1, 34.4], [134.0, 34.4], [134.0, 34.3]]
        ],
    }
    with services.store.session() as session:
        session.add(Area(kind="daily_life_area", code="A1", name="中央圏域", geometry=square))
    with services.store.session() as session:
        found = reconfirm.select_providers(session, area="daily_life_area:A1", now=T0)
        assert [p.uid for p in found] == [inside]


def test_links_csv_for_mail_merge(services):
    uid = add_provider(services, "A", fax="087-111-2222", contact_person="山田")
    with services.store.session() as session:
        providers = list(session.scalars(select(Provider)))
        links = survey.issue_links(
            session,
            providers,
            secret_key=SECRET,
            base_url="https://map.example.jp/",
            actor="editor",
            days=30,
            now=T0,
        )
    text = reconfirm.links_csv(links, {"clinic": "診療所"})
    header, row = text.splitlines()
    assert header.split(",")[:4] == ["provider_id", "name", "type", "address"]
    cells = row.split(",")
    assert cells[0] == uid and cells[2] == "診療所" and cells[4] == "087-111-2222"
    url = cells[7]
    assert url.startswith("https://map.example.jp/survey/")
    signed = url.rsplit("/", 1)[1]
    assert _resolve(services, signed, now=T0)[1] == uid
    assert cells[8] == "2026-05-01"
