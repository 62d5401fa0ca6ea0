"""The store: Alembic migrations match the models on both back-ends; every change is
audited and bumps the generation counter that in-process indexes watch."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from mapsvc.core.models import AuditEntry, Base, Provider
from mapsvc.core.registry import (
    Change,
    apply_changes,
    diff,
    insert_records,
    provider_record,
    provider_uid,
)


def test_migrations_match_the_models(services) -> None:
    with services.store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models.py and the Alembic migrations disagree: {differences}"


def test_upgrade_is_repeatable(services) -> None:
    services.store.upgrade()
    services.store.upgrade()
    assert services.store.is_initialised()


def test_insert_and_update_are_audited_and_bump_the_generation(services) -> None:
    store = services.store
    g0 = store.generation()
    with store.session() as session:
        insert_records(
            session,
            "t",
            [
                {
                    "source_id": "a",
                    "type": "clinic",
                    "name": "A医院",
                    "lon": 134.0,
                    "lat": 34.3,
                    "capabilities": {"night_response": {"level": "accept"}},
                }
            ],
            actor="alice",
        )
    g1 = store.generation()
    assert g1 > g0
    with store.session() as session:
        p = session.scalars(select(Provider)).one()
        assert p.uid == provider_uid("t", "a")  # stable across stores
        current = provider_record(p) | {"id": p.id}
        before, after = diff(
            current, {"name": "A医院（新）", "capabilities": {"night_response": {"level": "no"}}}
        )
        apply_changes(
            session,
            [Change(p.id, p.uid, before, after, current)],
            actor="bob",
            action="edit",
            confirm=True,
        )
    assert store.generation() > g1
    with store.session() as session:
        audits = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        p = session.scalars(select(Provider)).one()
    assert [a.actor for a in audits] == ["alice", "bob"]
    assert audits[1].before["name"] == "A医院" and audits[1].after["name"] == "A医院（新）"
    assert audits[1].before["capabilities"] == {"night_response": {"level": "accept"}}
    assert audits[1].after["confirmed_by"] == "bob" and audits[1].before["confirmed_at"] is None
    assert p.confirmed_by == "bob" and p.confirmed_at is not None
    assert p.capabilities == {"night_response": {"level": "no"}}


def test_audit_search_by_provider_name_takes_text_literally(services) -> None:
    from mapsvc.core.auditlog import AuditFilter, audit_entries

    with services.store.session() as session:
        insert_records(
            session,
            "t",
            [
                {"source_id": "a", "type": "clinic", "name": "100%内科"},
                {"source_id": "b", "type": "clinic", "name": "さくら内科"},
            ],
            actor="x",
        )
    with services.store.session() as session:
        rows, total = audit_entries(session, AuditFilter(provider="%"))
        assert total == 1 and rows[0].after["name"] == "100%内科"  # not every provider
